"""Search spaces declared once, as data, and everything derived from them.

A :class:`Space` is a list of :class:`Param` (a config field, its values or range, its
default) and, optionally, :class:`Layers`: a number of layers searched with the width (or
filters, or dropout) of each layer present. From that one declaration come the full grid,
the one-factor-at-a-time sweep of the published studies' tables, narrowing from the
command line, and the mapping onto KerasTuner's ``hp`` (conditional hyperparameters for the
layers). A field's name is also its ``hp`` name, its column in results tables and its label
on plots; a layer's value is named ``NAME_I`` (``units_1``, ``units_2``, ...).

A space is written as TOML (see :func:`parse_entry` and ``docs/spaces.md``)::

    learning_rate = [0.01, 0.001, 0.0001]     # a choice
    l2 = "1e-6..1e-3 log"                     # a float range, sampled on a log scale
    [layers]
    depth = "1..4"                            # 1, 2, 3 or 4 hidden layers
    units = "32..512 step 32"                 # the width of each layer present
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from keras_fcn.config import dashed
from keras_fcn.errors import ConfigError

_RANGE = re.compile(
    r"^\s*(?P<low>\S+?)\s*\.\.\s*(?P<high>[^\s]+)"
    r"(?:\s+step\s+(?P<step>\S+))?(?:\s+(?P<log>log))?\s*$"
)


def _number(text: str, where: str) -> int | float:
    try:
        return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a number") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclasses.dataclass(frozen=True)
class Param:
    """One hyperparameter.

    Attributes:
        name: the config field it sets (or, inside :class:`Layers`, the per-layer name).
        values: the values a grid, a sweep or a ``Choice`` tries, in order; derived from
            the range when it has a ``step`` (or is a range of whole numbers); empty for a
            continuous range, which only samplers can search.
        default: the value used when this parameter is not varied.
        low: lower end of a range; ``None`` for choices only.
        high: upper end of that range (included).
        log: sample the range on a log scale.
        step: the step of a range (whole-number ranges default to 1).
    """

    name: str
    values: tuple[Any, ...] = ()
    default: Any = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        where = f"parameter {self.name!r}"
        if not self.name or not self.name.isidentifier():
            raise ConfigError(f"parameter name {self.name!r} is invalid: must be a field name")
        values = tuple(tuple(v) if isinstance(v, list) else v for v in self.values)
        if (self.low is None) != (self.high is None):
            raise ConfigError(f"{where}: give both ends of its range, or neither")
        if self.low is not None:
            self._check_range(where)
            if not values and (self._whole() or self.step is not None):
                values = self._steps()
        elif self.step is not None:
            raise ConfigError(f"{where}: a step needs a range LOW..HIGH")
        if not values and self.low is None:
            raise ConfigError(f"{where} has no values: give at least one")
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"{where} lists a value twice: {values!r}")
        default = tuple(self.default) if isinstance(self.default, list) else self.default
        if default is None:
            default = values[0] if values else self.low
        if default not in values and not self.within(default):
            raise ConfigError(f"{where}: default {default!r} is not among its values {values!r}")
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "default", default)

    def _check_range(self, where: str) -> None:
        low, high, step = self.low, self.high, self.step
        if not (_is_number(low) and _is_number(high) and math.isfinite(low) and low < high):
            raise ConfigError(f"{where}: range {low}..{high} is empty")
        if not math.isfinite(high):
            raise ConfigError(f"{where}: range {low}..{high} is not finite")
        if self.log and low <= 0:
            raise ConfigError(f"{where}: a log range needs low > 0, got {low}")
        if step is None:
            return
        if self.log:
            raise ConfigError(f"{where}: a log range takes no step; list its values instead")
        if not (_is_number(step) and math.isfinite(step) and step > 0):
            raise ConfigError(f"{where}: step {step!r} must be a number > 0")
        count = (high - low) / step
        if abs(count - round(count)) > 1e-9 * max(1.0, count):
            raise ConfigError(f"{where}: step {step} does not divide the range {low}..{high}")

    def _whole(self) -> bool:
        ends = (self.low, self.high, self.step if self.step is not None else 1)
        return all(isinstance(v, int) and not isinstance(v, bool) for v in ends)

    def _steps(self) -> tuple[Any, ...]:
        step = self.step if self.step is not None else 1
        count = int(round((self.high - self.low) / step))
        if self._whole():
            return tuple(self.low + i * step for i in range(count + 1))
        return tuple(float(f"{self.low + i * step:.12g}") for i in range(count + 1))

    @property
    def is_range(self) -> bool:
        """Whether samplers draw from a range instead of the listed values."""
        return self.low is not None

    @property
    def is_integer(self) -> bool:
        """Whether a range holds whole numbers only (KerasTuner's ``Int``)."""
        return self.is_range and self._whole() and isinstance(self.default, int)

    @property
    def searched(self) -> bool:
        """Whether the parameter takes more than one value."""
        return len(self.values) > 1 or self.is_range

    def within(self, value: Any) -> bool:
        """Whether ``value`` lies in this parameter's range (on one of its steps, if any)."""
        if not (self.is_range and _is_number(value) and self.low <= value <= self.high):
            return False
        if self.step is None:
            return True
        steps = (value - self.low) / self.step
        return abs(steps - round(steps)) <= 1e-9 * max(1.0, steps)

    def grid_values(self) -> tuple[Any, ...]:
        """The values a grid or a sweep tries.

        Raises:
            ConfigError: a continuous range without a step: only samplers can search it.
        """
        if not self.values:
            raise ConfigError(
                f"parameter {self.name!r}: a grid needs values; give the range "
                f"{self.low}..{self.high} a step, or list its values"
            )
        return self.values

    def on_edge(self, value: Any) -> bool:
        """Whether ``value`` is at an end of this parameter's values or range.

        A best value on the edge suggests the space should be widened.
        """
        if self.is_range:
            # within the outer tenth of the range, on the scale it is sampled on
            scale = math.log if self.log else float
            position = (scale(value) - scale(self.low)) / (scale(self.high) - scale(self.low))
            return position < 0.1 or position > 0.9
        if len(self.values) < 3 or not all(_is_number(v) for v in self.values):
            return False
        ordered = sorted(self.values)
        return value in (ordered[0], ordered[-1])

    def to_dict(self) -> dict[str, Any]:
        """The parameter as JSON-ready data."""
        entry: dict[str, Any] = {
            "values": [encode_value(v) for v in self.values],
            "default": encode_value(self.default),
        }
        if self.is_range:
            entry.update(low=self.low, high=self.high, log=self.log, step=self.step)
        return entry

    def declare(self, hp: Any, name: str, use_ranges: bool = True, default: Any = None) -> Any:
        """Declare this parameter on a KerasTuner ``HyperParameters`` as ``name``; return its
        value (decoded: ``"512-256"`` comes back as ``(512, 256)``). ``default`` replaces the
        parameter's own (a layer's default of its own)."""
        if default is not None:
            return dataclasses.replace(self, default=default).declare(hp, name, use_ranges)
        if len(self.values) == 1 and not self.is_range:
            return self.values[0]
        if self.is_range and (use_ranges or not self.values):
            sampling = "log" if self.log else "linear"
            if self.is_integer:
                step = int(self.step) if self.step is not None else None
                return hp.Int(name, self.low, self.high, step=step, sampling=sampling,
                              default=self.default)  # fmt: skip
            return hp.Float(name, float(self.low), float(self.high), step=self.step,
                            sampling=sampling, default=float(self.default))  # fmt: skip
        encoded = [encode_value(v) for v in self.values]
        chosen = hp.Choice(name, encoded, default=encode_value(self.default), ordered=False)
        # None: declared under a condition that does not hold (a layer beyond the depth)
        return None if chosen is None else self.values[encoded.index(chosen)]


@dataclasses.dataclass(frozen=True)
class LayerParam:
    """A value searched for each layer: ``units`` of every hidden layer, say.

    Attributes:
        param: the values or range of one layer's value (its name is the per-layer name).
        field: the config field holding one value per layer (``hidden`` for ``units``).
        defaults: the default of each layer, input side first, where it differs from
            ``param.default`` (the family's own network: 512 then 256 units, say).
    """

    param: Param
    field: str
    defaults: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        allowed = tuple(
            d if d in self.param.values or self.param.within(d) else self.param.default
            for d in self.defaults
        )
        object.__setattr__(self, "defaults", allowed)

    @property
    def name(self) -> str:
        return self.param.name

    def default(self, layer: int) -> Any:
        """The default of layer ``layer`` (from 1)."""
        return self.defaults[layer - 1] if layer <= len(self.defaults) else self.param.default


@dataclasses.dataclass(frozen=True)
class Layers:
    """A number of layers and a value of each layer present.

    Attributes:
        depth: the number of layers (a :class:`Param` of whole numbers >= 1).
        per_layer: what each layer takes, e.g. its units and its dropout.
    """

    depth: Param
    per_layer: tuple[LayerParam, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "per_layer", tuple(self.per_layer))
        depths = self.depth.grid_values()
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in depths):
            raise ConfigError(f"layers: depth must be whole numbers >= 1, got {depths!r}")
        if not self.per_layer:
            raise ConfigError("layers: name what each layer takes, e.g. units = [64, 128]")

    @property
    def max_depth(self) -> int:
        return max(self.depth.grid_values())

    def hp_names(self) -> list[str]:
        """``depth``, then ``NAME_I`` for every layer that may be present."""
        return ["depth"] + [
            f"{lp.name}_{i}" for i in range(1, self.max_depth + 1) for lp in self.per_layer
        ]

    def to_config(self, point: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
        """The config fields of one setting: ``{"hidden": (units_1, ..., units_depth)}``."""
        depth = point.get("depth", self.depth.default)
        return {
            lp.field: tuple(point.get(f"{lp.name}_{i}", lp.default(i)) for i in range(1, depth + 1))
            for lp in self.per_layer
        }  # fmt: skip

    def points(self, depths: Iterable[int]) -> list[dict[str, Any]]:
        """Every setting of the layers for each depth, per-layer values varying fastest."""
        out = []
        for depth in depths:
            names = [f"{lp.name}_{i}" for i in range(1, depth + 1) for lp in self.per_layer]
            choices = [lp.param.grid_values() for _ in range(depth) for lp in self.per_layer]
            for combo in itertools.product(*choices):
                out.append({"depth": depth, **dict(zip(names, combo, strict=True))})
        return out

    def defaults(self, depth: int | None = None) -> dict[str, Any]:
        depth = self.depth.default if depth is None else depth
        point: dict[str, Any] = {"depth": depth}
        for i in range(1, depth + 1):
            point.update({f"{lp.name}_{i}": lp.default(i) for lp in self.per_layer})
        return point

    def param_of(self, hp_name: str) -> Param | None:
        """The parameter behind ``depth`` or ``NAME_I``."""
        if hp_name == "depth":
            return self.depth
        base, _, index = hp_name.rpartition("_")
        if index.isdigit():
            for lp in self.per_layer:
                if lp.name == base:
                    return lp.param
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth.to_dict(),
            **{lp.name: {**lp.param.to_dict(), "field": lp.field} for lp in self.per_layer},
        }


@dataclasses.dataclass(frozen=True)
class Space:
    """An ordered set of parameters over config fields, and optionally searched layers."""

    params: tuple[Param, ...]
    layers: Layers | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ConfigError(f"search space names a parameter twice: {names}")
        if self.layers is not None:
            clash = {lp.field for lp in self.layers.per_layer} & set(names)
            if clash:
                field = sorted(clash)[0]
                raise ConfigError(
                    f"parameter {field!r} is set by [layers] too: remove one of the two"
                )

    @property
    def names(self) -> tuple[str, ...]:
        """What a user may name: each parameter, and ``depth`` and the per-layer names."""
        layer_names = () if self.layers is None else (
            "depth", *(lp.name for lp in self.layers.per_layer)
        )  # fmt: skip
        return tuple(p.name for p in self.params) + layer_names

    def hp_names(self) -> list[str]:
        """The names a setting may hold: each parameter, then ``depth`` and ``NAME_I``."""
        layers = self.layers.hp_names() if self.layers else []
        return [p.name for p in self.params] + layers

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        if self.layers is not None:
            param = self.layers.param_of(name)
            if param is None:
                param = next((lp.param for lp in self.layers.per_layer if lp.name == name), None)
            if param is not None:
                return param
        raise ConfigError(f"unknown parameter {name!r}; this space has: {', '.join(self.names)}")

    def searched(self) -> list[str]:
        """The names of a setting that take more than one value (the columns worth plotting)."""
        return [name for name in self.hp_names() if self[name].searched]

    def to_config(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """A setting (``depth``, ``units_1``, ...) as config fields (``hidden``, ...)."""
        flat = {k: v for k, v in point.items() if k in {p.name for p in self.params}}
        if self.layers is not None:
            flat.update(self.layers.to_config(point))
        return flat

    def default_point(self) -> dict[str, Any]:
        point = {p.name: p.default for p in self.params}
        if self.layers is not None:
            point.update(self.layers.defaults())
        return point

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default, as config fields."""
        return self.to_config(self.default_point())

    def points(self) -> list[dict[str, Any]]:
        """Every setting of the grid (``depth`` and ``NAME_I`` for layers), the last
        parameter varying fastest, the layers after the other parameters."""
        flat = [
            dict(zip([p.name for p in self.params], combo, strict=True))
            for combo in itertools.product(*(p.grid_values() for p in self.params))
        ]
        if self.layers is None:
            return flat
        layers = self.layers.points(self.layers.depth.grid_values())
        return [{**f, **layer} for f in flat for layer in layers]

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of values, as config fields."""
        return [self.to_config(point) for point in self.points()]

    def sweep(self) -> list[dict[str, Any]]:
        """The defaults, then each parameter's other values with the rest at their defaults.

        A space with factors of 3 and 4 values gives 1 + 2 + 3 settings. Layers vary their
        depth, then each per-layer value of each layer of the default depth.
        """
        base = self.default_point()
        points = [dict(base)]
        for p in self.params:
            points += [{**base, p.name: v} for v in p.grid_values() if v != p.default]
        if self.layers is not None:
            flat = {p.name: p.default for p in self.params}
            for depth in self.layers.depth.grid_values():
                if depth != self.layers.depth.default:
                    points.append({**flat, **self.layers.defaults(depth)})
            for name, default in self.layers.defaults().items():
                param = self.layers.param_of(name)
                if name != "depth":
                    points += [{**base, name: v} for v in param.grid_values() if v != default]
        return [self.to_config(point) for point in points]

    def size(self) -> int:
        """Number of settings in the full grid."""
        flat = math.prod(len(p.grid_values()) for p in self.params)
        if self.layers is None:
            return flat
        per_layer = math.prod(len(lp.param.grid_values()) for lp in self.layers.per_layer)
        return flat * sum(per_layer**d for d in self.layers.depth.grid_values())

    def select(self, names: Iterable[str]) -> Space:
        """The sub-space of the named parameters, in this space's order (naming ``depth`` or
        a per-layer name keeps the layers)."""
        wanted = list(names)
        for name in wanted:
            self[name]  # raises with the list of known names
        keep_layers = self.layers is not None and bool(set(wanted) - {p.name for p in self.params})
        return Space(
            tuple(p for p in self.params if p.name in wanted), self.layers if keep_layers else None
        )

    def without(self, *names: str) -> Space:
        """The space less the named parameters (they keep the base run's values)."""
        return Space(tuple(p for p in self.params if p.name not in names), self.layers)

    def narrow(
        self,
        fixed: Mapping[str, Any] | None = None,
        choices: Mapping[str, Sequence[Any]] | None = None,
        accept: Callable[[str, Any], bool] | None = None,
    ) -> Space:
        """Fix some parameters to one value and restrict others to a few values.

        Args:
            fixed: name -> the only value.
            choices: name -> the values to keep: declared values, values inside a declared
                range, or any value ``accept`` allows.
            accept: ``(name, value) -> bool``: whether a value outside the declared ones is
                still valid for the field (the family's configs decide).

        Raises:
            ConfigError: an unknown name, a parameter both fixed and restricted, or a value
                outside what the space declares and ``accept`` allows.
        """
        fixed = dict(fixed or {})
        choices = {k: tuple(v) for k, v in (choices or {}).items()}
        both = set(fixed) & set(choices)
        if both:
            raise ConfigError(
                f"parameter {sorted(both)[0]!r} is both fixed and restricted: choose one"
            )
        wanted = {**{k: (v,) for k, v in fixed.items()}, **choices}
        for name, values in wanted.items():
            if name not in self.names:
                raise ConfigError(
                    f"unknown parameter {name!r}; this space has: {', '.join(self.names)}"
                )
            p = self[name]
            if not values:
                raise ConfigError(f"parameter {name!r} restricted to no values: give at least one")
            for value in values:
                declared = value in p.values or p.within(value)
                if not declared and not (accept and name in [q.name for q in self.params]
                                         and accept(name, value)):  # fmt: skip
                    raise ConfigError(
                        f"{name}={value!r} is outside the space: allowed {_describe(p)}"
                    )
        params = [
            Param(p.name, wanted[p.name], p.default if p.default in wanted[p.name] else None)
            if p.name in wanted
            else p
            for p in self.params
        ]
        layers = self.layers
        if layers is not None:
            depth = layers.depth
            if "depth" in wanted:
                values = wanted["depth"]
                depth = Param("depth", values, depth.default if depth.default in values else None)
            per_layer = tuple(
                LayerParam(Param(lp.name, wanted[lp.name],
                                 lp.param.default if lp.param.default in wanted[lp.name] else None),
                           lp.field, lp.defaults)
                if lp.name in wanted else lp
                for lp in layers.per_layer
            )  # fmt: skip
            layers = Layers(depth, per_layer)
        return Space(tuple(params), layers)

    def to_hp(self, hp: Any, *, use_ranges: bool = True) -> dict[str, Any]:
        """Declare every parameter on a KerasTuner ``HyperParameters`` and read its value.

        Values KerasTuner cannot hold (tuples such as hidden layer sizes) are passed as
        strings and decoded back. Each layer's values are declared under the depth
        (``hp.conditional_scope``), so a layer that is absent has no value.

        Args:
            hp: a ``keras_tuner.HyperParameters``.
            use_ranges: draw ``Float``/``Int`` from declared ranges; ``False`` (the grid
                tuner) uses the listed values only.

        Returns:
            name -> value as config fields, ready for :func:`keras_fcn.config.apply`.
        """
        point = {p.name: p.declare(hp, p.name, use_ranges) for p in self.params}
        if self.layers is not None:
            depths = self.layers.depth.grid_values()
            depth = self.layers.depth.declare(hp, "depth", use_ranges)
            point["depth"] = depth
            for i in range(1, self.layers.max_depth + 1):
                present = [d for d in depths if d >= i]
                for lp in self.layers.per_layer:
                    name = f"{lp.name}_{i}"
                    if len(depths) == 1:
                        point[name] = lp.param.declare(hp, name, use_ranges, lp.default(i))
                        continue
                    with hp.conditional_scope("depth", present):
                        value = lp.param.declare(hp, name, use_ranges, lp.default(i))
                    if i <= depth:
                        point[name] = value
        return self.to_config(point)

    def to_dict(self) -> dict[str, Any]:
        """The space as JSON-ready data: each parameter's values, default and range, in order.

        Two spaces with the same ``to_dict()`` search the same settings; a search is known
        by it (see :func:`keras_fcn.tuning.search_identity`).
        """
        out: dict[str, Any] = {p.name: p.to_dict() for p in self.params}
        if self.layers is not None:
            out["layers"] = self.layers.to_dict()
        return out


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


def encode_value(value: Any) -> Any:
    """A value as KerasTuner can hold it: tuples become ``"512-256"`` strings."""
    return dashed(value)


def _describe(p: Param) -> str:
    values = ", ".join(repr(encode_value(v)) for v in p.values)
    if p.is_range:
        return f"[{p.low}, {p.high}]" + (f" or one of {values}" if values else "")
    return values
