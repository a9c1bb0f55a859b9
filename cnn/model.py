"""The LeNet-5 family: a builder of uncompiled Keras models from a :class:`LeNetConfig`.

Layers, in order: Reshape to one channel -> three blocks of Conv2D -> BatchNormalization
(optional) -> activation, with pooling after the first two -> Flatten -> for each hidden
layer, Dropout (when its rate is > 0) -> Dense -> activation -> 10 logits. The loss applies
the softmax. Initializers and activations come from the dense family's helpers.
"""

from __future__ import annotations

import keras

from cnn.config import LeNetConfig
from keras_fcn.model import (
    INPUT_SHAPE,
    batch_norm_layer,
    bias_initializer,
    dense_layer,
    logits_layer,
    make_activation,
    make_initializer,
)

POOL_LAYERS = {"average": keras.layers.AveragePooling2D, "max": keras.layers.MaxPooling2D}


def build_lenet5(config: LeNetConfig | None = None) -> keras.Model:
    """Build the LeNet-5 network described by ``config``.

    Takes the same ``(batch, 28, 28)`` arrays as the dense family and adds the channel axis
    inside the model. Weights and dropout masks draw from Keras's global seed, which the
    trainer sets.

    Args:
        config: the architecture; ``None`` is the report's network (61,706 parameters).

    Returns:
        An uncompiled ``keras.Model`` mapping ``(batch, 28, 28)`` images to 10 logits.
    """
    config = config or LeNetConfig()
    regularizer = keras.regularizers.L2(config.l2) if config.l2 > 0 else None
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = keras.layers.Reshape((*INPUT_SHAPE, 1), name="channel")(inputs)
    for i, filters in enumerate(config.filters):
        x = keras.layers.Conv2D(
            filters,
            config.kernel_size,
            padding=config.padding if i == 0 else "valid",
            kernel_initializer=make_initializer(config.initializer),
            bias_initializer=bias_initializer(
                config.defaults, int(x.shape[-1]) * config.kernel_size**2
            ),
            name=f"conv_{i}",
        )(x)
        if config.batch_norm:
            x = batch_norm_layer(config.defaults, f"conv_batch_norm_{i}")(x)
        x = make_activation(config.activation)(x)
        if i < 2:
            x = POOL_LAYERS[config.pooling](config.pool_size, name=f"pool_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(config.hidden):
        if config.dropout > 0:
            x = keras.layers.Dropout(config.dropout, name=f"dropout_{i}")(x)
        x = dense_layer(units, config, regularizer, f"dense_{i}", x)
        x = make_activation(config.activation)(x)
    outputs = logits_layer(config, regularizer, x)
    return keras.Model(inputs, outputs, name="lenet5")
