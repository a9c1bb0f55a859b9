"""The committed records: saved without loss or duplicates, the same bytes for the same
records, merged with local results, and put back into a study's store."""

from __future__ import annotations

import json

import pytest

from experiments.reporting import archive, readme
from keras_fcn import estimate
from keras_fcn.record import RunRecord, RunStore


def record(i: int, *, limit=None, status="ok", family="dense", fit=10.0) -> RunRecord:
    return RunRecord(
        run_id=f"r{i}",
        family=family,
        config={
            "model": {"hidden": [64], "activation": "relu"},
            "train": {"seed": i, "batch_size": 100, "precision": "float32", "loop": "fit"},
            "data": {"dataset": "mnist", "validation": 0.1, "train_limit": limit},
        },
        seed=i,
        status=status,
        test_accuracy=0.9,
        epochs_run=2,
        fit_time_s=fit,
    )


def results_with(tmp_path, records, folder="reproduce/toy"):
    store = RunStore(tmp_path / "results" / folder / "runs.jsonl")
    for r in records:
        store.append(r)
    return tmp_path / "results"


def test_save_keeps_finished_full_data_runs_once_and_archived_ones_unchanged(tmp_path):
    results = results_with(
        tmp_path, [record(1), record(2, limit=500), record(3, status="failed"), record(4)]
    )
    results_with(tmp_path, [record(5)], folder="reproduce/toy-quick")
    arch = tmp_path / "arch"
    changed = archive.save(results, arch)
    target = arch / "reproduce/toy/runs.jsonl.gz"
    assert changed == [target]
    assert [r.run_id for r in archive.read_archived(target)] == ["r1", "r4"]
    assert not (arch / "reproduce/toy-quick").exists()
    # a run recorded again keeps its archived record; a new one is added after the others
    again = record(1)
    again.test_accuracy = 0.1
    results_with(tmp_path, [again, record(6)])
    archive.save(results, arch)
    kept = archive.read_archived(target)
    assert [r.run_id for r in kept] == ["r1", "r4", "r6"]
    assert kept[0].test_accuracy == 0.9
    assert archive.save(results, arch) == []  # nothing new: nothing rewritten


def test_archive_bytes_depend_on_the_records_alone(tmp_path):
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    archive.write_archived(a, [record(1), record(2)])
    archive.write_archived(b, [record(1), record(2)])
    assert a.read_bytes() == b.read_bytes()
    archive.write_archived(b, [record(2), record(1)])
    assert a.read_bytes() != b.read_bytes()


def test_save_completes_records_and_copies_search_summaries(tmp_path):
    results = results_with(tmp_path, [record(1)], folder="tune/s1")
    (results / "tune/s1/summary.json").write_text(json.dumps({"family": "dense"}))

    def complete(r):
        r.command = f"python -m train --seed {r.seed}"
        return r

    archive.save(results, tmp_path / "arch", complete=complete)
    saved = archive.read_archived(tmp_path / "arch/tune/s1/runs.jsonl.gz")
    assert saved[0].command == "python -m train --seed 1"
    assert json.loads((tmp_path / "arch/tune/s1/summary.json").read_text()) == {"family": "dense"}


def test_assemble_merges_archive_and_local_results(tmp_path):
    arch = tmp_path / "arch"
    archive.write_archived(arch / "reproduce/toy/runs.jsonl.gz", [record(1), record(2)])
    results = results_with(tmp_path, [record(2), record(3), record(4, limit=10)])
    root = archive.assemble(arch, results, tmp_path / "merged")
    ids = [r.run_id for r in RunStore(root / "reproduce/toy/runs.jsonl")]
    assert ids == ["r1", "r2", "r3"]
    alone = archive.assemble(arch, tmp_path / "missing", tmp_path / "alone")
    assert [r.run_id for r in RunStore(alone / "reproduce/toy/runs.jsonl")] == ["r1", "r2"]


def test_restore_appends_only_what_the_store_lacks(tmp_path):
    path = tmp_path / "arch.jsonl.gz"
    archive.write_archived(path, [record(1), record(2)])
    store = RunStore(tmp_path / "runs.jsonl")
    store.append(record(2))
    assert archive.restore(store, path) == 1
    assert archive.restore(store, path) == 0
    assert sorted(store.done_ids()) == ["r1", "r2"]


def test_readme_block_is_replaced_between_its_markers_only():
    text = f"intro\n{readme.BEGIN}\nold\n{readme.END}\nrest\n"
    assert readme.replace_block(text, "new") == f"intro\n{readme.BEGIN}\nnew\n{readme.END}\nrest\n"
    with pytest.raises(ValueError, match="no results block"):
        readme.replace_block("intro\n", "new")
    both = f"{text}{readme.SPEED_BEGIN}\nslow\n{readme.SPEED_END}\n"
    fast = readme.replace_block(both, "fast", "speed")
    assert fast == f"{text}{readme.SPEED_BEGIN}\nfast\n{readme.SPEED_END}\n"
    with pytest.raises(ValueError, match="no speed block"):
        readme.replace_block(text, "fast", "speed")


def test_speed_from_records_and_durations():
    # 54,000 training images (10 % held out) x 2 epochs in 10 s and in 20 s: median 15 s
    speeds = estimate.measured_speeds([record(1, fit=10.0), record(2, fit=20.0)])
    ((key, per_image),) = speeds.items()
    assert per_image == pytest.approx(15.0 / (2 * 54_000))
    other = record(3)
    other.config["model"]["hidden"] = [128]
    assert estimate.speed_key("dense", other.config) != key
    other.config["model"] = {"hidden": [64], "activation": "tanh"}  # not a speed setting
    assert estimate.speed_key("dense", other.config) == key
    assert [estimate.duration(s) for s in (30, 600, 7200)] == ["30 s", "10 min", "2.0 h"]


def test_an_estimate_timed_on_a_busy_machine_says_so():
    assert estimate.busy_note(load=0.3, cores=2) == ""
    assert estimate.busy_note(load=0.9, cores=2) == ""  # one core's worth of other work: at least 1
    note = estimate.busy_note(load=2.4, cores=2)
    assert "load average 2.4 on 2 cores" in note and "high" in note
    assert estimate.busy_note(load=3.0, cores=8) == ""
    assert estimate.busy_note(load=4.0, cores=8) != ""
