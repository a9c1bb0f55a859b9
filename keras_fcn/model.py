"""The dense family: a builder of uncompiled Keras models from a :class:`DenseConfig`.

The flattened image first goes through Dropout when ``input_dropout`` is > 0. Layers of
each hidden block, in order: Dense -> BatchNormalization (optional) -> activation
-> Dropout (when its rate is > 0). The output layer gives 10 logits; the loss applies the
softmax.

``defaults="pytorch"`` builds the layers as PyTorch's would start: biases drawn from
U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as ``nn.Linear`` and ``nn.Conv2d`` draw them (Keras: zeros),
and batch normalization with PyTorch's momentum 0.1 and epsilon 1e-5 (Keras's momentum is
the weight of the old average: 0.9; Keras's defaults are 0.99 and 1e-3).
"""

from __future__ import annotations

import math

import keras

from keras_fcn.config import DenseConfig
from keras_fcn.idx import N_CLASSES

INPUT_SHAPE = (28, 28)


def make_initializer(name: str) -> keras.initializers.Initializer:
    """The Keras initializer for a name of ``config.INITIALIZERS``.

    Initializers take their seeds from Keras's global seed (``keras.utils.set_random_seed``).
    """
    if name == "pytorch":
        # variance scale 1/3 with a uniform law gives the bound 1/sqrt(fan_in) of torch.nn.Linear
        return keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")
    classes = {
        "default": keras.initializers.GlorotUniform,
        "random_normal": keras.initializers.RandomNormal,
        "standard_normal": lambda: keras.initializers.RandomNormal(stddev=1.0),
        "random_normal_0.1": lambda: keras.initializers.RandomNormal(stddev=0.1),
        "xavier_normal": keras.initializers.GlorotNormal,
        "xavier_uniform": keras.initializers.GlorotUniform,
        "kaiming_normal": keras.initializers.HeNormal,
        "kaiming_uniform": keras.initializers.HeUniform,
    }
    return classes[name]()


BATCH_NORM = {"keras": {}, "pytorch": {"momentum": 0.9, "epsilon": 1e-5}}
"""Batch normalization's arguments under each framework's defaults (Keras's own: none)."""


def bias_initializer(defaults: str, fan_in: int) -> keras.initializers.Initializer | str:
    """The bias initializer of a layer with ``fan_in`` inputs per unit under ``defaults``."""
    if defaults == "pytorch":
        bound = 1 / math.sqrt(fan_in)
        return keras.initializers.RandomUniform(-bound, bound)
    return "zeros"


def batch_norm_layer(defaults: str, name: str) -> keras.layers.BatchNormalization:
    """Batch normalization with the momentum and epsilon of ``defaults``."""
    return keras.layers.BatchNormalization(name=name, **BATCH_NORM[defaults])


def make_activation(name: str) -> keras.layers.Layer:
    """The activation layer for a name of ``config.ACTIVATIONS``."""
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.01)
    return keras.layers.Activation(name)


def build_dense(config: DenseConfig | None = None) -> keras.Model:
    """Build the dense network described by ``config``.

    Weights and dropout masks draw from Keras's global seed, which the trainer sets.

    Args:
        config: the architecture.

    Returns:
        An uncompiled ``keras.Model`` mapping ``(batch, 28, 28)`` images to 10 logits.
    """
    config = config or DenseConfig()
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs)
    if config.input_dropout > 0:
        x = keras.layers.Dropout(config.input_dropout, name="input_dropout")(x)
    for i, (units, rate) in enumerate(zip(config.hidden, config.dropout_rates(), strict=True)):
        x = dense_layer(units, config, regularizer, f"dense_{i}", x)
        if config.batch_norm:
            x = batch_norm_layer(config.defaults, f"batch_norm_{i}")(x)
        x = make_activation(config.activation)(x)
        if rate > 0:
            x = keras.layers.Dropout(rate, name=f"dropout_{i}")(x)
    outputs = logits_layer(config, regularizer, x)
    return keras.Model(inputs, outputs, name="dense")


def dense_layer(
    units: int, config, regularizer: keras.regularizers.Regularizer | None, name: str, x
) -> keras.KerasTensor:
    """A dense layer on ``x`` with the initializer and framework defaults of a model
    ``config`` (a ``DenseConfig`` or ``LeNetConfig``) and an optional kernel regularizer."""
    return keras.layers.Dense(
        units,
        kernel_initializer=make_initializer(config.initializer),
        bias_initializer=bias_initializer(config.defaults, int(x.shape[-1])),
        kernel_regularizer=regularizer,
        name=name,
    )(x)


def logits_layer(
    config, regularizer: keras.regularizers.Regularizer | None, x
) -> keras.KerasTensor:
    """The output layer of every family on ``x``: 10 logits (the loss applies the softmax)."""
    return dense_layer(N_CLASSES, config, regularizer, "logits", x)
