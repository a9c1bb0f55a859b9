"""Training by whole epochs: one compiled call trains an epoch, one more validates it.

Keras's ``Model.fit`` pays, on every step, for its data iterator (an array adapter that
shuffles and slices through ``tf.data``), its metric objects and a return to Python every
``steps_per_execution`` steps. On the dense network in bfloat16 that was about a quarter of
a step (the benchmark command times a step in parts). Here the training arrays
are tensors for the whole run; an epoch is one call of a ``tf.function`` that shuffles the
indices with a stateless seed (the run's seed and the epoch), takes each batch by
``tf.gather``, steps the model's own optimizer on the model's own compiled loss (with its
L2 terms, as ``fit`` computes it) and sums the loss and the correct predictions; the
validation split is one more call. Per epoch the history gets what ``fit`` records:
``loss`` and ``accuracy`` (batch means weighted by batch size), and ``val_loss`` and
``val_accuracy``.

Callbacks are Keras's own and see what ``fit`` would show them at the end of each epoch:
``on_epoch_begin`` (a learning-rate schedule), ``on_epoch_end`` with the epoch's logs
(early stopping, checkpoints, TensorBoard, KerasTuner's trial reports) and
``model.stop_training``; the whole epoch is one batch to ``on_train_batch_*``, so a
non-finite loss stops training at the end of its epoch. TensorFlow only: other backends
train with ``fit`` (:func:`keras_fcn.train.fit_model`).
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from keras_fcn import compat


@dataclasses.dataclass(frozen=True)
class EpochSettings:
    """How :func:`fit_by_epochs` trains: what ``Model.fit`` takes as separate arguments.

    Attributes:
        batch_size: training batch size.
        epochs: train up to this epoch (exclusive, from 0).
        seed: orders the batches: epoch ``e`` is shuffled by ``(seed, e)``, so a resumed run
            continues the same order.
        validation_batch_size: batch size of the validation split (``batch_size`` if None).
        initial_epoch: the first epoch to train (a resumed run's).
        jit_compile: compile each step with XLA.
    """

    batch_size: int
    epochs: int
    seed: int
    validation_batch_size: int | None = None
    initial_epoch: int = 0
    jit_compile: bool = False


def fit_by_epochs(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    settings: EpochSettings,
    *,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = 0,
) -> keras.callbacks.History:
    """Train the compiled ``model`` from ``settings.initial_epoch`` to ``settings.epochs``;
    its history.

    ``validation_data``, ``callbacks`` and ``verbose`` mean what they mean to ``Model.fit``.
    """
    import tensorflow as tf

    if not model.optimizer.built:  # its variables are made here, not in a graph loop
        model.optimizer.build(model.trainable_variables)
    train = _tensors(x, y)
    has_validation = validation_data is not None and len(validation_data[1]) > 0
    val = _tensors(*validation_data) if has_validation else None
    steps = math.ceil(len(y) / settings.batch_size)
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        [*callbacks, history],
        add_progbar=verbose != 0,
        model=model,
        verbose=verbose,
        epochs=settings.epochs,
        steps=steps,
    )
    train_epoch, evaluate = _epoch_functions(model, len(y), val, settings)

    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(settings.initial_epoch, settings.epochs):
        callback_list.on_epoch_begin(epoch)
        callback_list.on_train_batch_begin(steps - 1)
        epoch_seed = tf.constant([settings.seed, epoch], dtype=tf.int64)
        logs = _logs(*train_epoch(*train, epoch_seed), len(y))
        callback_list.on_train_batch_end(steps - 1, logs)
        if evaluate is not None:
            val_logs = _logs(*evaluate(*val, epoch_seed), len(val[1]))
            logs.update({f"val_{k}": v for k, v in val_logs.items()})
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training or not math.isfinite(logs["loss"]):
            break
    callback_list.on_train_end()
    return history


def _epoch_functions(
    model: keras.Model, count: int, val: tuple[Any, Any] | None, settings: EpochSettings
) -> tuple[Any, Any]:
    """The compiled training epoch over ``count`` examples, and the validation pass over
    ``val`` (``None`` without a validation split)."""
    jit = settings.jit_compile
    train_epoch = _epoch_function(model, count, settings.batch_size, training=True, jit=jit)
    if val is None:
        return train_epoch, None
    val_batch = settings.validation_batch_size or settings.batch_size
    return train_epoch, _epoch_function(model, len(val[1]), val_batch, False, jit)


def _logs(loss_sum: Any, correct: Any, count: int) -> dict[str, float]:
    return {"loss": float(loss_sum) / count, "accuracy": float(correct) / count}


_converted: dict[int, tuple[weakref.ref, Any]] = {}


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[Any, Any]:
    """``x`` and ``y`` as TensorFlow tensors, converted once per array object.

    A tuning search fits every trial on the same arrays: converting them once saves each
    trial a copy of the training set. An entry is dropped when its array is freed.
    """
    import tensorflow as tf

    def tensor(array: np.ndarray) -> Any:
        key = id(array)
        cached = _converted.get(key)
        if cached is not None and cached[0]() is array:
            return cached[1]
        value = tf.convert_to_tensor(array)
        try:
            ref = weakref.ref(array, lambda _, key=key: _converted.pop(key, None))
        except TypeError:  # not an ndarray: no cache
            return value
        _converted[key] = (ref, value)
        return value

    return tensor(x), tensor(y)


def _epoch_function(
    model: keras.Model, count: int, batch_size: int, training: bool, jit: bool
) -> Any:
    """A compiled ``f(x, y, seed) -> (summed loss, correct predictions)`` over ``count``
    examples in batches of ``batch_size``: a training epoch in an order shuffled by ``seed``,
    or an evaluation in order.

    Every batch, the last smaller one too, runs in one graph loop whose body is traced once:
    tracing the step (forward, gradients, the optimizer's update) is most of a search trial's
    fixed cost. XLA needs static shapes: under it, full batches run in the loop and a last,
    smaller batch after it.
    """
    import tensorflow as tf

    full, rest = divmod(count, batch_size)
    variables = model.trainable_variables

    def batch_sums(x: Any, y: Any, index: Any) -> tuple[Any, Any]:
        xb, yb = tf.gather(x, index), tf.gather(y, index)
        if not training:
            logits = model(xb, training=False)
            loss = model.compute_loss(x=xb, y=yb, y_pred=logits, training=False)
        else:
            with tf.GradientTape() as tape:
                logits = model(xb, training=True)
                loss = model.compute_loss(x=xb, y=yb, y_pred=logits, training=True)
            gradients = tape.gradient(loss, variables)
            model.optimizer.apply_gradients(zip(gradients, variables, strict=True))
        hits = tf.equal(tf.argmax(logits, axis=-1, output_type=yb.dtype), yb)
        size = tf.cast(tf.shape(index)[0], tf.float32)
        return tf.cast(loss, tf.float32) * size, tf.reduce_sum(tf.cast(hits, tf.int32))

    step = batch_sums
    if jit:
        step = compat.without_retracing_warning(tf.function(batch_sums, jit_compile=True))

    def epoch(x: Any, y: Any, seed: Any) -> tuple[Any, Any]:
        order = tf.range(count)
        if training:
            order = tf.random.experimental.stateless_shuffle(order, seed=seed)
        if jit:  # static shapes: the full batches in the loop, a smaller last one after it
            looped, batches = full, tf.reshape(order[: full * batch_size], (full, batch_size))
        else:
            looped = full + (1 if rest else 0)

        def body(i: Any, loss_sum: Any, correct: Any) -> tuple[Any, Any, Any]:
            if jit:
                index = batches[i]
            else:
                index = order[i * batch_size : tf.minimum((i + 1) * batch_size, count)]
            batch_loss, batch_correct = step(x, y, index)
            return i + 1, loss_sum + batch_loss, correct + batch_correct

        start = (tf.constant(0), tf.constant(0.0), tf.constant(0))
        _, loss_sum, correct = tf.while_loop(lambda i, *_: i < looped, body, start)
        if jit and rest:
            batch_loss, batch_correct = step(x, y, order[full * batch_size :])
            loss_sum, correct = loss_sum + batch_loss, correct + batch_correct
        return loss_sum, correct

    return compat.without_retracing_warning(tf.function(epoch, autograph=False))
