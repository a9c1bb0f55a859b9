"""The run record every training or fitting run produces, and its JSON-lines store.

A record carries everything needed to read a run without rerunning it: the full config and
seed, per-epoch history, test metrics and predictions, the confusion matrix, timings, and
library versions. Studies append records to ``runs.jsonl``; each line is written with a
single ``write`` under an exclusive ``flock`` of the file and flushed to disk, and a reader
skips a torn last line with a warning, so a killed study loses at most the run it was in and
two processes appending at once write whole lines, each run once with ``append_once``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import json
import os
import platform
import sys
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from keras_fcn.errors import ResultsError
from keras_fcn.identity import SCHEMA, Status, jsonable, migrate, record_keys
from keras_fcn.settings import dashed

STATUSES = tuple(Status)

DEFAULT_FRAMEWORK = "keras"
"""What trains a run unless its record says otherwise (:attr:`RunRecord.framework`)."""


@dataclasses.dataclass
class RunRecord:
    """One finished run.

    Attributes:
        run_id: a hash of ``family`` and ``config`` (which includes the seed;
            :func:`keras_fcn.identity.run_id`): the same run always has the same id, which
            is how a study knows what it has done.
        family: ``dense``, ``lenet``, ``knn``, ...
        config: ``{"model": {...}, "train": {...}, "data": {...}}``.
        seed: the training seed (also inside ``config``).
        status: ``ok``, ``diverged`` (non-finite loss; training stopped) or ``failed``.
        history: per-epoch lists (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``).
        epochs_run: epochs actually trained.
        best_epoch: 1-based epoch of the best validation accuracy, if validated.
        best_val_accuracy: the best validation accuracy reached.
        test_accuracy: accuracy of the final model (the restored best one under early
            stopping; for a diverged run, the weights of its last epoch with a finite loss)
            on the test set; None when its test logits were not finite.
        test_loss: its mean cross-entropy on the test set (without the L2 term).
        confusion_matrix: rows are true classes, columns predicted classes; empty when
            there are no predictions.
        test_predictions: predicted class of each test image, one digit per image; empty
            when the test logits were not finite.
        params: number of trainable and non-trainable parameters.
        precision: the compute precision the network trained in (``float32`` or
            ``mixed_bfloat16``), with the reason when the config said ``auto``.
        wall_time_s: seconds from the start of the run to its record.
        fit_time_s: seconds spent fitting.
        predict_time_s: seconds spent predicting the test set.
        versions: Python and library versions.
        created: UTC time of the record.
        command: the one line that trains this run again (same config, same run id).
        note: what happened, in words, when it is not a plain success.
        framework: what trained the run: ``keras`` (keras-fcn's own training), or
            ``pytorch`` (:mod:`keras_fcn.pytorch_loop`, the same config trained by a plain
            PyTorch loop, which gives the same run id). Left out of the JSON while it is
            ``keras``, so records written before the field existed read and write the same.
        threads: the threads the framework computed with (TensorFlow's intra-op pool, or
            PyTorch's); ``None`` in records made before it was recorded.
        schema: the version of the record's layout (:mod:`keras_fcn.identity`); older
            records are read as the current one.
    """

    run_id: str
    family: str
    config: dict[str, Any]
    seed: int
    status: str = Status.OK
    history: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    epochs_run: int = 0
    best_epoch: int | None = None
    best_val_accuracy: float | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None
    confusion_matrix: list[list[int]] = dataclasses.field(default_factory=list)
    test_predictions: str = ""
    params: int | None = None
    precision: str = ""
    wall_time_s: float = 0.0
    fit_time_s: float = 0.0
    predict_time_s: float = 0.0
    versions: dict[str, str] = dataclasses.field(default_factory=dict)
    created: str = ""
    command: str = ""
    note: str = ""
    framework: str = DEFAULT_FRAMEWORK
    threads: int | None = None
    schema: int = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready values (``framework`` only when it is not ``keras``)."""
        values = dataclasses.asdict(self)
        if values["framework"] == DEFAULT_FRAMEWORK:
            del values["framework"]
        return jsonable(values)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunRecord:
        """Read a record written by :meth:`to_dict` (of any schema, :func:`migrate`),
        ignoring fields it does not know."""
        values = migrate(values)
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def predictions(self) -> np.ndarray:
        """Test predictions as an integer array."""
        return np.frombuffer(self.test_predictions.encode("ascii"), dtype=np.uint8) - ord("0")

    def flat(self) -> dict[str, Any]:
        """One flat row for a table: the config fields next to the results."""
        row: dict[str, Any] = {"run_id": self.run_id, "family": self.family, "seed": self.seed}
        for part in ("data", "model", "train"):
            for key, value in self.config.get(part, {}).items():
                row[key] = dashed(value)
        row.update(
            status=self.status,
            epochs_run=self.epochs_run,
            best_epoch=self.best_epoch,
            best_val_accuracy=self.best_val_accuracy,
            test_accuracy=self.test_accuracy,
            test_loss=self.test_loss,
            params=self.params,
            wall_time_s=self.wall_time_s,
            fit_time_s=self.fit_time_s,
            predict_time_s=self.predict_time_s,
        )
        return row


def encode_predictions(predictions: Iterable[int]) -> str:
    """Class indices 0-9 as one compact string of digits."""
    array = np.asarray(
        list(predictions) if not isinstance(predictions, np.ndarray) else predictions
    )
    if array.size and (array.min() < 0 or array.max() > 9):
        raise ValueError("predictions must be class indices 0-9")
    return (array.astype(np.uint8) + ord("0")).tobytes().decode("ascii")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a result depends on."""
    versions = {"python": platform.python_version()}
    for module in ("numpy", "keras", "tensorflow", "sklearn", "keras_tuner"):
        mod = sys.modules.get(module)
        if mod is None:
            try:
                mod = __import__(module)
            except ImportError:
                continue
        versions[module] = str(getattr(mod, "__version__", "?"))
    try:
        import keras

        versions["backend"] = keras.backend.backend()
    except ImportError:
        pass
    if versions.get("backend") == "jax":
        import jax

        versions["jax"] = jax.__version__
    return versions


def now() -> str:
    """The current UTC time in ISO format."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class RunStore:
    """Run records as JSON lines in one file, appended one whole line at a time.

    Appends are serialized between processes by an exclusive ``flock`` on the file, held for
    the one ``write`` of the line; :meth:`append_once` checks under it that no other
    process recorded the run meanwhile.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._scanned = (None, 0)  # (file identity, bytes read) of what _settled holds
        self._settled: set[str] = set()

    def check_writable(self) -> None:
        """Fail now, with one line, if records cannot be written here.

        Raises:
            ResultsError: the folder cannot be created or the file cannot be appended to.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a"):
                pass
        except OSError as exc:
            raise ResultsError(
                f"cannot write results to {self.path}: {exc.strerror}; choose another --out"
            ) from exc

    def append(self, record: RunRecord) -> None:
        """Append one record as one line, flushed to disk before returning.

        Raises:
            ResultsError: the write failed (disk full, read-only); the file keeps every
                complete line it had.
        """
        self._append(record, once=False)

    def append_once(self, record: RunRecord) -> bool:
        """Append ``record`` unless a record of its run (or, for a baseline, of its
        selection: :func:`~keras_fcn.identity.record_keys`) that did not fail is on disk
        already; whether it was appended.

        The check and the write are made under the file's lock: two processes appending the
        same run write it once.

        Raises:
            ResultsError: as :meth:`append`.
        """
        return self._append(record, once=True)

    def recorded(self, run_id: str) -> bool:
        """Whether a record found by ``run_id`` (a run id, or a baseline's selection id:
        :func:`~keras_fcn.identity.record_keys`) that did not fail is on disk now (reading
        only what was appended since the last look)."""
        self._scan()
        return run_id in self._settled

    def _append(self, record: RunRecord, once: bool) -> bool:
        line = json.dumps(record.to_dict(), separators=(",", ":")).encode() + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ResultsError(f"cannot write results to {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by close; a reader needs none
            if once and any(map(self.recorded, record_keys(record.run_id, record.config))):
                return False
            self._write(fd, line)
            return True
        finally:
            os.close(fd)

    def _write(self, fd: int, line: bytes) -> None:
        """Write ``line`` at the end of the locked file, whole or not at all."""
        try:
            size = os.fstat(fd).st_size
            if size and not self._ends_with_newline(size):
                line = b"\n" + line  # a torn last line stays alone on its own line
            written = os.write(fd, line)
            if written != len(line):
                os.ftruncate(fd, size)
                raise ResultsError(
                    f"short write to {self.path} (disk full?); the record was not kept"
                )
            os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)  # drop a partial line so the file stays readable
            raise ResultsError(f"cannot write results to {self.path}: {exc.strerror}") from exc

    def _scan(self) -> None:
        """Add to ``_settled`` the run ids of the whole lines appended since the last scan."""
        try:
            with open(self.path, "rb") as f:
                stat = os.fstat(f.fileno())
                identity, offset = self._scanned
                if identity != (stat.st_dev, stat.st_ino) or stat.st_size < offset:
                    self._settled, offset = set(), 0  # another file, or cut: from the start
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            self._scanned, self._settled = (None, 0), set()
            return
        except OSError as exc:
            raise ResultsError(f"cannot read results from {self.path}: {exc.strerror}") from exc
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for line in data[:end].splitlines():
            try:
                values = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                continue  # a torn line: __iter__ warns about it
            if isinstance(values, dict) and values.get("status") != Status.FAILED:
                values = migrate(values)
                self._settled.update(record_keys(values.get("run_id"), values.get("config")))
        self._scanned = ((stat.st_dev, stat.st_ino), offset + end)

    def _ends_with_newline(self, size: int) -> bool:
        with open(self.path, "rb") as f:
            f.seek(size - 1)
            return f.read(1) == b"\n"

    def __iter__(self) -> Iterator[RunRecord]:
        if not self.path.exists():
            return
        try:
            f = open(self.path, "rb")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            raise ResultsError(f"cannot read results from {self.path}: {exc.strerror}") from exc
        with f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    yield RunRecord.from_dict(json.loads(line))
                except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
                    warnings.warn(
                        f"{self.path}:{number}: skipping an incomplete record (a run interrupted while writing)",
                        stacklevel=2,
                    )

    def records(self) -> list[RunRecord]:
        """Every complete record, in the order written."""
        return list(self)

    def done_ids(self) -> set[str]:
        """Ids of the runs already recorded."""
        return {r.run_id for r in self}


def write_json(path: str | os.PathLike, value: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(jsonable(value), indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)  # no half-written copy left beside the file
        raise ResultsError(f"cannot write {path}: {exc.strerror}") from exc
