"""Where one training step's time goes, in TensorFlow and in the PyTorch reference.

Each framework times the same step built up in parts, every part a function called once
per batch of the family's default batch size (compiled with ``tf.function``, with XLA
where keras-fcn's run would use it):

- ``batch``: take a batch of images and labels from the training arrays;
- ``forward``: and the forward pass and the loss (with Keras's L2 terms);
- ``backward``: and the gradients;
- ``optimizer``: and the optimizer's update: the whole step;
- ``loop`` (TensorFlow only): keras-fcn's training loop over the training split, per batch
  (an epoch's median after a warm-up epoch, all in one call, as a run trains), the run's
  ``loop``: one compiled call per epoch by default, Keras's ``fit`` with ``loop=fit``.

Each part's time is the difference from the one before it, so the columns say what the
forward pass, the backward pass, the update and the loop's own work (shuffling, batching,
metrics, callbacks) add to a step. Medians over blocks of steps after a warm-up.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from keras_fcn import hardware
from keras_fcn.data import Dataset
from keras_fcn.family import Family, RunConfig

PARTS = ("batch", "forward", "backward", "optimizer", "loop")
"""The parts of a step, in the order each is added to the one before."""


def time_per_call(call: Callable[[int], Any], *, block: int, budget_s: float) -> float:
    """Median seconds of one ``call(i)`` over blocks of ``block`` calls, after one warm-up
    block, for about ``budget_s`` seconds (at least 3 blocks)."""
    for i in range(block):
        call(i)
    blocks: list[float] = []
    started = time.perf_counter()
    while len(blocks) < 3 or time.perf_counter() - started < budget_s:
        start = time.perf_counter()
        for i in range(block):
            call(i)
        blocks.append((time.perf_counter() - start) / block)
    return statistics.median(blocks)


def block_size(batch_size: int) -> int:
    """Steps per timed block: about 4,096 images, at least 10 steps."""
    return max(10, 4096 // batch_size)


def _batches(count: int, size: int, images: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.choice(images, size, replace=False) for _ in range(count)]


def profile_tensorflow(
    family: Family, run: RunConfig, data: Dataset, *, budget_s: float
) -> dict[str, float]:
    """Seconds per step of each part (:data:`PARTS`, cumulative) of ``run`` in TensorFlow."""
    import keras
    import tensorflow as tf

    from keras_fcn.compiled import build_compiled, use_jit
    from keras_fcn.hardware import fusion_of, tensorflow_fusion

    keras.utils.set_random_seed(run.train.seed)
    model = build_compiled(family, run)
    optimizer, loss_fn = model.optimizer, model.loss
    optimizer.build(model.trainable_variables)
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    size, block = run.train.batch_size, block_size(run.train.batch_size)
    batches = [tf.constant(b) for b in _batches(block, size, len(data.y_train), run.train.seed)]
    compiled = tf.function(jit_compile=use_jit(model, run.train))

    def loss_of(xb: tf.Tensor, yb: tf.Tensor) -> tf.Tensor:
        loss = loss_fn(yb, model(xb, training=True))
        return loss + tf.add_n(model.losses) if model.losses else loss

    @compiled
    def batch(index: tf.Tensor) -> tf.Tensor:
        labels = tf.cast(tf.reduce_sum(tf.gather(y, index)), x.dtype)
        return tf.reduce_sum(tf.gather(x, index)) + labels

    @compiled
    def forward(index: tf.Tensor) -> tf.Tensor:
        return loss_of(tf.gather(x, index), tf.gather(y, index))

    @compiled
    def backward(index: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_of(tf.gather(x, index), tf.gather(y, index))
        gradients = tape.gradient(loss, model.trainable_variables)
        return tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in gradients])

    @compiled
    def step(index: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_of(tf.gather(x, index), tf.gather(y, index))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    parts = (("batch", batch), ("forward", forward), ("backward", backward), ("optimizer", step))
    with tensorflow_fusion(fusion_of(model)[0]):  # as the run fuses
        times = {
            name: time_per_call(lambda i, f=f: f(batches[i]), block=block, budget_s=budget_s)
            for name, f in parts
        }
    times["loop"] = _loop_step(model, run, data)
    return times


def _loop_step(model: Any, run: RunConfig, data: Dataset) -> float:
    """Seconds per batch of the run's training loop (no validation) over the whole training
    split: the median of two epochs after a warm-up epoch, in one call, as a run trains."""
    from keras_fcn.train import EpochTimes, fit_model

    timer = EpochTimes()
    three_epochs = dataclasses.replace(run.train, epochs=3)
    fit_model(model, three_epochs, data.x_train, data.y_train, callbacks=[timer])
    return statistics.median(timer.times[1:]) / -(-len(data.y_train) // run.train.batch_size)


def profile_torch(
    family: Family, run: RunConfig, data: Dataset, *, budget_s: float
) -> dict[str, float]:
    """Seconds per step of each part (:data:`PARTS` but ``loop``, cumulative) of the PyTorch
    reference of ``run``'s network, bfloat16 autocast where ``run`` computes in bfloat16."""
    import torch

    from experiments.bench import torch_reference as ref
    from experiments.bench.measure import torch_reference_of

    network, optimizer = torch_reference_of(family, run)
    policy, _ = hardware.resolve_precision(run.train.precision, batch_size=run.train.batch_size)
    autocast = policy == "mixed_bfloat16"
    x = torch.from_numpy(np.ascontiguousarray(data.x_train, dtype=np.float32))
    y = torch.from_numpy(np.asarray(data.y_train, dtype=np.int64))
    size, block = run.train.batch_size, block_size(run.train.batch_size)
    batches = [torch.from_numpy(b) for b in _batches(block, size, len(y), run.train.seed)]
    loss_fn = torch.nn.CrossEntropyLoss()
    network.train()

    def batch(i: int) -> Any:
        return x[batches[i]], y[batches[i]]

    def forward(i: int) -> Any:
        xb, yb = batch(i)
        with ref.compute(autocast):
            return loss_fn(network(xb), yb)

    def backward(i: int) -> Any:
        optimizer.zero_grad(set_to_none=True)
        loss = forward(i)
        loss.backward()
        return loss

    def step(i: int) -> Any:
        loss = backward(i)
        optimizer.step()
        return loss

    return {
        name: time_per_call(f, block=block, budget_s=budget_s)
        for name, f in (
            ("batch", batch),
            ("forward", forward),
            ("backward", backward),
            ("optimizer", step),
        )
    }


def increments(cumulative: dict[str, float]) -> dict[str, float]:
    """What each part adds to the one before it (cumulative times in, a part's own out);
    ``total`` is the last part's cumulative time."""
    own, before = {}, 0.0
    for part in PARTS:
        if part in cumulative:
            own[part] = cumulative[part] - before
            before = cumulative[part]
    own["total"] = before
    return own


def profile_table(rounds: list[dict[str, Any]]) -> Any:
    """One row per model and framework: each part's own milliseconds per step (median over
    the rounds' processes) and the whole step's, from child results ``{"model", "framework",
    "times"}`` (cumulative seconds)."""
    import pandas as pd

    keys = list(dict.fromkeys((r["model"], r["framework"]) for r in rounds))
    rows = []
    for model, framework in keys:
        own = [
            increments(r["times"])
            for r in rounds
            if (r["model"], r["framework"]) == (model, framework)
        ]
        row: dict[str, Any] = {"model": model, "framework": framework, "processes": len(own)}
        for part in [*PARTS, "total"]:
            values = [o[part] for o in own if part in o]
            row[f"{part}_ms"] = round(1000 * statistics.median(values), 3) if values else None
        rows.append(row)
    return pd.DataFrame(rows)
