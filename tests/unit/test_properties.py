"""Property-based checks: whatever a person types, it works or fails with a ConfigError."""

from __future__ import annotations

import contextlib
import dataclasses
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_fcn import settings as typed
from keras_fcn.config import DataConfig, DenseConfig, TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.space import Param, Space

CLASSES = (DenseConfig, TrainConfig, DataConfig)
FIELDS = [(cls, f.name) for cls in CLASSES for f in dataclasses.fields(cls)]
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(-5, 2000), max_size=4),
    st.lists(st.floats(-1, 2), max_size=4),
)


def _of_declared_type(cls: type, name: str, value) -> bool:
    """Whether ``value`` is of a type ``cls.name`` declares (a tuple's items included)."""
    import types
    import typing

    hint = typing.get_type_hints(cls)[name]
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    for kind in typing.get_args(hint) if union else (hint,):
        if kind is type(None) and value is None:
            return True
        if typing.get_origin(kind) is tuple and isinstance(value, tuple):
            item = typing.get_args(kind)[0]
            if all(isinstance(v, item) or (item is float and isinstance(v, int)) for v in value):
                return True
        elif (
            kind is float
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            or isinstance(kind, type)
            and isinstance(value, kind)
        ):
            return True
    return False


def _same(a, b) -> bool:
    return a == b or (a != a and b != b)  # nan equals nan here


def _check_run_holds(cls: type, name: str, run, value) -> None:
    """``run`` holds ``value`` (as ``coerce`` types it) in ``name``, of the declared type, and
    setting it again gives the same run."""
    held = getattr(
        {DenseConfig: run.model, TrainConfig: run.train, DataConfig: run.data}[cls], name
    )
    assert _same(held, typed.coerce(cls, name, value)), (name, value, held)
    assert _of_declared_type(cls, name, held), (name, held)
    assert run.with_settings({name: value}).run_id == run.run_id
    assert run.with_settings({name: held}) == run


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(FIELDS), value=ANY_VALUE)
def test_constructors_accept_or_raise_config_error(field, value):
    cls, name = field
    try:
        config = cls(**{name: value})
    except ConfigError as exc:
        assert name in str(exc) and "\n" not in str(exc)
    else:
        held = getattr(config, name)
        assert _of_declared_type(cls, name, held), (name, value, held)
        assert _same(held, tuple(value) if isinstance(value, list) else value) or isinstance(
            value, list | int
        ), (name, value, held)  # lists become tuples, ints may become floats
        assert cls(**dataclasses.asdict(config)) == config


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40))
def test_set_parser_accepts_or_raises_config_error(text):
    try:
        field, value = typed.parse_assignment(text)
        run = DENSE.run_config({field: value})
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        assert text.partition("=")[2].strip() == value
        _check_run_holds(typed.owner(field, DENSE.fields()), field, run, value)


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(FIELDS),
    text=st.text(alphabet="0123456789.,-e[]() noneTrufals", max_size=12),
)
def test_typed_values_for_every_field(field, text):
    cls, name = field
    try:
        run = DENSE.run_config({name: text})
    except ConfigError as exc:
        assert name in str(exc)
    else:
        _check_run_holds(cls, name, run, text)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b"])), max_size=4),
    default=st.one_of(st.integers(-3, 3), st.just("a")),
    low=st.one_of(st.none(), st.floats(-2, 2)),
    high=st.one_of(st.none(), st.floats(-2, 2)),
    log=st.booleans(),
    step=st.one_of(st.none(), st.sampled_from([0.5, 1, 0.3, -1])),
)
def test_space_declarations_accept_or_raise_config_error(values, default, low, high, log, step):
    try:
        param = Param("p", tuple(values), default, low=low, high=high, log=log, step=step)
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    space = Space((param,))
    if not param.values:  # a continuous range: samplers only, and a grid says so
        assert param.is_range and step is None and not param._whole()
        with pytest.raises(ConfigError, match="a grid needs values"):
            space.grid()
        return
    expected = len(set(map(repr, values))) if values else round((high - low) / step) + 1
    assert len(space.grid()) == expected == space.size()
    assert all(v in param.values or param.within(v) for v in param.values)
    assert space.sweep()[0] == {"p": param.default}


class _Reached(BaseException):
    """Raised where a command's real work starts (loading data, measuring), so that nothing
    is trained; a BaseException, so that no ``except Exception`` on the way swallows it."""


def _reached(*args, **kwargs):
    raise _Reached


# The points where each command starts real work. ``keras_fcn.single`` imported
# ``load_dataset`` by name, so its copy is stubbed as well as the original.
STUBS = (
    ("keras_fcn.train", "load_dataset"),
    ("keras_fcn.single", "load_dataset"),
    ("keras_fcn.data", "load"),
    ("experiments.benchmark", "_measure_in_child"),
)

# Flags left out: --workers and report's --run-missing start processes; --jobs and
# --ray-address start or join a Ray cluster (and reproduce's default engine is kept
# in-process) (tests/integration/test_cluster.py); --case and
# --json are benchmark's hidden child mode; --help only prints; --out is given by the test,
# last, so that it always wins.
EXCLUDED = {
    "--workers",
    "--run-missing",
    "--jobs",
    "--ray-address",
    "--case",
    "--json",
    "--help",
    "--out",
}

COMMON_VALUES = ["0", "1", "2", "-1", "3", "x", "", "nan", "1.5", "none", "mnist", "fashion_mnist"]
SET_VALUES = [
    "dropout=2",
    "hidden=64",
    "lr=1",
    "optimizer=adam",
    "epochs=1",
    "dropout",
    "=1",
    "learning_rate=0.1",
    "filters=6,16,120",
    "kernel_size=0",
    "train_limit=100",
]
COMMANDS = {
    "fashion_dense": ("fashion_dense", "main", ("experiments.fashion_dense", "fashion_mnist")),
    "mnist_dense": ("mnist_dense", "main", ("experiments.mnist_dense", "mnist")),
    "fashion_cnn": ("fashion_cnn", "main", ("experiments.fashion_cnn", "fashion_mnist", "lenet")),
    "reproduce": ("reproduce", "main", ()),
    "tune": ("tune", "main", ()),
    "baselines": ("baselines", "main", ()),
    "report": ("report", "main", ()),
    "benchmark": ("benchmark", "main", ()),
}
EXTRA_VALUES = {
    "reproduce": [
        "chenab",
        "lybbert",
        "konycheva",
        "dense-l2",
        "lenet",
        "nobody",
        "baseline",
        "final",
        "--dry-run",
        "--grid",
    ],
    "tune": [
        "dense",
        "lenet",
        "hyperband",
        "random",
        "grid",
        "bayesian",
        "annealing",
        "learning_rate",
        "hidden,dropout",
        "learning_rate=0.001,0.01",
        "dropout=0.1",
        "widht=3",
        "0.5",
        "inf",
    ],
    "baselines": ["both", "knn", "knn-5", "svd_projection", "nope"],
    "report": ["chenab", "--readme"],
    "benchmark": ["dense", "lenet", "dense,lenet", ",", "cnn", "--quick"],
}


def _parser(command: str):
    """The command's own parser; the three training commands share fashion_dense's."""
    import importlib

    module_name, _, args = COMMANDS[command]
    if args:
        return importlib.import_module("experiments.fashion_dense").build_parser(*args)
    return importlib.import_module(f"experiments.{module_name}").build_parser()


def _flags(command: str) -> list[str]:
    """Every flag the command's own parser declares, less those the test leaves out."""
    import argparse

    return sorted(
        option
        for action in _parser(command)._actions
        if action.help != argparse.SUPPRESS
        for option in action.option_strings
        if option.startswith("--") and option not in EXCLUDED
    )


INT_VALUES = st.one_of(st.integers(-3, 40).map(str), st.sampled_from(["x", "", "1.5", "nan"]))
FLOAT_VALUES = st.sampled_from(["0", "1", "0.5", "120", "-1", "nan", "inf", "1e-3", "x", ""])


def _values(command: str, action):
    """Values for one flag: mostly of its own type or choices, some of them wrong."""
    if action.dest == "settings":
        return st.sampled_from(SET_VALUES)
    if action.type is int:
        return INT_VALUES
    if action.type is float:
        return FLOAT_VALUES
    pool = COMMON_VALUES + EXTRA_VALUES.get(command, [])
    if action.choices is not None:
        pool = [str(c) for c in action.choices] + ["x"]
    return st.one_of(st.sampled_from(pool), st.text(max_size=8))


def _argv(command: str):
    """Argument lists of the command: its flags, each with a value when it takes one, and
    now and then a stray token."""
    import argparse

    items = []
    for action in _parser(command)._actions:
        options = [o for o in action.option_strings if o.startswith("--") and o not in EXCLUDED]
        if not options or action.help == argparse.SUPPRESS:
            continue
        if action.nargs == 0:
            items.append(st.just([options[0]]))
        else:
            items.append(st.tuples(st.just(options[0]), _values(command, action)).map(list))
    flag = st.one_of(*items)
    stray = st.one_of(st.sampled_from(COMMON_VALUES + _flags(command)), st.text(max_size=8))
    tokens = st.lists(st.one_of(flag, flag, flag, stray.map(lambda t: [t])), max_size=5).map(
        lambda parts: [token for part in parts for token in part]
    )
    if command == "reproduce":  # a study first, mostly a real one, so that more gets checked
        study = st.sampled_from(["chenab", "lybbert", "konycheva", "dense-l2", "lenet", "x"])
        return st.builds(lambda first, rest: [first, *rest], study, tokens)
    return tokens


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _run_command(command: str, argv: list[str]) -> None:
    """Run ``argv`` with ``--out`` in a fresh folder and the work stubbed, and check that it
    exits 0, reaches the stub, or exits 2 with one line on stderr and nothing written."""
    import importlib
    import os
    import tempfile
    from pathlib import Path
    from unittest import mock

    import pytest

    from experiments._cli import run_main

    module = importlib.import_module(f"experiments.{COMMANDS[command][0]}")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        out, cwd = tmp / "out", tmp / "cwd"
        out.mkdir()
        cwd.mkdir()
        for target, name in STUBS:
            stack.enter_context(mock.patch(f"{target}.{name}", _reached))
        # reproduce's default engine would start Ray for a small batch: here, in-process
        stack.enter_context(mock.patch("experiments.reproduce.auto_jobs", lambda *a, **k: 1))
        extra = (
            ["--records", "none", "--results", str(tmp / "results")] if command == "report" else []
        )
        if command == "report":
            (tmp / "results").mkdir()
        old_cwd = os.getcwd()
        os.chdir(cwd)  # relative paths typed as values land here, where the test can see them
        err = io.StringIO()
        try:
            with (
                contextlib.redirect_stderr(err),
                contextlib.redirect_stdout(io.StringIO()),
                pytest.raises((SystemExit, _Reached)) as info,
            ):
                run_main(module.main, [*extra, *argv, "--out", str(out)])
        finally:
            os.chdir(old_cwd)
        reached = info.type is _Reached
        code = None if reached else info.value.code
        assert reached or code in (0, 2), (argv, code, err.getvalue())
        assert _files(cwd) == [], f"{argv} wrote into the working folder: {_files(cwd)}"
        if code == 2:
            message = err.getvalue()
            assert message.count("\n") == 1 and message.endswith("\n"), (argv, message)
            assert "Traceback" not in message, (argv, message)
            assert _files(out) == [], f"{argv} failed but wrote {_files(out)}: {message}"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_line_either_runs_or_exits_with_one_line(command):
    """Any argument list of any command exits 0, reaches the point where data are loaded or
    cases measured, or stops with one line, exit 2 and nothing written."""

    @settings(max_examples=40, deadline=None, database=None)
    @given(argv=_argv(command))
    def check(argv):
        _run_command(command, argv)

    check()


def test_flags_are_read_from_each_parser():
    """The generated argument lists use every command's real flags, and not the excluded."""
    assert {"--max-runs", "--grid", "--seeds", "--only"} <= set(_flags("reproduce"))
    assert "--workers" not in _flags("tune") and "--max-epochs" in _flags("tune")
    assert "--case" not in _flags("benchmark") and "--trials" in _flags("benchmark")
    assert "--readme" in _flags("report") and "--dataset" in _flags("baselines")
