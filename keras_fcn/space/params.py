"""The parameters of a search space: one hyperparameter (:class:`Param`), a value searched
for each layer (:class:`LayerParam`) and a searched number of layers (:class:`Layers`).

A :class:`keras_fcn.space.Space` is built from them; ``keras_fcn.space.syntax`` reads them
as written in TOML and ``keras_fcn.space.hp`` declares them on KerasTuner.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

from keras_fcn.errors import ConfigError
from keras_fcn.settings import dashed


def is_number(value: Any) -> bool:
    """Whether ``value`` is an int or a float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def encode_value(value: Any) -> Any:
    """A value as KerasTuner can hold it: tuples become ``"512-256"`` strings."""
    return dashed(value)


def describe_values(p: Param) -> str:
    """The values ``p`` allows, as an error message shows them."""
    values = ", ".join(repr(encode_value(v)) for v in p.values)
    if p.is_range:
        return f"[{p.low}, {p.high}]" + (f" or one of {values}" if values else "")
    return values


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
        if not (is_number(low) and is_number(high) and math.isfinite(low) and low < high):
            raise ConfigError(f"{where}: range {low}..{high} is empty")
        if not math.isfinite(high):
            raise ConfigError(f"{where}: range {low}..{high} is not finite")
        if self.log and low <= 0:
            raise ConfigError(f"{where}: a log range needs low > 0, got {low}")
        if step is None:
            return
        if self.log:
            raise ConfigError(f"{where}: a log range takes no step; list its values instead")
        if not (is_number(step) and math.isfinite(step) and step > 0):
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
        if not (self.is_range and is_number(value) and self.low <= value <= self.high):
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
        if len(self.values) < 3 or not all(is_number(v) for v in self.values):
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
        }

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
