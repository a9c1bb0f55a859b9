from __future__ import annotations

import keras_tuner
import pytest

from keras_fcn.config import DataConfig, DenseConfig, TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE, DENSE_SPACE
from keras_fcn.space import Param, Space, declare_space


def test_grid_of_a_two_by_three_space_has_six_configs_in_a_stable_order():
    space = Space((Param("a", (1, 2), 1), Param("b", ("x", "y", "z"), "x")))
    grid = space.grid()
    assert grid == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 1, "b": "z"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
        {"a": 2, "b": "z"},
    ]
    assert space.grid() == grid and space.size() == 6


def test_one_factor_sweep_of_three_and_four_values_has_one_plus_two_plus_three():
    space = Space((Param("a", (1, 2, 3), 2), Param("b", (0.1, 0.2, 0.3, 0.4), 0.1)))
    sweep = space.sweep()
    assert len(sweep) == 1 + 2 + 3
    assert sweep[0] == {"a": 2, "b": 0.1}
    assert all(s["b"] == 0.1 for s in sweep[1:3]) and all(s["a"] == 2 for s in sweep[3:])


def test_dense_space_covers_every_hyperparameter_and_its_defaults_are_the_configs():
    # every field but the framework whose defaults fill in (a convention, not a hyperparameter)
    fields = set(DenseConfig.__dataclass_fields__) - {"defaults"} | {
        "optimizer",
        "learning_rate",
        "lr_schedule",
        "momentum",
        "epochs",
        "batch_size",
        "label_smoothing",  # the training additions that measured a gain (docs/tuning.md)
        "weight_decay",
    }
    assert set(DENSE_SPACE.names) == fields
    run = DENSE.run_config(DENSE_SPACE.defaults())
    assert run == DENSE.run_config() and run.model == DenseConfig()
    # the dataclass's training defaults but the precision and XLA, which the CPU and the
    # batch decide, and the loop
    assert run.train == TrainConfig(precision="auto", jit_compile="auto", loop="epoch")
    assert run.data == DataConfig(standardize=True)  # the Chenab base settings need centred inputs
    for setting in DENSE_SPACE.sweep():
        DENSE.run_config(setting)  # every declared value is a valid config


def test_narrow_fixes_and_restricts_and_rejects_contradictions():
    space = DENSE_SPACE.narrow(
        fixed={"optimizer": "adam"}, choices={"learning_rate": [0.001, 0.01]}
    )
    assert space["optimizer"].values == ("adam",)
    assert space["learning_rate"].values == (0.001, 0.01) and not space["learning_rate"].is_range
    with pytest.raises(ConfigError, match="both fixed and restricted"):
        DENSE_SPACE.narrow(fixed={"optimizer": "adam"}, choices={"optimizer": ["sgd"]})
    with pytest.raises(ConfigError, match="outside the space"):
        DENSE_SPACE.narrow(fixed={"optimizer": "adagrad"})
    with pytest.raises(ConfigError, match="unknown parameter 'width'"):
        DENSE_SPACE.narrow(choices={"width": [1]})
    assert DENSE_SPACE.narrow(choices={"learning_rate": [0.005]})["learning_rate"].values == (
        0.005,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(values=()),
        dict(values=(1, 1)),
        dict(values=(1, 2), default=3),
        dict(values=(1,), low=0.0),
        dict(values=(0.1,), default=0.1, low=0.0, high=1.0, log=True),
    ],
)
def test_invalid_parameters_are_rejected(kwargs):
    kwargs.setdefault("default", 1)
    with pytest.raises(ConfigError):
        Param("p", **kwargs)


def test_declare_space_declares_names_as_config_fields_and_decodes_tuples():
    hp = keras_tuner.HyperParameters()
    values = declare_space(DENSE_SPACE, hp)
    assert set(hp.values) == set(DENSE_SPACE.names)
    assert values == DENSE_SPACE.defaults()  # first draw is every default
    assert hp.values["hidden"] == "512-256" and values["hidden"] == (512, 256)
    grid_hp = keras_tuner.HyperParameters()
    declare_space(DENSE_SPACE, grid_hp, use_ranges=False)
    assert type(grid_hp._hps["learning_rate"][0]).__name__ == "Choice"
    assert type(hp._hps["learning_rate"][0]).__name__ == "Float"


def test_edge_detection():
    p = Param("lr", (0.001, 0.01, 0.1), 0.01)
    assert p.on_edge(0.1) and p.on_edge(0.001) and not p.on_edge(0.01)
    assert not Param("opt", ("a", "b", "c"), "a").on_edge("a")
    lr = Param("lr", (1e-3,), 1e-3, low=1e-4, high=1e-1, log=True)
    assert lr.on_edge(1.3e-4) and lr.on_edge(0.08) and not lr.on_edge(3e-3)
