"""KerasTuner's tuners, with what their users most often miss.

KerasTuner's own tuners and oracles do the searching; this module adds:

- every execution's value kept (``val_accuracy_exec0`` ...), so a trial reports mean ± std;
- a diverged trial (non-finite loss) recorded as FAILED with its reason, never fatal;
- one line per finished trial (its id, values, validation accuracy, epochs and seconds),
  KerasTuner's own display and Keras's epoch lines only when asked for;
- a resumable grid search (KerasTuner 1.4's ``GridSearch`` cannot resume: its oracle does not
  save its position), whose grid is the space's own :meth:`Space.grid`;
- TensorBoard logs with the HParams dashboard only when asked for (KerasTuner otherwise
  imports TensorBoard's HParams API for every trial).

Trials are numbered by KerasTuner's trial ids, from 0 (``trial_00`` in the project folder,
``00`` in TensorBoard, the trial table and the lines printed); KerasTuner's own display,
which counts from 1, is made to show the same ids.

Distributed search uses KerasTuner's chief/worker mode unchanged: the environment variables
``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` decide each
process's role.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import io
import json
import math
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from keras_fcn import compat, layout, train
from keras_fcn.data import Dataset
from keras_fcn.family import Family, RunConfig
from keras_fcn.registry import DEFAULT_SEED
from keras_fcn.space import Space, encode_value
from keras_fcn.train import release_traced_steps
from keras_fcn.tuning import workers
from keras_fcn.tuning.hypermodel import (
    OBJECTIVE,
    FamilyHyperModel,
    active_values,
    search_callbacks,
)
from keras_fcn.tuning.options import SearchOptions
from keras_fcn.tuning.trials import trial_line


class _KerasFcnTuner:
    """Mixed into each KerasTuner tuner: seeds, per-execution values, divergence, timing,
    and a line per trial."""

    seed_base: int = DEFAULT_SEED
    show_trials: bool = True  # print one line per finished trial

    def run_trial(
        self, trial: kt.engine.trial.Trial, *args: Any, **kwargs: Any
    ) -> dict[str, float]:
        self._execution, self._result = 0, {}
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
        self._result = result
        return result

    def on_trial_end(self, trial: kt.engine.trial.Trial) -> None:
        super().on_trial_end(trial)
        if self.show_trials:
            # the trial's own result: a worker's copy of the trial holds no metrics
            line = trial_line(self.hypermodel.space, trial, getattr(self, "_result", {}))
            print(line, flush=True)

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


def _tuner_class(base: type) -> type:
    return type(f"KerasFcn{base.__name__}", (_KerasFcnTuner, base), {})


def make_tuner(
    hypermodel: FamilyHyperModel,
    directory: str | Path,
    options: SearchOptions | None = None,
    *,
    project_name: str = layout.TUNER_PROJECT,
    overwrite: bool = False,
) -> kt.Tuner:
    """The KerasTuner tuner ``options.tuner`` names, maximizing validation accuracy.

    Args:
        hypermodel: what it builds.
        directory: parent folder of the tuner's project folder.
        options: (default :class:`SearchOptions`) the tuner (``hyperband``, ``random``, ``bayesian`` or ``grid``), its trials
            (random and Bayesian; the grid runs its whole grid), Hyperband's ``max_epochs``
            and ``factor``, the executions per trial, the seed of the oracle's sampling and
            of every training, and whether KerasTuner talks (``verbose``).
        project_name: the project folder; reusing it resumes the search.
        overwrite: start over instead of resuming.
    """
    options = options or SearchOptions()
    compat.atomic_json_writes()  # a kill mid-write must leave a search that resumes
    common = dict(
        directory=str(directory),
        project_name=project_name,
        executions_per_trial=options.executions,
        overwrite=overwrite,
    )
    objective = kt.Objective(OBJECTIVE, direction="max")
    # diverged trials are results, not a reason to stop the search
    searching = dict(objective=objective, seed=options.seed, max_consecutive_failed_trials=10**6)
    # KerasTuner says "Reloading Tuner from ..." whatever its verbosity; the search's own
    # line already says that it resumes
    quiet = (
        contextlib.nullcontext() if options.verbose else contextlib.redirect_stdout(io.StringIO())
    )
    with quiet:
        if options.tuner == "grid":
            oracle = SpaceGridOracle(hypermodel.space, **searching)
            tuner = _tuner_class(kt.Tuner)(oracle=oracle, hypermodel=hypermodel, **common)
        elif options.tuner == "hyperband":
            tuner = _tuner_class(kt.Hyperband)(
                hypermodel,
                max_epochs=options.max_epochs,
                factor=options.factor,
                **common,
                **searching,
            )
        else:
            base = kt.RandomSearch if options.tuner == "random" else kt.BayesianOptimization
            if options.tuner == "bayesian" and options.initial_points:
                searching.update(num_initial_points=options.initial_points)
            tuner = _tuner_class(base)(hypermodel, max_trials=options.trials, **common, **searching)
    tuner.seed_base = options.seed
    if options.epoch_budget and options.tuner in ("random", "bayesian"):
        limit_epochs(tuner.oracle, options.epoch_budget)
    _number_trials_by_id(tuner.oracle)
    return tuner


def epochs_spent(oracle: kt.Oracle) -> int:
    """Epochs the oracle's finished trials trained (per execution: a trial's mean)."""
    finished = kt.engine.trial.TrialStatus.COMPLETED
    return int(
        round(
            sum(
                t.metrics.get_last_value("epochs_trained") or 0.0
                for t in oracle.trials.values()
                if t.status == finished
            )
        )
    )


def limit_epochs(oracle: kt.Oracle, budget: int) -> None:
    """Make ``oracle`` start no trial once its finished trials have trained ``budget``
    epochs (a trial that starts before then runs to its end)."""
    populate = oracle.populate_space

    def within_budget(trial_id: str) -> dict[str, Any]:
        if epochs_spent(oracle) >= budget:
            return {"status": kt.engine.trial.TrialStatus.STOPPED, "values": None}
        return populate(trial_id)

    oracle.populate_space = within_budget


def _number_trials_by_id(oracle: Any) -> None:
    """Make KerasTuner's display number trials by their ids, and give every trial of a
    reloaded oracle (and its search) a start time for it.

    KerasTuner saves its oracle just before it notes when a new trial started, so a chief
    killed right after handing out a trial reloads without that note, and its
    ``end_trial`` then fails (``KeyError``) when the worker still training the trial reports
    it. A worker's oracle is the chief's client and has no display.
    """
    display = compat.trial_display(oracle) if isinstance(oracle, kt.Oracle) else None
    if display is None:
        return
    numbered = _TrialIdDisplay(oracle, verbose=display.verbose)
    numbered.set_state(display.get_state())
    compat.set_trial_display(oracle, numbered)
    now = datetime.datetime.now()
    if numbered.search_start is None and oracle.trials:
        numbered.search_start = now
    for trial_id in oracle.trials:
        numbered.trial_start.setdefault(trial_id, now)
        numbered.trial_number[trial_id] = trial_id


class _TrialIdDisplay(compat.trial_display_class()):
    """KerasTuner's display of a trial's start and end, naming the trial by its id (as its
    folder, TensorBoard and the trial table do) rather than counting from 1."""

    def on_trial_begin(self, trial: Any) -> None:
        if self.verbose < 1:
            return
        now = datetime.datetime.now()
        self.trial_start[trial.trial_id] = now
        self.search_start = self.search_start or now
        self.trial_number[trial.trial_id] = trial.trial_id
        print(f"\nSearch: running trial {trial.trial_id}\n")
        self.show_hyperparameter_table(trial)
        print()


def run_tuner(
    family: Family,
    base: RunConfig,
    space: Space,
    folder: Path,
    options: SearchOptions,
    watch: workers.ChiefWatch | None = None,
) -> tuple[kt.Tuner, Dataset, float]:
    """Load the data and run the search in ``folder/search``, in this process or as the
    chief or a worker of a distributed search (``watch``: a worker's watch on its chief);
    the tuner, the data and the search's seconds in this session.

    Once the search is over, the trials' checkpoints are removed: only a search still
    running reloads them (Hyperband, to continue a trial), and they hold a copy of every
    trial's model.
    """
    pool = None
    if options.workers and workers.role() is None:
        # before the tuner is made: the role variables decide what KerasTuner makes
        pool = workers.start_workers(options.workers, options.worker_command)
    try:
        data = train.load_dataset(base.data, options.data_dir)
        hypermodel = FamilyHyperModel(family, base, space, use_ranges=options.tuner != "grid")
        tuner = make_tuner(hypermodel, folder, options)
        tuner.show_trials = workers.role() != "chief"  # the chief trains no trial
        tensorboard = folder / "tensorboard" if options.tensorboard else None
        search = functools.partial(
            tuner.search,
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            callbacks=[*search_callbacks(hypermodel, tensorboard), *options.callbacks],
            verbose=(1 if sys.stdout.isatty() else 2) if options.verbose else 0,
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            if not options.verbose:  # Bayesian search's Gaussian process notes its fit
                warnings.filterwarnings("ignore", module="sklearn.gaussian_process")
            if watch is None:
                search()
            else:
                with watch:
                    watch.run(search)
    finally:
        if pool is not None:
            pool.stop()
    seconds = time.perf_counter() - start
    if workers.role() != "worker":
        for checkpoint in (folder / layout.TUNER_PROJECT).glob("trial_*/checkpoint*"):
            checkpoint.unlink()
    return tuner, data, seconds
