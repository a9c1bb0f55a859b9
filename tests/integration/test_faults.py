"""What a long study survives: kills at any moment, torn lines, a full or unwritable disk,
diverging and degenerate runs, reruns with the same seed, and a tuner worker killed mid-trial.

The kill tests run the real commands as subprocesses on a few hundred images; everything
else runs in-process, training stubbed out where training is not the point.
"""

from __future__ import annotations

import collections
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments import reproduce
from experiments._cli import settings_from
from keras_fcn import registry
from keras_fcn.record import RunStore
from keras_fcn.replication import RerunOptions, get_study, reproduce_views
from tests.helpers import ROOT, TINY_SEARCH, children_with, study_argv

# 1. Kill at any moment -------------------------------------------------------------------


def _expected_run_ids(argv: list[str]) -> set[str]:
    """The run ids the study command means to train (its rows and their variants), from a
    dry run of its protocol."""
    args = reproduce.build_parser().parse_args(argv)
    protocol = get_study(args.study)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    views = reproduce_views(
        protocol,
        registry.get_family(protocol.family),
        RunStore(Path(args.out) / "dry.jsonl"),
        RerunOptions(
            seeds=seeds, load=None, quick=args.quick, dry_run=True, overrides=settings_from(args)
        ),
    )
    return {run.run_id for run in views.planned_runs(seeds)}


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _run_and_kill(command: list[str], runs: Path, when: str, rng: random.Random, log: Path) -> bool:
    """Start the study and SIGKILL it at one moment; whether it was killed before it ended.

    ``when``: ``written`` right after runs.jsonl grows (while a record is being written),
    ``training`` a random moment after it grows (inside the next run), ``anytime`` a random
    moment after the start (import, data loading, training, writing, saving tables).
    """
    before = _size(runs)
    with open(log, "wb") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            deadline = time.monotonic() + 300
            if when == "anytime":
                deadline = time.monotonic() + rng.uniform(0.5, 12.0)
                while process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.01)
            else:
                while process.poll() is None and _size(runs) == before:
                    assert time.monotonic() < deadline, "the study wrote nothing in 300 s"
                    time.sleep(0.002)
                if when == "training":
                    time.sleep(rng.uniform(0.05, 0.5))  # runs take a second or more
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
    return process.returncode == -signal.SIGKILL


def _kill_and_resume(tmp_path: Path, seeds: int, kills: tuple[str, ...], seed: int) -> None:
    argv = study_argv(tmp_path, seeds)
    command = [sys.executable, "-m", "experiments.reproduce", *argv]
    folder = tmp_path / "dense-l2-quick"
    runs = folder / "runs.jsonl"
    expected = _expected_run_ids(argv)
    assert len(expected) == 4 * seeds  # its final row, and the row's three variants
    rng = random.Random(seed)
    torn = 0
    for i, when in enumerate(kills):
        log = tmp_path / f"kill{i}.log"
        killed = _run_and_kill(command, runs, when, rng, log)
        if when != "anytime":
            assert killed, f"kill {i} ({when}) came after the study had ended"
        if when == "training":
            assert _size(runs) and len(runs.read_bytes().splitlines()) - torn < len(expected), (
                f"kill {i} came after the last run"
            )
            if torn:  # this process read the store after the torn line was left in it
                assert "skipping an incomplete record" in log.read_text()
        if when == "written" and not torn:
            # a kill inside a write larger than a page leaves the start of a line: do that
            last = runs.read_bytes().splitlines()[-1]
            with open(runs, "ab") as f:
                f.write(last[: len(last) // 2])
            torn = 1
    final = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    assert "skipping an incomplete record" in final.stderr

    lines = runs.read_bytes().splitlines()
    ids, unreadable = [], 0
    for line in lines:
        try:
            ids.append(json.loads(line)["run_id"])
        except ValueError:
            unreadable += 1
    assert unreadable >= torn
    assert collections.Counter(ids) == dict.fromkeys(expected, 1), "every run exactly once"
    with pytest.warns(UserWarning, match="skipping an incomplete record") as caught:
        records = RunStore(runs).records()
    assert sum("incomplete record" in str(w.message) for w in caught) == unreadable
    assert sorted(r.run_id for r in records) == sorted(expected)
    assert {r.status for r in records} == {"ok"}
    with open(folder / "comparison.csv") as f:
        [row] = list(csv.DictReader(f))
    assert int(row["n"]) == seeds and row["ours"] != ""
    for name in ("side_by_side.md", "aggregate.csv", "curves_final.png"):
        assert (folder / name).stat().st_size > 0, name


def test_study_killed_while_writing_and_while_training_records_every_run_once(tmp_path):
    """SIGKILL right after a record is written and again inside a run, plus a torn line:
    the rerun finishes the study with every run recorded exactly once."""
    _kill_and_resume(tmp_path, seeds=4, kills=("written", "training"), seed=0)


@pytest.mark.slow
def test_study_killed_at_many_random_moments_records_every_run_once(tmp_path):
    """Seven kills at seeded random moments of a twelve-run study, then a rerun."""
    kills = ("written", "anytime", "training", "written", "anytime", "training", "anytime")
    _kill_and_resume(tmp_path, seeds=12, kills=kills, seed=1)


# 2. Disk full, read-only and unwritable output ------------------------------------------


# 3. Diverging and degenerate runs in a study --------------------------------------------


# 4. Reproducibility contract ------------------------------------------------------------


# 5. A tuner worker killed mid-trial -----------------------------------------------------

# trials of 100 tiny epochs, none stopped early: long enough (seconds) to be killed in, on a
# fast CPU too
TUNE_WITH_WORKERS = [*TINY_SEARCH, "--workers", "2", "--max-epochs", "100", "--patience", "100"]


def _ongoing(out: Path) -> dict[str, str]:
    # the search's folder name ends in a hash of its identity: find it rather than spell it
    for oracle in out.glob("dense-fashion_mnist-grid-*/search/oracle.json"):
        try:
            return json.loads(oracle.read_text()).get("ongoing_trials", {})
        except (OSError, ValueError):
            return {}  # caught mid-write
    return {}  # not written yet


def test_worker_killed_mid_trial_is_restarted_and_every_trial_completes_once(tmp_path):
    """SIGKILL one of two workers while it holds a trial: WorkerPool restarts it under the
    same id, it finishes that trial, and the grid completes with every setting once."""
    log = tmp_path / "tune.log"
    command = [sys.executable, "-m", "experiments.tune", *TUNE_WITH_WORKERS, "--out", str(tmp_path)]
    with open(log, "wb") as output:
        chief = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=output, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 300
            while "worker0" not in _ongoing(tmp_path):
                assert chief.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "worker0 never took a trial"
                time.sleep(0.1)
            held = _ongoing(tmp_path)["worker0"]
            time.sleep(1.0)  # into the trial's training
            worker = children_with(chief.pid, "KERASTUNER_TUNER_ID")["worker0"]
            os.kill(worker, signal.SIGKILL)
            chief.wait(timeout=300)
        finally:
            if chief.poll() is None:
                os.killpg(chief.pid, signal.SIGKILL)
                chief.wait()
    text = log.read_text()
    assert chief.returncode == 0, text[-2000:]
    assert "worker0 exited with -9; restarting it to finish its trial" in text
    [folder] = tmp_path.glob("dense-fashion_mnist-grid-*")  # one search, one folder
    with open(folder / "trials.csv") as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 4 and {t["status"] for t in trials} == {"COMPLETED"}
    assert len({(t["learning_rate"], t["activation"]) for t in trials}) == 4
    assert held in {t["trial_id"] for t in trials}
    assert "chief on 127.0.0.1:" in text
    assert (folder / "best_model.keras").exists()
