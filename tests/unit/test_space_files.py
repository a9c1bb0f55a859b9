"""Spaces a user writes: TOML files and --param, layers as conditional hyperparameters, and a
one-line error for every malformed space."""

from __future__ import annotations

import re
from pathlib import Path

import keras_tuner
import pytest

from cnn.family import LENET
from experiments import tune
from experiments._cli import run_main
from keras_fcn import tuning
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.replication import STUDIES_DIR
from keras_fcn.space import declare_space, typed_values, with_entry
from tests.helpers import ROOT, SPACES


def test_one_layer_space_is_a_width_range_with_steps_and_three_learning_rates():
    space = DENSE.read_space(SPACES / "one_layer.toml")
    assert space["units"].values == tuple(range(32, 513, 32))
    assert space["learning_rate"].values == (1e-2, 1e-3, 1e-4)
    assert space.size() == 16 * 3
    assert space.hp_names() == ["optimizer", "learning_rate", "depth", "units_1"]
    assert space.grid()[0] == {"optimizer": "adam", "learning_rate": 1e-2, "hidden": (32,)}


def test_depth_space_declares_each_layer_under_the_depth_on_keras_tuner():
    space = DENSE.read_space(SPACES / "dense_depth.toml")
    hp = keras_tuner.HyperParameters()
    hp.Fixed("depth", 2)
    settings = declare_space(space, hp)
    assert len(settings["hidden"]) == len(settings["dropout"]) == 2
    assert hp.is_active("units_2") and not hp.is_active("units_3")
    assert {hp.get("units_1"), settings["hidden"][0]} <= {64, 128, 256, 512, 1024}
    assert space["dropout"].values == (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
    assert space["learning_rate"].is_range and space["learning_rate"].log
    # the grid of a depth of 1 or 2 layers with 2 widths: 2 + 2 * 2 settings
    small = space.narrow(
        choices={
            "depth": [1, 2],
            "units": [64, 128],
            "dropout": [0.0],
            "learning_rate": [1e-3],
            "lr_schedule": ["constant"],
        }
    )
    assert [s["hidden"] for s in small.grid()] == [
        (64,),
        (128,),
        (64, 64),
        (64, 128),
        (128, 64),
        (128, 128),
    ]
    assert small.size() == 6


def test_lenet_space_searches_the_filters_of_each_convolution():
    space = LENET.read_space(SPACES / "lenet_filters.toml")
    assert space.hp_names()[-3:] == ["filters_1", "filters_2", "filters_3"]
    assert all(len(s["filters"]) == 3 for s in space.sweep())
    assert space.defaults()["filters"] == (4, 16, 4)  # 16 is the report's; 6 and 120 not listed


def test_lybbert_grid_is_the_studys_23328_settings_in_its_order():
    grid = DENSE.read_space(STUDIES_DIR / "lybbert.toml").grid()
    assert len(grid) == 23_328
    assert grid[0] == {
        "epochs": 20,
        "hidden": (1024, 256),
        "initializer": "xavier_uniform",
        "batch_norm": True,
        "activation": "relu",
        "dropout": (0.5, 0.5),
        "optimizer": "sgd",
        "learning_rate": 0.01,
        "momentum": 0.9,
    }
    assert grid[-1]["dropout"] == (0.1, 0.1) and grid[-1]["epochs"] == 40


def test_the_families_own_spaces_are_such_files():
    assert DENSE.space == DENSE.read_space(DENSE.space_file)
    assert LENET.space == LENET.read_space(LENET.space_file)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.toml"
    path.write_text(text)
    return path


MALFORMED = [
    ("widht = [1, 2]\n", "unknown field 'widht'"),
    ('learning_rate = "0.1..0.01 log"\n', "range 0.1..0.01 is empty"),
    ('[layers]\nunits = "32..500 step 32"\n', "step 32 does not divide the range 32..500"),
    ("dropout = [0.1, 2.0]\n", "dropout=2.0 is invalid"),
    ('activation = ["relu", "swish"]\n', "activation='swish' is invalid"),
    ('batch_size = "16.5..64"\n', "batch_size takes whole numbers"),
    ('optimizer = "adam..sgd"\n', "'adam..sgd' is not a range; write a range 'LOW..HIGH'"),
    ('learning_rate = "1e-4...1e-2 log"\n', "'1e-4...1e-2 log' is not a range"),
    ('activation = "1..3"\n', "activation: a range needs a numeric field"),
    ('learning_rate = "1e-4..1e-1 log step 2"\n', "or 'LOW..HIGH log', with numbers"),
    ("l2 = { values = [0.0], bogus = 1 }\n", "unknown key 'bogus'"),
    (
        "[layers]\nwidth = [64]\n",
        "layers.width is unknown: the dense family's layers take depth, units, dropout",
    ),
    ('[layers]\ndepth = "0..2"\nunits = [64]\n', "depth must be whole numbers >= 1"),
    ('hidden = ["64"]\n[layers]\nunits = [64]\n', "'hidden' is set by [layers] too"),
    ("learning_rate = [0.1, 0.1]\n", "lists a value twice"),
    ("this is not toml\n", "is not valid TOML"),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_every_malformed_space_is_one_line_and_exit_2(text, message, tmp_path, capsys, monkeypatch):
    from keras_fcn import train

    monkeypatch.setattr(train, "load_dataset", None)  # a space accepted would fail loudly here
    path = write(tmp_path, text)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as info:
        run_main(tune.main, ["--space", str(path), "--tuner", "random", "--out", str(out)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert message in err and err.startswith("error: ")
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--space", "no-such-file.toml"], "cannot read the space no-such-file.toml"),
        (["--family", "lenet", "--param", "layers.depth=1..2"], "layers.depth is unknown"),
        (["--param", "learning_rate=1e-4..1e-1 log", "--tuner", "grid"], "a grid needs values"),
        (["--param", "bogus.units=3"], "--param 'bogus.units=3': a name is FIELD or layers.NAME"),
        (["--only", "units=64;wide"], "'units=64;wide': units takes numbers"),
        (["--fix", "width=3"], "unknown field 'width'; known fields: activation,"),
        (["--param", "layers.units=32..512 step 32", "--only", "units=48"], "units=48 is outside"),
        (["--param", "layers.units=0..64 step 32"], "hidden=0 is invalid"),
    ],
)
def test_bad_space_arguments_are_one_line(argv, message, tmp_path, capsys, monkeypatch):
    from keras_fcn import train

    def load_dataset(*args, **kwargs):
        raise AssertionError("the arguments were accepted: the search would train")

    monkeypatch.setattr(train, "load_dataset", load_dataset)
    with pytest.raises(SystemExit) as info:
        run_main(tune.main, [*argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and message in err


def test_an_entry_per_layer_replaces_the_whole_network_entry_and_leaves_the_file_unchanged():
    mapping = {"hidden": ["512-256"], "learning_rate": [0.1], "layers": {"depth": "1..2"}}
    added = with_entry(DENSE, mapping, "layers.units", ["32", "64"])
    assert added == {"learning_rate": [0.1], "layers": {"depth": "1..2", "units": ["32", "64"]}}
    assert with_entry(DENSE, {}, "layers.units", "32") == {"layers": {"units": "32"}}
    assert list(with_entry(DENSE, mapping, "learning_rate", "0.5")) == list(mapping)
    assert mapping["hidden"] == ["512-256"] and "units" not in mapping["layers"]
    with pytest.raises(ConfigError, match="a name is FIELD or layers.NAME"):
        with_entry(DENSE, mapping, "model.units", "32")


def test_values_that_narrow_a_space_are_typed_for_the_family():
    assert typed_values(DENSE, "hidden", ["512-256", "64"]) == [(512, 256), (64,)]
    assert typed_values(DENSE, "batch_norm", ["true"]) == [True]
    assert typed_values(DENSE, "depth", ["1", "+3"]) == [1, 3]
    assert typed_values(DENSE, "units", ["64", "1e2"]) == [64, 100.0]
    # a config field before a per-layer name: one rate per layer is a dropout field value
    assert typed_values(DENSE, "dropout", ["0.5-0.2"]) == [(0.5, 0.2)]
    with pytest.raises(ConfigError, match="^'units=64,x': units takes numbers$"):
        typed_values(DENSE, "units", ["64", "x"])
    with pytest.raises(ConfigError, match="^'--only u': units takes numbers$"):
        typed_values(DENSE, "units", ["x"], source="--only u")
    with pytest.raises(ConfigError, match="unknown field 'width'"):
        typed_values(DENSE, "width", ["3"])
    with pytest.raises(ConfigError, match="hidden"):
        typed_values(DENSE, "hidden", ["512,256"])


def test_only_may_name_a_value_outside_the_declared_choices_when_the_config_takes_it():
    space = DENSE.space.narrow(choices={"hidden": [(32,), (64, 32)]}, accept=DENSE.accepts)
    assert space["hidden"].values == ((32,), (64, 32))
    with pytest.raises(ConfigError, match="outside the space"):
        DENSE.space.narrow(choices={"hidden": [(0,)]}, accept=DENSE.accepts)


def test_space_identity_of_a_search_holds_the_whole_space():
    space = DENSE.read_space(SPACES / "dense_depth.toml")
    base = DENSE.run_config()
    options = tuning.SearchOptions("random", max_epochs=2, trials=3, executions=1, seed=42)
    identity = tuning.search_identity(options, base, space)
    wider = space.narrow(choices={"units": [64, 128]})
    other = tuning.search_identity(options, base, wider)
    assert tuning.search_key(identity) != tuning.search_key(other)
    assert identity["space"]["layers"]["units"]["values"] == [64, 128, 256, 512, 1024]


def test_the_python_example_of_the_spaces_page_runs(capsys):
    page = (ROOT / "docs" / "spaces.md").read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", page, re.S)
    exec(compile(code, "docs/spaces.md", "exec"), {})
    size, grid = capsys.readouterr().out.splitlines()
    assert size == "24"
    assert grid.count("'hidden': (64,)") == 4 and "'depth'" not in grid
