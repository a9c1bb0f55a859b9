"""How long runs will take, from the measured speed of each network at its batch size.

A run's time is its epochs times the seconds of one epoch of its network at its batch size
on its training set. The seconds per image come from records of earlier runs of the same
network and batch size when there are any (their fit time over their epochs), and otherwise
from a short timed fit on random images on this machine, once per network and batch size.
A run with early stopping is counted at its most epochs, so its time is an upper bound.

:class:`Progress` tells, as a study goes, how many runs are left and how long they will take.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from keras_fcn.config import DataConfig
from keras_fcn.family import Family, RunConfig
from keras_fcn.identity import Status
from keras_fcn.record import RunRecord
from keras_fcn.settings import from_dict

_NOT_SPEED = ("activation", "initializer", "l2", "dropout", "input_dropout", "seed")
"""Model and training fields that leave the time of an epoch as it is."""

TRAIN_IMAGES = 60_000
"""Training images of both datasets, before the validation split."""


def speed_key(family: str, config: dict[str, Any]) -> tuple:
    """What decides the time of a run's epoch: its network, batch size, precision and loop
    (``fit`` for records made before the loop was a setting)."""
    model = {k: str(v) for k, v in config["model"].items() if k not in _NOT_SPEED}
    train = config["train"]
    return (
        family,
        tuple(sorted(model.items())),
        train["batch_size"],
        train.get("precision"),
        train["loop"],
    )


def train_images(data: DataConfig) -> int:
    """The images a run with these data settings trains on in one epoch."""
    held_out = (
        data.validation
        if isinstance(data.validation, int)
        else round(data.validation * TRAIN_IMAGES)
    )
    return data.train_limit or TRAIN_IMAGES - held_out


def measured_speeds(records: Iterable[RunRecord]) -> dict[tuple, float]:
    """Seconds per training image of each network and batch size the records ran (median)."""
    seen: dict[tuple, list[float]] = {}
    for r in records:
        if r.status == Status.OK and r.epochs_run and r.fit_time_s:
            images = train_images(from_dict(DataConfig, r.config["data"])) * r.epochs_run
            seen.setdefault(speed_key(r.family, r.config), []).append(r.fit_time_s / images)
    return {key: statistics.median(values) for key, values in seen.items()}


def time_per_image(family: Family, run: RunConfig, steps: int = 20) -> float:
    """Seconds per training image of ``run``'s network at its batch size, timed here.

    The network is built and compiled as a run builds it and trained by the run's loop for
    two epochs of ``steps`` batches of random images; the second is timed (the first
    compiles the step).
    """
    import keras
    import numpy as np

    from keras_fcn.compiled import build_compiled
    from keras_fcn.train import EpochTimes, fit_model

    keras.backend.clear_session()
    model = build_compiled(family, run)
    batch = run.train.batch_size
    x = np.random.default_rng(0).random((steps * batch, *model.input_shape[1:]), dtype=np.float32)
    y = np.arange(steps * batch) % 10
    timer = EpochTimes()
    fit_model(model, dataclasses.replace(run.train, epochs=2), x, y, callbacks=[timer])
    return timer.times[1] / len(y)


class Estimator:
    """Seconds of each run: from records where they ran the same network, else timed once."""

    def __init__(self, families: dict[str, Family], records: Sequence[RunRecord] = ()) -> None:
        self.families = families
        self.speeds = measured_speeds(records)
        self.timed: set[tuple] = set()

    def seconds(self, run: RunConfig) -> float:
        """The estimated seconds of ``run`` (its most epochs, when it stops early)."""
        key = speed_key(run.family, run.to_dict())
        if key not in self.speeds:
            self.speeds[key] = time_per_image(self.families[run.family], run)
            self.timed.add(key)
        return self.speeds[key] * train_images(run.data) * run.train.epochs


def busy_note(load: float | None = None, cores: int | None = None) -> str:
    """A warning to print beside an estimate timed on a machine that other work keeps busy
    (a load average of half its cores or more): its networks ran slow, so the estimate is
    high. Empty on an idle machine, or where the load average cannot be read."""
    if load is None:
        try:
            load = os.getloadavg()[0]
        except OSError:  # not on this system
            return ""
    cores = cores or os.cpu_count() or 1
    if load < max(1.0, cores / 2):
        return ""
    return (
        f"; other work keeps this machine busy (load average {load:.1f} on "
        f"{cores} cores): the networks timed here ran slow, so this is high"
    )


def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.4 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Prints one line per finished run: runs done and left, and the time left."""

    def __init__(self, total: int, already: int, stream: TextIO | None = None) -> None:
        self.total, self.done, self.stream = total, already, stream or sys.stderr
        self.started, self.new = time.perf_counter(), 0

    def update(self, label: str, record: RunRecord, running: int | None = None) -> None:
        """One line for a finished run; ``running``, from an engine that trains several runs at
        once, says how many of the runs left are in training now."""
        self.done += 1
        self.new += 1
        left = self.total - self.done
        per_run = (time.perf_counter() - self.started) / self.new
        accuracy = "n/a" if record.test_accuracy is None else f"{record.test_accuracy:.4f}"
        status = "" if record.status == Status.OK else f" [{record.status}]"
        rest = (
            f"{left} left{'' if running is None else f' ({running} running)'}, "
            f"about {duration(per_run * left)} to go"
            if left
            else "all done"
        )
        print(
            f"[{self.done}/{self.total}] {label}: test {accuracy}{status} in "
            f"{record.wall_time_s:.0f} s; {rest}",
            file=self.stream,
            flush=True,
        )
