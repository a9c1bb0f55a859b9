"""A space as written, read against a family's configs: each entry typed for its field and
every value checked before anything trains.

The grammar of one entry is :mod:`keras_fcn.space.syntax`; here an entry becomes a
:class:`~keras_fcn.space.Param` of the family's field (a range's ends as the field's numbers,
its default the family's value), a ``[layers]`` table becomes :class:`~keras_fcn.space.Layers`,
and each value must make a valid run. An entry added to a file's (:func:`with_entry`, as
``--param`` does) and the values that narrow a space (:func:`typed_values`, as ``--fix`` and
``--only`` do) are typed here too. A family is anything with the attributes and methods of
:class:`keras_fcn.family.Family` used here (``fields``, ``run_config``, ``layer_fields``,
``fixed_depth``, ``name``, ``space_file``).
"""

from __future__ import annotations

import tomllib
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_fcn import config as cfg
from keras_fcn.errors import ConfigError
from keras_fcn.settings import coerce, owner
from keras_fcn.space.params import LayerParam, Layers, Param
from keras_fcn.space.space import Space
from keras_fcn.space.syntax import parse_entry

if TYPE_CHECKING:
    from keras_fcn.family import Family


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict, or a one-line :class:`ConfigError`."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read the space {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def read_space(family: Family, path: str | Path) -> Space:
    """A space from a TOML file, typed and checked against ``family``'s configs.

    Raises:
        ConfigError: the file cannot be read or parsed, or a value is invalid (the
            message names the file).
    """
    path = Path(path)
    return parse_space(family, read_toml(path), source=str(path))


def parse_space(family: Family, mapping: Mapping[str, Any], source: str = "space") -> Space:
    """A space from its entries (a parsed TOML file, ``--param`` values), each typed for
    its config field and checked before anything trains.

    A parameter's default is the family's value when the space allows it. Every value
    must be valid for its field with the others at their defaults, or with one of them
    at another of its values (``padding="valid"`` needs a smaller kernel, say).

    Raises:
        ConfigError: an unknown field, an empty range, a step that does not divide it,
            a value a config rejects, or layers this family cannot search; the message
            starts with ``source``.
    """
    try:
        params = [_field_param(family, name, e) for name, e in mapping.items() if name != "layers"]
        layers = _parse_layers(family, mapping["layers"]) if "layers" in mapping else None
        space = Space(tuple(params), layers)
        _check_values(family, space)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return space


def with_entry(family: Family, mapping: Mapping[str, Any], name: str, entry: Any) -> dict:
    """``mapping`` (a space as read from TOML) with one entry added or replaced, as a line
    of the file would give it.

    Args:
        family: the family the space is for.
        mapping: the space's entries; left unchanged.
        name: a field, or ``layers.NAME`` for a value of each layer: then the family's
            whole-network entry of that field gives way (``layers.units`` drops ``hidden``).
        entry: the entry as :func:`keras_fcn.space.syntax.parse_entry` reads it.

    Raises:
        ConfigError: a name that is neither ``FIELD`` nor ``layers.NAME``.
    """
    table, _, key = name.rpartition(".")
    if table not in ("", "layers"):
        raise ConfigError("a name is FIELD or layers.NAME")
    out = dict(mapping)
    if not table:
        out[key] = entry
        return out
    out.pop(family.layer_fields.get(key, ""), None)  # searched per layer now
    layers = out.get("layers", {})
    # anything but a table is left for parse_space to refuse with its own message
    out["layers"] = {**layers, key: entry} if isinstance(layers, Mapping) else layers
    return out


def typed_values(
    family: Family, name: str, texts: Sequence[str], source: str | None = None
) -> list[Any]:
    """Values written as text (``--fix``, ``--only``) typed for ``name`` of ``family``'s
    space: a config field as its config declares it, ``depth`` and a per-layer name
    (``units``) as numbers.

    Args:
        family: the family whose fields and layers are named.
        name: a config field, ``depth`` or a per-layer name.
        texts: the values as written.
        source: the values as the user wrote them, named by the error of a layer's value
            that is not a number (default ``NAME=V1,V2``).

    Raises:
        ConfigError: an unknown name (with the known fields), a value its field rejects, or
            a layer's value that is not a number.
    """
    is_field = any(name in cfg.field_names(cls) for cls in family.fields())
    if not is_field and (name == "depth" or name in family.layer_fields):
        try:
            return [int(t) if t.strip().lstrip("+-").isdigit() else float(t) for t in texts]
        except ValueError:
            where = f"{name}={','.join(texts)}" if source is None else source
            raise ConfigError(f"{where!r}: {name} takes numbers") from None
    cls = owner(name, family.fields())  # an unknown name, with the list of known fields
    return [coerce(cls, name, text) for text in texts]


_SPACES: dict[str, Space] = {}


def family_space(family: Family) -> Space:
    """The family's own space, read from its ``space_file`` once per process."""
    key = f"{family.name}:{family.space_file}"
    if key not in _SPACES:
        _SPACES[key] = read_space(family, family.space_file)
    return _SPACES[key]


def _numeric_kind(cls: type, field: str) -> type | None:
    """``int`` or ``float`` for a field (or the items of a tuple field), else None."""
    hint = typing.get_type_hints(cls)[field]
    kinds = list(typing.get_args(hint)) or [hint]
    for kind in list(kinds):
        if typing.get_origin(kind) is tuple:
            kinds.append(typing.get_args(kind)[0])
    if float in kinds:
        return float
    return int if int in kinds else None


def _make_param(
    name: str, entry: Any, kind: type | None, typed: Callable[[Any], Any], default: Any
) -> Param:
    """One entry of a space, its values typed by ``typed`` (a range's ends by ``kind``), its
    default the family's ``default`` unless the entry gives one or does not allow it."""
    raw = parse_entry(name, entry)  # the grammar, ranges and steps
    table = entry if isinstance(entry, Mapping) else {}
    span: dict[str, Any] = {}
    listed = raw.values
    if raw.is_range:
        ends = [raw.low, raw.high, *([] if raw.step is None else [raw.step])]
        if kind is None:
            raise ConfigError(f"{name}: a range needs a numeric field")
        if kind is int and not all(isinstance(v, int) for v in ends):
            raise ConfigError(f"{name} takes whole numbers: write its range with whole numbers")
        step = None if raw.step is None else kind(raw.step)
        span = dict(low=kind(raw.low), high=kind(raw.high), log=raw.log, step=step)
        listed = table.get("values", ())  # the others are derived from the range again
    values = tuple(typed(v) for v in listed)
    if "default" in table:
        return Param(name, values, typed(table["default"]), **span)
    param = Param(name, values, None, **span)
    if default in param.values or param.within(default):
        return Param(name, values, default, **span)
    return param


def _field_param(family: Family, name: str, entry: Any) -> Param:
    cls = owner(name, family.fields())  # an unknown field, with the list of known ones

    def typed(value: Any) -> Any:
        if isinstance(value, str):
            return coerce(cls, name, value)
        return tuple(value) if isinstance(value, list) else value

    default = family.run_config().values()[name]
    return _make_param(name, entry, _numeric_kind(cls, name), typed, default)


def _check_values(family: Family, space: Space) -> None:
    """Every value of every parameter is valid with the others at their defaults, or with
    one other parameter at another of its values."""
    base = space.defaults()
    neighbours = [base] + [
        {**base, q.name: v} for q in space.params for v in q.values if v != q.default
    ]
    for p in space.params:
        for value in [*p.values, *((p.low, p.high) if p.is_range else ())]:
            error = None
            for settings in neighbours:
                try:
                    family.run_config({**settings, p.name: value})
                    break
                except ConfigError as exc:
                    error = error or exc
            else:
                raise error


def _parse_layers(family: Family, table: Any) -> Layers:
    if not isinstance(table, Mapping):
        raise ConfigError("layers must be a table: [layers] with depth and per-layer entries")
    if not family.layer_fields:
        raise ConfigError(f"the {family.name} family has no layers to search")
    known = [*(["depth"] if family.fixed_depth is None else []), *family.layer_fields]
    unknown = [name for name in table if name not in known]
    if unknown:
        raise ConfigError(
            f"layers.{unknown[0]} is unknown: the {family.name} family's layers take "
            + ", ".join(known)
        )
    default_run = family.run_config().values()
    first_field = next(iter(family.layer_fields.values()))
    if family.fixed_depth is not None:
        depth = Param("depth", (family.fixed_depth,), family.fixed_depth)
    else:
        default = len(default_run[first_field])
        depth = _make_param("depth", table.get("depth", default), int, int, default)
    per_layer = []
    for name, field in family.layer_fields.items():
        if name in table:
            kind = _numeric_kind(owner(field, family.fields()), field)
            value = default_run[field]
            own = value if isinstance(value, tuple) else (value,)  # one value, or one per layer
            param = _make_param(name, table[name], kind, lambda v, k=kind: k(v), own[0])
            per_layer.append(LayerParam(param, field, own))
    layers = Layers(depth, tuple(per_layer))
    # each value of a layer, in every layer of the shallowest network the space holds
    size = family.fixed_depth or 1
    defaults = {lp.field: (lp.param.default,) * size for lp in layers.per_layer}
    for lp in layers.per_layer:
        p = lp.param
        for value in [*p.values, *((p.low, p.high) if p.is_range else ())]:
            family.run_config({**defaults, lp.field: (value,) * size})
    return layers
