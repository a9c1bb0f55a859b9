"""The dense family: a builder of uncompiled Keras models from a :class:`DenseConfig`.

The flattened image first goes through Dropout when ``input_dropout`` is > 0. Layers of
each hidden block, in order: Dense -> BatchNormalization (optional) -> activation
-> Dropout (when its rate is > 0). The output layer gives 10 logits; the loss applies the
softmax.
"""

from __future__ import annotations

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
        x = dense_layer(units, config.initializer, regularizer, f"dense_{i}")(x)
        if config.batch_norm:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
        x = make_activation(config.activation)(x)
        if rate > 0:
            x = keras.layers.Dropout(rate, name=f"dropout_{i}")(x)
    outputs = logits_layer(config.initializer, regularizer)(x)
    return keras.Model(inputs, outputs, name="dense")


def dense_layer(
    units: int, initializer: str, regularizer: keras.regularizers.Regularizer | None, name: str
) -> keras.layers.Dense:
    """A dense layer with a named initializer and an optional kernel regularizer."""
    return keras.layers.Dense(
        units,
        kernel_initializer=make_initializer(initializer),
        kernel_regularizer=regularizer,
        name=name,
    )


def logits_layer(
    initializer: str, regularizer: keras.regularizers.Regularizer | None
) -> keras.layers.Dense:
    """The output layer of every family: 10 logits (the loss applies the softmax)."""
    return dense_layer(N_CLASSES, initializer, regularizer, "logits")
