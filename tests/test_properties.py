"""Property-based checks: whatever a person types, it works or fails with a ConfigError."""

from __future__ import annotations

import contextlib
import dataclasses
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from keras_fcn import config as cfg
from keras_fcn.config import DataConfig, DenseConfig, TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.space import Param, Space

CLASSES = (DenseConfig, TrainConfig, DataConfig)
FIELDS = [(cls, f.name) for cls in CLASSES for f in dataclasses.fields(cls)]
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.lists(st.integers(-5, 2000), max_size=4), st.lists(st.floats(-1, 2), max_size=4),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(FIELDS), value=ANY_VALUE)
def test_constructors_accept_or_raise_config_error(field, value):
    cls, name = field
    try:
        config = cls(**{name: value})
    except ConfigError as exc:
        assert name in str(exc) and "\n" not in str(exc)
    else:
        assert dataclasses.asdict(config)[name] is not None or value is None


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40))
def test_set_parser_accepts_or_raises_config_error(text):
    try:
        field, value = cfg.parse_assignment(text)
        DENSE.run_config({field: value})
    except ConfigError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(
    field=st.sampled_from(FIELDS),
    text=st.text(alphabet="0123456789.,-e[]() noneTrufals", max_size=12),
)
def test_typed_values_for_every_field(field, text):
    cls, name = field
    try:
        DENSE.run_config({name: text})
    except ConfigError as exc:
        assert name in str(exc)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b"])), max_size=4),
    default=st.one_of(st.integers(-3, 3), st.just("a")),
    low=st.one_of(st.none(), st.floats(-2, 2)),
    high=st.one_of(st.none(), st.floats(-2, 2)),
    log=st.booleans(),
)
def test_space_declarations_accept_or_raise_config_error(values, default, low, high, log):
    try:
        space = Space((Param("p", tuple(values), default, low=low, high=high, log=log),))
    except ConfigError:
        return
    assert len(space.grid()) == len(set(map(repr, values)))
    assert space.sweep()[0] == {"p": default}


FLAGS = [
    "--dataset",
    "--epochs",
    "--seed",
    "--set",
    "--quick",
    "--verbose",
    "--data-dir",
    "--bogus",
]
VALUES = st.one_of(
    st.sampled_from(
        [
            "mnist",
            "fashion_mnist",
            "0",
            "-1",
            "3",
            "x",
            "dropout=2",
            "hidden=64",
            "lr=1",
            "optimizer=adam",
            "",
        ]
    ),
    st.text(max_size=8),
)


@settings(max_examples=60, deadline=None)
@given(argv=st.lists(st.one_of(st.sampled_from(FLAGS), VALUES), max_size=6))
def test_command_line_either_runs_or_exits_with_one_line(argv, tmp_path_factory):
    """Any argument list reaches training with a valid config, or stops with one line and exit 2."""
    import pytest

    from experiments import fashion_dense
    from experiments._cli import run_main
    from keras_fcn import single

    reached = []
    original = single.run_and_report
    single.run_and_report = lambda family, run, **kwargs: reached.append(run)
    try:
        out = tmp_path_factory.mktemp("out")
        with pytest.raises(SystemExit) as info, contextlib.redirect_stderr(io.StringIO()) as err:
            run_main(fashion_dense.main, [*argv, "--out", str(out)])
    finally:
        single.run_and_report = original
    assert info.value.code in (0, 2)
    assert (info.value.code == 0) == bool(reached)
    if info.value.code == 2:
        assert err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()
