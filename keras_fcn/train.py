"""One training run: seed, build, compile, fit, evaluate on the test set once, record.

:func:`train_model` is the only place a network is trained; studies, the tuner's final
retraining and the commands all call it, so every run yields the same
:class:`~keras_fcn.record.RunRecord`.
"""

from __future__ import annotations

import dataclasses
import gc
import time
from collections.abc import Sequence

import keras
import numpy as np

from keras_fcn import compat
from keras_fcn import data as datasets
from keras_fcn.compiled import build_compiled, use_jit
from keras_fcn.config import DataConfig, TrainConfig
from keras_fcn.data import Dataset
from keras_fcn.family import Family, RunConfig
from keras_fcn.hardware import (
    fusion_of,
    precision_note,
    tensorflow_fusion,
    tensorflow_threads,
)
from keras_fcn.outcome import cosine_learning_rate, tested_record
from keras_fcn.record import RunRecord, library_versions


def load_dataset(config: DataConfig, data_dir: str | None = None) -> Dataset:
    """Load the dataset a :class:`DataConfig` describes (see :func:`keras_fcn.data.load`)."""
    return datasets.load(
        config.dataset,
        validation=config.validation,
        split_seed=config.split_seed,
        standardize=config.standardize,
        train_limit=config.train_limit,
        test_limit=config.test_limit,
        data_dir=data_dir,
    )


_library_objects_frozen = False


def _freeze_library_objects() -> None:
    """Leave the objects alive now out of Python's cyclic garbage collection; once a process.

    Before each model, ``keras.backend.clear_session``, KerasTuner and
    :func:`release_traced_steps` each run a full collection, which walks every object the
    process tracks: nearly all of them belong to the imported modules (TensorFlow's and
    Keras's) and live as long as the process. Frozen (``gc.freeze``), they are skipped: a
    collection walks only what was created since. Frozen objects are still freed when nothing
    refers to them; only cycles among them are never collected. Called just after a
    collection, so that no garbage is frozen.
    """
    global _library_objects_frozen
    if not _library_objects_frozen:
        gc.freeze()
        _library_objects_frozen = True


def release_traced_steps() -> int:
    """Free what TensorFlow keeps of the training steps of models already trained.

    Keras's optimizer sums gradients through ``tf.distribute``'s all-reduce, which is a
    ``tf.custom_gradient``: every trace of a training step registers its gradient function in
    TensorFlow's global gradient registry, which is never emptied, and that function holds the
    whole traced graph. ``keras.backend.clear_session()`` does not touch it, so each model
    trained in one process kept a few MB (docs/speed.md; a known leak of long loops of
    ``fit``). The entries are only used while their step is being traced, so they are dropped
    here before the next model is built, and the process's long-lived objects are frozen
    (:func:`_freeze_library_objects`). Returns how many were dropped (0 on other backends).
    """
    stale = []
    registry = compat.gradient_registry() if keras.backend.backend() == "tensorflow" else None
    if registry is not None:  # None: another backend, or a TensorFlow that keeps it elsewhere
        stale = [name for name in registry if name.startswith("CustomGradient-")]
        for name in stale:
            del registry[name]
    gc.collect()
    _freeze_library_objects()
    return len(stale)


def stopping_callbacks(train: TrainConfig) -> list[keras.callbacks.Callback]:
    """Stop on a non-finite loss; stop early on validation accuracy when ``patience`` is set."""
    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
    if train.patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy",
                patience=train.patience,
                mode="max",
                restore_best_weights=True,
            )
        )
    return callbacks


class LastFiniteWeights(keras.callbacks.Callback):
    """Keep a copy of the weights of the last state whose training loss was finite.

    ``TerminateOnNaN`` stops a diverging run after the batch whose loss was not finite (the
    epoch loop at the end of that epoch), leaving weights that may be NaN; test metrics
    measured on them would say nothing about
    the network. The copy is taken before training and at the end of every epoch whose loss
    and weights are all finite, so a diverged run can be tested on what it really was just
    before. One copy per epoch is a read of the weights (about 2 MB for the dense default network),
    not a cost per batch.

    Attributes:
        weights_: the weights kept, as :meth:`keras.Model.get_weights` returns them.
        epoch_: the epoch (1-based) after which they were taken; 0 for the initial weights.
    """

    def __init__(self) -> None:
        super().__init__()
        self.weights_: list[np.ndarray] = []
        self.epoch_ = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.weights_, self.epoch_ = self.model.get_weights(), 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or not np.isfinite(loss):
            return
        # an epoch's loss is measured before its last update, which can still overflow
        weights = self.model.get_weights()
        if all(np.isfinite(w).all() for w in weights):
            self.weights_, self.epoch_ = weights, epoch + 1


class EpochTimes(keras.callbacks.Callback):
    """Records the seconds of each epoch in ``times`` (the timings of the benchmark and of
    the time estimates)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.times.append(time.perf_counter() - self._start)


def schedule_callbacks(train: TrainConfig) -> list[keras.callbacks.Callback]:
    """The learning-rate schedule of ``train`` as a callback (none for ``constant``).

    The rate is set per epoch from the epoch's index, so a run resumed at ``initial_epoch``
    (as Hyperband resumes its trials) continues the same curve.
    """
    if train.lr_schedule == "cosine":
        rate = cosine_learning_rate(train.learning_rate, train.epochs)
        return [keras.callbacks.LearningRateScheduler(rate)]
    return []


def standard_callbacks(train: TrainConfig) -> list[keras.callbacks.Callback]:
    """The stopping callbacks and the learning-rate schedule of every run."""
    return [*stopping_callbacks(train), *schedule_callbacks(train)]


@dataclasses.dataclass
class TrainedRun:
    """What :func:`train_model` returns: the run's record and the trained model."""

    record: RunRecord
    model: keras.Model


def train_model(
    family: Family,
    run: RunConfig,
    data: Dataset,
    *,
    verbose: int | str = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> TrainedRun:
    """Train ``run`` on ``data``; return its record and the trained model.

    A run whose loss becomes NaN or infinite stops (``fit`` after that batch, the epoch loop
    after that epoch) and is recorded with status ``diverged``; it does not raise. Its test metrics come from the weights of the last
    epoch that ended with a finite loss (the initial weights when the first epoch diverged),
    and its note says which. Logits that are still not finite leave the record without test
    predictions, confusion matrix, accuracy or loss rather than with invented ones.

    Args:
        family: builds the model from ``run.model``.
        run: the configs; ``run.train.seed`` seeds everything.
        data: the dataset, already split (its settings should match ``run.data``).
        verbose: Keras's progress display (0 silent, 1 bar, 2 a line per epoch).
        callbacks: more Keras callbacks (TensorBoard, progress, ...).
    """
    start = time.perf_counter()
    keras.backend.clear_session()  # a long study must not accumulate graphs of old models
    release_traced_steps()
    keras.utils.set_random_seed(run.train.seed)
    model = build_compiled(family, run)

    last_finite = LastFiniteWeights()
    fit_start = time.perf_counter()
    history = _fit(
        model, run, data, [*standard_callbacks(run.train), last_finite, *callbacks], verbose
    )
    fit_time = time.perf_counter() - fit_start

    diverged = any(not np.isfinite(v) for v in history.get("loss", []))
    if diverged:
        model.set_weights(last_finite.weights_)

    predict_start = time.perf_counter()
    logits = model.predict(data.x_test, batch_size=run.train.eval_batch_size, verbose=0)
    predict_time = time.perf_counter() - predict_start
    kept = last_finite.epoch_ if diverged else None
    record = _run_record(family, run, model, history, logits, data.y_test, kept)
    record.fit_time_s, record.predict_time_s = round(fit_time, 3), round(predict_time, 3)
    record.wall_time_s = round(time.perf_counter() - start, 3)
    return TrainedRun(record, model)


def _run_record(
    family: Family,
    run: RunConfig,
    model: keras.Model,
    history: dict[str, list[float]],
    logits: np.ndarray,
    y_test: np.ndarray,
    kept: int | None,
) -> RunRecord:
    """The record of a trained run but for its timings (``kept``: the epoch whose weights
    were tested after a divergence, ``None`` when the run did not diverge)."""
    return tested_record(
        family,
        run,
        history,
        logits,
        y_test,
        kept,
        params=int(model.count_params()),
        precision=precision_note(run.train.precision, model, run.train.batch_size),
        threads=tensorflow_threads() if keras.backend.backend() == "tensorflow" else None,
        versions=library_versions(),
        command=family.command_for(run),
    )


def _fit(
    model: keras.Model,
    run: RunConfig,
    data: Dataset,
    callbacks: Sequence[keras.callbacks.Callback],
    verbose: int | str,
) -> dict[str, list[float]]:
    """Fit ``model`` on the training part, validating on the validation part if any; its
    history as plain floats."""
    history = fit_model(
        model,
        run.train,
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        callbacks=callbacks,
        verbose=verbose,
    ).history
    return {k: [float(v) for v in values] for k, values in history.items()}


def fit_model(
    model: keras.Model,
    train: TrainConfig,
    x: np.ndarray,
    y: np.ndarray,
    *,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = 0,
    initial_epoch: int = 0,
) -> keras.callbacks.History:
    """Train the compiled ``model`` as ``train`` says, by ``train.loop``: Keras's ``fit`` or
    :func:`keras_fcn.epoch_loop.fit_by_epochs` (TensorFlow only; ``fit`` elsewhere).

    Training runs from ``initial_epoch`` to ``train.epochs`` (Hyperband passes its own, in a
    copy of the config); ``train.seed`` orders the epoch loop's batches. An empty
    validation split is no validation. TensorFlow fuses each product with its bias and
    activation where :func:`fusion_of` says it is faster.
    """
    if validation_data is not None and not len(validation_data[1]):
        validation_data = None
    with tensorflow_fusion(fusion_of(model)[0]):
        if train.loop == "epoch" and keras.backend.backend() == "tensorflow":
            from keras_fcn.epoch_loop import EpochSettings, fit_by_epochs

            settings = EpochSettings(
                batch_size=train.batch_size,
                epochs=train.epochs,
                seed=train.seed,
                validation_batch_size=train.eval_batch_size,
                initial_epoch=initial_epoch,
                jit_compile=use_jit(model, train),
            )
            return fit_by_epochs(
                model,
                x,
                y,
                settings,
                validation_data=validation_data,
                callbacks=callbacks,
                verbose=verbose,
            )
        return model.fit(
            x,
            y,
            batch_size=train.batch_size,
            epochs=train.epochs,
            initial_epoch=initial_epoch,
            validation_data=validation_data,
            validation_batch_size=train.eval_batch_size,
            callbacks=list(callbacks),
            shuffle=True,
            verbose=verbose,
        )


def train_record(
    family: Family,
    run: RunConfig,
    data: Dataset,
    *,
    verbose: int | str = 0,
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> RunRecord:
    """:func:`train_model`'s record alone, the model left to be freed (what studies keep)."""
    return train_model(family, run, data, verbose=verbose, callbacks=callbacks).record
