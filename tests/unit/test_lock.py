"""The results folder's lock and the once-per-run appends, in this process.

Another process holding a folder is played by a second open file of the lock, locked with
``flock`` (which is per open file, so it shuts this process out too) and naming another
pid; the tests with real processes are in ``tests/integration/test_lock.py``.
"""

from __future__ import annotations

import dataclasses
import fcntl
import io
import json
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from experiments import reproduce
from experiments._cli import run_main
from keras_fcn import lock
from keras_fcn.errors import FolderInUse
from keras_fcn.family import DENSE
from keras_fcn.lock import LOCK, folder_lock
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.study import StudyProgress, run_study, with_seeds
from tests.unit.test_study import fake_trainer

# above Linux's largest possible pid (PID_MAX_LIMIT, 2**22): never a running process
DEAD_PID = 2**22 + 1


def _owner_text(pid: int, command: str = "python -m experiments.reproduce chenab") -> str:
    owner = lock.Owner(pid, socket.gethostname(), "2030-01-01T00:00:00+00:00", command)
    return json.dumps(dataclasses.asdict(owner))


def _hold_as_another_process(folder: Path, pid: int) -> int:
    """Lock ``folder`` as a process of pid ``pid`` would: its open lock file."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(fd, _owner_text(pid).encode())
    return fd


def _release_as_another_process(folder: Path, fd: int) -> None:
    (folder / LOCK).unlink()
    os.close(fd)


def test_the_lock_file_names_its_holder_and_is_gone_after(tmp_path):
    folder = tmp_path / "out" / "study"
    with folder_lock(folder, command="python -m experiments.reproduce x") as path:
        owner = json.loads(path.read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        assert owner["command"] == "python -m experiments.reproduce x" and owner["started"]
        assert lock.holds(folder)
    assert not lock.holds(folder)
    assert not (tmp_path / "out").exists(), "the folders it made, left empty, are removed"


def test_a_folder_with_results_is_kept_and_only_the_lock_file_goes(tmp_path):
    with folder_lock(tmp_path / "study") as path:
        (tmp_path / "study" / "runs.jsonl").write_text("")
    assert not path.exists() and (tmp_path / "study" / "runs.jsonl").exists()


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_the_lock_is_released_on_an_exception_and_on_ctrl_c(tmp_path, error):
    with pytest.raises(error), folder_lock(tmp_path) as path:
        assert path.exists()
        raise error
    assert not path.exists() and not lock.holds(tmp_path)
    with folder_lock(tmp_path, stream=io.StringIO()) as path:  # free again, no stale note
        assert json.loads(path.read_text())["pid"] == os.getpid()


def test_a_stale_lock_of_a_dead_pid_is_taken_over_with_a_one_line_note(tmp_path):
    (tmp_path / LOCK).write_text(_owner_text(DEAD_PID))
    stream = io.StringIO()
    with folder_lock(tmp_path, stream=stream) as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()
    note = stream.getvalue()
    assert note.count("\n") == 1 and note.startswith(f"note: {tmp_path} was locked by pid")
    assert f"pid {DEAD_PID} (`python -m experiments.reproduce chenab`" in note
    assert "no longer running: taking it over" in note


def test_a_folder_held_by_another_process_stops_in_one_line_naming_it(tmp_path):
    fd = _hold_as_another_process(tmp_path, os.getppid())
    try:
        with pytest.raises(FolderInUse) as info, folder_lock(tmp_path):
            pytest.fail("entered a folder another process holds")
    finally:
        _release_as_another_process(tmp_path, fd)
    message = str(info.value)
    assert "\n" not in message and info.value.owner.pid == os.getppid()
    assert message.startswith(f"results folder {tmp_path} is in use by pid {os.getppid()} (")
    assert "`python -m experiments.reproduce chenab`, since 2030-01-01" in message
    assert "--wait SECONDS" in message


def test_a_lock_file_naming_a_live_process_is_in_use_even_without_flock(tmp_path):
    """On a file system whose flock does not reach the holder, its file still keeps others
    out while its pid lives."""
    (tmp_path / LOCK).write_text(_owner_text(os.getppid()))
    with pytest.raises(FolderInUse, match=f"in use by pid {os.getppid()}"), folder_lock(tmp_path):
        pytest.fail("entered a folder a live process holds")
    assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getppid(), "left as it was"


def test_waiting_gives_up_after_its_seconds_and_says_so(tmp_path):
    fd = _hold_as_another_process(tmp_path, os.getppid())
    stream, started = io.StringIO(), time.monotonic()
    try:
        with (
            pytest.raises(FolderInUse, match="after waiting 0.6 s"),
            folder_lock(tmp_path, wait=0.6, stream=stream),
        ):
            pytest.fail("entered a folder another process holds")
    finally:
        _release_as_another_process(tmp_path, fd)
    assert time.monotonic() - started >= 0.6
    assert stream.getvalue() == (
        f"{tmp_path} is in use by pid {os.getppid()} (`python -m experiments.reproduce chenab`, "
        "since 2030-01-01T00:00:00+00:00); waiting up to 0.6 s\n"
    )


def test_a_waiting_process_gets_the_folder_once_its_holder_ends(tmp_path):
    fd = _hold_as_another_process(tmp_path, os.getppid())
    timer = threading.Timer(0.5, _release_as_another_process, (tmp_path, fd))
    timer.start()
    stream = io.StringIO()
    with folder_lock(tmp_path, wait=float("inf"), stream=stream) as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()
    timer.join()
    assert "waiting as long as it takes" in stream.getvalue()
    assert "no longer running" not in stream.getvalue()


def test_a_process_holding_a_folder_holds_it_again_until_the_outer_hold_ends(tmp_path):
    with folder_lock(tmp_path) as path:
        with folder_lock(tmp_path):
            assert path.exists()
        assert path.exists() and lock.holds(tmp_path)
    assert not path.exists()


def test_empty_keeps_only_the_lock_file(tmp_path):
    with folder_lock(tmp_path) as path:
        (tmp_path / "search" / "trial_0").mkdir(parents=True)
        (tmp_path / "final_runs.jsonl").write_text("x\n")
        lock.empty(tmp_path)
        assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("wait", [-1.0, float("nan")])
def test_a_bad_wait_is_a_config_error(tmp_path, wait):
    with pytest.raises(ValueError, match="--wait"), folder_lock(tmp_path, wait=wait):
        pytest.fail("a bad wait was taken")
    assert not (tmp_path / LOCK).exists()


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
def test_a_bad_wait_on_the_command_line_is_one_line_and_writes_nothing(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as info:
        run_main(reproduce.main, ["dense-l2", "--wait", value, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert f"argument --wait: {value!r}: give seconds, 0 or more" in err
    assert not list(tmp_path.iterdir())


# Appends once per run ---------------------------------------------------------------------


def _record(run_id: str, status: str = "ok") -> RunRecord:
    return RunRecord(run_id=run_id, family="dense", config={}, seed=0, status=status)


def test_append_once_skips_a_run_another_store_recorded_and_retries_a_failed_one(tmp_path):
    mine, theirs = RunStore(tmp_path / "runs.jsonl"), RunStore(tmp_path / "runs.jsonl")
    assert mine.append_once(_record("a"))
    assert not mine.recorded("b")
    theirs.append(_record("b", "failed"))
    assert not mine.recorded("b"), "a failed record does not settle its run"
    theirs.append(_record("b"))
    assert mine.recorded("b")
    assert not mine.append_once(_record("b")) and not mine.append_once(_record("b", "failed"))
    assert mine.append_once(_record("c", "failed")) and mine.append_once(_record("c"))
    ids = [json.loads(line)["run_id"] for line in mine.path.read_bytes().splitlines()]
    assert ids == ["a", "b", "b", "c", "c"]


def test_append_once_reads_past_a_torn_line_and_a_replaced_file(tmp_path):
    store = RunStore(tmp_path / "runs.jsonl")
    store.append(_record("a"))
    with open(store.path, "ab") as f:
        f.write(b'{"run_id":"x","fam')  # a writer killed mid-line
    assert store.recorded("a") and not store.recorded("x")
    assert store.append_once(_record("b")) and store.recorded("b")
    replacement = tmp_path / "new.jsonl"
    RunStore(replacement).append(_record("c"))
    os.replace(replacement, store.path)
    assert store.recorded("c") and not store.recorded("a")


def test_a_study_skips_a_run_another_process_recorded_while_it_trained(tmp_path):
    """A run recorded meanwhile by a process outside the lock is not trained again, and its
    record on disk is the one the study returns."""
    runs = with_seeds([DENSE.run_config({"learning_rate": 0.01})], [1, 2, 3])
    store, calls = RunStore(tmp_path / "runs.jsonl"), []
    other = RunRecord(runs[2].run_id, "dense", runs[2].to_dict(), 3, test_accuracy=0.99)
    train = fake_trainer(calls)

    def trainer(family, run, data):
        if run is runs[0]:  # meanwhile, elsewhere: runs[2] finishes
            RunStore(store.path).append(other)
        return train(family, run, data)

    records = run_study(
        {"dense": DENSE},
        runs,
        store,
        load=lambda d: None,
        trainer=trainer,
        progress=StudyProgress(stream=io.StringIO()),
    )
    assert calls == [runs[0].run_id, runs[1].run_id]
    assert [r.run_id for r in records] == [r.run_id for r in runs]
    assert records[2].test_accuracy == 0.99
    assert len(store.path.read_bytes().splitlines()) == 3


def test_a_study_on_a_folder_another_process_holds_trains_nothing(tmp_path):
    runs = with_seeds([DENSE.run_config()], [1, 2])
    fd = _hold_as_another_process(tmp_path, os.getppid())
    calls: list = []
    try:
        with pytest.raises(FolderInUse, match=f"in use by pid {os.getppid()}"):
            run_study(
                {"dense": DENSE},
                runs,
                RunStore(tmp_path / "runs.jsonl"),
                load=lambda d: None,
                trainer=fake_trainer(calls),
                progress=StudyProgress(stream=io.StringIO()),
            )
    finally:
        _release_as_another_process(tmp_path, fd)
    assert calls == [] and (tmp_path / "runs.jsonl").read_text() == ""
