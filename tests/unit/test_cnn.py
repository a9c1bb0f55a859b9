from __future__ import annotations

import dataclasses
import json

import keras
import numpy as np
import pytest

from cnn.config import LeNetConfig
from cnn.family import LENET, LENET_SPACE
from cnn.model import build_lenet5
from experiments import fashion_cnn, reproduce
from experiments._cli import run_main
from keras_fcn import registry
from keras_fcn.config import ACTIVATIONS, INITIALIZERS, DataConfig, TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.record import RunStore
from keras_fcn.replication import RerunOptions, get_study, read_published
from keras_fcn.replication import reproduce as reproduce_study
from keras_fcn.train import train_record
from tests.helpers import INITIALIZER_CLASSES

SMALL = {"filters": (2, 3, 4), "hidden": (5,)}  # quick to build; the options are the same


def _layers(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


def _exit_code(main, argv, capsys):
    with pytest.raises(SystemExit) as info:
        run_main(main, argv)
    return info.value.code, capsys.readouterr()


def test_default_is_the_reports_lenet5():
    model = build_lenet5()
    # conv 6*(25+1), 16*(6*25+1), 120*(16*25+1); dense 84*(120+1), 10*(84+1)
    assert model.count_params() == 61_706
    assert model.output_shape == (None, 10)
    assert model.input_shape == (None, 28, 28)
    assert not model.compiled
    assert [model.get_layer(f"conv_{i}").output.shape[1:] for i in range(3)] == [
        (28, 28, 6),
        (10, 10, 16),
        (1, 1, 120),
    ]
    activations = _layers(model, keras.layers.Activation)
    assert [la.activation.__name__ for la in activations] == ["relu"] * 4


@pytest.mark.parametrize(
    ("pooling", "kind"),
    [("average", keras.layers.AveragePooling2D), ("max", keras.layers.MaxPooling2D)],
)
@pytest.mark.parametrize("pool_size", [1, 2])
def test_pooling_kind_and_size_reach_the_model(pooling, kind, pool_size):
    model = build_lenet5(LeNetConfig(pooling=pooling, pool_size=pool_size, **SMALL))
    pools = [la for la in model.layers if la.name.startswith("pool_")]
    assert len(pools) == 2 and all(isinstance(la, kind) for la in pools)
    assert all(tuple(la.pool_size) == (pool_size, pool_size) for la in pools)


@pytest.mark.parametrize(
    ("kernel_size", "padding", "pool_size"),
    [
        (k, pad, p)
        for k in (3, 4, 5)
        for pad in ("same", "valid")
        for p in (1, 2)
        if (k, pad, p) != (5, "valid", 2)
    ],
)
def test_feature_sizes_of_the_config_are_those_of_the_model(kernel_size, padding, pool_size):
    config = LeNetConfig(kernel_size=kernel_size, padding=padding, pool_size=pool_size, **SMALL)
    model = build_lenet5(config)
    sides = dict(config.feature_sizes())
    assert model.get_layer("conv_0").padding == padding
    assert model.get_layer("conv_1").padding == model.get_layer("conv_2").padding == "valid"
    assert all(
        model.get_layer(f"conv_{i}").kernel_size == (kernel_size, kernel_size) for i in range(3)
    )
    assert model.get_layer("conv_0").output.shape[1] == sides["conv1"]
    assert model.get_layer("pool_1").output.shape[1] == sides["pool2"]
    assert model.get_layer("conv_2").output.shape[1:] == (sides["conv3"], sides["conv3"], 4)


def test_filters_and_hidden_reach_the_model():
    model = build_lenet5(LeNetConfig(filters=(3, 8, 60), hidden=(32, 16)))
    assert [model.get_layer(f"conv_{i}").filters for i in range(3)] == [3, 8, 60]
    assert [model.get_layer(f"dense_{i}").units for i in range(2)] == [32, 16]
    assert model.get_layer("logits").units == 10


# each activation by its definition, written out independently of Keras
ACTIVATION_FUNCTIONS = {
    "relu": lambda x: np.maximum(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
}


def test_every_activation_has_a_definition_to_check_it_against():
    assert set(ACTIVATION_FUNCTIONS) == set(ACTIVATIONS)


@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_follows_every_conv_and_hidden_layer(name, batch_norm):
    model = build_lenet5(LeNetConfig(activation=name, batch_norm=batch_norm, **SMALL))
    layers = model.layers
    # the layers each activation must take its input from: the convs (through their batch
    # norm, when there is one) and the hidden dense layer
    fed = [f"conv_batch_norm_{i}" if batch_norm else f"conv_{i}" for i in range(3)] + ["dense_0"]
    blocks = [model.get_layer(n) for n in fed]
    after = [layers[layers.index(block) + 1] for block in blocks]
    probe = keras.Model(
        model.inputs, [t for b, a in zip(blocks, after, strict=True) for t in (b.output, a.output)]
    )
    images = 3 * np.random.default_rng(0).standard_normal((8, 28, 28)).astype("float32")
    outputs = [np.asarray(t) for t in probe([images])]
    expected = ACTIVATION_FUNCTIONS[name]
    for block, before, applied in zip(fed, outputs[::2], outputs[1::2], strict=True):
        assert (before < -0.01).any() and (before > 0.01).any(), block  # both sides are tried
        np.testing.assert_allclose(applied, expected(before), rtol=1e-5, atol=1e-6, err_msg=block)
    # the same layers over the whole range where the activations differ (and saturate)
    wide = np.linspace(-6, 6, 241, dtype="float32")[None]
    for layer in after:
        np.testing.assert_allclose(np.asarray(layer(wide)), expected(wide), rtol=1e-5, atol=1e-6)
    # and nothing else is an activation: one after each of the four layers, no more
    activations = _layers(model, (keras.layers.Activation, keras.layers.LeakyReLU))
    assert sorted(map(id, activations)) == sorted(map(id, after))


@pytest.mark.parametrize("name", INITIALIZERS)
def test_every_initializer_reaches_convs_and_dense_layers(name):
    model = build_lenet5(LeNetConfig(initializer=name, **SMALL))
    for layer in ("conv_0", "conv_1", "conv_2", "dense_0", "logits"):
        kernel_initializer = model.get_layer(layer).kernel_initializer
        assert type(kernel_initializer).__name__ == INITIALIZER_CLASSES[name]


def test_batch_norm_sits_between_each_conv_and_its_activation():
    names = [la.name for la in build_lenet5(LeNetConfig(batch_norm=True, **SMALL)).layers]
    for i in range(3):
        at = names.index(f"conv_{i}")
        assert names[at + 1] == f"conv_batch_norm_{i}"
        assert names[at + 2].startswith("activation")
    assert not any("batch_norm" in n for n in (la.name for la in build_lenet5().layers))


def test_dropout_comes_before_each_hidden_dense_layer_only():
    model = build_lenet5(LeNetConfig(dropout=0.3, filters=(2, 3, 4), hidden=(8, 6)))
    names = [la.name for la in model.layers]
    assert [la.rate for la in _layers(model, keras.layers.Dropout)] == [0.3, 0.3]
    assert names[names.index("flatten") + 1] == "dropout_0"
    assert names[names.index("dropout_0") + 1] == "dense_0"
    assert names[names.index("dropout_1") + 1] == "dense_1"
    assert not names[names.index("logits") - 1].startswith("dropout")
    assert not _layers(build_lenet5(), keras.layers.Dropout)


def test_l2_is_on_the_dense_kernels_only():
    model = build_lenet5(LeNetConfig(l2=1e-3, **SMALL))
    for layer in ("dense_0", "logits"):
        assert model.get_layer(layer).kernel_regularizer.l2 == pytest.approx(1e-3)
    assert all(model.get_layer(f"conv_{i}").kernel_regularizer is None for i in range(3))
    assert len(model.losses) == 2
    assert not build_lenet5(LeNetConfig(l2=0.0, **SMALL)).losses


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("filters", (6, 16), r"filters=\(6, 16\) is invalid: must be three filter counts"),
        ("filters", (6, 0, 120), r"filters=0 is invalid: must be a whole number >= 1"),
        ("kernel_size", 0, r"kernel_size=0 is invalid: must be a whole number >= 1"),
        ("padding", "full", r"padding='full' is invalid: choose one of same, valid"),
        ("pooling", "min", r"pooling='min' is invalid: choose one of average, max"),
        ("pool_size", 2.0, r"pool_size=2\.0 is invalid: must be a whole number"),
        ("activation", "swish", r"activation='swish' is invalid: choose one of relu"),
        ("hidden", (), r"hidden=\(\) is invalid: must be one or more layer sizes"),
        ("dropout", 1.0, r"dropout=1\.0 is invalid: must be a number in \[0\.0, 1\.0\)"),
        ("batch_norm", "yes", r"batch_norm='yes' is invalid: must be true or false"),
        ("initializer", "zeros", r"initializer='zeros' is invalid: choose one of default"),
        ("l2", -1e-5, r"l2=-1e-05 is invalid: must be a number in \[0\.0, 1\.0\]"),
    ],
)
def test_invalid_values_fail_at_construction_naming_field_and_value(field, value, message):
    with pytest.raises(ConfigError, match=message):
        LeNetConfig(**{field: value})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"padding": "valid"},
            "kernel_size=5, padding='valid', pool_size=2 is invalid: conv3 leaves feature maps "
            "of side 0 (28 -> conv1 24 -> pool1 12 -> conv2 8 -> pool2 4 -> conv3 0); "
            "use a smaller kernel_size or pool_size, or padding='same'",
        ),
        (
            {"kernel_size": 30, "padding": "valid"},
            "kernel_size=30, padding='valid', pool_size=2 is invalid: conv1 leaves feature "
            "maps of side -1 (28 -> conv1 -1)",
        ),
        ({"pool_size": 29}, "pool_size=29 is invalid: pool1 leaves feature maps of side 0"),
        (
            {"kernel_size": 16},
            "conv2 leaves feature maps of side -1 (28 -> conv1 28 -> pool1 14 -> conv2 -1)",
        ),
    ],
)
def test_shapes_without_spatial_extent_fail_in_one_line(settings, message):
    with pytest.raises(ConfigError) as info:
        LeNetConfig(**settings)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_lists_from_a_record_become_tuples():
    config = LeNetConfig(filters=[3, 8, 60], hidden=[84])
    assert config.filters == (3, 8, 60) and config.hidden == (84,)
    run = LENET.run_config(
        {"filters": "3-8-60", "hidden": "128", "padding": "valid", "kernel_size": "4"}
    )
    assert LENET.from_dict(json.loads(json.dumps(run.to_dict()))) == run


def test_family_defaults_are_the_reports_training():
    run = LENET.run_config()
    assert run.model == LeNetConfig()
    assert run.train == dataclasses.replace(
        TrainConfig(),
        optimizer="adam",
        learning_rate=1e-3,
        epochs=10,
        batch_size=32,
        loop="epoch",
    )
    assert run.data == DataConfig(validation=5000)
    assert registry.get_family("lenet") is LENET


def test_space_defaults_are_the_family_defaults_and_names_are_fields():
    fields = {n for cls in LENET.fields() for n in cls.__dataclass_fields__}
    assert set(LENET_SPACE.names) <= fields
    assert LENET.run_config(LENET_SPACE.defaults()) == LENET.run_config()


def test_every_sweep_setting_is_a_valid_run_but_unpadded_kernel_5():
    defaults = LENET_SPACE.defaults()
    invalid = []
    for setting in LENET_SPACE.sweep():
        try:
            LENET.run_config(setting)
        except ConfigError:
            invalid.append({k: v for k, v in setting.items() if v != defaults[k]})
    # the third conv gets 4x4 maps: the report tried no padding with kernel 4
    assert invalid == [{"padding": "valid"}]
    for kernel_size in (3, 4):
        LENET.run_config({"padding": "valid", "kernel_size": kernel_size})


def test_only_one_shape_of_the_grid_is_invalid():
    shapes = LENET_SPACE.select(["kernel_size", "padding", "pool_size"]).grid()
    invalid = []
    for shape in shapes:
        try:
            LeNetConfig(**shape)
        except ConfigError:
            invalid.append(shape)
    assert invalid == [{"kernel_size": 5, "padding": "valid", "pool_size": 2}]


def test_short_training_learns(fashion_small):
    record = train_record(LENET, LENET.run_config({"epochs": 2}), fashion_small)
    assert record.status == "ok" and record.params == 61_706 and record.epochs_run == 2
    # 0.72-0.78 over three seeds on the synthetic data (0.705-0.721 on the real); chance is 0.1
    assert record.test_accuracy > 0.6


def test_protocol_reruns_the_published_final_network(tmp_path):
    protocol = get_study("lenet")
    results = reproduce_study(
        protocol,
        LENET,
        RunStore(tmp_path / "r.jsonl"),
        RerunOptions(
            seeds=[1], load=lambda d: pytest.fail("a dry run loads no data"), dry_run=True
        ),
    )
    [result] = results
    [(row, run)] = result.rows
    assert row.values["test_accuracy"][0] == pytest.approx(0.8996)
    # the published row is the family's default run (by the epoch loop, as every study's
    # run): the CSV, the protocol and the defaults agree
    assert run.model == LeNetConfig() and run == LENET.run_config()
    assert {r.table for r in read_published(protocol.path("lenet.csv"))} == {"final"}


def test_reproduce_dry_run_lists_the_lenet_run(capsys, tmp_path):
    code, out = _exit_code(reproduce.main, ["lenet", "--dry-run", "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "final:" in out.out and "'filters': (6, 16, 120)" in out.out
    assert "'pooling': 'average'" in out.out and "'validation': 5000" in out.out


def test_fashion_cnn_rejects_an_invalid_shape_in_one_line(capsys, tmp_path):
    argv = ["--set", "padding=valid", "--out", str(tmp_path)]
    code, out = _exit_code(fashion_cnn.main, argv, capsys)
    assert code == 2 and out.err.startswith("error: kernel_size=5, padding='valid', pool_size=2")
    assert out.err.count("\n") == 1 and not list(tmp_path.iterdir())


def test_pytorch_defaults_reach_conv_biases_and_batch_norm():
    model = build_lenet5(LeNetConfig(batch_norm=True, defaults="pytorch"))
    bias = model.get_layer("conv_1").bias.numpy()  # 6 channels of 5x5 in: fan-in 150
    assert np.abs(bias).max() <= 1 / np.sqrt(150) and np.any(bias != 0)
    assert model.get_layer("conv_batch_norm_0").epsilon == pytest.approx(1e-5)
