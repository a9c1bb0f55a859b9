"""Keep TensorFlow's and absl's start-up lines out of the commands' output, and out of
that of the Ray workers a study runs on (:mod:`keras_fcn.cluster` makes this each worker's
set-up hook).

TensorFlow's native libraries log while they load (``oneDNN custom operations are on``,
once per copy of absl they hold, each after ``WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR``): absl writes these before
TensorFlow has read ``TF_CPP_MIN_LOG_LEVEL``, so the variable cannot hide them. The only
place to stop them is the import itself: :func:`quiet_start_up` makes the first
``import tensorflow`` send the process's standard error to a temporary file while it runs,
and sets the log level of absl's and TensorFlow's Python loggers to errors.

``TF_CPP_MIN_LOG_LEVEL=0`` (TensorFlow's own "show everything") gets them all back; an
import that fails prints what it wrote before the error.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import tempfile
from collections.abc import Iterator

LEVEL_VAR = "TF_CPP_MIN_LOG_LEVEL"
QUIET_LOGGERS = ("absl", "tensorflow")  # Python loggers whose warnings are TensorFlow's own


def wants_tensorflow_logs() -> bool:
    """Whether the user asked for TensorFlow's informational lines (``TF_CPP_MIN_LOG_LEVEL=0``)."""
    return os.environ.get(LEVEL_VAR, "2").strip() == "0"


def quiet_start_up() -> None:
    """Silence TensorFlow's and absl's start-up lines for the rest of this process, unless
    ``TF_CPP_MIN_LOG_LEVEL=0``; call it before anything imports TensorFlow."""
    os.environ.setdefault(LEVEL_VAR, "2")
    if wants_tensorflow_logs():
        return
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if "tensorflow" not in sys.modules and not any(
        isinstance(f, _QuietImport) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietImport())


@contextlib.contextmanager
def _stderr_aside() -> Iterator[None]:
    """Standard error, the file descriptor that native code writes to, sent to a temporary
    file; written back if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as aside:
        os.dup2(aside.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            aside.seek(0)
            os.write(2, aside.read())
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as the other finders do, then loads it with standard error aside;
    removes itself after that first import."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    """The package's own loader, its ``exec_module`` run with standard error aside."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        # the package sees its own loader, so that nothing after the import knows of this one
        module.__loader__ = module.__spec__.loader = self.loader
        with _stderr_aside():
            self.loader.exec_module(module)
