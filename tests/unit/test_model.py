from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_fcn.compiled import augmented, compile_model, make_optimizer, use_jit
from keras_fcn.config import (
    ACTIVATIONS,
    INITIALIZERS,
    OPTIMIZERS,
    DataConfig,
    DenseConfig,
    TrainConfig,
)
from keras_fcn.errors import ConfigError
from keras_fcn.model import build_dense
from tests.helpers import INITIALIZER_CLASSES


def test_default_dense_network_has_the_published_parameter_count_and_shape():
    model = build_dense(DenseConfig())
    assert model.count_params() == 535_818  # 784*512+512 + 512*256+256 + 256*10+10
    assert model.output_shape == (None, 10)
    assert not model.compiled


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_reaches_the_model(name):
    model = build_dense(DenseConfig(hidden=(8,), activation=name))
    layer = next(
        la
        for la in model.layers
        if isinstance(la, keras.layers.Activation | keras.layers.LeakyReLU)
    )
    if name == "leaky_relu":
        assert isinstance(layer, keras.layers.LeakyReLU) and layer.negative_slope == pytest.approx(
            0.01
        )
    else:
        assert layer.activation.__name__ == name


@pytest.mark.parametrize("name", INITIALIZERS)
def test_every_initializer_reaches_the_model(name):
    model = build_dense(DenseConfig(hidden=(400,), initializer=name))
    layer = model.get_layer("dense_0")
    assert type(layer.kernel_initializer).__name__ == INITIALIZER_CLASSES[name]
    if name == "pytorch":
        bound = 1 / np.sqrt(784)
        weights = layer.kernel.numpy()
        assert np.abs(weights).max() <= bound and np.abs(weights).max() > 0.95 * bound
    spreads = {"random_normal": 0.05, "standard_normal": 1.0, "random_normal_0.1": 0.1}
    if name in spreads:  # 313,600 weights: std within 1 %
        spread = spreads[name]
        assert layer.kernel.numpy().std() == pytest.approx(spread, rel=0.01)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_reaches_the_compiled_model(name):
    train = TrainConfig(optimizer=name, learning_rate=0.005, momentum=0.9)
    model = compile_model(build_dense(DenseConfig(hidden=(8,))), train)
    optimizer = model.optimizer
    assert type(optimizer).__name__.lower() == name
    assert float(optimizer.learning_rate) == pytest.approx(0.005)
    if name == "adam":
        assert optimizer.beta_1 == pytest.approx(0.9)
    else:
        assert optimizer.momentum == pytest.approx(0.9)


def test_adam_momentum_sets_beta_1():
    assert make_optimizer(TrainConfig(optimizer="adam", momentum=0.95)).beta_1 == pytest.approx(
        0.95
    )


def test_dropout_batch_norm_and_l2_reach_the_model():
    model = build_dense(DenseConfig(hidden=(32, 16), dropout=(0.1, 0.4), batch_norm=True, l2=1e-3))
    rates = [la.rate for la in model.layers if isinstance(la, keras.layers.Dropout)]
    assert rates == [0.1, 0.4]
    assert sum(isinstance(la, keras.layers.BatchNormalization) for la in model.layers) == 2
    assert model.get_layer("dense_0").kernel_regularizer.l2 == pytest.approx(1e-3)
    assert len(model.losses) == 3  # one L2 term per dense kernel


def test_input_dropout_drops_pixels_before_the_first_hidden_layer():
    model = build_dense(DenseConfig(hidden=(8,), input_dropout=0.2))
    names = [layer.name for layer in model.layers]
    assert names.index("flatten") < names.index("input_dropout") < names.index("dense_0")
    assert model.get_layer("input_dropout").rate == pytest.approx(0.2)
    assert "input_dropout" not in [la.name for la in build_dense(DenseConfig(hidden=(8,))).layers]


def test_jit_is_off_by_default_and_auto_is_off_for_models_with_dropout(monkeypatch):
    from keras_fcn import hardware

    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert not use_jit(build_dense(DenseConfig(hidden=(8,))), TrainConfig(batch_size=32))
    auto = TrainConfig(jit_compile="auto", batch_size=32)  # on the small-batch path
    assert use_jit(build_dense(DenseConfig(hidden=(8,))), auto)
    assert not use_jit(build_dense(DenseConfig(hidden=(8,), dropout=0.2)), auto)
    assert use_jit(
        build_dense(DenseConfig(hidden=(8,), dropout=0.2)), TrainConfig(jit_compile="on")
    )


def test_jit_on_for_layers_xla_cannot_compile_is_a_config_error():
    # Keras's fit would warn and train without XLA; the epoch loop failed deep in TensorFlow
    model = augmented(build_dense(DenseConfig(hidden=(8,))), DataConfig(rotate=10))
    with pytest.raises(ConfigError, match="jit_compile=on: XLA cannot compile"):
        use_jit(model, TrainConfig(jit_compile="on"))
    assert not use_jit(model, TrainConfig(jit_compile="auto", batch_size=32))


def test_pytorch_defaults_draw_biases_from_the_fan_in_and_set_batch_norm():
    model = build_dense(DenseConfig(hidden=(400,), batch_norm=True, defaults="pytorch"))
    bias = model.get_layer("dense_0").bias.numpy()
    bound = 1 / np.sqrt(784)
    assert np.abs(bias).max() <= bound and np.abs(bias).max() > 0.9 * bound
    logits_bias = model.get_layer("logits").bias.numpy()
    assert np.abs(logits_bias).max() <= 1 / np.sqrt(400) and np.any(logits_bias != 0)
    norm = model.get_layer("batch_norm_0")
    assert (norm.momentum, norm.epsilon) == (pytest.approx(0.9), pytest.approx(1e-5))
    keras_model = build_dense(DenseConfig(hidden=(400,), batch_norm=True))
    assert not np.any(keras_model.get_layer("dense_0").bias.numpy())
    norm = keras_model.get_layer("batch_norm_0")
    assert (norm.momentum, norm.epsilon) == (pytest.approx(0.99), pytest.approx(1e-3))


def test_pytorch_defaults_give_pytorchs_optimizer_constants():
    adam = make_optimizer(TrainConfig(optimizer="adam", momentum=0.95), "pytorch")
    assert (adam.beta_1, adam.beta_2, adam.epsilon) == (0.9, 0.999, pytest.approx(1e-8))
    rmsprop = make_optimizer(TrainConfig(optimizer="rmsprop", momentum=0.5), "pytorch")
    assert (rmsprop.rho, rmsprop.epsilon, rmsprop.momentum) == (
        pytest.approx(0.99),
        pytest.approx(1e-16),
        pytest.approx(0.5),
    )
    keras_rmsprop = make_optimizer(TrainConfig(optimizer="rmsprop"))
    assert (keras_rmsprop.rho, keras_rmsprop.epsilon) == (pytest.approx(0.9), pytest.approx(1e-7))
