"""The private internals of KerasTuner and TensorFlow that keras-fcn relies on, in one place.

Each works around a problem of the released library, named beside it. ``setup.cfg`` caps
both libraries at the releases these were verified with, and :func:`missing_internals`
(run by the tests) says in one line what changed if a release moves them.
"""

from __future__ import annotations

import json
import os
from typing import Any

# Verified with keras-tuner 1.4.7-1.4.8 and TensorFlow 2.16-2.21 (the caps in setup.cfg).


def gradient_registry() -> dict | None:
    """TensorFlow's global registry of gradient functions, or None where it is elsewhere.

    Works around a leak: every traced training step registers its all-reduce gradient
    (a ``tf.custom_gradient``) here and nothing ever removes it (see
    :func:`keras_fcn.train.release_traced_steps`). The registry has no public API.
    """
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def without_retracing_warning(function: Any) -> Any:
    """``function`` (a ``tf.function``) without TensorFlow's warning of frequent retracing.

    Works around a false alarm: TensorFlow counts traces by the Python code of a function,
    not by ``tf.function`` object, so the epoch functions that every run builds anew for
    its own model (:mod:`keras_fcn.epoch_loop`) look, after five runs in one process, like
    one function retraced on every call. Each is traced once per run, as Keras's ``fit``
    traces its own.
    """
    if hasattr(function, RETRACING_FLAG):
        setattr(function, RETRACING_FLAG, True)
    return function


RETRACING_FLAG = "_omit_frequent_tracing_warning"
"""The attribute of a ``tf.function`` that silences its frequent-retracing warning."""


def trial_display(oracle: Any) -> Any | None:
    """A KerasTuner oracle's display of trial start times, or None (a worker's oracle).

    Works around KerasTuner saving its oracle before it notes a new trial's start: a
    reloaded chief's ``end_trial`` then fails with ``KeyError`` (see
    :func:`keras_fcn.tuning.make_tuner`).
    """
    return getattr(oracle, "_display", None)


def set_trial_display(oracle: Any, display: Any) -> None:
    """Give a KerasTuner oracle another display (a subclass of :func:`trial_display_class`).

    Works around the display numbering trials from 1 while their ids, folders and TensorBoard
    logs count from 0 (see :mod:`keras_fcn.tuning.tuner`); the oracle has no public hook.
    """
    oracle._display = display


def trial_display_class() -> type:
    """KerasTuner's class of an oracle's display (not exported by KerasTuner)."""
    from keras_tuner.src.engine.oracle import Display

    return Display


# Methods of keras_tuner.Tuner that keras-fcn's tuners override (keras_fcn.tuning.tuner):
# _build_and_fit_model, to seed each execution and free the traced steps of the last model;
# _configure_tensorboard_dir, so that TensorBoard's HParams API is imported only when asked.
# run_trial, to keep every execution's value; on_trial_end, to print a line per trial.
TUNER_METHODS = ("_build_and_fit_model", "_configure_tensorboard_dir", "run_trial", "on_trial_end")
DISPLAY_FIELDS = ("search_start", "trial_start", "trial_number", "verbose")
DISPLAY_METHODS = ("on_trial_begin", "show_hyperparameter_table", "get_state", "set_state")


def atomic_json_writes() -> None:
    """Make KerasTuner write its JSON state (``oracle.json``, each ``trial.json``, the
    tuner's) whole or not at all: to a file beside it, then renamed over it.

    Works around a search that cannot resume: KerasTuner writes these files in place, so a
    process killed during a write leaves a truncated ``oracle.json`` and the next run stops
    in ``json.loads``. Local paths only; others (``gs://``) keep KerasTuner's own write.
    Idempotent.
    """
    from keras_tuner.src import utils

    if getattr(utils.save_json, "_atomic", False):
        return
    in_place = utils.save_json

    def save_json(path: Any, obj: Any) -> str:
        text = os.fspath(path)
        if "://" in text:
            return in_place(path, obj)
        content = json.dumps(obj)
        partial = f"{text}.{os.getpid()}.partial"
        with open(partial, "w") as f:
            f.write(content)
        os.replace(partial, text)
        return content

    save_json._atomic = True
    utils.save_json = save_json


def missing_internals() -> list[str]:
    """What of the internals above the installed releases lack, one line each."""
    import keras_tuner as kt
    import tensorflow as tf

    missing = []
    from keras_tuner.src import utils

    if not callable(getattr(utils, "save_json", None)):
        missing.append("keras_tuner.src.utils.save_json")
    if gradient_registry() is None:
        missing.append("tensorflow.python.framework.ops._gradient_registry._registry")
    if not hasattr(tf.function(lambda: 0), RETRACING_FLAG):
        missing.append(f"tf.function's {RETRACING_FLAG}")
    for method in TUNER_METHODS:
        if not callable(getattr(kt.Tuner, method, None)):
            missing.append(f"keras_tuner.Tuner.{method}")
    oracle = kt.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=1)
    display = trial_display(oracle)
    if display is None:
        missing.append("keras_tuner Oracle._display")
    else:
        missing += [
            f"keras_tuner Oracle._display.{f}" for f in DISPLAY_FIELDS if not hasattr(display, f)
        ]
        missing += [
            f"keras_tuner Display.{m}"
            for m in DISPLAY_METHODS
            if not callable(getattr(display, m, None))
        ]
    return missing
