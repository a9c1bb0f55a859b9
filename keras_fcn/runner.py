"""One resumable runner: the tasks not done yet are run, and each result is appended once.

Studies (:func:`keras_fcn.study.run_study`, and through it a search's final retraining) and
the baselines' selections (``experiments.baselines``) all run their tasks with
:func:`run_tasks`::

    job = Job(work=train, task_id=lambda run: run.run_id, failed=failed_record)
    records = run_tasks(job, runs, RunStore(folder / "runs.jsonl"), engine=None)

- A task whose record is stored already (one that did not fail), or is among ``resumed``,
  is skipped; a task listed twice runs once.
- The others run in this process one after the other, or on an :class:`Engine` several at
  once (:class:`keras_fcn.cluster.RayEngine`). The dataset a task needs is loaded once.
- A task that raises is a failure: recorded with status ``failed`` and the reason in its
  note (the next call tries it again), or, for a job that records no failures, only
  reported. Ctrl-C stops the runner with every finished task kept.
- Each record is appended once, here, as its task finishes, with
  :meth:`~keras_fcn.record.RunStore.append_once`, which checks the file under its lock: a
  task another process recorded meanwhile is not written twice, and the record on disk is
  the one returned. In process, a task is also checked just before it starts.
- The records come back in the order of the tasks.

The store's folder is locked while the runner works (:func:`keras_fcn.lock.folder_lock`;
a command that holds it already keeps it). Ray is never imported here: an engine is
anything with the methods of :class:`Engine`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, Protocol

from keras_fcn.identity import Status, record_keys
from keras_fcn.lock import folder_lock
from keras_fcn.record import RunRecord, RunStore


class Engine(Protocol):
    """Runs calls elsewhere, several at once (:class:`keras_fcn.cluster.RayEngine`).

    It never writes a record: the runner, in this process, alone appends them. ``running``
    is the number of calls in flight at the moment.
    """

    running: int

    def put(self, value: Any) -> Any:
        """``value`` where the calls read it (once per machine): what to pass them instead."""
        ...

    def imap(
        self, fn: Callable[..., Any], calls: Sequence[tuple[Any, tuple[Any, ...]]]
    ) -> Iterator[tuple[Any, Any, str | None, float]]:
        """``fn(*args)`` for each ``(key, args)``; yields ``(key, result, note, seconds)``
        as each call finishes, in any order: ``note`` is the one-line reason of a call that
        gave no result (``result`` is then ``None``)."""
        ...


@dataclasses.dataclass(frozen=True)
class Job:
    """How the runner does tasks of one kind.

    Attributes:
        work: ``(task, data) -> record``, or ``-> (record, extra)`` when the caller wants
            more back (``extra`` reaches :meth:`RunnerCallback.on_task_end`). It runs in
            this process or in an engine's task: there it must pickle (a module-level
            function, or a ``functools.partial`` of one).
        task_id: a task's stable id: a task is done when a record found by that id
            (:func:`keras_fcn.identity.record_keys`) is stored.
        failed: ``(task, note, seconds) -> record`` of a task that raised (status
            ``failed``, ``note`` in its note), appended like any record; ``None``: failures
            are not recorded, only reported.
        data: the key of the dataset a task needs (``None``: no dataset).
        load: key -> dataset, called once per key, in this process.
    """

    work: Callable[[Any, Any], Any]
    task_id: Callable[[Any], str]
    failed: Callable[[Any, str, float], RunRecord] | None = None
    data: Callable[[Any], Hashable] | None = None
    load: Callable[[Hashable], Any] | None = None


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a task ended.

    Attributes:
        task: the task.
        record: its record, appended (or, if another process recorded the task meanwhile,
            not); ``None`` for a failure the job does not record.
        extra: what the work returned beside the record; ``None`` when there is none.
        note: why the task failed; ``None`` when it did not.
        running: tasks in flight on the engine now; ``None`` in this process.
    """

    task: Any
    record: RunRecord | None
    extra: Any = None
    note: str | None = None
    running: int | None = None


class RunnerCallback:
    """What a runner tells as it goes (as Keras tells a callback): each hook does nothing
    here; a caller overrides those it needs."""

    def on_plan(self, total: int, todo: int) -> None:
        """Before any task: ``todo`` of the ``total`` tasks are left to do."""

    def on_task_begin(self, task: Any) -> None:
        """Just before ``task``'s work, in this process (not on an engine)."""

    def on_task_end(self, outcome: Outcome) -> None:
        """After a task's record is appended, or its failure noted."""


def attempt(work: Callable[[Any, Any], Any], task: Any, data: Any) -> tuple[Any, str | None, float]:
    """``work(task, data)``, in this process or in an engine's task: its result (``None``
    if it raised), the one-line reason it raised (``None`` if not), and its seconds.

    Ctrl-C and ``MemoryError`` are not caught: they stop the runner.
    """
    started = time.perf_counter()
    try:
        return work(task, data), None, time.perf_counter() - started
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # one bad task must not end a night of tasks
        return None, f"{type(exc).__name__}: {exc}", time.perf_counter() - started


def run_tasks(
    job: Job,
    tasks: Sequence[Any],
    store: RunStore,
    *,
    resumed: Iterable[RunRecord] = (),
    engine: Engine | None = None,
    callback: RunnerCallback | None = None,
) -> list[RunRecord]:
    """Do each of ``tasks`` not done yet, append each record once, return every task's record.

    Args:
        job: how to do a task (:class:`Job`).
        tasks: the tasks, each with a stable id (``job.task_id``).
        store: where records are read from and appended to; its folder is locked meanwhile.
        resumed: records held outside ``store`` whose tasks count as done; a task the
            store holds gets the store's record.
        engine: does the tasks elsewhere, several at once; ``None``: one after the other
            in this process.
        callback: told of the plan and of each task's start and end.

    Returns:
        The record of each task that has one (done before, or recorded now, failed ones
        included), in the order of ``tasks``.
    """
    with folder_lock(store.path.parent):  # held already by a command around its runner
        runner = _Runner(job, store, resumed, callback or RunnerCallback())
        return runner.run(tasks, engine)


class _Runner:
    """:func:`run_tasks`'s state: the records known, by every id they are found by (those
    that did not fail, and this call's failures)."""

    def __init__(
        self, job: Job, store: RunStore, resumed: Iterable[RunRecord], callback: RunnerCallback
    ) -> None:
        self.job, self.store, self.callback = job, store, callback
        self.records: dict[str, RunRecord] = {}
        self.ended: set[str] = set()
        self._add(resumed)
        self._add(store)

    def _add(self, records: Iterable[RunRecord]) -> None:
        for record in records:
            if record.status != Status.FAILED:
                self.records.update(
                    dict.fromkeys(record_keys(record.run_id, record.config), record)
                )

    def done(self, task_id: str) -> bool:
        """Whether the task has a record: one that did not fail, or its failure in this call
        (only those are read in, so that a task failed before runs again)."""
        return task_id in self.records

    def run(self, tasks: Sequence[Any], engine: Engine | None) -> list[RunRecord]:
        ids = [self.job.task_id(task) for task in tasks]
        todo = {i: task for i, task in zip(ids, tasks, strict=True) if not self.done(i)}
        self.callback.on_plan(len(tasks), len(todo))
        if engine is None:
            self._here(todo)
        else:
            self._on(engine, todo)
        return [self.records[i] for i in ids if i in self.records]

    def _load(self, task: Any, loaded: dict[Hashable, Any], put: Callable | None = None) -> Any:
        """The dataset of ``task``, loaded (and ``put``) once per key."""
        key = self.job.data(task) if self.job.data else None
        if key not in loaded:
            data = self.job.load(key) if self.job.load else None
            loaded[key] = put(data) if put and self.job.load else data
        return loaded[key]

    def _here(self, todo: dict[str, Any]) -> None:
        """The tasks in this process, one after the other."""
        loaded: dict[Hashable, Any] = {}
        for task_id, task in todo.items():
            if self.store.recorded(task_id):  # by a process that does not hold the lock
                self._add(self.store)
                continue
            data = self._load(task, loaded)
            self.callback.on_task_begin(task)
            self._end(task_id, task, attempt(self.job.work, task, data), None)

    def _on(self, engine: Engine, todo: dict[str, Any]) -> None:
        """The tasks on ``engine``; each dataset loaded here once and put where tasks read it."""
        loaded: dict[Hashable, Any] = {}
        calls = [
            (task_id, (self.job.work, task, self._load(task, loaded, engine.put)))
            for task_id, task in todo.items()
        ]
        for task_id, result, note, seconds in engine.imap(attempt, calls):
            if task_id in self.ended or self.done(task_id):
                continue  # handed back twice (a retried task finishing late), or recorded
            attempted = result if note is None else (None, note, seconds)
            self._end(task_id, todo[task_id], attempted, engine.running)

    def _end(self, task_id: str, task: Any, attempted: tuple, running: int | None) -> None:
        """Append the record of a task that ended (or of its failure), tell the callback."""
        result, note, seconds = attempted
        record, extra = result if isinstance(result, tuple) else (result, None)
        if note is not None:
            record = self.job.failed(task, note, seconds) if self.job.failed else None
        if record is not None:
            if self.store.append_once(record):
                self.records[task_id] = record
            else:  # recorded meanwhile by another process: its record is the one kept
                self._add(self.store)
        self.ended.add(task_id)
        self.callback.on_task_end(Outcome(task, record, extra, note, running))
