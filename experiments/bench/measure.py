"""One case measured in this process: every epoch's seconds, the test accuracy after them and
the process's own peak resident memory.

Each case trains on the same training split, without validation passes. The command runs
every case in a process of its own, several times in turns (see ``experiments.benchmark``),
and :meth:`Measurement.merge` gathers those processes.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Sequence
from typing import Any

from experiments.bench.cases import BFLOAT16, FRAMEWORKS, Case
from experiments.bench.memory import peak_rss_mb
from keras_fcn import hardware
from keras_fcn.data import Dataset
from keras_fcn.errors import ConfigError
from keras_fcn.family import Family, RunConfig


@dataclasses.dataclass
class Measurement:
    """What one case measured, in one or more processes.

    ``epoch_s`` and ``peak_rss_mb`` have one entry per process, in the order the processes
    ran (round 1 first), so that two cases' processes of the same round can be paired.
    """

    case: str
    model: str
    framework: str
    variant: str
    backend: str
    precision: str
    images: int
    epoch_s: list[list[float]]
    test_accuracy: float
    peak_rss_mb: list[float]
    versions: dict[str, str]
    batch_size: int = 0  # 0 in runs saved before the cases had other batch sizes

    @property
    def first_epoch_s(self) -> float:
        return statistics.median(times[0] for times in self.epoch_s)

    @property
    def process_images_per_s(self) -> list[float]:
        """Each process's steady-state throughput, in the order they ran."""
        return [steady_throughput([times], self.images) for times in self.epoch_s]

    @property
    def images_per_s(self) -> float:
        """The median process's steady-state throughput."""
        return statistics.median(self.process_images_per_s)

    @classmethod
    def of_one_process(
        cls,
        family: Family,
        framework: str,
        backend: str,
        data: Dataset,
        epoch_s: list[float],
        test_accuracy: float,
        versions: dict[str, str],
    ) -> Measurement:
        """What this process measured; :func:`run_case` fills in the case, its variant and
        its precision."""
        return cls(
            case="",
            model=family.name,
            framework=framework,
            variant="",
            backend=backend,
            precision="",
            images=len(data.y_train),
            epoch_s=[epoch_s],
            test_accuracy=test_accuracy,
            peak_rss_mb=[peak_rss_mb()],
            versions=versions,
        )

    def merge(self, other: Measurement) -> Measurement:
        """This case measured again, in a later process: every process kept."""
        return dataclasses.replace(
            self,
            epoch_s=self.epoch_s + other.epoch_s,
            peak_rss_mb=self.peak_rss_mb + other.peak_rss_mb,
        )


def steady_throughput(epoch_s: Sequence[Sequence[float]], images: int) -> float:
    """Images per second over the median epoch, leaving out each process's first (warm-up)
    epoch unless it is the only one."""
    later = [t for times in epoch_s for t in (times[1:] or times)]
    if not later:
        raise ValueError("no epochs were timed")
    return images / statistics.median(later)


def timing_split(data: Dataset) -> Dataset:
    """``data`` without its validation images: the timed epochs are training only."""
    return dataclasses.replace(data, x_val=data.x_val[:0], y_val=data.y_val[:0])


def measure_keras(family: Family, run: RunConfig, data: Dataset) -> Measurement:
    """Train ``run`` with :func:`~keras_fcn.train.train_model`, timing every epoch."""
    import keras

    from keras_fcn.train import EpochTimes, train_model

    timer = EpochTimes()
    record = train_model(family, run, timing_split(data), callbacks=[timer]).record
    backend = keras.backend.backend()
    return Measurement.of_one_process(
        family, "keras-fcn", backend, data, timer.times, record.test_accuracy, record.versions
    )


def torch_reference_of(family: Family, run: RunConfig) -> tuple[Any, Any]:
    """The PyTorch reference of ``family``'s default network and its optimizer, seeded by
    ``run``; a ``ConfigError`` for any other network."""
    from experiments.bench import torch_reference as ref

    if run.model != family.config_cls():
        raise ConfigError(f"the PyTorch reference has only the default {family.name} network")
    ref.seed(run.train.seed)
    network = ref.dense_network(run.model.hidden) if family.name == "dense" else ref.lenet5()
    l2 = getattr(run.model, "l2", 0.0)
    optimizer = ref.make_optimizer(
        network, run.train.optimizer, run.train.learning_rate, run.train.momentum, l2
    )
    return network, optimizer


def measure_torch(family: Family, run: RunConfig, data: Dataset) -> Measurement:
    """Train the PyTorch reference of ``family``'s default network with ``run``'s settings;
    bfloat16 autocast where ``run`` computes in bfloat16."""
    from experiments.bench import torch_reference as ref

    policy, _ = hardware.resolve_precision(run.train.precision, batch_size=run.train.batch_size)
    network, optimizer = torch_reference_of(family, run)
    times, accuracy = ref.train(
        network,
        optimizer,
        data,
        epochs=run.train.epochs,
        batch_size=run.train.batch_size,
        autocast=policy == BFLOAT16,
    )
    return Measurement.of_one_process(family, "pytorch", "", data, times, accuracy, ref.versions())


def measure_tf_loop(family: Family, run: RunConfig, data: Dataset) -> Measurement:
    """Train ``run``'s model with its optimizer in a loop like the PyTorch reference's: a
    shuffled order per epoch, one call of a compiled step per batch, no metrics."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_fcn.compiled import make_optimizer
    from keras_fcn.record import library_versions

    keras.utils.set_random_seed(run.train.seed)
    model = family.build(run.model)
    optimizer = make_optimizer(run.train, run.model.defaults)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)

    @tf.function(jit_compile=False, reduce_retracing=True)
    def step(batch: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_fn(tf.gather(y, batch), model(tf.gather(x, batch), training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    rng = np.random.default_rng(run.train.seed)
    size, times = run.train.batch_size, []
    for _ in range(run.train.epochs):
        start = time.perf_counter()
        order = rng.permutation(len(data.y_train))
        for first in range(0, len(order), size):
            step(order[first : first + size])
        times.append(time.perf_counter() - start)
    logits = model.predict(data.x_test, batch_size=run.train.eval_batch_size, verbose=0)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == data.y_test))
    return Measurement.of_one_process(
        family, "tf-loop", keras.backend.backend(), data, times, accuracy, library_versions()
    )


MEASURES = {"keras-fcn": measure_keras, "pytorch": measure_torch, "tf-loop": measure_tf_loop}


def run_case(case: Case, family: Family, data: Dataset, *, epochs: int, seed: int) -> Measurement:
    """Measure ``case`` in this process (run it in a process of its own: see
    ``experiments.benchmark``)."""
    if case.framework not in FRAMEWORKS:
        raise ConfigError(f"unknown framework {case.framework!r}")
    settings = {**case.settings, "epochs": epochs, "seed": seed, "patience": None}
    if case.framework != "keras-fcn":
        # a reference computes in its case's precision, never in the family's default: the
        # dense family's auto would make the float32 PyTorch loop a bfloat16 one
        settings["precision"] = BFLOAT16 if case.precision == "bfloat16" else "float32"
    run = family.run_config(settings)
    result = MEASURES[case.framework](family, run, data)
    result.case, result.variant, result.precision = case.name, case.variant, case.precision
    result.batch_size = run.train.batch_size
    return result
