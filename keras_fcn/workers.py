"""Run a KerasTuner search as a chief and N workers on this machine.

KerasTuner's distributed mode needs one process per role, told its role by environment
variables. :class:`WorkerPool` starts the workers as copies of the current command and
restarts a worker that dies with the same ``KERASTUNER_TUNER_ID``: KerasTuner hands an
interrupted trial back only to the worker of that id, and its chief otherwise waits for it
forever.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

ROLE_VAR, IP_VAR, PORT_VAR = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"


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
    """Workers running ``python -m MODULE ARGV`` against a chief at 127.0.0.1:port.

    Args:
        module: the command's module, e.g. ``experiments.tune``.
        argv: its arguments (without the ones that start workers).
        n: number of workers.
        port: the chief's port.
        max_restarts: restarts allowed per worker before it is given up.
    """

    def __init__(
        self, module: str, argv: Sequence[str], n: int, port: int, max_restarts: int = 3
    ) -> None:
        self.module, self.argv, self.n, self.port, self.max_restarts = (
            module,
            list(argv),
            n,
            port,
            max_restarts,
        )
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _spawn(self, tuner_id: str) -> None:
        env = {**os.environ, ROLE_VAR: tuner_id, IP_VAR: "127.0.0.1", PORT_VAR: str(self.port)}
        self.processes[tuner_id] = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.argv], env=env
        )

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
        """Stop watching and wait for the workers (killing any still running after ``timeout``)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
