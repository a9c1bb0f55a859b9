"""A worker watching its chief, in one process: a chief that answers, or stops answering."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent import futures

import pytest

from keras_fcn.errors import ChiefError
from keras_fcn.tuning.workers import (
    CHIEF_PID_VAR,
    IP_VAR,
    PORT_VAR,
    ROLE_VAR,
    ChiefWatch,
    free_port,
)


@pytest.fixture
def chief_that_answers(monkeypatch) -> Iterator[tuple[int, Callable[[], object]]]:
    """A hand-started worker0's environment, a gRPC server on its chief's port that answers
    but serves nothing, and a call that fails as one cut off by the chief's death does."""
    import grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    for var, value in ((ROLE_VAR, "worker0"), (IP_VAR, "127.0.0.1"), (PORT_VAR, str(port))):
        monkeypatch.setenv(var, value)
    monkeypatch.delenv(CHIEF_PID_VAR, raising=False)
    # what KerasTuner's client raises when the connection drops in the middle of a call
    call = grpc.insecure_channel(f"127.0.0.1:{free_port()}").unary_unary("/Oracle/EndTrial")
    yield port, lambda: call(b"", timeout=10)
    server.stop(None)


def test_worker_whose_call_is_cut_off_by_the_chief_stops_in_one_line(chief_that_answers):
    """A chief that dies while answering a call: gRPC's UNAVAILABLE becomes one line."""
    port, cut_off = chief_that_answers
    message = rf"^worker0: the chief at 127\.0\.0\.1:{port} went away during a call \(UNAVAILABLE\)"
    with pytest.raises(ChiefError, match=message), ChiefWatch(5).start():
        cut_off()


def test_worker_whose_call_is_cut_off_resumes_when_a_chief_answers_again(
    chief_that_answers, monkeypatch, capsys
):
    """A hand-started worker searches again; one started by a chief's --workers does not."""
    _, cut_off = chief_that_answers
    calls = []

    def search():  # its first call is cut off, as when the chief dies in the middle of it
        calls.append(len(calls))
        if len(calls) == 1:
            cut_off()

    with ChiefWatch(5).start() as watch:
        watch.run(search)
    assert calls == [0, 1]
    assert "worker0: the chief at" in capsys.readouterr().err
    monkeypatch.setenv(CHIEF_PID_VAR, str(os.getppid()))
    calls.clear()
    with pytest.raises(ChiefError, match="went away during a call"), ChiefWatch(5) as watch:
        watch.run(search)
    assert calls == [0]
