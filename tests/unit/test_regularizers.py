"""Label smoothing, decoupled weight decay and augmentation: the settings the tuned searches add."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cnn.family import LENET
from keras_fcn.compiled import augmented, build_compiled, make_loss, make_optimizer, use_jit
from keras_fcn.config import DataConfig, DenseConfig, TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.model import build_dense


@pytest.mark.parametrize(
    "field, value",
    [
        ("label_smoothing", 1.0),
        ("label_smoothing", -0.1),
        ("weight_decay", 2.0),
        ("translate", 0.6),
        ("rotate", 181.0),
        ("rotate", -1.0),
    ],
)
def test_out_of_range_values_are_refused_with_the_field_named(field, value):
    with pytest.raises(ConfigError, match=field):
        DENSE.run_config({field: value})


def test_the_new_fields_at_zero_leave_every_run_id_as_it_was():
    run = DENSE.run_config({"hidden": (64,)})
    same = run.with_settings({"label_smoothing": 0.0, "weight_decay": 0.0, "translate": 0.0})
    assert same.run_id == run.run_id
    assert run.with_settings({"label_smoothing": 0.1}).run_id != run.run_id
    assert run.with_settings({"rotate": 5.0}).run_id != run.run_id


def test_smoothed_loss_is_cross_entropy_against_the_smoothed_targets():
    logits = np.array([[2.0, -1.0, 0.5] + [0.0] * 7, [0.1] * 10], dtype="float32")
    labels = np.array([0, 3])
    got = float(make_loss(TrainConfig(label_smoothing=0.2))(labels, logits))
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    targets = np.full((2, 10), 0.02)
    targets[[0, 1], labels] += 0.8
    assert got == pytest.approx(float(-(targets * log_p).sum(axis=1).mean()), rel=1e-5)
    plain = float(make_loss(TrainConfig())(labels, logits))
    assert plain == pytest.approx(float(-log_p[[0, 1], labels].mean()), rel=1e-5)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop"])
def test_weight_decay_shrinks_kernels_alone_by_rate_times_decay(optimizer):
    model = build_dense(DenseConfig(hidden=(4,), batch_norm=True))
    model.build((None, 28, 28))
    opt = make_optimizer(TrainConfig(optimizer=optimizer, learning_rate=0.1, weight_decay=0.5))
    variables = model.trainable_variables
    for v in variables:  # non-zero biases and offsets, to see that they are left alone
        v.assign(np.full(v.shape, 0.3, dtype="float32"))
    before = [v.numpy().copy() for v in variables]
    opt.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in variables])
    for v, old in zip(variables, before, strict=True):
        factor = 1 - 0.1 * 0.5 if v.name == "kernel" else 1.0
        np.testing.assert_allclose(v.numpy(), old * factor, rtol=1e-6, err_msg=v.path)


def test_without_weight_decay_the_optimizer_has_none():
    assert make_optimizer(TrainConfig(optimizer="adam")).weight_decay is None


def test_augmentation_changes_training_batches_only():
    inner = build_dense(DenseConfig(hidden=(16,)))
    assert augmented(inner, DataConfig()) is inner
    model = augmented(inner, DataConfig(translate=0.2, rotate=20.0))
    x = np.random.default_rng(0).random((8, 28, 28)).astype("float32")
    np.testing.assert_allclose(model(x, training=False), inner(x, training=False), rtol=1e-6)
    kinds = [type(layer) for layer in model.layers]
    assert keras.layers.RandomTranslation in kinds and keras.layers.RandomRotation in kinds
    shifted = model.layers[2](x[..., None], training=True)
    assert not np.allclose(shifted, x[..., None])


def test_an_augmented_run_builds_for_both_families_and_keeps_xla_off_under_auto():
    for family in (DENSE, LENET):
        run = family.run_config({"translate": 0.1, "rotate": 10.0, "jit_compile": "auto"})
        model = build_compiled(family, run)
        assert model.output_shape == (None, 10)
        assert not use_jit(model, run.train)


def test_the_background_fill_follows_the_inputs_scaling():
    inner = build_dense(DenseConfig(hidden=(4,)))
    standardized = augmented(inner, DataConfig(translate=0.1, standardize=True))
    plain = augmented(inner, DataConfig(translate=0.1))
    assert standardized.layers[2].fill_value == -1.0 and plain.layers[2].fill_value == 0.0
