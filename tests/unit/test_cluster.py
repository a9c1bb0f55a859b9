"""The driver's side of studies on an engine (keras_fcn/cluster.py) with a fake engine:
records appended once each, in the order they finish, whatever the engine hands back; the
flags that choose an engine. No Ray is started here (tests/integration/test_cluster.py)."""

from __future__ import annotations

import collections
import io
import sys

import pytest

from keras_fcn.cluster import RayEngine, engine_from
from keras_fcn.errors import ConfigError
from keras_fcn.record import RunStore
from keras_fcn.study import StudyProgress, run_study
from tests.unit.test_study import FAMILIES, _runs, fake_trainer


class FakeEngine:
    """Runs calls in this process, in reverse order; hands back some results twice (a
    retried task finishing late) and a call it lost with Ray's kind of note."""

    def __init__(self, duplicate: int = 0, lose: int | None = None) -> None:
        self.duplicate, self.lose, self.running, self.given = duplicate, lose, 0, []

    def put(self, value):
        return value

    def imap(self, fn, calls):
        self.given.append([key for key, _ in calls])
        finished = []
        for number, (key, args) in enumerate(reversed(calls)):
            self.running = len(calls) - number - 1
            if number == self.lose:
                item = (key, None, "WorkerCrashedError: died (tried 3 times)", 1.0)
            else:
                item = (key, fn(*args), None, 1.0)
            finished.append(item)
            yield item
            if number < self.duplicate:
                yield item  # the same call again, late
        yield from finished[: self.duplicate]  # and again at the very end


def test_engine_records_each_run_once_even_when_handed_back_twice(tmp_path):
    store, calls, stream = RunStore(tmp_path / "runs.jsonl"), [], io.StringIO()
    engine = FakeEngine(duplicate=3)
    records = run_study(
        FAMILIES, _runs(), store, load=lambda d: None, trainer=fake_trainer(calls),
        progress=StudyProgress(stream=stream), engine=engine,
    )  # fmt: skip
    ids = [r.run_id for r in store]
    assert len(ids) == len(set(ids)) == 6 == len(calls)
    assert [r.run_id for r in records] == [r.run_id for r in _runs()]  # in the order given
    lines = stream.getvalue().splitlines()
    assert len(lines) == 6 and lines[-1].startswith("[6/6]") and lines[-1].endswith("all done")
    assert all(" running), about " in line for line in lines[:-1])


def test_engine_gets_only_the_runs_not_on_disk_and_lists_each_once(tmp_path):
    store, calls = RunStore(tmp_path / "runs.jsonl"), []
    runs = _runs()
    run_study(
        FAMILIES,
        runs[:2],
        store,
        load=lambda d: None,
        trainer=fake_trainer(calls),
        progress=StudyProgress(stream=io.StringIO()),
    )
    engine = FakeEngine()
    run_study(
        FAMILIES, runs + runs[3:], store, load=lambda d: None, trainer=fake_trainer(calls),
        progress=StudyProgress(stream=io.StringIO()), engine=engine,
    )  # fmt: skip
    assert engine.given == [[r.run_id for r in runs[2:]]]
    counts = collections.Counter(r.run_id for r in store)
    assert set(counts.values()) == {1} and len(counts) == 6


def test_a_run_the_engine_lost_is_recorded_failed_and_trained_next_time(tmp_path):
    store, calls = RunStore(tmp_path / "runs.jsonl"), []
    records = run_study(
        FAMILIES, _runs(), store, load=lambda d: None, trainer=fake_trainer(calls),
        progress=StudyProgress(stream=io.StringIO()), engine=FakeEngine(lose=0),
    )  # fmt: skip
    [lost] = [r for r in records if r.status == "failed"]
    assert "WorkerCrashedError" in lost.note and lost.run_id == _runs()[-1].run_id
    engine = FakeEngine()
    again = run_study(
        FAMILIES, _runs(), store, load=lambda d: None, trainer=fake_trainer(calls),
        progress=StudyProgress(stream=io.StringIO()), engine=engine,
    )  # fmt: skip
    assert engine.given == [[lost.run_id]] and {r.status for r in again} == {"ok"}


def test_a_run_that_raises_in_a_task_is_recorded_failed_as_in_process(tmp_path):
    store, calls = RunStore(tmp_path / "runs.jsonl"), []
    records = run_study(
        FAMILIES, _runs(seeds=(1, 2)), store, load=lambda d: None,
        trainer=fake_trainer(calls, fail_on={2}), progress=StudyProgress(stream=io.StringIO()), engine=FakeEngine(),
    )  # fmt: skip
    failed = [r for r in records if r.status == "failed"]
    assert len(failed) == 2 and {r.note for r in failed} == {"RuntimeError: out of luck"}


def test_without_jobs_or_address_the_study_runs_in_process(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert engine_from(None, None, None) is None
    assert engine_from(1, None, None) is None


@pytest.mark.parametrize(
    ("jobs", "threads", "address", "message"),
    [
        (0, None, None, "--jobs 0"),
        (2, 0, None, "--threads-per-run 0"),
        (None, 2, None, "--threads-per-run works only with"),
    ],
)
def test_bad_engine_flags_are_one_line(monkeypatch, jobs, threads, address, message):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ConfigError, match=message):
        engine_from(jobs, threads, address)


def test_threads_per_run_default_to_the_cores_shared_out(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert RayEngine(jobs=2).threads == 4
    assert RayEngine(jobs=16).threads == 1
    assert RayEngine(address="head:6379").threads == 1
    assert RayEngine(jobs=2, threads_per_run=3).threads == 3


def test_the_in_process_study_never_imports_ray(tmp_path, monkeypatch):
    # whatever this session imported before, an import of ray now fails: a study without an
    # engine must finish all the same, and record every run
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "ray", None)
    store = RunStore(tmp_path / "runs.jsonl")
    records = run_study(
        FAMILIES,
        _runs(),
        store,
        load=lambda d: None,
        trainer=fake_trainer([]),
        progress=StudyProgress(stream=io.StringIO()),
    )
    assert len(records) == len(_runs()) and all(r.status == "ok" for r in records)


@pytest.mark.parametrize("address", ["127.0.0.1:1", "nohost", "head:port"])
def test_a_cluster_address_where_nothing_answers_is_one_line(address):
    with pytest.raises(ConfigError, match="--ray-address"):
        RayEngine(address=address).start()


def test_auto_jobs_follows_the_batch_size_the_cores_and_ray(monkeypatch):
    from keras_fcn.cluster import AUTO_JOBS, AUTO_JOBS_MAX_BATCH, auto_jobs

    assert auto_jobs(AUTO_JOBS_MAX_BATCH, cores=2) == AUTO_JOBS
    assert auto_jobs(AUTO_JOBS_MAX_BATCH + 1, cores=2) == 1
    assert auto_jobs(32, cores=1) == 1
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray not installed: in this process
    assert auto_jobs(32, cores=2) == 1


def _engine_for(monkeypatch, *argv, cores=2):
    """The engine `experiments.reproduce ARGV` would train on (built, never started)."""
    from experiments import reproduce

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    args = reproduce.build_parser().parse_args(list(argv))
    return reproduce._engine_for(args, reproduce.get_study(args.study))


def test_a_study_without_engine_flags_takes_the_measured_default(monkeypatch, capsys):
    from keras_fcn.cluster import AUTO_JOBS

    engine = _engine_for(monkeypatch, "konycheva")  # batch 64
    assert isinstance(engine, RayEngine) and engine.jobs == AUTO_JOBS and engine.threads == 1
    assert "konycheva: batch 64: 2 runs at once" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["konycheva", "--jobs", "1"],  # asked for in-process
        ["konycheva", "--quick"],  # seconds of training: Ray's start would cost more
        ["konycheva", "--dry-run"],
    ],
)
def test_in_process_when_asked_quick_or_dry(monkeypatch, argv):
    assert _engine_for(monkeypatch, *argv) is None


def test_one_core_trains_in_process_and_flags_win_over_the_default(monkeypatch):
    assert _engine_for(monkeypatch, "konycheva", cores=1) is None
    engine = _engine_for(monkeypatch, "konycheva", "--jobs", "3", "--threads-per-run", "1")
    assert engine.jobs == 3 and engine.threads == 1
