"""A search space as written: the TOML entry of one parameter (see ``docs/spaces.md``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from keras_fcn.errors import ConfigError
from keras_fcn.params import Param

_RANGE = re.compile(
    r"^\s*(?P<low>\S+?)\s*\.\.\s*(?P<high>[^\s]+)"
    r"(?:\s+step\s+(?P<step>\S+))?(?:\s+(?P<log>log))?\s*$"
)


def _number(text: str, where: str) -> int | float:
    try:
        return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a number") from None


def parse_entry(name: str, entry: Any) -> Param:
    """One entry of a space as written in TOML or after ``--param NAME=``.

    Forms:
        - a list: a choice among its values (``[0.01, 0.001]``, ``[true, false]``);
        - ``"LOW..HIGH"``: a range (whole numbers: every one of them; otherwise a continuous
          range that samplers draw from), with ``step S`` for evenly spaced values and
          ``log`` for a log scale: ``"32..512 step 32"``, ``"1e-5..1e-2 log"``;
        - a table ``{values = [...], range = "...", default = ...}``, each key optional;
        - any other value: the parameter fixed to it.

    Values are as written; :meth:`keras_fcn.family.Family.parse_space` types them for their
    config field and checks each one against the config.
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
    where = f"parameter {name!r}"
    match = _RANGE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(
            f"{where}: range {text!r} is not LOW..HIGH [step S] [log], e.g. '32..512 step 32'"
        )
    span: dict[str, Any] = {
        "low": _number(match["low"], where),
        "high": _number(match["high"], where),
        "log": bool(match["log"]),
    }
    if match["step"]:
        span["step"] = _number(match["step"], where)
    return span
