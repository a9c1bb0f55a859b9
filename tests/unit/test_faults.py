"""What a long study survives: kills at any moment, torn lines, a full or unwritable disk,
diverging and degenerate runs, reruns with the same seed, and a tuner worker killed mid-trial.

The kill tests run the real commands as subprocesses on a few hundred images; everything
else runs in-process, training stubbed out where training is not the point.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pathlib
from pathlib import Path

import matplotlib.figure
import numpy as np
import pytest

from experiments import fashion_dense, reproduce
from experiments._cli import run_main
from keras_fcn import record as record_module
from keras_fcn import single
from keras_fcn import train as train_module
from keras_fcn.errors import ResultsError
from keras_fcn.family import DENSE
from keras_fcn.identity import record_group_key
from keras_fcn.record import RunRecord, RunStore, write_json
from keras_fcn.study import StudyProgress, aggregate, compare, run_study, with_seeds
from tests.helpers import study_argv

TIMING_FIELDS = ("wall_time_s", "fit_time_s", "predict_time_s", "created")
TINY_DATA = {"train_limit": 500, "test_limit": 300, "validation": 200}


def _record(i: int) -> RunRecord:
    return RunRecord(run_id=f"r{i}", family="dense", config={"train": {"seed": i}}, seed=i)


def _exit(main, argv, capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        run_main(main, argv)
    return info.value.code, capsys.readouterr().err


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# 1. Kill at any moment -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fragment",
    [b'{"run_id":"r9","family":"den', b"\x00" * 12, b'{"run_id":"r9","note":"\xc3'],
    ids=["cut-line", "zeros", "cut-utf8"],
)
def test_torn_line_in_the_middle_is_skipped_and_later_appends_stay_whole(tmp_path, fragment):
    """A torn line followed by more records: only it is skipped, with a warning naming it."""
    store = RunStore(tmp_path / "runs.jsonl")
    store.append(_record(0))
    with open(store.path, "ab") as f:
        f.write(fragment)
    store.append(_record(1))
    store.append(_record(2))
    lines = store.path.read_bytes().split(b"\n")
    assert lines[1] == fragment and lines[-1] == b""
    assert [json.loads(line)["run_id"] for line in (lines[0], lines[2], lines[3])] == [
        "r0",
        "r1",
        "r2",
    ]
    with pytest.warns(UserWarning, match=r"runs\.jsonl:2: skipping an incomplete record") as w:
        assert [r.run_id for r in store] == ["r0", "r1", "r2"]
    assert len(w) == 1


# 2. Disk full, read-only and unwritable output ------------------------------------------


@pytest.mark.parametrize("fault", ["write fails", "short write", "fsync fails"])
def test_disk_full_keeps_only_whole_lines_and_the_next_append_works(tmp_path, monkeypatch, fault):
    """ENOSPC inside RunStore.append: one-line ResultsError, the file unchanged, and the
    next append (space back) is a whole line."""
    store = RunStore(tmp_path / "runs.jsonl")
    store.append(_record(0))
    store.append(_record(1))
    before = store.path.read_bytes()
    real_write = os.write
    with monkeypatch.context() as m:
        if fault == "write fails":
            m.setattr(record_module.os, "write", _enospc)
        elif fault == "short write":
            m.setattr(record_module.os, "write", lambda fd, data: real_write(fd, data[:40]))
        else:
            m.setattr(record_module.os, "fsync", _enospc)
        with pytest.raises(ResultsError) as info:
            store.append(_record(2))
    message = str(info.value)
    assert "\n" not in message and str(store.path) in message
    assert "No space left on device" in message or "disk full" in message
    assert store.path.read_bytes() == before
    store.append(_record(3))
    lines = store.path.read_bytes().splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == ["r0", "r1", "r3"]


def test_study_stops_on_a_full_disk_in_one_line_and_resumes_when_space_returns(
    tmp_path, monkeypatch, capsys
):
    """The disk fills after two records: the command ends with one line and exit 2; the
    rerun trains only the runs not on disk and records each once."""
    runs = with_seeds([DENSE.run_config({"hidden": (8,)})], [1, 2, 3, 4])
    store, calls = RunStore(tmp_path / "runs.jsonl"), []

    def trainer(family, run, data):
        calls.append(run.run_id)
        return RunRecord(run.run_id, family.name, run.to_dict(), run.train.seed, test_accuracy=0.5)

    def study(argv):
        return run_study(
            {"dense": DENSE},
            runs,
            store,
            load=lambda d: None,
            trainer=trainer,
            progress=StudyProgress(stream=io.StringIO()),
        )

    real_write, writes = os.write, []

    def filling(fd, data):
        if len(writes) == 2:
            _enospc()
        writes.append(data)
        return real_write(fd, data)

    with monkeypatch.context() as m:
        m.setattr(record_module.os, "write", filling)
        code, err = _exit(study, [], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: cannot write results to {store.path}: No space left on device")
    assert len(calls) == 3 and len(store.records()) == 2
    study([])
    ids = [json.loads(line)["run_id"] for line in store.path.read_bytes().splitlines()]
    assert sorted(ids) == sorted(r.run_id for r in runs)
    assert len(calls) == 5, "only the run lost to the full disk and the one never started"


@pytest.fixture
def unwritable_out(tmp_path) -> Path:
    """A results folder that cannot be created: under a read-only folder, or, for root
    (whom permissions do not stop), under a regular file."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        (locked / "probe").touch()
        blocked = False
    except PermissionError:
        blocked = True
    if blocked:
        yield locked / "results"
    else:  # root writes through 0o500
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        yield blocker / "results"
    locked.chmod(0o700)


def test_append_to_an_uncreatable_folder_is_a_results_error(unwritable_out):
    """RunStore.append itself turns a folder it cannot create into ResultsError."""
    with pytest.raises(ResultsError, match="cannot write results to"):
        RunStore(unwritable_out / "runs.jsonl").append(_record(0))


def _forbid_training(monkeypatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("data loaded or a model trained before the output was checked")

    for module in (single, train_module):
        monkeypatch.setattr(module, "load_dataset", forbidden)
        monkeypatch.setattr(module, "train_record", forbidden)


def test_fashion_dense_with_unwritable_out_fails_before_training(
    unwritable_out, monkeypatch, capsys
):
    """``--out`` that cannot be written: one line, exit 2, no data loaded, nothing trained."""
    _forbid_training(monkeypatch)
    code, err = _exit(fashion_dense.main, ["--out", str(unwritable_out), "--verbose", "0"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: cannot write results to") and "choose another --out" in err


@pytest.mark.parametrize("case", ["unwritable out", "runs.jsonl is a folder"])
def test_reproduce_with_unusable_results_fails_before_training(
    tmp_path, unwritable_out, monkeypatch, capsys, case
):
    """A study whose runs.jsonl cannot be written or read stops in one line before training."""
    out = unwritable_out
    if case == "runs.jsonl is a folder":
        out = tmp_path / "out"
        (out / "dense-l2-quick" / "runs.jsonl").mkdir(parents=True)
    _forbid_training(monkeypatch)
    code, err = _exit(reproduce.main, study_argv(out, 1), capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: cannot ") and "runs.jsonl" in err


@pytest.mark.parametrize("fault", ["record.json", "figure"])
def test_disk_full_after_the_record_is_one_line_and_keeps_the_record(
    tmp_path, monkeypatch, capsys, fashion_small, fault
):
    """ENOSPC while saving a run's record.json or figures: one line, exit 2, the run's
    line in runs.jsonl kept whole, no half-written file left."""

    def fake_train(family, run, data, verbose=0):
        curve = [1.0, 0.5]
        return RunRecord(
            run.run_id,
            family.name,
            run.to_dict(),
            run.train.seed,
            test_accuracy=0.5,
            history={"loss": curve, "accuracy": curve, "val_loss": curve, "val_accuracy": curve},
            epochs_run=2,
            best_epoch=1,
            best_val_accuracy=1.0,
            params=1,
            confusion_matrix=np.eye(10, dtype=int).tolist(),
        )

    monkeypatch.setattr(single, "load_dataset", lambda config, data_dir=None: fashion_small)
    monkeypatch.setattr(single, "train_record", fake_train)

    def no_space(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    if fault == "record.json":
        monkeypatch.setattr(pathlib.Path, "write_text", lambda self, *a, **k: no_space(self, self))
    else:
        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", no_space)
    out = tmp_path / "out"
    code, err = _exit(fashion_dense.main, ["--out", str(out), "--verbose", "0"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: cannot write ") and "No space left on device" in err
    [line] = (out / "runs.jsonl").read_bytes().splitlines()
    assert json.loads(line)["test_accuracy"] == 0.5
    assert not list(out.rglob("*.tmp"))


def test_write_json_on_a_full_disk_keeps_the_old_file(tmp_path, monkeypatch):
    """An atomic JSON write that fails leaves the previous file and no temporary copy."""
    path = tmp_path / "record.json"
    write_json(path, {"a": 1})
    real_write_text = pathlib.Path.write_text

    def half_then_full(self, text, *args, **kwargs):
        real_write_text(self, text[:3])
        _enospc()

    monkeypatch.setattr(pathlib.Path, "write_text", half_then_full)
    with pytest.raises(ResultsError, match="No space left on device"):
        write_json(path, {"a": 2})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


# 3. Diverging and degenerate runs in a study --------------------------------------------

# float32 whatever the CPU: under bfloat16, Adam at 10 does not leave the network on one class
BASE = {
    **TINY_DATA,
    "hidden": (32,),
    "epochs": 2,
    "batch_size": 32,
    "jit_compile": "off",
    "precision": "float32",
}
DEGENERATE = {
    "diverges": {"optimizer": "sgd", "learning_rate": 1e6, "momentum": 0.9, "hidden": (64, 64)},
    "batch > dataset": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 4096},
    # Adam at 10 on [0, 1] inputs leaves a layer of ReLUs dead, whatever the seed, in one of
    # three layers at least: every image then gets the same logits
    "one class": {
        "optimizer": "adam",
        "learning_rate": 10.0,
        "standardize": False,
        "hidden": (32, 32, 32),
    },
    "healthy": {"optimizer": "adam", "learning_rate": 0.01},
}


def test_diverging_and_degenerate_runs_are_recorded_and_counted_apart(tmp_path):
    """NaN loss, a batch larger than the training set and a network stuck on one class,
    in one real study: none crashes it, each record says what happened, ``aggregate``
    counts the diverged run apart, and a rerun trains nothing again."""
    runs = {name: DENSE.run_config({**BASE, **s}) for name, s in DEGENERATE.items()}
    store, progress = RunStore(tmp_path / "runs.jsonl"), io.StringIO()
    run_study(
        {"dense": DENSE},
        list(runs.values()),
        store,
        load=train_module.load_dataset,
        progress=StudyProgress(stream=progress),
    )
    on_disk = {r.run_id: r for r in RunStore(store.path).records()}
    rec = {name: on_disk[run.run_id] for name, run in runs.items()}

    diverged = rec["diverges"]
    assert diverged.status == "diverged" and diverged.history["loss"][-1] is None
    assert diverged.note.startswith(
        "loss became non-finite in epoch 1; training stopped; test metrics from the initial weights"
    )
    assert "[diverged]" in progress.getvalue()
    # its test metrics are those of real, finite predictions of every test image
    test_size = TINY_DATA["test_limit"]
    assert len(diverged.predictions()) == test_size and diverged.predictions().max() <= 9
    diverged_cm = np.array(diverged.confusion_matrix)
    assert diverged_cm.sum() == test_size
    assert diverged.test_accuracy == pytest.approx(np.trace(diverged_cm) / test_size)
    assert diverged.test_loss is not None and np.isfinite(diverged.test_loss)
    # and it never enters a comparison: the healthy config shares its seed, yet nothing pairs
    y_test = train_module.load_dataset(runs["diverges"].data).y_test
    with pytest.raises(ValueError, match="share no seed with a successful run"):
        compare([diverged], [rec["healthy"]], y_test)
    assert compare([rec["healthy"]], [rec["one class"]], y_test).seeds == (diverged.seed,)

    big = rec["batch > dataset"]
    assert big.config["train"]["batch_size"] > big.config["data"]["train_limit"]
    assert big.status == "ok" and big.epochs_run == 2
    assert all(np.isfinite(big.history["loss"]))

    stuck = rec["one class"]
    cm = np.array(stuck.confusion_matrix)
    [predicted] = np.flatnonzero(cm.sum(axis=0))  # one column holds every prediction
    assert stuck.status == "ok" and set(stuck.test_predictions) == {str(predicted)}
    assert stuck.test_accuracy == pytest.approx(cm[predicted, predicted] / cm.sum())
    assert np.count_nonzero(np.array(rec["healthy"].confusion_matrix).sum(axis=0)) > 1

    table = aggregate(on_disk.values(), by=["learning_rate", "batch_size"]).set_index("config_key")
    row = {name: table.loc[record_group_key(r)] for name, r in rec.items()}
    assert row["diverges"]["n"] == 0 and row["diverges"]["n_diverged"] == 1
    assert np.isnan(row["diverges"]["test_mean"])
    assert row["diverges"]["diverged_test_mean"] == pytest.approx(diverged.test_accuracy)
    for name in ("batch > dataset", "one class", "healthy"):
        assert row[name]["n"] == 1 and row[name]["n_diverged"] == row[name]["n_failed"] == 0

    def must_not_train(*args):
        raise AssertionError("a recorded run was trained again")

    again = run_study(
        {"dense": DENSE},
        list(runs.values()),
        store,
        load=lambda d: None,
        trainer=must_not_train,
        progress=StudyProgress(stream=io.StringIO()),
    )
    assert [r.status for r in again] == ["diverged", "ok", "ok", "ok"]


# 4. Reproducibility contract ------------------------------------------------------------


def _family(name: str):
    if name == "dense":
        return DENSE
    from cnn.family import LENET  # must exist: a missing family fails here, loudly

    return LENET


@pytest.mark.parametrize(
    ("family_name", "settings"),
    [
        ("dense", {"hidden": (32,), "dropout": 0.2, "epochs": 2, "batch_size": 64}),
        ("lenet", {"epochs": 1, "batch_size": 64}),
    ],
)
def test_same_seed_gives_the_same_record_apart_from_timings(tmp_path, family_name, settings):
    """Two runs with one seed, each in its own study, give records that are identical
    (read back from disk) in every field but the timings; another seed does not."""
    family = _family(family_name)
    run = family.run_config({**TINY_DATA, **settings, "seed": 3})
    other = run.with_settings({"seed": 4})

    def recorded(name, r):
        store = RunStore(tmp_path / name / "runs.jsonl")
        run_study(
            {family.name: family},
            [r],
            store,
            load=train_module.load_dataset,
            progress=StudyProgress(stream=io.StringIO()),
        )
        [values] = [json.loads(line) for line in store.path.read_bytes().splitlines()]
        assert values["status"] == "ok"
        return {k: v for k, v in values.items() if k not in TIMING_FIELDS}

    first, second, third = recorded("a", run), recorded("b", run), recorded("c", other)
    assert first == second
    assert first["test_predictions"] != third["test_predictions"]
    assert first["history"] != third["history"]


# 5. A tuner worker killed mid-trial -----------------------------------------------------
