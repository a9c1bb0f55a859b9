"""Settings by field name, as people type them: ``FIELD=VALUE`` text read into typed config
values and applied to the config that owns each field, and config values written back.

Field names are unique across the config classes (:mod:`keras_fcn.config`), so a setting
such as ``learning_rate=0.1`` (from ``--set``, a search space or a table column) finds its
class by name alone.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from keras_fcn.config import fail, field_names
from keras_fcn.errors import ConfigError

_UnionType = type(int | None)


def flag_value(value: Any) -> str:
    """A config value as ``--set`` takes it: lists joined by ``-``, booleans lower case,
    ``none`` for None."""
    if value is None or isinstance(value, bool):
        return str(value).lower()
    return str(dashed(value))


def dashed(value: Any) -> Any:
    """Layer sizes as people (and KerasTuner) write them: ``(512, 256)`` -> ``"512-256"``.

    Tuples and lists are joined by ``-``; other values are returned unchanged. :func:`coerce`
    reads the same form back.
    """
    if isinstance(value, tuple | list):
        return "-".join(map(str, value))
    return value


def from_dict(cls: type, values: Mapping[str, Any]) -> Any:
    """Make ``cls`` from a mapping, rejecting unknown fields with the list of known ones."""
    unknown = set(values) - set(field_names(cls))
    if unknown:
        fail(
            sorted(unknown)[0],
            values[sorted(unknown)[0]],
            f"unknown field of {cls.__name__}; known: {', '.join(field_names(cls))}",
        )
    return cls(**{k: coerce(cls, k, v) for k, v in values.items()})


_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _parse_scalar(kind: type, text: str, field: str) -> Any:
    try:
        if kind is bool:
            low = text.lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            fail(field, text, "must be true or false")
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        fail(field, text, f"not a valid {kind.__name__}")
    return text


def coerce(cls: type, field: str, value: Any) -> Any:
    """Turn a value typed by a person (a string) into the type ``cls.field`` declares.

    Non-string values are returned unchanged (the constructor checks them). Lists are given
    as ``512-256``, one value per layer (a comma separates choices, so ``512,256`` is an error
    that shows this form); ``none`` means None where a field allows it.
    """
    if not isinstance(value, str):
        return value
    hint = typing.get_type_hints(cls)[field]
    text = value.strip()
    kinds = (
        typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, _UnionType) else (hint,)
    )
    if type(None) in kinds and text.lower() in {"none", "null", ""}:
        return None
    kinds = tuple(k for k in kinds if k is not type(None))
    sequence = [k for k in kinds if typing.get_origin(k) is tuple]
    scalars = [k for k in kinds if typing.get_origin(k) is not tuple]
    inner = text.strip("[]() ")
    if sequence and "," in inner:
        # a comma separates choices (``--only``, space files), never the layers of one value
        fixed = "-".join(p.strip() for p in inner.split(",") if p.strip())
        fail(field, value, f"write one value per layer joined by '-', e.g. {field}={fixed}")
    # lists: "512-256" (a dash not part of an exponent such as 1e-5)
    dashed = re.search(r"(?<![eE])-", inner.lstrip("+-")) is not None
    if sequence and (dashed or not scalars):
        item = typing.get_args(sequence[0])[0]
        parts = [p for p in re.split(r"(?<![eE])-", inner) if p]
        return tuple(_parse_scalar(item, p, field) for p in parts)
    if set(scalars) == {float, int}:
        is_int = re.fullmatch(r"[+-]?\d+", text) is not None
        return _parse_scalar(int if is_int else float, text, field)
    return _parse_scalar(scalars[0], text, field)


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``FIELD=VALUE`` as typed after ``--set``."""
    field, sep, value = text.partition("=")
    if not sep or not field.strip():
        raise ConfigError(f"--set {text!r}: expected FIELD=VALUE, e.g. learning_rate=0.1")
    return field.strip(), value.strip()


def owner(field: str, classes: Iterable[type]) -> type:
    """The config class among ``classes`` that has ``field``."""
    classes = list(classes)
    for cls in classes:
        if field in field_names(cls):
            return cls
    known = sorted({n for cls in classes for n in field_names(cls)})
    raise ConfigError(f"unknown field {field!r}; known fields: {', '.join(known)}")


def apply(configs: Iterable[Any], settings: Mapping[str, Any]) -> tuple[Any, ...]:
    """Return ``configs`` with each setting applied to the config that owns its field.

    Values may be strings (coerced by the field's type) or already typed.
    """
    configs = list(configs)
    classes = [type(c) for c in configs]
    changes: dict[type, dict[str, Any]] = {cls: {} for cls in classes}
    for field, value in settings.items():
        cls = owner(field, classes)
        changes[cls][field] = coerce(cls, field, value)
    return tuple(dataclasses.replace(c, **changes[type(c)]) for c in configs)
