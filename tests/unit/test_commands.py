"""The one command renderer (:mod:`keras_fcn.commands`): a line parsed back is the command
that rendered it, and a family run's line builds the same run again."""

from __future__ import annotations

import sys
import types
from unittest import mock

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from keras_fcn import registry
from keras_fcn.commands import Command, process_line, run_command, run_settings
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.settings import flag_value

NAME = st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=8)
MODULE = st.lists(NAME, min_size=1, max_size=3).map(".".join).filter(lambda m: m[0] != "_")
WORD = st.text(min_size=0, max_size=12).filter(lambda w: "\x00" not in w)
ARG = WORD.filter(lambda w: not w.startswith("--"))
FLAG = NAME.map(lambda n: f"--{n}")
OPTION = st.tuples(FLAG, st.none() | ARG)
COMMANDS = st.builds(
    Command,
    MODULE,
    st.lists(ARG, max_size=3).map(tuple),
    st.lists(OPTION, max_size=6).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(COMMANDS)
def test_a_rendered_line_parses_back_to_its_command(command):
    line = command.render()
    assert line.startswith(f"python -m {command.module}")
    assert Command.parse(line) == command


@settings(max_examples=100, deadline=None)
@given(COMMANDS)
def test_argv_is_the_rendered_line_as_arguments_of_python(command):
    assert Command.from_argv(command.module, command.argv()[2:]) == command


def test_a_line_renders_as_typed_and_reads_its_options():
    command = Command("experiments.reproduce", ("chenab",), (("--seeds", "3"), ("--quick", None)))
    command = command.with_settings({"hidden": (256, 128), "batch_norm": True, "l2": None})
    assert command.render() == (
        "python -m experiments.reproduce chenab --seeds 3 --quick "
        "--set hidden=256-128 --set batch_norm=true --set l2=none"
    )
    assert command.settings == {"hidden": "256-128", "batch_norm": "true", "l2": "none"}
    assert command.option("--seeds") == "3" and command.has("--quick")
    assert command.option("--quick") is None and not command.has("--out")
    assert command.without("--quick", "--seeds").render() == (
        "python -m experiments.reproduce chenab --set hidden=256-128 --set batch_norm=true "
        "--set l2=none"
    )
    assert command.without_settings("hidden", "l2").settings == {"batch_norm": "true"}
    seeded = Command("m", (), (("--seed", "7"), ("--out", "x"), ("--seed", "8")))
    assert seeded.with_value("--seed", "S").render() == "python -m m --seed S --out x --seed S"
    assert command.with_value("--seed", "S") == command  # none added
    assert Command("m", (), (("--out", "x"), ("--out=y", None))).without("--out") == Command("m")


def test_a_word_needing_quotes_is_quoted_and_read_back():
    command = Command("m", (), (("--param", "units=64; 128"),))
    assert command.render() == "python -m m --param 'units=64; 128'"
    assert Command.parse(command.render()).option("--param") == "units=64; 128"


@pytest.mark.parametrize(
    "line, said",
    [
        ("python script.py --seed 1", "expected 'python -m MODULE ...'"),
        ("python -m", "expected 'python -m MODULE ...'"),
        ("python -m m --only 'a", "cannot read the command"),
        ("python -m m --seeds 3 chenab", "'chenab' follows the value of --seeds"),
        ("python -m m --set nofield", "expected FIELD=VALUE"),
    ],
)
def test_a_line_that_is_no_command_is_a_one_line_error(line, said):
    with pytest.raises(ConfigError, match=said) as info:
        assert Command.parse(line).settings is None  # the parse or the settings raise
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "args, options, said",
    [
        (("--quick",), (), "looks like an option"),
        ((), (("seed", "1"),), "a flag starts with --"),
        ((), (("--out", "--quick"),), "cannot start with --"),
    ],
)
def test_a_command_that_cannot_be_read_back_is_refused(args, options, said):
    with pytest.raises(ConfigError, match=said):
        Command("m", args, options)


def test_a_family_run_renders_as_its_command_names_it():
    run = DENSE.run_config({"dataset": "mnist", "seed": 7, "hidden": "256-128", "l2": 1e-5})
    line = run_command(DENSE, run).render()
    assert line == (
        "python -m experiments.fashion_dense --dataset mnist --seed 7 "
        "--set hidden=256-128 --set l2=1e-05"
    )
    assert DENSE.command_for(run) == line
    assert run_command(DENSE, DENSE.run_config()).render() == (
        "python -m experiments.fashion_dense --seed 42"
    )


def _family_settings(family) -> st.SearchStrategy:
    """Settings of ``family`` drawn from its space's values and its range ends."""
    candidates = []
    for p in family.space.params:
        values = [*p.values, *((p.low, p.high) if p.is_range else ())]
        candidates += [(p.name, v) for v in values]
    return st.lists(st.sampled_from(candidates), max_size=6).map(dict)


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(registry.families())),
    data=st.data(),
    dataset=st.sampled_from(["fashion_mnist", "mnist"]),
    seed=st.integers(0, 10_000),
)
def test_a_family_runs_line_builds_the_same_run_again(name, data, dataset, seed):
    family = registry.get_family(name)
    drawn = data.draw(_family_settings(family))
    try:
        run = family.run_config({**drawn, "dataset": dataset, "seed": seed})
    except ConfigError:
        assume(False)
    line = run_command(family, run).render()
    parsed = Command.parse(line)
    assert parsed.module == family.command
    rebuilt = registry.resolve_run(family, run_settings(parsed))
    assert rebuilt.run_id == run.run_id, line
    for field, value in parsed.settings.items():
        assert flag_value(run.values()[field]) == value  # only what differs, as --set takes it


def test_the_process_line_is_the_command_as_typed(monkeypatch):
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name="experiments.reproduce")
    monkeypatch.setattr(sys, "argv", ["reproduce.py", "--seeds", "3", "chenab", "--only", "a b"])
    with mock.patch.dict(sys.modules, {"__main__": main}):
        assert process_line() == "python -m experiments.reproduce --seeds 3 chenab --only 'a b'"
    main.__spec__ = None
    with mock.patch.dict(sys.modules, {"__main__": main}):
        assert process_line() == "python reproduce.py --seeds 3 chenab --only 'a b'"
