"""Property-based checks of the space-file grammar: every entry written as TOML reads back as
written, and every entry that is not one of the grammar's forms is a one-line ConfigError."""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.space import FORMS, parse_entry

SMALL_INTS = st.integers(-50, 50)
FLOATS = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
POSITIVE_FLOATS = st.floats(1e-9, 1e3, allow_nan=False, allow_infinity=False)


def _text(number: int | float) -> str:
    """A number as a person writes it in a range: ``repr`` (``1e-05``, ``-0.5``, ``32``)."""
    return repr(number)


@st.composite
def ranges(draw) -> tuple[str, dict]:
    """A valid range string and the ``low``/``high``/``step``/``log`` it stands for."""
    kind = draw(st.sampled_from(["ints", "floats", "step", "log"]))
    if kind == "ints":
        low, high = sorted(draw(st.lists(SMALL_INTS, min_size=2, max_size=2, unique=True)))
        return f"{low}..{high}", {"low": low, "high": high, "step": None, "log": False}
    if kind == "floats":
        low, high = sorted(draw(st.lists(FLOATS, min_size=2, max_size=2, unique=True)))
        spaces = draw(st.sampled_from(["", " "]))
        text = f"{_text(low)}{spaces}..{spaces}{_text(high)}"
        return text, {"low": low, "high": high, "step": None, "log": False}
    if kind == "step":
        low, step, count = draw(SMALL_INTS), draw(st.integers(1, 8)), draw(st.integers(1, 6))
        high = low + step * count
        return f"{low}..{high} step {step}", {"low": low, "high": high, "step": step, "log": False}
    low, high = sorted(draw(st.lists(POSITIVE_FLOATS, min_size=2, max_size=2, unique=True)))
    return f"{_text(low)}..{_text(high)} log", {"low": low, "high": high, "step": None, "log": True}


def _entry(line: str):
    """The value of ``p = ...`` as TOML reads it."""
    return tomllib.loads(f"p = {line}\n")["p"]


@settings(max_examples=300, deadline=None)
@given(generated=ranges(), form=st.sampled_from(["string", "table"]))
def test_a_written_range_reads_back_as_written(generated, form):
    text, expected = generated
    line = f'"{text}"' if form == "string" else f'{{ range = "{text}" }}'
    param = parse_entry("p", _entry(line))
    held = {"low": param.low, "high": param.high, "step": param.step, "log": param.log}
    assert held == expected, (line, held)
    assert all(type(held[k]) is type(expected[k]) for k in ("low", "high"))  # 32 stays an int


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(SMALL_INTS, FLOATS, st.sampled_from(["relu", "tanh", "adam", "sgd"])),
        min_size=1,
        max_size=5,
        unique_by=repr,
    )
)
def test_a_written_choice_reads_back_as_written(values):
    line = "[" + ", ".join(f'"{v}"' if isinstance(v, str) else _text(v) for v in values) + "]"
    param = parse_entry("p", _entry(line))
    assert list(param.values) == values and param.default == values[0] and not param.is_range


def _swapped(text: str, expected: dict) -> str:
    low, high = _text(expected["high"]), _text(expected["low"])
    return f"{low}..{high}" + (" log" if expected["log"] else "")


# Each takes a valid range and returns text that is not one: the grammar, or the range's
# own checks, must refuse it.
MUTATIONS = {
    "three dots": lambda t, e: t.replace("..", "...", 1),
    "four dots": lambda t, e: t.replace("..", "....", 1),
    "no dots": lambda t, e: t.replace("..", " ", 1),
    "trailing word": lambda t, e: t + " fast",
    "trailing dot": lambda t, e: t + ".",
    "trailing comma": lambda t, e: t + ",",
    "glued word": lambda t, e: t + "x",
    "leading junk": lambda t, e: "~" + t,
    "step without a size": lambda t, e: t.split(" step")[0].split(" log")[0] + " step",
    "log before step": lambda t, e: t.split(" step")[0].split(" log")[0] + " log step 2",
    "log twice": lambda t, e: t.split(" step")[0].split(" log")[0] + " log log",
    "swapped ends": _swapped,
    "equal ends": lambda t, e: f"{_text(e['low'])}..{_text(e['low'])}",
    "no high end": lambda t, e: f"{_text(e['low'])}..",
    "word for an end": lambda t, e: f"small..{_text(e['high'])}",
    "leading dot": lambda t, e: f".5..{_text(e['high'])}" if e["high"] > 0.5 else "..1",
}


@settings(max_examples=400, deadline=None)
@given(
    generated=ranges(),
    mutation=st.sampled_from(sorted(MUTATIONS)),
    form=st.sampled_from(["string", "table"]),
)
def test_a_mutated_range_is_a_config_error(generated, mutation, form):
    text = MUTATIONS[mutation](*generated)
    entry = text if form == "string" else {"range": text}
    if form == "string" and ".." not in text:
        # without `..` the text is one value: its field must refuse it
        with pytest.raises(ConfigError) as info:
            DENSE.parse_space({"learning_rate": text})
    else:
        with pytest.raises(ConfigError) as info:
            parse_entry("p", entry)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["1e-4...1e-2 log", "32..512 step 32 x", "1..2 lg", "1 ..2.."])
def test_a_range_not_in_the_grammar_names_every_allowed_form(text):
    with pytest.raises(ConfigError) as info:
        parse_entry("learning_rate", text)
    message = str(info.value)
    assert f"{text!r} is not a range" in message and FORMS in message
    for form in (
        "'LOW..HIGH'",
        "'LOW..HIGH step S'",
        "'LOW..HIGH log'",
        "[A, B, ...]",
        "one value",
    ):
        assert form in message


@settings(max_examples=100, deadline=None)
@given(low=st.floats(1e-6, 1e-3), factor=st.floats(2, 1000))
def test_the_family_reads_a_generated_log_range_of_a_field_as_written(low, factor):
    """Through the reader a space file goes through: typed for ``learning_rate``."""
    high = low * factor
    space = DENSE.parse_space(_entry_table(f'learning_rate = "{_text(low)}..{_text(high)} log"'))
    param = space["learning_rate"]
    assert (param.low, param.high, param.log) == (low, high, True)
    with pytest.raises(ConfigError, match="is not a range"):
        DENSE.parse_space(_entry_table(f'learning_rate = "{_text(low)}...{_text(high)} log"'))


def _entry_table(line: str) -> dict:
    return tomllib.loads(line + "\n")
