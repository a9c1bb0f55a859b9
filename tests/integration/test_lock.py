"""Two commands on one results folder lose nothing and train nothing twice.

Real processes: two appending to one ``runs.jsonl``, two running one study (training
stubbed), two ``experiments.reproduce`` of one study and two ``experiments.tune`` of one
search on a few hundred images. The holder is frozen (SIGSTOP) while the others start, so
that they meet it holding the folder whatever the speed of the machine.
"""

from __future__ import annotations

import collections
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keras_fcn.lock import LOCK
from tests.helpers import ROOT, TINY_SEARCH, study_argv

APPENDS = """
import sys, time
from pathlib import Path
from keras_fcn.record import RunRecord, RunStore
store, who, go = RunStore(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.005)
appended = 0
for i in range(150):
    shared = RunRecord(f"shared{i}", "dense", {"by": who}, i, test_predictions="7" * 10000)
    appended += store.append_once(shared)
    store.append(RunRecord(f"{who}{i}", "dense", {}, i, test_predictions="1" * 10000))
print(appended)
"""

STUDY = """
import sys, time
from pathlib import Path
from experiments._cli import run_main
from keras_fcn.family import DENSE
from keras_fcn.lock import folder_lock
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.study import run_study, with_seeds
folder, wait, release = Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
runs = with_seeds([DENSE.run_config({"learning_rate": lr}) for lr in (0.01, 0.1)], range(4))

def trainer(family, run, data):
    while not release.exists():  # the first run holds the folder until the test says
        time.sleep(0.01)
    print("trained", run.run_id, flush=True)
    return RunRecord(run.run_id, family.name, run.to_dict(), run.train.seed, test_accuracy=0.5)

def main(argv):
    with folder_lock(folder, wait=wait):
        run_study({"dense": DENSE}, runs, RunStore(folder / "runs.jsonl"), load=lambda d: None, trainer=trainer)

run_main(main)
"""


def _start(tmp_path: Path, name: str, command: list[str]) -> subprocess.Popen:
    """``command`` in its own process group, its output in ``tmp_path/NAME.out``/``.err``."""
    with open(tmp_path / f"{name}.out", "wb") as out, open(tmp_path / f"{name}.err", "wb") as err:
        return subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err, start_new_session=True)


def _text(tmp_path: Path, name: str, stream: str = "err") -> str:
    return (tmp_path / f"{name}.{stream}").read_text()


def _until(condition, what: str, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"{what}: the process ended with {process.returncode}"
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


def _finish(process: subprocess.Popen, timeout: float = 600) -> int:
    try:
        return process.wait(timeout=timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def processes():
    """The processes a test starts; any still running at its end is killed."""
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _in_use_line(err: str, folder: Path, holder: int, command: str) -> None:
    """``err`` ends with the one line saying ``folder`` is in use by pid ``holder`` (before
    it, TensorFlow's start-up lines, for a command that loads it first)."""
    assert "Traceback" not in err and err.count("error:") == 1, err
    line = err.splitlines()[-1]
    assert line.startswith(f"error: results folder {folder} is in use by pid {holder} (`"), err
    assert command in line and "--wait SECONDS" in line


def _ids(runs: Path) -> collections.Counter:
    return collections.Counter(
        json.loads(line)["run_id"] for line in runs.read_bytes().splitlines()
    )


def test_two_processes_appending_to_one_store_write_each_record_once_and_whole(tmp_path):
    """Both append the same 150 runs (once each) and 150 of their own, at the same time."""
    runs, go = tmp_path / "runs.jsonl", tmp_path / "go"
    command = [sys.executable, "-c", APPENDS, str(runs)]
    both = [
        subprocess.Popen([*command, who, str(go)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for who in ("a", "b")
    ]
    time.sleep(1.0)  # both started and waiting for the signal
    go.touch()
    appended = [int(p.communicate(timeout=300)[0]) for p in both]
    assert [p.returncode for p in both] == [0, 0]
    lines = runs.read_bytes().splitlines()
    ids = collections.Counter(json.loads(line)["run_id"] for line in lines)  # every line whole
    expected = [f"{prefix}{i}" for prefix in ("shared", "a", "b") for i in range(150)]
    assert ids == dict.fromkeys(expected, 1) and len(lines) == 450
    assert sum(appended) == 150 and min(appended) > 0, f"no overlap between them: {appended}"


def test_a_second_study_on_a_held_folder_stops_in_one_line_or_waits_and_trains_nothing(
    tmp_path, processes
):
    folder, release = tmp_path / "study", tmp_path / "release"

    def start(name: str, wait: str) -> subprocess.Popen:
        command = [sys.executable, "-c", STUDY, str(folder), wait, str(release)]
        processes.append(_start(tmp_path, name, command))
        return processes[-1]

    first = start("first", "0")
    _until((folder / LOCK).exists, "the first study took the folder", first)
    stopped, waiting = start("stopped", "0"), start("waiting", "inf")
    assert _finish(stopped, 120) == 2
    _in_use_line(_text(tmp_path, "stopped"), folder, first.pid, "python -c")
    _until(lambda: "waiting as long as it takes" in _text(tmp_path, "waiting"), "waits", waiting)
    release.touch()
    assert _finish(first) == 0 and _finish(waiting) == 0, _text(tmp_path, "waiting")
    assert _text(tmp_path, "first", "out").count("trained") == 8
    assert "trained" not in _text(tmp_path, "waiting", "out")
    ids = _ids(folder / "runs.jsonl")
    assert len(ids) == 8 and set(ids.values()) == {1}
    assert not (folder / LOCK).exists()


def test_two_reproduce_of_one_study_record_every_run_once(tmp_path, processes):
    """The second command stops in one line naming the first; a third, with --wait, waits
    for it, finds every run recorded and writes the study's tables again."""
    command = [sys.executable, "-m", "experiments.reproduce", *study_argv(tmp_path, 3)]
    folder = tmp_path / "dense-l2-quick"
    processes.append(first := _start(tmp_path, "first", command))
    _until((folder / LOCK).exists, "the first command took the study's folder", first)
    os.killpg(first.pid, signal.SIGSTOP)  # holding the folder while the others start
    processes.append(second := _start(tmp_path, "second", command))
    assert _finish(second, 300) == 2
    _in_use_line(_text(tmp_path, "second"), folder, first.pid, "experiments.reproduce dense-l2")
    processes.append(third := _start(tmp_path, "third", [*command, "--wait", "inf"]))
    _until(lambda: "waiting as long as it takes" in _text(tmp_path, "third"), "waits", third)
    os.killpg(first.pid, signal.SIGCONT)
    assert _finish(first) == 0, _text(tmp_path, "first")[-2000:]
    assert _finish(third) == 0, _text(tmp_path, "third")[-2000:]
    ids = _ids(folder / "runs.jsonl")
    # the final row over 3 seeds, and the row's three variants (tanh, deeper, wider)
    assert len(ids) == 3 * 4 and set(ids.values()) == {1}
    assert "[1/3]" in _text(tmp_path, "first") and "[1/3]" not in _text(tmp_path, "third")
    assert (folder / "side_by_side.md").exists() and not (folder / LOCK).exists()


def test_two_searches_on_one_folder_run_every_trial_once(tmp_path, processes):
    """The second search stops in one line naming the first; a third, with --wait, resumes
    the finished search and trains no trial and no final run again."""
    command = [sys.executable, "-m", "experiments.tune", *TINY_SEARCH, "--out", str(tmp_path)]

    def lock_file() -> Path | None:
        return next(tmp_path.glob(f"dense-fashion_mnist-grid-*/{LOCK}"), None)

    processes.append(first := _start(tmp_path, "first", command))
    _until(lambda: lock_file() is not None, "the first search took its folder", first)
    folder = lock_file().parent
    os.killpg(first.pid, signal.SIGSTOP)
    processes.append(second := _start(tmp_path, "second", command))
    assert _finish(second, 300) == 2
    _in_use_line(_text(tmp_path, "second"), folder, first.pid, "experiments.tune --tuner grid")
    processes.append(third := _start(tmp_path, "third", [*command, "--wait", "inf"]))
    _until(lambda: "waiting as long as it takes" in _text(tmp_path, "third"), "waits", third)
    os.killpg(first.pid, signal.SIGCONT)
    assert _finish(first) == 0, _text(tmp_path, "first")[-2000:]
    assert _finish(third) == 0, _text(tmp_path, "third")[-2000:]
    assert f"resuming the search in {folder} (4 trials on disk)" in _text(tmp_path, "third", "out")
    with open(folder / "trials.csv") as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 4 and {t["status"] for t in trials} == {"COMPLETED"}
    assert len({(t["learning_rate"], t["activation"]) for t in trials}) == 4
    assert len(list((folder / "search").glob("trial_*/trial.json"))) == 4
    assert set(_ids(folder / "final_runs.jsonl").values()) == {1}
    assert [p.name for p in tmp_path.glob("dense-fashion_mnist-grid-*")] == [folder.name]
