"""Distributed tuning when the chief and its workers do not start and stop together.

Each test runs ``experiments.tune`` as real processes on 127.0.0.1 on a few hundred images: a
chief, workers started by ``--workers`` or by hand with KerasTuner's environment variables,
some of them frozen (SIGSTOP) to hold a trial at a known moment, or killed (SIGKILL).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from keras_fcn.tuning.workers import IP_VAR, PORT_VAR, ROLE_VAR, free_port
from tests.helpers import ROOT, TINY_SEARCH


def _project(tmp_path: Path) -> Path:
    """The search's folder (its name ends in a hash of the search's definition)."""
    found = [p for p in tmp_path.glob("dense-fashion_mnist-grid-*") if p.is_dir()]
    return found[0] if found else tmp_path / "dense-fashion_mnist-grid-(not created)"


@pytest.fixture
def start(tmp_path) -> Callable[..., subprocess.Popen]:
    """Starts ``experiments.tune`` in its own process group; every group is killed at the end.

    The process's stdout and stderr go to ``tmp_path/NAME.out`` and ``NAME.err``.
    """
    started = []

    def _start(name: str, *extra: str, tuner_id: str | None = None, port: int | None = None):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for var in (ROLE_VAR, IP_VAR, PORT_VAR):
            env.pop(var, None)
        if tuner_id:
            env.update({ROLE_VAR: tuner_id, IP_VAR: "127.0.0.1", PORT_VAR: str(port)})
        command = [
            sys.executable,
            "-m",
            "experiments.tune",
            *TINY_SEARCH,
            "--out",
            str(tmp_path),
            "--verbose",  # Keras's epoch lines: the tests see a worker train
            *extra,
        ]
        with (
            open(tmp_path / f"{name}.out", "wb") as out,
            open(tmp_path / f"{name}.err", "wb") as err,
        ):
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True
            )
        started.append(process)
        return process

    yield _start
    for process in started:
        # the group: workers started by --workers outlive a killed chief in it
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _text(tmp_path: Path, name: str) -> str:
    return (tmp_path / name).read_text(errors="replace")


def _state(tmp_path: Path) -> dict:
    try:
        return json.loads((_project(tmp_path) / "search" / "oracle.json").read_text())
    except (OSError, ValueError):
        return {}  # not written yet, or caught mid-write


def _holds_trial(tmp_path: Path, tuner_id: str) -> Callable[[], bool]:
    return lambda: tuner_id in _state(tmp_path).get("ongoing_trials", {})


def _training(tmp_path: Path, name: str) -> Callable[[], bool]:
    """Whether the worker logging to ``name.out`` has started training: a chief killed then
    finds it between two calls to the chief, not in the middle of one."""
    return lambda: "Epoch 1/" in _text(tmp_path, f"{name}.out")


def _wait_for(
    condition: Callable[[], bool],
    what: str,
    running: Sequence[subprocess.Popen] = (),
    timeout: float = 240.0,
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process in running:
            assert process.poll() is None, f"waiting for {what}: {process.args} exited"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:  # an orphan nobody reaps stays a zombie: it has exited all the same
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


def _worker_pid(chief: int, tuner_id: str) -> int:
    """The pid of the worker ``tuner_id`` that the chief ``chief`` started, from /proc."""
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0") if parent == chief else []
        except (OSError, ValueError, IndexError):
            continue
        if f"{ROLE_VAR}={tuner_id}".encode() in environ:
            return int(entry.name)
    raise AssertionError(f"no {tuner_id} started by {chief}")


def _assert_every_trial_completed(tmp_path: Path, once: bool = True) -> None:
    """Every setting of the 2 x 2 grid is one COMPLETED trial; ``once``: trained once only."""
    with open(_project(tmp_path) / "trials.csv") as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 4 and {t["status"] for t in trials} == {"COMPLETED"}
    assert len({(t["learning_rate"], t["activation"]) for t in trials}) == 4
    ended = _state(tmp_path)["end_order"]
    assert set(ended) == {t["trial_id"] for t in trials}
    if once:
        assert sorted(ended) == sorted(t["trial_id"] for t in trials), ended


def test_worker_without_a_chief_exits_in_one_line_within_the_timeout(tmp_path):
    """Nothing listens on the port (a chief never started, or already finished)."""
    port = free_port()
    env = {**os.environ, ROLE_VAR: "worker0", IP_VAR: "127.0.0.1", PORT_VAR: str(port)}
    command = [
        sys.executable,
        "-m",
        "experiments.tune",
        *TINY_SEARCH,
        "--out",
        str(tmp_path),
        "--chief-timeout",
        "2",
    ]
    began = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - began
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stderr.startswith(f"error: no chief answered at 127.0.0.1:{port} within 2 s: ")
    assert result.stderr.count("\n") == 1 and "start the chief" in result.stderr
    assert 2 <= elapsed < 30  # waited the timeout, then stopped (not KerasTuner's hour)
    assert not list(tmp_path.iterdir())  # it gave up before loading data or a tuner


# about 20 s: `make test-slow` (the chief-and-two-workers test keeps workers in `make test`)
@pytest.mark.slow
def test_worker_started_while_the_chief_searches_joins_and_every_trial_runs_once(start, tmp_path):
    port = free_port()
    chief = start("chief", tuner_id="chief", port=port)
    first = start("worker0", tuner_id="worker0", port=port)
    _wait_for(_holds_trial(tmp_path, "worker0"), "worker0 to take a trial", [chief, first])
    os.kill(first.pid, signal.SIGSTOP)  # it keeps its trial: the others are left to the late one
    late = start("worker1", tuner_id="worker1", port=port)
    _wait_for(_holds_trial(tmp_path, "worker1"), "the late worker to take a trial", [chief, late])
    os.kill(first.pid, signal.SIGCONT)
    for process in (late, first, chief):
        assert process.wait(timeout=300) == 0, process.args
    assert "Epoch 2/2" in _text(tmp_path, "worker1.out")  # it trained its trial through
    _assert_every_trial_completed(tmp_path)


def test_chief_killed_mid_search_its_workers_give_up_instead_of_waiting(start, tmp_path):
    """A worker of ``--workers`` exits with its chief; one started by hand, after its timeout."""
    chief = start("chief", "--workers", "1")
    _wait_for(lambda: "chief on" in _text(tmp_path, "chief.out"), "the chief's port", [chief])
    port = int(re.search(r"chief on 127\.0\.0\.1:(\d+)", _text(tmp_path, "chief.out"))[1])
    _wait_for(_holds_trial(tmp_path, "worker0"), "worker0 to take a trial", [chief])
    pooled = _worker_pid(chief.pid, "worker0")
    os.kill(pooled, signal.SIGSTOP)  # it keeps its trial: the others are left to the hand one
    hand = start("hand", "--chief-timeout", "3", tuner_id="hand", port=port)
    _wait_for(_training(tmp_path, "hand"), "the hand-started worker to train a trial", [hand])

    os.kill(chief.pid, signal.SIGKILL)
    killed = time.monotonic()
    os.kill(pooled, signal.SIGCONT)
    _wait_for(lambda: not _alive(pooled), "worker0 to exit", timeout=15)
    assert f"error: worker0: its chief (process {chief.pid}) has died" in _text(
        tmp_path, "chief.err"
    )
    assert hand.wait(timeout=60) == 2
    assert time.monotonic() - killed < 30  # 3 s after the chief's last answer, not an hour
    err = _text(tmp_path, "hand.err")
    assert err.splitlines()[-1].startswith(
        f"error: hand: the chief at 127.0.0.1:{port} has not answered for 3 s; rerun its command"
    )
    assert "Traceback" not in err


@pytest.mark.slow
def test_chief_killed_and_rerun_with_workers_completes_every_trial_once(start, tmp_path):
    chief = start("chief", "--workers", "2")
    _wait_for(
        lambda: len(_state(tmp_path).get("ongoing_trials", {})) == 2, "two trials held", [chief]
    )
    workers = [_worker_pid(chief.pid, f"worker{i}") for i in range(2)]
    os.kill(chief.pid, signal.SIGKILL)
    _wait_for(lambda: not any(map(_alive, workers)), "the workers to exit", timeout=15)
    rerun = start("rerun", "--workers", "2")
    assert rerun.wait(timeout=400) == 0, _text(tmp_path, "rerun.err")[-2000:]
    _assert_every_trial_completed(tmp_path)


@pytest.mark.slow
def test_chief_restarted_on_its_port_takes_back_the_live_workers_even_if_one_died(start, tmp_path):
    port = free_port()
    chief = start("chief", tuner_id="chief", port=port)
    workers = [start(f"worker{i}", tuner_id=f"worker{i}", port=port) for i in range(2)]
    _wait_for(
        lambda: all(_training(tmp_path, f"worker{i}")() for i in range(2)),
        "both workers to train a trial",
        [chief, *workers],
    )
    os.kill(chief.pid, signal.SIGKILL)
    os.kill(workers[1].pid, signal.SIGKILL)
    chief.wait()
    _wait_for(lambda: not _listens(port), "the port to close")
    restarted = start("restarted", tuner_id="chief", port=port)
    assert restarted.wait(timeout=400) == 0, _text(tmp_path, "restarted.err")[-2000:]
    assert workers[0].wait(timeout=60) == 0
    # KerasTuner's reloaded chief hands out again the trials held when it was killed, while
    # the live worker still finishes the one it held: that one may be trained twice
    _assert_every_trial_completed(tmp_path, once=False)


def _command(tmp_path, *extra):
    return [sys.executable, "-m", "experiments.tune", *TINY_SEARCH, "--out", str(tmp_path), *extra]


def _trials(tmp_path):
    with open(_project(tmp_path) / "trials.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow  # also shown, with a worker killed on top, by tests/integration/test_faults.py
def test_chief_and_two_workers_complete_every_trial_exactly_once(tmp_path):
    result = subprocess.run(
        _command(tmp_path, "--workers", "2"), capture_output=True, text=True, timeout=400
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "chief on 127.0.0.1:" in result.stdout
    trials = _trials(tmp_path)
    assert len(trials) == 4 and {t["status"] for t in trials} == {"COMPLETED"}
    assert len({(t["learning_rate"], t["activation"]) for t in trials}) == 4
    assert (_project(tmp_path) / "best_model.keras").exists()
