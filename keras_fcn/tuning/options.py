"""How a search runs: the tuner and its budget, the final retraining, and what it keeps.

A small frozen config with a default for every field, checked when it is made, so that a
bad value stops a search before any data are loaded. Importing it loads neither Keras nor
KerasTuner: a command builds it before TensorFlow starts.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import Any

from keras_fcn import layout
from keras_fcn.errors import ConfigError
from keras_fcn.registry import DEFAULT_SEED

TUNER_NAMES = ("hyperband", "random", "bayesian", "grid")


@dataclasses.dataclass(frozen=True)
class SearchOptions:
    """The settings of :func:`keras_fcn.tuning.run_search` beside the family, space and base run.

    Attributes:
        tuner: ``hyperband``, ``random``, ``bayesian`` or ``grid``.
        max_epochs: Hyperband's largest budget per trial, and the final retraining's epochs.
        factor: Hyperband's reduction factor.
        trials: trials of ``random`` and ``bayesian`` (``grid`` runs its whole grid).
        epoch_budget: ``random`` and ``bayesian`` start no trial once the finished ones
            have trained this many epochs in all, counting one execution of each (0: no budget; ``trials`` still caps them):
            what compares them with Hyperband at its budget.
        initial_points: random trials Bayesian search runs before its Gaussian process
            chooses (0: KerasTuner's default, three per dimension of the space).
        executions: trainings per trial, each from its own seed.
        seed: seed of the oracle and of every training; the first final seed.
        final_seeds: seeds the best setting is retrained with, then tested once each.
        out: the folder that holds one folder per search.
        quick: name the search's folder ``FAMILY-DATASET-TUNER-quick-HASH`` (a search on a
            subset of the data, as ``--quick`` runs it).
        fresh: remove everything the search wrote and start it over, instead of resuming.
        workers: start KerasTuner's chief in this process and this many workers on this
            machine (0: one process).
        worker_command: what each worker runs, as arguments of ``python``; empty: this
            process's own command again (a script that calls ``run_search`` runs as a
            worker when KerasTuner's environment variables say so).
        chief_timeout: seconds a worker waits for a chief that does not answer.
        wait: seconds to wait when another process is writing the search's folder
            (:mod:`keras_fcn.lock`); 0 stops at once, naming it; ``math.inf`` waits for it.
        tensorboard: write TensorBoard logs with the HParams dashboard.
        keep_models: keep every final run's model (``final_models/``), not only the best.
        verbose: Keras's per-epoch lines and KerasTuner's own display, besides the one
            line per trial.
        data_dir: a folder searched first for the IDX files.
        command: the command that repeats the search, recorded in ``search.json`` and
            ``summary.json``; empty: the Python call.
        callbacks: Keras callbacks added to every trial's training.
    """

    tuner: str = "hyperband"
    max_epochs: int = 30
    factor: int = 3
    trials: int = 20
    epoch_budget: int = 0
    initial_points: int = 0
    executions: int = 1
    seed: int = DEFAULT_SEED
    final_seeds: int = 3
    out: str | os.PathLike = layout.folder("tune")
    quick: bool = False
    fresh: bool = False
    workers: int = 0
    worker_command: tuple[str, ...] = ()
    chief_timeout: float = 120.0
    wait: float = 0.0
    tensorboard: bool = False
    keep_models: bool = False
    verbose: bool = False
    data_dir: str | os.PathLike | None = None
    command: str = ""
    callbacks: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.tuner not in TUNER_NAMES:
            raise ConfigError(
                f"unknown tuner {self.tuner!r}; choose one of {', '.join(TUNER_NAMES)}"
            )
        for name in ("max_epochs", "trials", "executions", "final_seeds", "factor"):
            least = 2 if name == "factor" else 1
            if getattr(self, name) < least:
                raise ConfigError(f"{name}={getattr(self, name)} is too small: at least {least}")
        for name in ("epoch_budget", "initial_points"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be 0 (the default) or more")
        if self.workers < 0:
            raise ConfigError(f"workers={self.workers} must be 0 or more")
        if not 0 < self.chief_timeout < math.inf:  # also refuses nan
            raise ConfigError(
                f"chief_timeout={self.chief_timeout:g} must be a number of seconds above 0"
            )
        if not self.wait >= 0:  # also refuses nan
            raise ConfigError(f"wait={self.wait:g} must be a number of seconds, 0 or more")
        object.__setattr__(self, "worker_command", tuple(self.worker_command))
        object.__setattr__(self, "callbacks", tuple(self.callbacks))

    def with_settings(self, settings: dict[str, Any]) -> SearchOptions:
        """A copy with ``settings`` (field -> value) replaced.

        Raises:
            ConfigError: a name is not a field.
        """
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(
                f"unknown search option {unknown[0]!r}; known: {', '.join(sorted(known))}"
            )
        return dataclasses.replace(self, **settings)

    def changed(self) -> dict[str, Any]:
        """The fields that differ from their defaults (the callbacks left out)."""
        default = SearchOptions()
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "callbacks" and getattr(self, f.name) != getattr(default, f.name)
        }


MACHINE_OPTIONS = ("out", "data_dir", "worker_command")
"""Options that name this machine's folders or processes: a recorded call leaves them out."""


def python_call(family: str, options: SearchOptions) -> str:
    """The call of :func:`keras_fcn.tuning.run_search` that ``options`` describe, as text,
    less the :data:`MACHINE_OPTIONS`."""
    changed = {k: v for k, v in options.changed().items() if k not in MACHINE_OPTIONS}
    args: Sequence[str] = [repr(family), *(f"{k}={v!r}" for k, v in changed.items())]
    return f"keras_fcn.tuning.run_search({', '.join(args)})"
