"""Tuning with KerasTuner over a family's declared search space.

KerasTuner's own tuners and oracles do the searching; this module adds what their users
most often miss:

- one ``HyperModel`` per family whose ``build(hp)`` only maps the declared :class:`Space`
  onto ``hp`` (same names as the config fields) and builds with the family's builder;
- every execution's value kept (``val_accuracy_exec0`` ...), so a trial reports mean ± std;
- a diverged trial (non-finite loss) recorded as FAILED with its reason, never fatal;
- a table of every trial (:func:`keras_fcn.trial_table.trials_frame`), plots along each
  hyperparameter and a warning when the best value sits on the edge of the space
  (``keras_fcn.search_summary``);
- a resumable grid search (KerasTuner 1.4's ``GridSearch`` cannot resume: its oracle does not
  save its position), whose grid is the space's own :meth:`Space.grid`;
- TensorBoard logs with the HParams dashboard only when asked for (KerasTuner otherwise
  imports TensorBoard's HParams API for every trial).

Distributed search uses KerasTuner's chief/worker mode unchanged: the environment variables
``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` decide each
process's role.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from keras_fcn import compat
from keras_fcn.errors import ConfigError
from keras_fcn.family import Family, RunConfig
from keras_fcn.params import encode_value
from keras_fcn.space import Space
from keras_fcn.train import (
    build_compiled,
    fit_model,
    release_traced_steps,
    schedule_callbacks,
    stopping_callbacks,
)

OBJECTIVE = "val_accuracy"
TUNER_NAMES = ("hyperband", "random", "bayesian", "grid")
HYPERBAND_KEYS = (
    "tuner/epochs",
    "tuner/initial_epoch",
    "tuner/bracket",
    "tuner/round",
    "tuner/trial_id",
)


class FamilyHyperModel(kt.HyperModel):
    """A family's model with its hyperparameters drawn from a :class:`Space`.

    Args:
        family: builds the model.
        base: the run every trial starts from; the space's values replace its fields.
        space: the hyperparameters searched (already narrowed as the user asked).
        use_ranges: let samplers draw from declared continuous ranges; the grid uses the
            listed values only.
    """

    def __init__(
        self, family: Family, base: RunConfig, space: Space, use_ranges: bool = True
    ) -> None:
        super().__init__(name=family.name)
        self.family, self.base, self.space, self.use_ranges = family, base, space, use_ranges
        self.execution_seed: int | None = None  # set by the tuner before each execution

    def run_config(self, hp: kt.HyperParameters) -> RunConfig:
        """The run a trial's hyperparameters describe."""
        return self.base.with_settings(self.space.to_hp(hp, use_ranges=self.use_ranges))

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        try:
            run = self.run_config(hp)
        except (
            ConfigError
        ) as exc:  # a combination the family cannot build: a failed trial, in one line
            raise kt.errors.FailedTrialError(str(exc)) from None
        return build_compiled(self.family, run)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        """Train a trial's model by its run's loop (:func:`keras_fcn.train.fit_model`), with
        the trial's own learning-rate schedule (``lr_schedule`` and ``epochs`` may be
        searched); Hyperband passes its own ``epochs`` and ``initial_epoch``."""
        run = self.run_config(hp)
        x, y = (*args, *(kwargs.pop(k) for k in ("x", "y") if k in kwargs))[:2]
        for ignored in ("batch_size", "validation_batch_size", "shuffle"):
            kwargs.pop(ignored, None)  # the trial's run decides them
        callbacks = [*kwargs.pop("callbacks", []), *schedule_callbacks(run.train)]
        return fit_model(
            model, run.train, x, y, callbacks=callbacks, seed=self.execution_seed, **kwargs
        )


class _KerasFcnTuner:
    """Mixed into each KerasTuner tuner: seeds, per-execution values, divergence, timing."""

    seed_base: int = 42

    def run_trial(
        self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any
    ) -> dict[str, float]:
        self._execution = 0
        start = time.perf_counter()
        histories = super().run_trial(trial, *args, **kwargs)
        curves = [{k: [float(v) for v in vals] for k, vals in h.history.items()} for h in histories]
        Path(self.get_trial_dir(trial.trial_id)).mkdir(parents=True, exist_ok=True)
        (Path(self.get_trial_dir(trial.trial_id)) / "histories.json").write_text(json.dumps(curves))
        for curve in curves:
            if not all(math.isfinite(v) for v in curve.get("loss", [])):
                raise kt.errors.FailedTrialError(
                    "diverged: the training loss became NaN or infinite"
                )
        values = [max(c.get(OBJECTIVE, [math.nan])) for c in curves]
        best = [int(np.argmax(c[OBJECTIVE])) for c in curves]
        result = {
            OBJECTIVE: float(np.mean(values)),
            f"{OBJECTIVE}_std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
            "val_loss": float(
                np.mean([c["val_loss"][i] for c, i in zip(curves, best, strict=True)])
            ),
            "epochs_trained": float(np.mean([len(c["loss"]) for c in curves])),
            "wall_time_s": time.perf_counter() - start,
        }
        result.update({f"{OBJECTIVE}_exec{i}": v for i, v in enumerate(values)})
        return result

    def _build_and_fit_model(self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any) -> Any:
        # execution i of every trial starts from seed base + i: trials differ only by their
        # hyperparameters, and a rerun reproduces them
        release_traced_steps()  # memory stays flat across trials (see its docstring)
        keras.utils.set_random_seed(self.seed_base + self._execution)
        self.hypermodel.execution_seed = self.seed_base + self._execution
        self._execution += 1
        return super()._build_and_fit_model(trial, *args, **kwargs)

    def _configure_tensorboard_dir(self, callbacks: list, trial: Any, execution: int = 0) -> None:
        if any(isinstance(c, keras.callbacks.TensorBoard) for c in callbacks):
            super()._configure_tensorboard_dir(callbacks, trial, execution)


class SpaceGridOracle(kt.Oracle):
    """Every setting of a space's grid, in the space's order, resumable.

    The next setting is derived from the trials already on disk, so a search killed at any
    point continues with exactly the settings still missing.
    """

    def __init__(self, space: Space, **kwargs: Any) -> None:
        super().__init__(max_trials=space.size(), **kwargs)
        self.space = space

    def populate_space(self, trial_id: str) -> dict[str, Any]:
        tried = {
            _key(active_values(self.space, t.hyperparameters.values)) for t in self.trials.values()
        }
        for point in self.space.points():
            encoded = {name: encode_value(value) for name, value in point.items()}
            if _key(encoded) not in tried:
                # a new dict: KerasTuner keeps the one it is given as the trial's values
                values = {**self.hyperparameters.values, **encoded}
                return {"status": kt.engine.trial.TrialStatus.RUNNING, "values": values}
        return {"status": kt.engine.trial.TrialStatus.STOPPED}


def _key(values: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in values.items()))


def active_values(space: Space, values: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's ``hp`` values of the space, less the layers beyond its depth."""
    out = {name: values[name] for name in space.hp_names() if name in values}
    depth = out.get("depth")
    if depth is not None:
        for name in list(out):
            per_layer = name != "depth" and space.layers.param_of(name) is not None
            if per_layer and int(name.rpartition("_")[2]) > depth:
                del out[name]
    return out


def _tuner_class(base: type) -> type:
    return type(f"KerasFcn{base.__name__}", (_KerasFcnTuner, base), {})


def make_tuner(
    name: str,
    hypermodel: FamilyHyperModel,
    directory: str | Path,
    project_name: str,
    *,
    max_trials: int = 20,
    max_epochs: int = 30,
    factor: int = 3,
    hyperband_iterations: int = 1,
    executions_per_trial: int = 1,
    seed: int = 42,
    overwrite: bool = False,
) -> kt.Tuner:
    """A KerasTuner tuner by name, maximizing validation accuracy.

    Args:
        name: ``hyperband``, ``random``, ``bayesian`` or ``grid``.
        hypermodel: what it builds.
        directory: parent folder of the tuner's project folder.
        project_name: the project folder; reusing it resumes the search.
        max_trials: trials of ``random`` and ``bayesian`` (``grid`` runs its full grid).
        max_epochs: Hyperband's largest budget per trial.
        factor: Hyperband's reduction factor.
        hyperband_iterations: times Hyperband runs its set of brackets.
        executions_per_trial: trainings per trial, each from its own seed.
        seed: seeds the oracle's sampling and, through ``seed_base``, every training.
        overwrite: start over instead of resuming.
    """
    if name not in TUNER_NAMES:
        raise ConfigError(f"unknown tuner {name!r}; choose one of {', '.join(TUNER_NAMES)}")
    common = dict(
        directory=str(directory),
        project_name=project_name,
        executions_per_trial=executions_per_trial,
        overwrite=overwrite,
    )
    objective = kt.Objective(OBJECTIVE, direction="max")
    # diverged trials are results, not a reason to stop the search
    searching = dict(objective=objective, seed=seed, max_consecutive_failed_trials=10**6)
    if name == "grid":
        oracle = SpaceGridOracle(hypermodel.space, **searching)
        tuner = _tuner_class(kt.Tuner)(oracle=oracle, hypermodel=hypermodel, **common)
    elif name == "hyperband":
        tuner = _tuner_class(kt.Hyperband)(
            hypermodel,
            max_epochs=max_epochs,
            factor=factor,
            hyperband_iterations=hyperband_iterations,
            **common,
            **searching,
        )
    else:
        base = kt.RandomSearch if name == "random" else kt.BayesianOptimization
        tuner = _tuner_class(base)(hypermodel, max_trials=max_trials, **common, **searching)
    tuner.seed_base = seed
    _note_every_trial_start(tuner.oracle)
    return tuner


def _note_every_trial_start(oracle: Any) -> None:
    """Give every trial of a reloaded oracle (and its search) a start time for its display.

    KerasTuner saves its oracle just before it notes when a new trial started, so a chief
    killed right after handing out a trial reloads without that note, and its
    ``end_trial`` then fails (``KeyError``) when the worker still training the trial reports
    it. A worker's oracle is the chief's client and has no display.
    """
    display = compat.trial_display(oracle) if isinstance(oracle, kt.Oracle) else None
    if display is None:
        return
    now = datetime.datetime.now()
    if display.search_start is None and oracle.trials:
        display.search_start = now
    for number, trial_id in enumerate(sorted(oracle.trials), start=1):
        display.trial_start.setdefault(trial_id, now)
        display.trial_number.setdefault(trial_id, number)


def search_identity(
    tuner_name: str,
    base: RunConfig,
    space: Space,
    *,
    max_epochs: int,
    factor: int,
    trials: int,
    executions: int,
    seed: int,
) -> dict[str, Any]:
    """Everything that defines a search, as JSON-ready data.

    Two commands with the same identity are the same search (the second resumes the
    first); any difference (the tuner or one of its settings, a value of the space after
    ``--search``/``--fix``/``--only``, a ``--set`` value, the data) makes another search.
    Settings a tuner ignores are left out (Hyperband's factor for a random search, say),
    and so are the speed settings a run id leaves out: they do not change results.

    Args:
        tuner_name: ``hyperband``, ``random``, ``bayesian`` or ``grid``.
        base: the run every trial starts from (family, model, training and data settings).
        space: the space searched, already narrowed.
        max_epochs: Hyperband's budget per trial (the others train ``base.train.epochs``).
        factor: Hyperband's reduction factor.
        trials: trials of random and Bayesian search.
        executions: trainings per trial.
        seed: seed of the oracle and of every training.
    """
    settings: dict[str, Any] = {"executions": executions, "seed": seed}
    if tuner_name == "hyperband":
        settings.update(max_epochs=max_epochs, factor=factor)
    elif tuner_name in ("random", "bayesian"):
        settings.update(trials=trials)
    return {
        "family": base.family,
        "tuner": tuner_name,
        "tuner_settings": settings,
        "space": space.to_dict(),
        "base": base.result_settings(),
    }


def search_key(identity: dict[str, Any]) -> str:
    """A short hash of a search's identity, part of its folder's name."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def search_folder_name(identity: dict[str, Any], quick: bool = False) -> str:
    """``FAMILY-DATASET-TUNER[-quick]-HASH``: readable, and one folder per search."""
    dataset = identity["base"]["data"]["dataset"]
    quick_tag = "-quick" if quick else ""
    return f"{identity['family']}-{dataset}-{identity['tuner']}{quick_tag}-{search_key(identity)}"


def space_for(tuner_name: str, space: Space) -> Space:
    """The space a tuner searches: Hyperband owns the epoch budget, so ``epochs`` is fixed.

    Raises:
        ConfigError: nothing is left to search, or a grid too large to run.
    """
    if tuner_name == "hyperband":
        space = space.without("epochs")
    if not space.searched():
        raise ConfigError(
            "the search space is empty: every parameter is fixed; free some with --only or fewer --fix"
        )
    if tuner_name == "grid" and space.size() > 5000:
        raise ConfigError(
            f"the grid has {space.size():,} settings; narrow it with --fix/--only (at most 5,000)"
        )
    return space


def search_callbacks(
    hypermodel: FamilyHyperModel, tensorboard_dir: str | Path | None = None
) -> list:
    """``TerminateOnNaN`` and ``EarlyStopping`` (from the base run), and TensorBoard if asked.

    Each trial adds its own learning-rate schedule (:meth:`FamilyHyperModel.fit`).
    """
    callbacks = stopping_callbacks(hypermodel.base.train)
    if tensorboard_dir is not None:
        callbacks.append(
            keras.callbacks.TensorBoard(log_dir=str(tensorboard_dir), write_graph=False)
        )
    return callbacks
