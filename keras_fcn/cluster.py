"""Ray Core as the engine of studies, grids and baselines' selections: one Ray task a run.

    with RayEngine(jobs=2) as engine:                  # a local Ray instance, 2 runs at once
        run_study(families, runs, store, load=load, engine=engine)
    with RayEngine(address="head:6379") as engine:     # an existing cluster
        ...

The driver reads each dataset once and puts it in Ray's object store, so the nodes need
keras-fcn installed but no copy of the data. Tasks only compute: they return records and
never write; the runner (:func:`keras_fcn.runner.run_tasks`) appends them, in the driver,
each task once, so ``runs.jsonl`` and its exactly-once guarantee stay as they are without
Ray. The driver holds the results folder's lock (:mod:`keras_fcn.lock`) for the whole study;
the tasks, which may run on other machines, write nothing there and take no lock.

A task whose worker or node dies is retried by Ray up to ``max_retries`` times; after that
the run comes back as a failure with Ray's reason, like a run that raised, and the next run
of the command trains it again. Ray is imported only when an engine starts: a study without
one runs in its own process and never loads it.
"""

from __future__ import annotations

import collections
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from keras_fcn import hardware, quiet
from keras_fcn.errors import ConfigError

DEFAULT_MAX_RETRIES = 2
FORWARDED_ENV = ("KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL", hardware.FUSION_VAR)
QUIET_HOOK = "keras_fcn.quiet.quiet_start_up"  # run by each worker before its first task
TOKEN_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"

# the TensorFlow thread pools of this worker process, set by its first task (Ray reuses
# worker processes, and TensorFlow takes the setting only before its first op)
_threads_set: int | None = None


# A study whose runs have at most this batch size trains AUTO_JOBS runs at once on a local
# Ray instance when --jobs is not given: where the benchmark's jobs measurement found that
# faster on a two-core machine than one run with both cores (docs/cluster.md).
AUTO_JOBS = 2
AUTO_JOBS_MAX_BATCH = 64


def auto_jobs(batch_size: int, cores: int | None = None) -> int:
    """Runs at once for a study of ``batch_size`` when ``--jobs`` is not given:
    :data:`AUTO_JOBS` on a machine of at least that many cores with Ray installed, where
    the batch is at most :data:`AUTO_JOBS_MAX_BATCH`; 1 (in this process) otherwise."""
    cores = cores or os.cpu_count() or 1
    if batch_size > AUTO_JOBS_MAX_BATCH or cores < AUTO_JOBS:
        return 1
    try:
        import ray  # noqa: F401
    except ImportError:
        return 1
    return AUTO_JOBS


def default_threads(jobs: int) -> int:
    """Cores of this machine shared between ``jobs`` runs at once (at least one each)."""
    return max(1, (os.cpu_count() or 1) // jobs)


def set_threads(threads: int) -> None:
    """Give TensorFlow's intra-op and inter-op pools of this process ``threads`` threads,
    once a process; a warning if TensorFlow already ran with other settings."""
    global _threads_set
    if _threads_set == threads:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as exc:  # TensorFlow already initialized in this worker
        warnings.warn(f"threads per run left as they were: {exc}", stacklevel=2)
    _threads_set = threads


def call_task(threads: int, fn: Callable[..., Any], *args: Any) -> Any:
    """What a Ray task runs: ``fn(*args)`` with TensorFlow's threads set first."""
    set_threads(threads)
    return fn(*args)


class RayEngine:
    """Runs calls as Ray tasks, several at once, and hands back results as they finish.

    Args:
        jobs: runs at once. Without ``address``: starts a local Ray instance (dashboard off)
            with that many slots. With ``address``: at most that many at once (default: as
            many as the cluster's CPUs allow, ``threads_per_run`` CPUs each).
        threads_per_run: TensorFlow threads (and Ray CPUs) of each run; default: this
            machine's cores // ``jobs`` locally, 1 on a cluster.
        address: ``HOST:PORT`` of a running Ray cluster (``ray start --head``), or ``auto``.
        max_retries: how many times Ray reruns a task whose worker or node died.
    """

    def __init__(
        self,
        *,
        jobs: int | None = None,
        threads_per_run: int | None = None,
        address: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ) -> None:
        if jobs is not None and jobs < 1:
            raise ConfigError(f"--jobs {jobs}: must be at least 1")
        if threads_per_run is not None and threads_per_run < 1:
            raise ConfigError(f"--threads-per-run {threads_per_run}: must be at least 1")
        if jobs is None and address is None:
            raise ConfigError("a Ray engine needs --jobs N or --ray-address HOST:PORT")
        self.jobs, self.address, self.max_retries = jobs, address, max_retries
        if threads_per_run is None:
            threads_per_run = 1 if address else default_threads(jobs or 1)
        self.threads = threads_per_run
        self.running = 0
        self._started = False

    def __enter__(self) -> RayEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the local Ray instance, or connect to the cluster."""
        import logging

        import ray

        options: dict[str, Any] = {"logging_level": logging.WARNING}
        runtime_env: dict[str, Any] = {}
        if not quiet.wants_tensorflow_logs():  # each worker imports TensorFlow quietly
            runtime_env["worker_process_setup_hook"] = QUIET_HOOK
        if self.address:
            # a cluster's nodes were started with their own environment: its workers get
            # the driver's backend and log level; local workers inherit them anyway
            env = {k: v for k, v in os.environ.items() if k in FORWARDED_ENV}
            runtime_env.update({"env_vars": env} if env else {})
        options["runtime_env"] = runtime_env or None
        # a local instance enables Ray's token authentication by default and says so on
        # every start: the secure default, not news
        logging.getLogger(TOKEN_AUTH_LOGGER).setLevel(logging.ERROR)
        if self.address:
            check_reachable(self.address)
            try:
                ray.init(address=self.address, **options)
            except Exception as exc:  # ConnectionError, ValueError, ...: say it in one line
                first = (str(exc).strip().splitlines() or [""])[0]
                raise ConfigError(
                    f"--ray-address {self.address}: cannot join that Ray cluster: {first}"
                ) from exc
        else:
            ray.init(
                num_cpus=self.jobs * self.threads, include_dashboard=False, **options
            )  # each task asks for `threads` CPUs: `jobs` run at once
        self._started = True

    def stop(self) -> None:
        """Shut the local Ray instance down, or leave the cluster (it keeps running)."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def capacity(self) -> int:
        """Tasks kept in flight: ``jobs``, or what the cluster's CPUs hold."""
        if self.jobs:
            return self.jobs
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1) // self.threads))

    def imap(
        self, fn: Callable[..., Any], calls: Sequence[tuple[Any, tuple[Any, ...]]]
    ) -> Iterator[tuple[Any, Any, str | None, float]]:
        """Run ``fn(*args)`` for each ``(key, args)`` of ``calls`` as a Ray task (the
        :class:`keras_fcn.runner.Engine` of the runner).

        Arguments that are Ray object refs (:meth:`put`) reach ``fn`` as their values.

        Yields:
            ``(key, result, note, seconds)`` as each call finishes: ``note`` says in one
            line why a call could not finish (its worker or node died more than
            ``max_retries`` times, or ``fn`` raised: :func:`failure_note`), ``result`` is
            then ``None``.
        """
        import ray

        task = ray.remote(call_task).options(
            num_cpus=self.threads, max_retries=self.max_retries, retry_exceptions=False
        )
        queue = collections.deque(calls)
        pending: dict[Any, tuple[Any, float]] = {}
        capacity = self.capacity()
        try:
            while queue or pending:
                while queue and len(pending) < capacity:
                    key, args = queue.popleft()
                    pending[task.remote(self.threads, fn, *args)] = (key, time.perf_counter())
                self.running = len(pending)
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    key, started = pending.pop(ref)
                    self.running = len(pending)
                    try:
                        result, note = ray.get(ref), None
                    except ray.exceptions.RayError as exc:
                        result, note = None, failure_note(exc, self.max_retries)
                    yield key, result, note, time.perf_counter() - started
        finally:
            for ref in pending:  # interrupted: nothing left training for this driver
                ray.cancel(ref, force=True)
            self.running = 0

    def put(self, value: Any) -> Any:
        """``value`` in Ray's object store, read once by each node that needs it."""
        import ray

        return ray.put(value)


def failure_note(error: BaseException, max_retries: int) -> str:
    """Why a task gave no result, in one line: the Ray error and the attempts made."""
    import ray

    if isinstance(error, ray.exceptions.RayTaskError):  # the function raised: not retried
        cause = getattr(error, "cause", None) or error
        return f"{type(cause).__name__}: {cause}"
    first = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first} (tried {1 + max_retries} times)"


def check_reachable(address: str, timeout: float = 10.0) -> None:
    """Fail in one line if nothing listens at ``HOST:PORT`` (Ray itself would retry for
    minutes); ``auto`` and addresses with a scheme are left to Ray.

    Raises:
        ConfigError: the address is malformed or nothing answers there.
    """
    import socket

    if address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address}: give HOST:PORT of the cluster's head")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except (OSError, OverflowError) as exc:
        raise ConfigError(
            f"--ray-address {address}: nothing answers there ({exc}); "
            "start the head with `ray start --head --port=PORT`"
        ) from exc


def engine_from(
    jobs: int | None, threads_per_run: int | None, address: str | None
) -> RayEngine | None:
    """The engine the flags ask for, or ``None`` for in-process: ``--jobs 1`` without an
    address is in-process; ``--ray-address`` (or ``RAY_ADDRESS``) joins a cluster."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if jobs is not None and jobs < 1:
        raise ConfigError(f"--jobs {jobs}: must be at least 1")
    if threads_per_run is not None and threads_per_run < 1:
        raise ConfigError(f"--threads-per-run {threads_per_run}: must be at least 1")
    if address is None and (jobs is None or jobs == 1):
        if threads_per_run is not None:
            raise ConfigError("--threads-per-run works only with --jobs N (N > 1) or --ray-address")
        return None
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "--jobs and --ray-address need Ray: pip install -e '.[cluster]' (or 'ray==2.60.0')"
        ) from exc
    return RayEngine(jobs=jobs, threads_per_run=threads_per_run, address=address)
