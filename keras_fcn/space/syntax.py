"""A search space as written: the TOML entry of one parameter (see ``docs/spaces.md``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from keras_fcn.errors import ConfigError
from keras_fcn.space.params import Param

# A number as a range writes it: digits first (``0.5``, not ``.5``), so that a stray dot
# cannot become part of a number ("1e-4...1e-2" is not 1e-4 to .1e-2).
_NUMBER = r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
# The whole text must match: anything left over is a mistake, never ignored.
_RANGE = re.compile(
    rf"\s*(?P<low>{_NUMBER})\s*\.\.\s*(?P<high>{_NUMBER})"
    rf"(?:\s+step\s+(?P<step>{_NUMBER}))?(?:\s+(?P<log>log))?\s*"
)
FORMS = (
    "a range 'LOW..HIGH' (both ends included), 'LOW..HIGH step S' or 'LOW..HIGH log', "
    "with numbers such as 32, -1, 0.5 or 1e-4 ('32..512 step 32', '1e-5..1e-2 log'); "
    "a list of values [A, B, ...] to choose among; or one value to fix it"
)


def _number(text: str) -> int | float:
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)


def parse_entry(name: str, entry: Any) -> Param:
    """One entry of a space as written in TOML or after ``--param NAME=``.

    Forms:
        - a list: a choice among its values (``[0.01, 0.001]``, ``[true, false]``);
        - ``"LOW..HIGH"``: a range (whole numbers: every one of them; otherwise a continuous
          range that samplers draw from), with ``step S`` for evenly spaced values or
          ``log`` for a log scale: ``"32..512 step 32"``, ``"1e-5..1e-2 log"``; a text
          holding ``..`` must be such a range in full (see :data:`FORMS`);
        - a table ``{values = [...], range = "...", default = ...}``, each key optional;
        - any other value: the parameter fixed to it.

    Values are as written; :meth:`keras_fcn.family.Family.parse_space` types them for their
    config field and checks each one against the config.

    Raises:
        ConfigError: a range that is not written in full as one of :data:`FORMS` (an extra
            dot, trailing words), an empty one, a step that does not divide it, a table with
            an unknown key.
    """
    if isinstance(entry, Mapping):
        unknown = set(entry) - {"values", "range", "default"}
        if unknown:
            raise ConfigError(
                f"parameter {name!r}: unknown key {sorted(unknown)[0]!r}; use values, range, default"
            )
        values = entry.get("values", ())
        if not isinstance(values, list | tuple):
            raise ConfigError(f"parameter {name!r}: values must be a list, got {values!r}")
        span = _parse_range(name, entry["range"]) if "range" in entry else {}
        return Param(name, tuple(values), entry.get("default"), **span)
    if isinstance(entry, list | tuple):
        return Param(name, tuple(entry))
    if isinstance(entry, str) and ".." in entry:
        return Param(name, **_parse_range(name, entry))
    return Param(name, (entry,), entry)


def _parse_range(name: str, text: Any) -> dict[str, Any]:
    match = _RANGE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(f"parameter {name!r}: {text!r} is not a range; write {FORMS}")
    span: dict[str, Any] = {
        "low": _number(match["low"]),
        "high": _number(match["high"]),
        "log": bool(match["log"]),
    }
    if match["step"]:
        span["step"] = _number(match["step"])
    return span
