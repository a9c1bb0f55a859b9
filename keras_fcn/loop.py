"""The training loop of every run on TensorFlow: one compiled step per batch, Keras's callbacks.

``keras.Model.fit`` runs its steps through a ``tf.data`` pipeline and a ``tf.while_loop`` of
nested functions; for the small networks trained here that machinery costs a noticeable part
of each epoch (``python -m experiments.benchmark`` compares both). :func:`fit` trains the same
compiled model with the same optimizer, loss and callbacks, but calls one compiled step per
batch on indices into the training set, which stays in memory as a constant, and keeps the
epoch's loss and accuracy in variables read every few steps. Its :class:`keras.callbacks.History`
has the keys ``fit`` writes (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, and
``learning_rate`` under a schedule), so everything that reads histories is unchanged.

On other backends :func:`fit` is ``model.fit``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np


def fit(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    batch_size: int,
    epochs: int,
    initial_epoch: int = 0,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    validation_batch_size: int | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = 0,
    shuffle: bool = True,
    check_every: int = 8,
) -> keras.callbacks.History:
    """Train a compiled ``model`` on ``(x, y)`` as ``model.fit`` would; return its history.

    The training order is shuffled every epoch from NumPy's global generator (seeded by
    ``keras.utils.set_random_seed``). Every ``check_every`` steps the running loss is read and
    batch callbacks are called with it, so ``TerminateOnNaN`` stops a diverging run within
    that many steps.
    """
    if keras.backend.backend() != "tensorflow":
        return model.fit(
            x, y, batch_size=batch_size, epochs=epochs, initial_epoch=initial_epoch,
            validation_data=validation_data, validation_batch_size=validation_batch_size,
            callbacks=list(callbacks), verbose=verbose, shuffle=shuffle,
        )  # fmt: skip
    return _Loop(model, x, y, validation_data, validation_batch_size or batch_size).run(
        batch_size=batch_size,
        epochs=epochs,
        initial_epoch=initial_epoch,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=shuffle,
        check_every=max(1, check_every),
    )


class _Loop:
    """The compiled steps of one model and its data (TensorFlow only)."""

    def __init__(
        self,
        model: keras.Model,
        x: np.ndarray,
        y: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None,
        eval_batch_size: int,
    ) -> None:
        import tensorflow as tf

        self.tf, self.model = tf, model
        self.x, self.y = tf.constant(x), tf.constant(y)
        self.n = len(y)
        self.validation = validation if validation is not None and len(validation[1]) else None
        self.eval_batch_size = eval_batch_size
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")
        # sums over the epoch: loss x images, correct predictions, images seen
        self.totals = [tf.Variable(0.0, dtype=tf.float64, trainable=False) for _ in range(3)]
        jit = bool(getattr(model, "jit_compile", False))
        self.train_step = tf.function(self._train_step, jit_compile=jit, reduce_retracing=True)
        self.eval_step = tf.function(self._eval_step, jit_compile=jit, reduce_retracing=True)

    def _batch_sums(self, logits: Any, labels: Any) -> tuple[Any, Any]:
        tf = self.tf
        logits = tf.cast(logits, tf.float32)
        loss_sum = self.loss_fn(labels, logits)
        predicted = tf.argmax(logits, axis=1, output_type=labels.dtype)
        return loss_sum, tf.reduce_sum(tf.cast(tf.equal(predicted, labels), tf.float64))

    def _train_step(self, indices: Any) -> None:
        tf, model = self.tf, self.model
        labels = tf.gather(self.y, indices)
        count = tf.cast(tf.shape(indices)[0], tf.float32)
        with tf.GradientTape() as tape:
            logits = model(tf.gather(self.x, indices), training=True)
            loss_sum, correct = self._batch_sums(logits, labels)
            loss = loss_sum / count
            if model.losses:  # the L2 terms, as fit adds them
                loss += tf.add_n([tf.cast(term, tf.float32) for term in model.losses])
        gradients = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(gradients, model.trainable_variables)
        self.totals[0].assign_add(tf.cast(loss, tf.float64) * tf.cast(count, tf.float64))
        self.totals[1].assign_add(correct)
        self.totals[2].assign_add(tf.cast(count, tf.float64))

    def _eval_step(self, x: Any, y: Any) -> tuple[Any, Any]:
        tf, model = self.tf, self.model
        logits = model(x, training=False)
        loss_sum, correct = self._batch_sums(logits, y)
        if model.losses:
            count = tf.cast(tf.shape(y)[0], tf.float32)
            loss_sum += count * tf.add_n([tf.cast(term, tf.float32) for term in model.losses])
        return loss_sum, correct

    def _means(self) -> dict[str, float]:
        loss_total, correct, seen = (float(v.numpy()) for v in self.totals)
        seen = max(seen, 1.0)
        return {"loss": loss_total / seen, "accuracy": correct / seen}

    def _validate(self) -> dict[str, float]:
        tf = self.tf
        x, y = self.validation
        loss_total, correct = 0.0, 0.0
        for first in range(0, len(y), self.eval_batch_size):
            part = slice(first, first + self.eval_batch_size)
            batch_loss, batch_correct = self.eval_step(tf.constant(x[part]), tf.constant(y[part]))
            loss_total += float(batch_loss)
            correct += float(batch_correct)
        return {"val_loss": loss_total / len(y), "val_accuracy": correct / len(y)}

    def run(
        self,
        *,
        batch_size: int,
        epochs: int,
        initial_epoch: int,
        callbacks: Sequence[keras.callbacks.Callback],
        verbose: int | str,
        shuffle: bool,
        check_every: int,
    ) -> keras.callbacks.History:
        model = self.model
        if not model.optimizer.built:  # its variables must exist before the step is traced
            model.optimizer.build(model.trainable_variables)
        steps = math.ceil(self.n / batch_size)
        callback_list = keras.callbacks.CallbackList(
            list(callbacks), add_history=True, add_progbar=verbose != 0, model=model,
            verbose=verbose, epochs=epochs, steps=steps,
        )  # fmt: skip
        model.stop_training = False
        callback_list.on_train_begin()
        logs: dict[str, float] = {}
        for epoch in range(initial_epoch, epochs):
            for total in self.totals:
                total.assign(0.0)
            callback_list.on_epoch_begin(epoch)
            order = np.random.permutation(self.n) if shuffle else np.arange(self.n)
            for step in range(steps):
                self.train_step(order[step * batch_size : (step + 1) * batch_size])
                if step % check_every == 0 or step == steps - 1:
                    callback_list.on_train_batch_end(step, self._means())
                    if model.stop_training:
                        break
            logs = self._means()
            if self.validation is not None:
                logs.update(self._validate())
            callback_list.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
        callback_list.on_train_end(logs)
        return next(c for c in callback_list.callbacks if isinstance(c, keras.callbacks.History))
