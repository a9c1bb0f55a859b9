"""Studies on Ray (keras_fcn/cluster.py): the same records as in-process, on a local
instance (``--jobs``) and on a two-node cluster (``--ray-address``); a node lost and the
driver killed mid-study leave every run recorded exactly once.

Everything is tiny: one table of chenab on a few hundred images, one epoch, one CPU a node;
most of the time goes to starting Ray and TensorFlow in each worker.
"""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from keras_fcn.record import RunStore
from tests.helpers import ROOT

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

# chenab's dropout table (three rows) shrunk further: each run takes a second or two
STUDY = [
    "chenab", "--quick", "--only", "dropout",
    "--set", "train_limit=500", "--set", "test_limit=300", "--set", "validation=500",
    "--set", "hidden=32", "--set", "epochs=1",
]  # fmt: skip
# what a run on Ray may differ in: its timings, and its threads (its share of the cores)
TIMINGS = ("wall_time_s", "fit_time_s", "predict_time_s", "created", "threads")
WORKER_NOISE = re.compile(r"oneDNN|absl::InitializeLog|WARNING:tensorflow:|Token authentication")
MARK = "KERAS_FCN_TEST_RAY"  # set on every process a test starts, to find what is left


def _command(out: Path, seeds: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "experiments.reproduce", *STUDY, "--seeds", str(seeds),
        "--out", str(out), "--baselines", str(out / "none"), *extra,
    ]  # fmt: skip


def _run(out: Path, seeds: int, *extra: str) -> str:
    done = subprocess.run(
        _command(out, seeds, *extra), cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def _records(out: Path) -> list:
    return RunStore(out / "chenab-quick" / "runs.jsonl").records()


def _without_timings(records) -> dict[str, dict]:
    return {r.run_id: {k: v for k, v in r.to_dict().items() if k not in TIMINGS} for r in records}


def _kill_marked(value: str) -> None:
    """SIGKILL the processes a test started (those with MARK=value), and only them."""
    needle = f"{MARK}={value}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> dict[str, dict]:
    """The tiny table trained in-process, as the reference."""
    out = tmp_path_factory.mktemp("in-process")
    _run(out, 1)
    records = _records(out)
    assert len(records) == 3 and {r.status for r in records} == {"ok"}
    return _without_timings(records)


def _same_as(records, reference: dict[str, dict]) -> None:
    """The runs of ``reference`` are among ``records``, identical apart from timings and
    threads."""
    mine = _without_timings(records)
    assert {k: mine.get(k) for k in reference} == reference


@pytest.fixture
def cluster(monkeypatch):
    """A head and a second node on 127.0.0.1, one CPU each, dashboard off."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK, value)
    nodes = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    worker = nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()
    try:
        yield nodes, worker
    finally:
        nodes.shutdown()
        _kill_marked(value)


@pytest.mark.slow  # also shown, with a kill on top, by the driver-killed test below
def test_jobs_2_gives_the_in_process_records(tmp_path, in_process):
    """--jobs 2 on a local Ray instance: the same records, bit for bit apart from timings
    (each run is seeded and single-process either way; the threads only split the cores)."""
    log = _run(tmp_path, 1, "--jobs", "2", "--threads-per-run", "1")
    _same_as(_records(tmp_path), in_process)
    assert "[3/3]" in log and "running" in log


@pytest.mark.slow  # also shown, with a node lost on top, by the node-lost test below
def test_ray_address_of_a_two_node_cluster_gives_the_in_process_records(
    tmp_path, in_process, cluster
):
    """--ray-address of a head and one node: the same records as in-process."""
    nodes, _ = cluster
    _run(tmp_path, 1, "--ray-address", nodes.address)
    _same_as(_records(tmp_path), in_process)


def _tasks_on(node) -> list[int]:
    """Pids of the worker processes of ``node`` busy with a task (``ray::call_task``)."""
    raylet = node.all_processes["raylet"][0].process.pid
    busy = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == raylet and cmdline.startswith(
            b"ray::call_task"
        ):
            busy.append(int(entry.name))
    return busy


def test_node_lost_mid_study_costs_only_its_runs_and_each_is_recorded_once(
    tmp_path, cluster, in_process
):
    """--ray-address of a head and a second node, the second killed while it trains a run:
    Ray retries that run on the head; the study completes with every run recorded exactly
    once, all of them ok, and the same records as in-process."""
    nodes, worker = cluster
    log = tmp_path / "driver.log"
    with open(log, "wb") as output:
        driver = subprocess.Popen(
            _command(tmp_path, 2, "--ray-address", nodes.address),
            cwd=ROOT, stdout=output, stderr=output, start_new_session=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 240
            while not _tasks_on(worker):
                assert driver.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "the second node never took a run"
                time.sleep(0.2)
            nodes.remove_node(worker, allow_graceful=False)
            driver.wait(timeout=300)
        finally:
            if driver.poll() is None:
                os.killpg(driver.pid, signal.SIGKILL)
                driver.wait()
    assert driver.returncode == 0, log.read_text()[-3000:]
    # the workers import TensorFlow quietly, and Ray's secure default goes unannounced
    assert not WORKER_NOISE.search(log.read_text()), log.read_text()[-3000:]
    records = _records(tmp_path)
    counts = collections.Counter(r.run_id for r in records)
    assert len(counts) == 6 and set(counts.values()) == {1}
    assert {r.status for r in records} == {"ok"}
    _same_as(records, in_process)


# about 30 s: `make test-slow` (the node-loss test above keeps Ray's faults in `make test`)
@pytest.mark.slow
def test_driver_killed_and_rerun_trains_only_the_missing_runs_once(
    tmp_path, monkeypatch, in_process
):
    """kill -9 of a --jobs 2 driver once a record is on disk, then the same command: the
    rerun trains only the runs not on disk, every run is recorded exactly once, and the
    records are those of the in-process run."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK, value)
    store = tmp_path / "chenab-quick" / "runs.jsonl"
    try:
        driver = subprocess.Popen(
            _command(tmp_path, 1, "--jobs", "2", "--threads-per-run", "1"),
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 240
        while not (store.exists() and store.read_bytes().count(b"\n") >= 1):
            assert driver.poll() is None, "the driver ended before its first record"
            assert time.monotonic() < deadline, "no record within the deadline"
            time.sleep(0.1)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        time.sleep(1.0)
        _kill_marked(value)  # whatever of its Ray instance outlived it
        before = {r.run_id for r in _records(tmp_path)}
        assert 1 <= len(before) < 3
        log = _run(tmp_path, 1, "--jobs", "2", "--threads-per-run", "1")
    finally:
        _kill_marked(value)
    records = _records(tmp_path)
    counts = collections.Counter(r.run_id for r in records)
    assert len(counts) == 3 and set(counts.values()) == {1}
    trained = [line for line in log.splitlines() if line.startswith("[") and "/3]" in line]
    assert len(trained) == 3 - len(before)
    assert {r.status for r in records} == {"ok"}
    _same_as(records, in_process)
