"""`reproduce all` runs every study; a study resumes from the committed records, and its dry
run says how many runs are recorded and how long the others take."""

from __future__ import annotations

import dataclasses

import pytest

from experiments import reproduce
from experiments._cli import run_main
from experiments.reporting.archive import write_archived
from keras_fcn import registry
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.replication import ENV_VAR, RerunOptions, all_studies, get_study
from keras_fcn.replication import reproduce as rerun
from tests.helpers import ROOT


def _exit_code(argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_main(reproduce.main, argv)
    return info.value.code, capsys.readouterr()


def test_all_lists_every_study(capsys, tmp_path):
    code, out = _exit_code(["all", "--quick", "--dry-run", "--out", str(tmp_path)], capsys)
    assert code == 0
    for name in all_studies():
        assert f"\n=== {name}\n" in out.out
    assert out.out.count(" recorded\n") == len(all_studies())
    assert not any(tmp_path.iterdir())  # a dry run writes nothing


@pytest.mark.parametrize("flag", [["--only", "final"], ["--grid"]])
def test_all_refuses_flags_of_one_study(flag, capsys, tmp_path):
    code, out = _exit_code(["all", *flag, "--dry-run", "--out", str(tmp_path)], capsys)
    assert code == 2 and out.err.startswith("error: --only and --grid work on one study")


def test_dry_run_counts_the_committed_runs_and_estimates_the_others(capsys, tmp_path, monkeypatch):
    # the study's final row alone (its variants would be timed by short fits)
    protocol = dataclasses.replace(get_study("dense-l2"), variants=())
    monkeypatch.setattr(reproduce, "get_study", lambda name: protocol)
    family = registry.get_family(protocol.family)
    store = RunStore(tmp_path / "unused.jsonl")
    (table,) = rerun(protocol, family, store, RerunOptions(seeds=[42], load=None, dry_run=True))
    run = table.rows[0][1]
    seeded = [run.with_settings({"seed": s}) for s in (42, 43, 44)]
    # two seeds recorded, at a speed of 1 ms per image: the third takes 15 epochs x 55,000 images
    done = [
        RunRecord(r.run_id, "dense", r.to_dict(), r.train.seed, epochs_run=15, fit_time_s=825.0)
        for r in seeded[:2]
    ]
    write_archived(tmp_path / "records" / "reproduce" / "dense-l2" / "runs.jsonl.gz", done)
    argv = ["dense-l2", "--dry-run", "--records", str(tmp_path / "records")]
    code, out = _exit_code([*argv, "--out", str(tmp_path / "out")], capsys)
    assert code == 0
    assert "3 runs, 2 recorded; the 1 left: about 14 min on this machine" in out.out
    assert "0 networks timed here" in out.out
    assert not (tmp_path / "out").exists()


def test_dry_run_plans_later_stages_from_the_committed_records(capsys, monkeypatch, tmp_path):
    """A stage's choice carried from committed records, not from the published numbers: the
    toy study publishes Adam above SGD, but its committed runs found SGD better."""
    monkeypatch.setenv(ENV_VAR, str(ROOT / "tests" / "example_study"))
    protocol = get_study("toy")
    family = registry.get_family(protocol.family)
    seeds = [42, 43]

    first = rerun(
        protocol,
        family,
        RunStore(tmp_path / "a.jsonl"),
        RerunOptions(seeds=seeds, load=None, dry_run=True),
    )
    optimizer = [
        RunRecord(
            r.run_id,
            "dense",
            r.to_dict(),
            r.train.seed,
            best_val_accuracy=0.9 if r.train.optimizer == "sgd" else 0.8,
        )
        for _, run in first[0].rows
        for r in [run.with_settings({"seed": s}) for s in seeds]
    ]
    planned = rerun(
        protocol,
        family,
        RunStore(tmp_path / "b.jsonl"),
        RerunOptions(seeds=seeds, load=None, dry_run=True, resumed=optimizer),
        carry_from="validation",
    )
    (dropout_run,) = [run for _, run in planned[1].rows]
    assert dropout_run.train.optimizer == "sgd"  # carried from the records
    dropout = [
        RunRecord(r.run_id, "dense", r.to_dict(), r.train.seed, best_val_accuracy=0.85)
        for r in [dropout_run.with_settings({"seed": s}) for s in seeds]
    ]
    records = tmp_path / "records"
    write_archived(records / "reproduce" / "toy" / "runs.jsonl.gz", optimizer + dropout)
    argv = ["toy", "--dry-run", "--seeds", "2", "--records", str(records)]
    code, out = _exit_code([*argv, "--out", str(tmp_path / "out")], capsys)
    assert code == 0, out.err
    # the procedure's runs are all recorded; the study's own path (Adam, as published) is not
    assert "8 runs, 6 recorded; the 2 left" in out.out
    assert not (tmp_path / "out").exists()
