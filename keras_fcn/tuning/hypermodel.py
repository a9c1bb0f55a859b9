"""A family's model as a KerasTuner ``HyperModel``: ``build(hp)`` only maps the declared
:class:`~keras_fcn.space.Space` onto ``hp`` (the same names as the config fields) and builds
with the family's builder; ``fit`` trains by the trial's own run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt

from keras_fcn.compiled import build_compiled
from keras_fcn.errors import ConfigError
from keras_fcn.family import Family, RunConfig
from keras_fcn.space import Space, declare_space
from keras_fcn.train import fit_model, schedule_callbacks, stopping_callbacks

OBJECTIVE = "val_accuracy"
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
        return self.base.with_settings(declare_space(self.space, hp, use_ranges=self.use_ranges))

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        try:
            run = self.run_config(hp)
        except ConfigError as exc:  # a combination the family cannot build: a failed trial
            raise kt.errors.FailedTrialError(str(exc)) from None
        model = build_compiled(self.family, run)
        if "tuner/trial_id" in hp.values:
            # Hyperband goes on training an earlier trial: it loads that trial's checkpoint,
            # optimizer state included, into this model. An optimizer not yet built has no
            # variables to receive it, and Keras skips them with a warning (the training
            # then restarts its momentum): building it first lets the trial continue.
            model.optimizer.build(model.trainable_variables)
        return model

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        """Train a trial's model by its run's loop (:func:`keras_fcn.train.fit_model`), with
        the trial's own learning-rate schedule (``lr_schedule`` and ``epochs`` may be
        searched); Hyperband passes its own ``epochs`` and ``initial_epoch``."""
        run = self.run_config(hp)
        x, y = (*args, *(kwargs.pop(k) for k in ("x", "y") if k in kwargs))[:2]
        for ignored in ("batch_size", "validation_batch_size", "shuffle"):
            kwargs.pop(ignored, None)  # the trial's run decides them
        callbacks = [*kwargs.pop("callbacks", []), *schedule_callbacks(run.train)]
        # Hyperband's epochs and the execution's seed, in place of the run's own
        changes = {"epochs": kwargs.pop("epochs", None), "seed": self.execution_seed}
        train = dataclasses.replace(
            run.train, **{k: v for k, v in changes.items() if v is not None}
        )
        return fit_model(model, train, x, y, callbacks=callbacks, **kwargs)


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
