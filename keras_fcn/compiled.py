"""What a network is compiled with: its optimizer, its loss, XLA, and the augmentation layers
in front of it; :func:`build_compiled` makes a family's model ready to train.
"""

from __future__ import annotations

import keras

from keras_fcn.config import DataConfig, TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.family import Family, RunConfig
from keras_fcn.hardware import all_layers, resolve_precision, small_batch_path
from keras_fcn.idx import N_CLASSES


def make_optimizer(train: TrainConfig, defaults: str = "keras") -> keras.optimizers.Optimizer:
    """The Keras optimizer named by ``train.optimizer`` with its learning rate and momentum.

    Under Keras's ``defaults``, ``momentum`` is Adam's ``beta_1`` when > 0. Under PyTorch's,
    the constants are ``torch.optim``'s: Adam's epsilon 1e-8 and no momentum (PyTorch's Adam
    takes none: ``momentum`` leaves it at betas 0.9 and 0.999); RMSprop's average weight
    (``alpha``) 0.99 and epsilon 1e-8, which PyTorch adds to the root of the average and
    Keras under it, hence 1e-16 here. SGD's momentum is the same update in both.
    ``train.weight_decay`` > 0 decays the kernels alone (decoupled: Adam becomes AdamW).
    """
    pytorch = defaults == "pytorch"
    common = {"learning_rate": train.learning_rate}
    if train.weight_decay > 0:
        common["weight_decay"] = train.weight_decay
    if train.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(momentum=train.momentum, **common)
    elif train.optimizer == "adam":
        beta_1 = train.momentum if train.momentum > 0 and not pytorch else 0.9
        epsilon = 1e-8 if pytorch else 1e-7
        optimizer = keras.optimizers.Adam(beta_1=beta_1, epsilon=epsilon, **common)
    elif train.optimizer == "rmsprop":
        constants = {"rho": 0.99, "epsilon": 1e-16} if pytorch else {}
        optimizer = keras.optimizers.RMSprop(momentum=train.momentum, **common, **constants)
    else:
        raise ValueError(f"unknown optimizer {train.optimizer!r}")  # TrainConfig rejects it
    if train.weight_decay > 0:
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


class SmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy of 10-class logits against integer labels whose one-hot targets are
    smoothed by ``label_smoothing`` (Keras's sparse cross-entropy has no such argument)."""

    def __init__(self, label_smoothing: float, name: str = "smoothed_crossentropy") -> None:
        super().__init__(name=name)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
        targets = keras.ops.one_hot(labels, N_CLASSES, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            targets, y_pred, from_logits=True, label_smoothing=self.label_smoothing
        )

    def get_config(self) -> dict:
        return {"label_smoothing": self.label_smoothing, "name": self.name}


def make_loss(train: TrainConfig) -> keras.losses.Loss:
    """The loss of every run: cross-entropy of logits, its targets smoothed if asked."""
    if train.label_smoothing > 0:
        return SmoothedCrossentropy(train.label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def use_jit(model: keras.Model, train: TrainConfig) -> bool:
    """Whether to compile with XLA (``TrainConfig.jit_compile``, ``off`` by default).

    ``auto`` enables it on the small-batch path (:func:`keras_fcn.hardware.small_batch_path`:
    float32 at batches of 32 or less, on the CPUs where that was measured) for models
    without dropout: with ``Dropout``, XLA epochs of the dense network were much slower
    (docs/benchmark.md); ``on`` for a model with layers XLA cannot compile (the
    augmentation) is a :class:`~keras_fcn.errors.ConfigError`. The setting concerns
    TensorFlow: on JAX, Keras without XLA runs every step op by op, several times slower, so
    XLA is always on there.
    """
    if keras.backend.backend() == "jax":
        return True
    if train.jit_compile == "on" and not all(layer.supports_jit for layer in all_layers(model)):
        raise ConfigError(
            "jit_compile=on: XLA cannot compile the rotate and translate layers; "
            "set jit_compile=auto (XLA where it helps) or off"
        )
    if train.jit_compile != "auto":
        return train.jit_compile == "on"
    policy, _ = resolve_precision(train.precision, batch_size=train.batch_size)
    if policy != "float32" or not small_batch_path(train.batch_size):
        return False
    slow = (keras.layers.Dropout, *AUGMENTATION_LAYERS)
    return not any(isinstance(layer, slow) for layer in all_layers(model))


def compile_model(model: keras.Model, train: TrainConfig, defaults: str = "keras") -> keras.Model:
    """Compile ``model`` for 10-class logits with the optimizer and speed settings of
    ``train``, the optimizer's constants those of ``defaults`` (:func:`make_optimizer`)."""
    model.compile(
        optimizer=make_optimizer(train, defaults),
        loss=make_loss(train),
        metrics=["accuracy"],
        jit_compile=use_jit(model, train),
        steps_per_execution=train.steps_per_execution,
    )
    return model


def build_compiled(family: Family, run: RunConfig) -> keras.Model:
    """``family``'s model for ``run``, compiled, in the compute precision ``run`` resolves to.

    The dtype policy is global in Keras: it is set for the build only, then put back. The
    data's augmentation (``translate``, ``rotate``) goes in front of the network
    (:func:`augmented`).
    """
    policy, _ = resolve_precision(run.train.precision, batch_size=run.train.batch_size)
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = augmented(family.build(run.model), run.data)
        return compile_model(model, run.train, run.model.defaults)
    finally:
        keras.mixed_precision.set_global_policy("float32")


AUGMENTATION_LAYERS = (keras.layers.RandomTranslation, keras.layers.RandomRotation)


def augmented(model: keras.Model, data: DataConfig) -> keras.Model:
    """``model`` behind Keras's random translation and rotation layers, as ``data`` asks
    (``model`` itself when it asks for neither).

    The layers change training batches only (Keras runs them with ``training=True`` alone),
    draw from Keras's global seed, and fill what an image uncovers with its background:
    0, or -1 on standardized inputs.
    """
    if not (data.translate or data.rotate):
        return model
    background = -1.0 if data.standardize else 0.0
    fill = {"fill_mode": "constant", "fill_value": background}
    inputs = keras.Input(shape=model.input_shape[1:], name="image")
    x = keras.layers.Reshape((*model.input_shape[1:3], 1), name="augment_channel")(inputs)
    if data.translate:
        x = keras.layers.RandomTranslation(data.translate, data.translate, **fill)(x)
    if data.rotate:
        x = keras.layers.RandomRotation(data.rotate / 360, **fill)(x)
    x = keras.layers.Reshape(model.input_shape[1:], name="augmented")(x)
    return keras.Model(inputs, model(x), name=model.name)
