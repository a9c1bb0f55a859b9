"""Speed and memory of the training path, against a plain PyTorch loop of the same networks.

One *case* is a model (``dense``: the seed baseline; ``lenet``: the report's LeNet-5), a
framework (``keras-fcn`` through :func:`keras_fcn.train.train_run`, exactly what every
command runs, or the ``pytorch`` reference of :mod:`keras_fcn.torch_reference`) and, for
keras-fcn, a variant: the speed settings of :class:`~keras_fcn.config.TrainConfig` changed
from the family's defaults. Each case trains on the same training split, without validation
passes, and reports:

- the first epoch's seconds (tracing and compilation included);
- steady-state throughput: training images per second over the median of the later epochs;
- peak resident memory of the process (run each case in its own process to compare them);
- the test accuracy after those epochs, so a speed setting that changes results shows it.

:func:`trial_costs` measures what one tuning trial costs before it learns anything (build,
compile, first call into the compiled step) and the resident memory after each trial of a
KerasTuner search in one process.

Importing this module imports neither TensorFlow nor PyTorch.
"""

from __future__ import annotations

import dataclasses
import resource
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from keras_fcn.data import Dataset
from keras_fcn.errors import ConfigError
from keras_fcn.family import Family, RunConfig

MODELS = ("dense", "lenet")
FRAMEWORKS = ("keras-fcn", "pytorch", "tf-loop")


@dataclasses.dataclass(frozen=True)
class Case:
    """One measured configuration.

    Args:
        model: ``dense`` or ``lenet`` (the family's default network and training settings).
        framework: ``keras-fcn``, ``pytorch``, or ``tf-loop``: keras-fcn's model and optimizer
            stepped by a plain loop around a compiled step, as the PyTorch loop does, instead
            of ``fit`` (what ``fit`` itself costs).
        settings: ``TrainConfig`` fields changed from the family's defaults (keras-fcn only).
        why: what the case shows, for the table.
        env: environment variables of the process that runs the case (TensorFlow's thread
            and kernel settings, read when it starts).
    """

    model: str
    framework: str
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    why: str = ""
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def variant(self) -> str:
        if self.framework == "pytorch":
            return "reference loop"
        if self.framework == "tf-loop":
            return "model and optimizer, no fit"
        changed = {**self.settings, **self.env}
        return " ".join(f"{k}={v}" for k, v in changed.items()) or "defaults"

    @property
    def name(self) -> str:
        return f"{self.model}/{self.framework}/{self.variant}"


CASES = (
    Case("dense", "pytorch", why="the reference"),
    Case("dense", "keras-fcn", why="what every command runs"),
    Case(
        "dense",
        "keras-fcn",
        {"steps_per_execution": 1},
        "a plain Keras fit: the speed settings off",
    ),
    Case("dense", "keras-fcn", {"jit_compile": "on"}, "XLA, off by default"),
    Case("dense", "keras-fcn", {"precision": "mixed_bfloat16"}, "bfloat16 compute (an option)"),
    Case(
        "dense",
        "keras-fcn",
        why="one thread between independent ops (TensorFlow's default: one per core)",
        env={"TF_NUM_INTEROP_THREADS": "1"},
    ),
    Case(
        "dense",
        "keras-fcn",
        why="TensorFlow's oneDNN kernels off (on by default on x86)",
        env={"TF_ENABLE_ONEDNN_OPTS": "0"},
    ),
    Case("dense", "tf-loop", why="what fit costs beyond the network and optimizer"),
    Case("lenet", "pytorch", why="the reference"),
    Case("lenet", "keras-fcn", why="what every command runs"),
    Case(
        "lenet",
        "keras-fcn",
        {"jit_compile": "off", "steps_per_execution": 1},
        "a plain Keras fit: the speed settings off",
    ),
    Case("lenet", "keras-fcn", {"jit_compile": "off"}, "XLA off (auto by default)"),
)


def find_case(name: str) -> Case:
    """The case called ``name`` (see :attr:`Case.name`)."""
    for case in CASES:
        if case.name == name:
            return case
    raise ConfigError(
        f"unknown benchmark case {name!r}; choose one of: {', '.join(c.name for c in CASES)}"
    )


@dataclasses.dataclass
class Measurement:
    """What one case measured."""

    case: str
    model: str
    framework: str
    variant: str
    backend: str
    images: int
    epoch_s: list[list[float]]  # one list of epoch times per process that ran the case
    test_accuracy: float
    peak_rss_mb: float
    versions: dict[str, str]

    @property
    def first_epoch_s(self) -> float:
        return statistics.median(times[0] for times in self.epoch_s)

    @property
    def steady_images_per_s(self) -> float:
        return steady_throughput(self.epoch_s, self.images)

    @classmethod
    def of_one_process(
        cls, family: Family, framework: str, backend: str, data: Dataset, epoch_s: list[float],
        test_accuracy: float, versions: dict[str, str],
    ) -> Measurement:  # fmt: skip
        """What this process measured; ``run_case`` fills in the case and its variant."""
        return cls(
            case="", model=family.name, framework=framework, variant="", backend=backend,
            images=len(data.y_train), epoch_s=[epoch_s], test_accuracy=test_accuracy,
            peak_rss_mb=peak_rss_mb(), versions=versions,
        )  # fmt: skip

    def merge(self, other: Measurement) -> Measurement:
        """This case measured again, in another process: all epochs together."""
        return dataclasses.replace(
            self,
            epoch_s=self.epoch_s + other.epoch_s,
            peak_rss_mb=max(self.peak_rss_mb, other.peak_rss_mb),
        )

    def row(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "framework": self.framework,
            "backend": self.backend,
            "variant": self.variant,
            "images_per_s": round(self.steady_images_per_s),
            "first_epoch_s": round(self.first_epoch_s, 2),
            "steady_epoch_s": round(self.images / self.steady_images_per_s, 3),
            "peak_rss_mb": round(self.peak_rss_mb),
            "test_accuracy": round(self.test_accuracy, 4),
            "epochs": len(self.epoch_s[0]),
            "processes": len(self.epoch_s),
        }


def steady_throughput(epoch_s: Sequence[Sequence[float]], images: int) -> float:
    """Images per second over the median epoch, leaving out each process's first (warm-up)
    epoch unless it is the only one."""
    later = [t for times in epoch_s for t in (times[1:] or times)]
    if not later:
        raise ValueError("no epochs were timed")
    return images / statistics.median(later)


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """The process's resident memory now, in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def timing_split(data: Dataset) -> Dataset:
    """``data`` without its validation images: the timed epochs are training only."""
    return dataclasses.replace(data, x_val=data.x_val[:0], y_val=data.y_val[:0])


def measure_keras(family: Family, run: RunConfig, data: Dataset) -> Measurement:
    """Train ``run`` with :func:`~keras_fcn.train.train_run`, timing every epoch."""
    import keras

    from keras_fcn.train import train_run

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.times.append(time.perf_counter() - self._start)

    timer = EpochTimer()
    record = train_run(family, run, timing_split(data), callbacks=[timer]).record
    return Measurement.of_one_process(
        family,
        "keras-fcn",
        keras.backend.backend(),
        data,
        timer.times,
        record.test_accuracy,
        record.versions,
    )


def measure_torch(family: Family, run: RunConfig, data: Dataset) -> Measurement:
    """Train the PyTorch reference of ``family``'s default network with ``run``'s settings."""
    from keras_fcn import torch_reference as ref

    defaults = family.config_cls()
    if run.model != defaults:
        raise ConfigError(f"the PyTorch reference has only the default {family.name} network")
    ref.seed(run.train.seed)
    network = ref.dense_network(run.model.hidden) if family.name == "dense" else ref.lenet5()
    l2 = getattr(run.model, "l2", 0.0)
    optimizer = ref.make_optimizer(
        network, run.train.optimizer, run.train.learning_rate, run.train.momentum, l2
    )
    times, accuracy = ref.train(
        network, optimizer, data.x_train, data.y_train, data.x_test, data.y_test,
        epochs=run.train.epochs, batch_size=run.train.batch_size,
    )  # fmt: skip
    return Measurement.of_one_process(family, "pytorch", "", data, times, accuracy, ref.versions())


def measure_tf_loop(family: Family, run: RunConfig, data: Dataset) -> Measurement:
    """Train ``run``'s model with its optimizer in a loop like the PyTorch reference's: a
    shuffled order per epoch, one call of a compiled step per batch, no metrics."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_fcn.record import library_versions
    from keras_fcn.train import make_optimizer

    keras.utils.set_random_seed(run.train.seed)
    model = family.build(run.model)
    optimizer = make_optimizer(run.train)
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


def run_case(case: Case, family: Family, data: Dataset, *, epochs: int, seed: int) -> Measurement:
    """Measure ``case`` in this process (its peak memory includes whatever ran before)."""
    if case.framework not in FRAMEWORKS:
        raise ConfigError(f"unknown framework {case.framework!r}")
    run = family.run_config({**case.settings, "epochs": epochs, "seed": seed, "patience": None})
    measure = {"keras-fcn": measure_keras, "pytorch": measure_torch, "tf-loop": measure_tf_loop}[
        case.framework
    ]
    result = measure(family, run, data)
    result.case, result.variant = case.name, case.variant
    return result


def comparison(measurements: Sequence[Measurement]) -> pd.DataFrame:
    """One row per case, with each keras-fcn row's throughput over its model's reference."""
    rows = []
    for m in measurements:
        row = m.row()
        reference = next(
            (r for r in measurements if r.model == m.model and r.framework == "pytorch"), None
        )
        row["vs_pytorch"] = (
            round(m.steady_images_per_s / reference.steady_images_per_s, 2) if reference else None
        )
        rows.append(row)
    return pd.DataFrame(rows)


def trial_costs(
    family: Family, base: RunConfig, data: Dataset, *, trials: int, seed: int = 42
) -> pd.DataFrame:
    """Run a KerasTuner random search of ``trials`` one-epoch trials over ``family``'s space
    in this process; return per trial its fixed cost (from the start of ``build`` to the end
    of the first call into the compiled training step), its seconds, and the resident memory
    after it."""
    import keras

    from keras_fcn import tuning

    space = family.space.without("epochs") if "epochs" in family.space.names else family.space
    rows: list[dict[str, Any]] = []

    class Timed(tuning.FamilyHyperModel):
        def build(self, hp: Any) -> keras.Model:
            rows.append({"trial": len(rows), "start": time.perf_counter()})
            return super().build(hp)

    class Probe(keras.callbacks.Callback):
        def __deepcopy__(self, memo: dict) -> Probe:  # KerasTuner copies callbacks per trial
            return self

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            rows[-1].setdefault("first_step", time.perf_counter())

        def on_train_end(self, logs: Any = None) -> None:
            rows[-1]["end"] = time.perf_counter()
            rows[-1]["rss_mb"] = current_rss_mb()

    hypermodel = Timed(family, base, space)
    with tempfile.TemporaryDirectory() as folder:
        tuner = tuning.make_tuner(
            "random", hypermodel, folder, "trials", max_trials=trials, seed=seed, overwrite=True
        )
        tuner.search(
            data.x_train, data.y_train, epochs=1, validation_data=(data.x_val, data.y_val),
            callbacks=[Probe(), *tuning.search_callbacks(hypermodel, None)], verbose=0,
        )  # fmt: skip
    done = [r for r in rows if "end" in r]
    return pd.DataFrame(
        {
            "trial": range(1, len(done) + 1),
            "fixed_cost_s": [round(r["first_step"] - r["start"], 3) for r in done],
            "trial_s": [round(r["end"] - r["start"], 3) for r in done],
            "rss_mb": [round(r["rss_mb"], 1) for r in done],
        }
    )
