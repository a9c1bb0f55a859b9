"""Run a KerasTuner search as a chief and N workers on this machine.

KerasTuner's distributed mode needs one process per role, told its role by environment
variables. :class:`WorkerPool` starts the workers as copies of the current command and
restarts a worker that dies with the same ``KERASTUNER_TUNER_ID``: KerasTuner hands an
interrupted trial back only to the worker of that id, and its chief otherwise waits for it
forever. :class:`ChiefWatch` keeps a worker from waiting for a chief that is not there:
KerasTuner's client waits up to an hour on every call.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from keras_fcn.commands import process_argv
from keras_fcn.errors import ChiefError

ROLE_VAR, IP_VAR, PORT_VAR = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"
# set by WorkerPool only: the process id of the chief that started the worker
CHIEF_PID_VAR = "KERAS_FCN_CHIEF_PID"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def role() -> str | None:
    """``chief``, ``worker`` or None (a single-process search), from the environment."""
    tuner_id = os.environ.get(ROLE_VAR)
    if not tuner_id or not os.environ.get(IP_VAR):
        return None
    return "chief" if "chief" in tuner_id else "worker"


class WorkerPool:
    """Workers running ``python COMMAND`` against a chief at 127.0.0.1:port.

    Args:
        command: what each worker runs, as arguments of ``python``
            (``["-m", "experiments.tune", ...]``, without the ones that start workers).
        n: number of workers.
        port: the chief's port.
        max_restarts: restarts allowed per worker before it is given up.
    """

    def __init__(self, command: Sequence[str], n: int, port: int, max_restarts: int = 3) -> None:
        self.command, self.n, self.port, self.max_restarts = list(command), n, port, max_restarts
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _spawn(self, tuner_id: str) -> None:
        env = {
            **os.environ,
            ROLE_VAR: tuner_id,
            IP_VAR: "127.0.0.1",
            PORT_VAR: str(self.port),
            CHIEF_PID_VAR: str(os.getpid()),
        }
        self.processes[tuner_id] = subprocess.Popen([sys.executable, *self.command], env=env)

    def start(self) -> WorkerPool:
        for i in range(self.n):
            self._spawn(f"worker{i}")
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(2.0):
            for tuner_id, process in list(self.processes.items()):
                code = process.poll()
                if code not in (None, 0) and self.restarts.get(tuner_id, 0) < self.max_restarts:
                    self.restarts[tuner_id] = self.restarts.get(tuner_id, 0) + 1
                    print(
                        f"{tuner_id} exited with {code}; restarting it to finish its trial",
                        file=sys.stderr,
                        flush=True,
                    )
                    self._spawn(tuner_id)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop watching and wait for the workers (killing any still running after
        ``timeout``); this process is no longer a chief."""
        self._stop.set()
        for var in (ROLE_VAR, IP_VAR, PORT_VAR):
            os.environ.pop(var, None)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


def start_workers(n: int, command: Sequence[str] = ()) -> WorkerPool:
    """Make this process KerasTuner's chief on a free port of 127.0.0.1 and start ``n``
    workers running ``command`` (this process's own command if empty) against it."""
    port = free_port()
    os.environ.update({ROLE_VAR: "chief", IP_VAR: "127.0.0.1", PORT_VAR: str(port)})
    pool = WorkerPool(list(command) or process_argv(), n, port).start()
    print(f"chief on 127.0.0.1:{port} with {n} workers", flush=True)
    return pool


class ChiefWatch:
    """A worker's check that its chief answers: before its search starts, and all through it.

    A worker gives up, with one line on stderr and exit status 2, when its chief has not
    answered for ``timeout`` seconds; a chief restarted on the same port within that time
    takes the worker back. A worker started by :class:`WorkerPool` gives up as soon as the
    chief that started it has died: rerunning that command starts new workers. Used as a
    context manager around the search, it stops watching when the search ends, and turns a
    call cut off by the chief's death (gRPC's UNAVAILABLE) into a one-line error.

    Args:
        timeout: seconds to wait for the chief, at the start and whenever it stops answering.
    """

    def __init__(self, timeout: float) -> None:
        import grpc

        self.timeout = timeout
        self.address = f"{os.environ[IP_VAR]}:{os.environ[PORT_VAR]}"
        # gRPC backs off up to two minutes between connection attempts by default: retrying
        # every second sees a chief as soon as it listens
        self._channel = grpc.insecure_channel(
            self.address, options=[("grpc.max_reconnect_backoff_ms", 1000)]
        )
        self._parent = int(os.environ.get(CHIEF_PID_VAR, 0))
        self._stop = threading.Event()

    def _answers(self, timeout: float) -> bool:
        import grpc

        ready = grpc.channel_ready_future(self._channel)
        try:
            ready.result(timeout=timeout)
        except grpc.FutureTimeoutError:
            ready.cancel()  # else it keeps watching the channel after this check
            return False
        return True

    def start(self) -> ChiefWatch:
        """Wait for the chief to answer, then keep watching it in the background.

        Raises:
            ChiefError: no chief answered within ``timeout`` seconds.
        """
        if not self._answers(self.timeout):
            raise ChiefError(
                f"no chief answered at {self.address} within {self.timeout:g} s: start the chief "
                f"first (the same command with {ROLE_VAR}=chief) or correct {IP_VAR} and "
                f"{PORT_VAR}; a chief that has finished its search needs no more workers"
            )
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    def _watch(self) -> None:
        answered = time.monotonic()
        while not self._stop.wait(1.0):
            if self._parent and os.getppid() != self._parent:
                self._give_up(
                    f"its chief (process {self._parent}) has died; rerun the chief's command "
                    "to resume the search with new workers"
                )
            if self._answers(1.0):
                answered = time.monotonic()
            elif time.monotonic() - answered > self.timeout:
                self._give_up(
                    f"the chief at {self.address} has not answered for {self.timeout:g} s; "
                    "rerun its command on the same port, then this worker: the search resumes "
                    "from disk"
                )

    def _give_up(self, message: str) -> None:
        if self._stop.is_set():
            return  # the search ended meanwhile: the chief was done with this worker
        print(f"error: {os.environ[ROLE_VAR]}: {message}", file=sys.stderr, flush=True)
        # the main thread may be inside a KerasTuner call that waits an hour, or in training:
        # only leaving the process from here stops it
        os._exit(2)

    def stop(self) -> None:
        """Stop watching (the search has ended)."""
        self._stop.set()

    def __enter__(self) -> ChiefWatch:
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, traceback: object) -> None:
        """Stop watching; a call to the chief cut off by its death becomes a ChiefError."""
        self.stop()
        if _cut_off(error):
            raise ChiefError(
                f"{os.environ[ROLE_VAR]}: the chief at {self.address} went away during a call "
                f"({error.code().name}); rerun its command on the same port, then this worker: "
                "the search resumes from disk"
            ) from None

    def run(self, search: Callable[[], object]) -> None:
        """Run ``search``, again each time a call to the chief is cut off and a chief answers
        on the same port within ``timeout`` seconds (a restarted chief hands out the trials
        that were running when it died). Otherwise the cut-off call raises as ``__exit__``
        says. Only a worker started by hand waits: a :class:`WorkerPool`'s worker leaves with
        its chief.
        """
        while True:
            try:
                search()
                return
            except Exception as error:
                if not _cut_off(error) or self._parent or not self._answers(self.timeout):
                    raise
            print(
                f"{os.environ[ROLE_VAR]}: the chief at {self.address} went away during a call "
                "and answers again; resuming the search",
                file=sys.stderr,
                flush=True,
            )


def _cut_off(error: BaseException | None) -> bool:
    """Whether ``error`` is a call to the chief that its death cut off (or left unanswered)."""
    import grpc

    lost = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    return (
        isinstance(error, grpc.RpcError) and isinstance(error, grpc.Call) and error.code() in lost
    )
