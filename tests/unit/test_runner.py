"""The one resumable runner (keras_fcn/runner.py) on tiny fake tasks: what is done is skipped,
each record appended once and returned in task order, a failure recorded and retried, records
done elsewhere honoured, and two runners on one store write nothing twice; in this process and
on a fake engine."""

from __future__ import annotations

import collections

import pytest

from keras_fcn.identity import Status
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.runner import Job, RunnerCallback, run_tasks
from tests.unit.test_cluster import FakeEngine


def _record(task: str, accuracy: float = 0.5, status: str = Status.OK) -> RunRecord:
    return RunRecord(task, "fake", {"task": task}, 0, status=status, test_accuracy=accuracy)


def _failed(task: str, note: str, seconds: float) -> RunRecord:
    return RunRecord(task, "fake", {"task": task}, 0, status=Status.FAILED, note=note)


class Work:
    """Tasks are strings; the record's run id is the task. Remembers what it did; raises for
    the tasks in ``fail``."""

    def __init__(self, fail=(), extra=False) -> None:
        self.done, self.fail, self.extra = [], set(fail), extra

    def __call__(self, task, data):
        self.done.append(task)
        if task in self.fail:
            raise RuntimeError(f"{task} broke")
        record = _record(task)
        return (record, f"{task} with {data}") if self.extra else record


def _job(work, failed=_failed, **kwargs) -> Job:
    return Job(work=work, task_id=lambda task: task, failed=failed, **kwargs)


class Told(RunnerCallback):
    def __init__(self) -> None:
        self.plan, self.begun, self.ended = None, [], []

    def on_plan(self, total, todo):
        self.plan = (total, todo)

    def on_task_begin(self, task):
        self.begun.append(task)

    def on_task_end(self, outcome):
        self.ended.append(outcome)


def _lines(store: RunStore) -> list[str]:
    return [r.run_id for r in store]


ENGINES = [pytest.param(lambda: None, id="in-process"), pytest.param(FakeEngine, id="engine")]


@pytest.mark.parametrize("engine", ENGINES)
def test_what_is_done_is_skipped_and_the_records_come_back_in_task_order(tmp_path, engine):
    store, work, told = RunStore(tmp_path / "runs.jsonl"), Work(), Told()
    store.append(_record("b", accuracy=0.9))
    store.append(_record("c", status=Status.FAILED))  # failed before: tried again
    records = run_tasks(_job(work), ["a", "b", "c", "a"], store, engine=engine(), callback=told)
    assert sorted(work.done) == ["a", "c"]  # b done, a listed twice runs once
    assert [r.run_id for r in records] == ["a", "b", "c", "a"]
    assert records[1].test_accuracy == 0.9  # the stored record of a task done before
    assert _lines(store) == ["b", "c", *work.done] and told.plan == (4, 2)
    assert [o.task for o in told.ended] == work.done


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failing_task_is_recorded_failed_and_retried_by_the_next_call(tmp_path, engine):
    store = RunStore(tmp_path / "runs.jsonl")
    records = run_tasks(_job(Work(fail={"b"})), ["a", "b", "c"], store, engine=engine())
    assert [r.status for r in records] == ["ok", "failed", "ok"]
    assert records[1].note == "RuntimeError: b broke"
    work = Work()
    again = run_tasks(_job(work), ["a", "b", "c"], store, engine=engine())
    assert work.done == ["b"] and [r.status for r in again] == ["ok"] * 3
    assert collections.Counter(r.status for r in store) == {"ok": 3, "failed": 1}


def test_a_call_the_engine_lost_is_recorded_failed_with_its_note(tmp_path):
    store = RunStore(tmp_path / "runs.jsonl")
    records = run_tasks(_job(Work()), ["a", "b"], store, engine=FakeEngine(lose=0))
    assert records[1].status == "failed" and "WorkerCrashedError" in records[1].note


def test_results_handed_back_twice_are_appended_and_told_once(tmp_path):
    store, told = RunStore(tmp_path / "runs.jsonl"), Told()
    tasks = ["a", "b", "c"]
    run_tasks(_job(Work(fail={"c"})), tasks, store, engine=FakeEngine(duplicate=3), callback=told)
    assert sorted(_lines(store)) == tasks and len(told.ended) == 3
    assert [o.running for o in told.ended] == [2, 1, 0]


@pytest.mark.parametrize("engine", ENGINES)
def test_without_failed_a_failure_is_told_not_recorded(tmp_path, engine):
    store, told = RunStore(tmp_path / "runs.jsonl"), Told()
    records = run_tasks(
        _job(Work(fail={"a"}), failed=None), ["a", "b"], store, engine=engine(), callback=told
    )
    assert [r.run_id for r in records] == ["b"] and _lines(store) == ["b"]
    [lost] = [o for o in told.ended if o.task == "a"]
    assert lost.record is None and lost.note == "RuntimeError: a broke"


@pytest.mark.parametrize("engine", ENGINES)
def test_resumed_records_count_as_done_unless_the_store_has_its_own(tmp_path, engine):
    store, work = RunStore(tmp_path / "runs.jsonl"), Work()
    store.append(_record("b", accuracy=0.7))
    resumed = [_record("a", 0.1), _record("b", 0.2), _record("c", status=Status.FAILED)]
    records = run_tasks(_job(work), ["a", "b", "c"], store, resumed=resumed, engine=engine())
    assert work.done == ["c"]  # a failed record elsewhere is not done
    assert [r.test_accuracy for r in records] == [0.1, 0.7, 0.5]
    assert _lines(store) == ["b", "c"]  # resumed records are not copied into the store


@pytest.mark.parametrize("engine", ENGINES)
def test_each_dataset_is_loaded_once_and_work_gets_it_with_its_extra(tmp_path, engine):
    loads, told = [], Told()

    def load(key):
        loads.append(key)
        return f"data {key}"

    job = _job(Work(extra=True), data=lambda task: task[0], load=load)
    run_tasks(
        job, ["x1", "y1", "x2"], RunStore(tmp_path / "runs.jsonl"), engine=engine(), callback=told
    )
    assert sorted(loads) == ["x", "y"]
    assert {o.task: o.extra for o in told.ended} == {
        "x1": "x1 with data x", "y1": "y1 with data y", "x2": "x2 with data x"
    }  # fmt: skip
    assert told.begun == ([] if engine() else ["x1", "y1", "x2"])  # begun: in process only


@pytest.mark.parametrize("engine", ENGINES)
def test_two_runners_on_one_store_write_no_record_twice(tmp_path, engine):
    """While the first runner works on its first task, a second one on the same store does
    ``a`` and ``b``: the first keeps the second's records and appends neither again."""
    path, second = tmp_path / "runs.jsonl", Work()
    first_done = []

    def first(task, data):
        first_done.append(task)
        if len(first_done) == 1:
            run_tasks(_job(second), ["a", "b"], RunStore(path))
        return _record(task, accuracy=0.1)

    records = run_tasks(_job(first), ["a", "b"], RunStore(path), engine=engine())
    assert second.done == ["a", "b"] and _lines(RunStore(path)) == ["a", "b"]
    assert [r.test_accuracy for r in records] == [0.5, 0.5]  # the records on disk
    # in process, b is seen recorded before it starts; on an engine both were under way
    assert len(first_done) == (2 if engine() else 1)


def test_a_selection_is_found_by_its_search_id(tmp_path):
    """A task whose record's run id is not known before it runs (a baseline's selection) is
    found by the record's ``config["search_id"]``."""
    store, calls = RunStore(tmp_path / "runs.jsonl"), []

    def select(task, data):
        calls.append(task)
        return RunRecord(f"chosen-{len(calls)}", "knn", {"search_id": task}, 0)

    run_tasks(_job(select), ["s1", "s2"], store)
    records = run_tasks(_job(select), ["s2", "s1", "s3"], store)
    assert calls == ["s1", "s2", "s3"]
    assert [r.run_id for r in records] == ["chosen-2", "chosen-1", "chosen-3"]
