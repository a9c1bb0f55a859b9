from __future__ import annotations

import dataclasses

import pytest

from keras_fcn import config as cfg
from keras_fcn import settings as typed
from keras_fcn.config import DataConfig, DenseConfig, TrainConfig
from keras_fcn.errors import ConfigError


def test_defaults_are_the_first_seed_studys_base_settings():
    model, train, data = DenseConfig(), TrainConfig(), DataConfig()
    assert model.hidden == (512, 256) and model.activation == "relu" and model.dropout == 0.0
    assert not model.batch_norm and model.l2 == 0.0
    assert (train.optimizer, train.learning_rate, train.epochs, train.batch_size) == (
        "sgd",
        0.01,
        50,
        512,
    )
    assert train.eval_batch_size == 256 and train.seed == 42 and train.patience is None
    assert data.validation == 0.1


@pytest.mark.parametrize(
    ("cls", "field", "value", "message"),
    [
        (
            DenseConfig,
            "dropout",
            1.5,
            r"dropout=1\.5 is invalid: must be a number in \[0\.0, 1\.0\)",
        ),
        (DenseConfig, "hidden", (512, 0), r"hidden=0 is invalid: must be a whole number >= 1"),
        (DenseConfig, "hidden", (), r"hidden=\(\) is invalid"),
        (DenseConfig, "activation", "swish", r"activation='swish' is invalid: choose one of relu"),
        (DenseConfig, "initializer", "zeros", r"initializer='zeros' is invalid"),
        (DenseConfig, "dropout", (0.1, 0.2, 0.3), r"give one rate or 2 rates"),
        (DenseConfig, "input_dropout", 1.0, r"input_dropout=1\.0 is invalid"),
        (
            TrainConfig,
            "optimizer",
            "adagrad",
            r"optimizer='adagrad' is invalid: choose one of sgd, adam, rmsprop",
        ),
        (
            TrainConfig,
            "learning_rate",
            -0.1,
            r"learning_rate=-0\.1 is invalid: must be a finite number > 0",
        ),
        (TrainConfig, "learning_rate", float("nan"), r"learning_rate=nan is invalid"),
        (TrainConfig, "epochs", 0, r"epochs=0 is invalid"),
        (
            TrainConfig,
            "lr_schedule",
            "step",
            r"lr_schedule='step' is invalid: choose one of constant, cosine",
        ),
        (TrainConfig, "momentum", 1.0, r"momentum=1\.0 is invalid"),
        (DataConfig, "dataset", "cifar10", r"dataset='cifar10' is invalid"),
        (DataConfig, "validation", 1.5, r"validation=1\.5 is invalid"),
    ],
)
def test_invalid_values_fail_at_construction_naming_field_and_value(cls, field, value, message):
    with pytest.raises(ConfigError, match=message):
        cls(**{field: value})


def test_configs_are_frozen_and_lists_become_tuples():
    model = DenseConfig(hidden=[256, 128], dropout=[0.1, 0.2])
    assert model.hidden == (256, 128) and model.dropout == (0.1, 0.2)
    assert model.dropout_rates() == (0.1, 0.2)
    assert DenseConfig(dropout=0.3).dropout_rates() == (0.3, 0.3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.hidden = (1,)


@pytest.mark.parametrize(
    ("cls", "field", "text", "expected"),
    [
        (DenseConfig, "hidden", "300-200", (300, 200)),
        (DenseConfig, "hidden", "[300-200]", (300, 200)),
        (DenseConfig, "hidden", "128", (128,)),
        (DenseConfig, "dropout", "0.2", 0.2),
        (DenseConfig, "dropout", "0.3-0.5", (0.3, 0.5)),
        (DenseConfig, "l2", "1e-05", 1e-05),
        (DenseConfig, "batch_norm", "True", True),
        (TrainConfig, "patience", "none", None),
        (TrainConfig, "patience", "3", 3),
        (DataConfig, "validation", "5000", 5000),
        (DataConfig, "validation", "0.1", 0.1),
    ],
)
def test_coerce_parses_what_people_type(cls, field, text, expected):
    assert typed.coerce(cls, field, text) == expected


@pytest.mark.parametrize(
    ("field", "text", "shown"),
    [("hidden", "256,128", "hidden=256-128"), ("hidden", "[1024, 512]", "hidden=1024-512"),
     ("dropout", "0.3,0.5", "dropout=0.3-0.5")],
)  # fmt: skip
def test_a_comma_in_one_value_is_an_error_that_shows_the_dashed_form(field, text, shown):
    # a comma separates choices (--only, spaces); the layers of one value are joined by '-'
    with pytest.raises(ConfigError, match=f"write one value per layer joined by '-', e.g. {shown}"):
        typed.coerce(DenseConfig, field, text)


def test_apply_routes_each_setting_to_its_config():
    model, train, data = typed.apply(
        (DenseConfig(), TrainConfig(), DataConfig()),
        {"optimizer": "adam", "learning_rate": "0.001", "hidden": "128", "dataset": "mnist"},
    )
    assert model.hidden == (128,) and train.optimizer == "adam" and train.learning_rate == 0.001
    assert data.dataset == "mnist"


def test_apply_rejects_unknown_fields_listing_known_ones():
    with pytest.raises(ConfigError, match=r"unknown field 'hiden'; known fields: .*hidden"):
        typed.apply((DenseConfig(), TrainConfig()), {"hiden": "12"})


def test_bad_text_gives_a_config_error_not_a_traceback():
    with pytest.raises(ConfigError, match=r"epochs='ten' is invalid: not a valid int"):
        typed.apply((TrainConfig(),), {"epochs": "ten"})
    with pytest.raises(ConfigError, match="expected FIELD=VALUE"):
        typed.parse_assignment("dropout")


def test_round_trip_through_dicts():
    model = DenseConfig(hidden=(300, 200), dropout=(0.1, 0.2), l2=1e-4)
    assert typed.from_dict(DenseConfig, cfg.to_dict(model)) == model
    with pytest.raises(ConfigError, match="unknown field of DenseConfig"):
        typed.from_dict(DenseConfig, {"width": 3})


def test_input_dropout_enters_the_run_id():
    from keras_fcn.family import DENSE

    run = DENSE.run_config()
    assert run.result_settings()["model"]["input_dropout"] == 0.0
    used = run.with_settings({"input_dropout": "0.2"})
    assert used.result_settings()["model"]["input_dropout"] == 0.2
    assert used.run_id != run.run_id
    assert "--set input_dropout=0.2" in DENSE.command_for(used)
