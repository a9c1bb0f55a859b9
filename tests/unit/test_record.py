from __future__ import annotations

import json

import numpy as np
import pytest

from keras_fcn.errors import ResultsError
from keras_fcn.identity import run_id
from keras_fcn.record import RunRecord, RunStore, encode_predictions, write_json


def _record(i: int) -> RunRecord:
    return RunRecord(
        run_id=f"r{i}",
        family="dense",
        config={"train": {"seed": i}},
        seed=i,
        test_accuracy=0.5 + i / 100,
    )


def test_predictions_round_trip():
    predictions = np.array([0, 9, 3, 3, 7])
    record = _record(1)
    record.test_predictions = encode_predictions(predictions)
    assert record.test_predictions == "09337"
    np.testing.assert_array_equal(record.predictions(), predictions)
    with pytest.raises(ValueError):
        encode_predictions([10])


def test_run_id_is_stable_and_depends_on_every_value():
    a = run_id("dense", {"model": {"hidden": [1, 2]}, "train": {"seed": 1}})
    assert a == run_id("dense", {"train": {"seed": 1}, "model": {"hidden": (1, 2)}})
    assert a != run_id("dense", {"model": {"hidden": [1, 2]}, "train": {"seed": 2}})


def test_store_appends_and_reads_records(tmp_path):
    store = RunStore(tmp_path / "runs.jsonl")
    for i in range(3):
        store.append(_record(i))
    assert [r.run_id for r in store.records()] == ["r0", "r1", "r2"]
    assert store.records()[2].test_accuracy == pytest.approx(0.52)


def test_torn_last_line_is_skipped_with_a_warning_and_the_next_append_is_whole(tmp_path):
    store = RunStore(tmp_path / "runs.jsonl")
    store.append(_record(0))
    with open(store.path, "ab") as f:
        f.write(b'{"run_id": "r1", "fam')  # a write cut short by a kill
    with pytest.warns(UserWarning, match="runs.jsonl:2: skipping an incomplete record"):
        assert [r.run_id for r in store] == ["r0"]
    store.append(_record(2))
    with pytest.warns(UserWarning):
        assert [r.run_id for r in store] == ["r0", "r2"]
    lines = store.path.read_text().splitlines()
    assert json.loads(lines[-1])["run_id"] == "r2"


def test_unwritable_folder_fails_with_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = RunStore(blocker / "sub" / "runs.jsonl")
    with pytest.raises(ResultsError, match="cannot write results to"):
        store.check_writable()


def test_write_json_replaces_atomically(tmp_path):
    path = tmp_path / "a" / "record.json"
    write_json(path, {"x": float("nan"), "y": np.float32(1.5)})
    assert json.loads(path.read_text()) == {"x": None, "y": 1.5}
    assert not list(path.parent.glob("*.tmp"))
