"""Typed, frozen configurations with a default for every field.

The dataclass defaults give every field a value: ``DenseConfig()`` is the Chenab study's
network (784-512-256-10, ReLU), ``TrainConfig()`` float32 SGD at 0.01 for 50 epochs in
batches of 512, ``DataConfig()`` Fashion-MNIST in [0, 1] with a 10 % random validation split.
They are not what a command trains: each family states its own defaults
(:class:`keras_fcn.family.Family` ``train`` and ``data``; the dense family standardizes its
inputs and picks its precision from the CPU), and ``Family.run_config()`` starts from them.
Every value is checked when a config is made; a bad one raises
:class:`~keras_fcn.errors.ConfigError` naming the field, the value and what is allowed.

Field names are unique across the config classes, so a setting such as
``learning_rate=0.1`` (from ``--set``, a search space or a table column) finds its class.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterable
from typing import Any

from keras_fcn.errors import ConfigError

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu", "elu", "hard_sigmoid")
INITIALIZERS = (
    "default",  # Keras's own: Glorot uniform weights, zero biases
    "pytorch",  # PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights
    "random_normal",  # Keras's RandomNormal: N(0, 0.05^2) weights
    "standard_normal",  # N(0, 1) weights: PyTorch's torch.nn.init.normal_ with its defaults
    "random_normal_0.1",  # N(0, 0.1^2) weights: the Hippe study's "random normal"
    "xavier_normal",
    "xavier_uniform",
    "kaiming_normal",
    "kaiming_uniform",
)
OPTIMIZERS = ("sgd", "adam", "rmsprop")
DATASET_NAMES = ("fashion_mnist", "mnist")
JIT_MODES = ("auto", "on", "off")
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
LOOPS = ("fit", "epoch")
LR_SCHEDULES = ("constant", "cosine")
FRAMEWORK_DEFAULTS = ("keras", "pytorch")
VALIDATION_MAX_COUNT = 59_999  # the largest training set (60,000 images) less one


def fail(field: str, value: Any, allowed: str) -> typing.NoReturn:
    raise ConfigError(f"{field}={value!r} is invalid: {allowed}")


def check_choice(field: str, value: Any, choices: Iterable[str]) -> None:
    if value not in choices:
        fail(field, value, f"choose one of {', '.join(choices)}")


def check_int(field: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        fail(field, value, f"must be a whole number >= {low}")
    if high is not None and value > high:
        fail(field, value, f"must be a whole number in [{low}, {high}]")


def check_float(
    field: str, value: Any, low: float, high: float, *, open_high: bool = False
) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = low <= value < high if open_high else low <= value <= high
    if not ok:
        bracket = ")" if open_high else "]"
        fail(field, value, f"must be a number in [{low}, {high}{bracket}")


def check_positive(field: str, value: Any) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value <= 0:
        fail(field, value, "must be a finite number > 0")


def check_bool(field: str, value: Any) -> None:
    if not isinstance(value, bool):
        fail(field, value, "must be true or false")


def freeze(obj: Any, name: str, value: Any) -> None:
    """Set a field of a frozen dataclass (for normalizing values in ``__post_init__``)."""
    object.__setattr__(obj, name, value)


def check_layer_sizes(obj: Any, field: str, example: str) -> None:
    """Check that ``obj.field`` is one or more positive layer sizes and store it as a tuple."""
    sizes = getattr(obj, field)
    if isinstance(sizes, int) and not isinstance(sizes, bool):
        sizes = (sizes,)
    if not isinstance(sizes, list | tuple) or not sizes:
        fail(field, getattr(obj, field), f"must be one or more layer sizes, e.g. {example}")
    for units in sizes:
        check_int(field, units, 1)
    freeze(obj, field, tuple(sizes))


@dataclasses.dataclass(frozen=True)
class DenseConfig:
    """A fully connected network for 28x28 images and 10 classes.

    Attributes:
        hidden: units of each hidden layer, input side first.
        activation: one of ``ACTIVATIONS`` (``leaky_relu`` has slope 0.01).
        dropout: one rate for every hidden layer, or one rate per hidden layer.
        input_dropout: dropout rate on the input pixels, before the first hidden layer.
        batch_norm: batch normalization after each hidden dense layer, before its activation.
        initializer: weight initializer of every dense layer, one of ``INITIALIZERS``.
        l2: L2 penalty factor on every dense kernel (Keras's ``l2``: factor * sum(w**2)).
        defaults: the framework whose defaults fill what a study leaves unsaid; under
            ``pytorch``, biases are drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) instead of
            zeros, batch normalization has momentum 0.9 and epsilon 1e-5, and the optimizers
            take PyTorch's constants (:func:`keras_fcn.compiled.make_optimizer`).
    """

    hidden: tuple[int, ...] = (512, 256)
    activation: str = "relu"
    dropout: float | tuple[float, ...] = 0.0
    input_dropout: float = 0.0
    batch_norm: bool = False
    initializer: str = "default"
    l2: float = 0.0
    defaults: str = "keras"

    def __post_init__(self) -> None:
        check_layer_sizes(self, "hidden", "512-256")
        check_choice("activation", self.activation, ACTIVATIONS)
        if isinstance(self.dropout, list | tuple):
            if len(self.dropout) != len(self.hidden):
                fail(
                    "dropout",
                    self.dropout,
                    f"give one rate or {len(self.hidden)} rates, one per hidden layer",
                )
            for rate in self.dropout:
                check_float("dropout", rate, 0.0, 1.0, open_high=True)
            freeze(self, "dropout", tuple(float(r) for r in self.dropout))
        else:
            check_float("dropout", self.dropout, 0.0, 1.0, open_high=True)
        check_float("input_dropout", self.input_dropout, 0.0, 1.0, open_high=True)
        check_bool("batch_norm", self.batch_norm)
        check_choice("initializer", self.initializer, INITIALIZERS)
        check_float("l2", self.l2, 0.0, 1.0)
        check_choice("defaults", self.defaults, FRAMEWORK_DEFAULTS)

    def dropout_rates(self) -> tuple[float, ...]:
        """The dropout rate of each hidden layer."""
        if isinstance(self.dropout, tuple):
            return self.dropout
        return (float(self.dropout),) * len(self.hidden)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a model is trained: optimizer, schedule, batches, seed and speed settings.

    Attributes:
        optimizer: ``sgd``, ``adam`` or ``rmsprop``.
        learning_rate: step size, > 0 (the starting one under a schedule).
        lr_schedule: ``constant``, or ``cosine``: the learning rate of epoch ``e`` (from 0) is
            ``learning_rate * (1 + cos(pi * e / epochs)) / 2``, falling towards 0 by the
            last epoch.
        momentum: momentum of SGD and RMSprop; for Adam, ``beta_1`` when > 0 (0 keeps 0.9).
        epochs: maximum number of epochs.
        batch_size: training batch size.
        eval_batch_size: batch size of validation and test evaluation.
        patience: early stopping on validation accuracy after this many epochs without
            improvement, restoring the best weights; ``None`` trains every epoch.
        seed: seeds weights, dropout and shuffling.
        jit_compile: XLA compilation: ``off``, ``on``, or ``auto``: XLA on the small-batch
            path (float32 at batches of 32 or less, on the CPUs where it was measured:
            :func:`keras_fcn.hardware.small_batch_path`) for models without dropout
            (docs/benchmark.md). An XLA-compiled model keeps memory for the life of the
            process. On the JAX backend every step is compiled with XLA,
            whatever this says.
        steps_per_execution: training steps run per call into the compiled function.
        precision: ``float32``, ``mixed_bfloat16`` (bfloat16 compute, float32 weights), or
            ``auto``: ``mixed_bfloat16`` on a CPU with bfloat16 instructions, ``float32``
            elsewhere and on the small-batch path
            (:func:`keras_fcn.hardware.resolve_precision`). A run record says which was used.
        loop: how epochs are driven: ``fit`` (Keras's ``Model.fit``) or ``epoch``: each epoch
            one compiled call (:mod:`keras_fcn.epoch_loop`; on TensorFlow only, other
            backends train with ``fit``). The two draw their batches in different orders,
            so one seed gives different, equally likely results in each.
        label_smoothing: the weight of the uniform distribution mixed into each one-hot
            target (0.1: the true class 0.91, each other 0.01), in [0, 1).
        weight_decay: decoupled weight decay of the kernels (biases and batch
            normalization's scales and offsets are not decayed): each step multiplies a
            kernel by ``1 - learning_rate * weight_decay``. With Adam it is AdamW
            (Loshchilov and Hutter, 2019); unlike ``l2`` it is not part of the loss.
    """

    optimizer: str = "sgd"
    learning_rate: float = 0.01
    lr_schedule: str = "constant"
    momentum: float = 0.0
    epochs: int = 50
    batch_size: int = 512
    eval_batch_size: int = 256
    patience: int | None = None
    seed: int = 42
    jit_compile: str = "off"
    steps_per_execution: int = 8
    precision: str = "float32"
    loop: str = "fit"
    label_smoothing: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_positive("learning_rate", self.learning_rate)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_float("momentum", self.momentum, 0.0, 1.0, open_high=True)
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("eval_batch_size", self.eval_batch_size, 1)
        if self.patience is not None:
            check_int("patience", self.patience, 1)
        check_int("seed", self.seed, 0, 2**32 - 1)
        check_choice("jit_compile", self.jit_compile, JIT_MODES)
        check_int("steps_per_execution", self.steps_per_execution, 1)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("loop", self.loop, LOOPS)
        check_float("label_smoothing", self.label_smoothing, 0.0, 1.0, open_high=True)
        check_float("weight_decay", self.weight_decay, 0.0, 1.0)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which data a run sees.

    Attributes:
        dataset: ``fashion_mnist`` or ``mnist``.
        validation: a fraction in (0, 1) holds out a random part of the training set (seeded
            by ``split_seed``); a whole number N holds out the first N training images.
        split_seed: seed of the random validation split and of ``train_limit``'s subset.
        standardize: inputs as ``(x - 0.5) / 0.5`` instead of [0, 1].
        train_limit: train on a random subset of this many images (quick runs and tests).
        test_limit: evaluate on the first this many test images.
        translate: training images shifted at random by up to this fraction of their side,
            in each direction (0.1: up to 2.8 pixels), with Keras's ``RandomTranslation``.
        rotate: training images rotated at random by up to this many degrees either way,
            with Keras's ``RandomRotation``. Both are layers in front of the network,
            active in training only: validation and test images are never changed.
    """

    dataset: str = "fashion_mnist"
    validation: float | int = 0.1
    split_seed: int = 0
    standardize: bool = False
    train_limit: int | None = None
    test_limit: int | None = None
    translate: float = 0.0
    rotate: float = 0.0

    def __post_init__(self) -> None:
        check_choice("dataset", self.dataset, DATASET_NAMES)
        self._check_validation()
        check_int("split_seed", self.split_seed, 0, 2**32 - 1)
        check_bool("standardize", self.standardize)
        for field in ("train_limit", "test_limit"):
            if getattr(self, field) is not None:
                check_int(field, getattr(self, field), 1)
        check_float("translate", self.translate, 0.0, 0.5)
        check_float("rotate", self.rotate, 0.0, 180.0)

    def _check_validation(self) -> None:
        v = self.validation
        number = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        if number and v == int(v) and 0 <= v <= VALIDATION_MAX_COUNT:
            freeze(self, "validation", int(v))  # a count of images, 5000.0 as 5000
        elif not (number and 0 < v < 1):
            # one message for both forms: a fraction alone would hide that a count is allowed
            fail(
                "validation",
                v,
                "must be a fraction in (0, 1) of the training images, or a whole number "
                f"of them in [0, {VALIDATION_MAX_COUNT:,}] (0: no validation set)",
            )


def field_names(cls: type) -> tuple[str, ...]:
    """Names of a config class's fields, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(cls))


def to_dict(config: Any) -> dict[str, Any]:
    """A config as plain JSON-ready values (tuples become lists)."""
    return {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()
    }
