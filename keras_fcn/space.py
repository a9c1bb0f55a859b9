"""Search spaces declared once, as data, and everything derived from them.

A :class:`Space` is a list of :class:`Param`: a config field name, the values a grid or a sweep
tries, an optional continuous range for samplers, and the default. From that one
declaration come the full grid, the one-factor-at-a-time sweep of the seed studies' tables,
narrowing from the command line, and the mapping onto KerasTuner's ``hp``. The field name
is also the ``hp`` name, the column of results tables and the label on plots.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from keras_fcn.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Param:
    """One hyperparameter.

    Attributes:
        name: the config field it sets.
        values: the values a grid, a sweep or a ``Choice`` tries, in order.
        default: the value used when this parameter is not varied.
        low: lower end of a continuous range (samplers only); ``None`` for choices only.
        high: upper end of that range.
        log: sample the range on a log scale.
    """

    name: str
    values: tuple[Any, ...]
    default: Any
    low: float | None = None
    high: float | None = None
    log: bool = False

    def __post_init__(self) -> None:
        values = tuple(tuple(v) if isinstance(v, list) else v for v in self.values)
        object.__setattr__(self, "values", values)
        default = tuple(self.default) if isinstance(self.default, list) else self.default
        object.__setattr__(self, "default", default)
        if not self.name or not self.name.isidentifier():
            raise ConfigError(
                f"parameter name {self.name!r} is invalid: must be a config field name"
            )
        if not values:
            raise ConfigError(f"parameter {self.name!r} has no values: give at least one")
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"parameter {self.name!r} lists a value twice: {values!r}")
        if (self.low is None) != (self.high is None):
            raise ConfigError(f"parameter {self.name!r}: give both low and high, or neither")
        if self.low is not None:
            if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
                raise ConfigError(
                    f"parameter {self.name!r}: range [{self.low}, {self.high}] is empty"
                )
            if self.log and self.low <= 0:
                raise ConfigError(
                    f"parameter {self.name!r}: a log range needs low > 0, got {self.low}"
                )
        in_range = (
            self.low is not None
            and isinstance(default, int | float)
            and self.low <= default <= self.high
        )
        if default not in values and not in_range:
            raise ConfigError(
                f"parameter {self.name!r}: default {default!r} is not among its values {values!r}"
            )

    @property
    def is_range(self) -> bool:
        """Whether samplers draw from a continuous range instead of the listed values."""
        return self.low is not None

    def on_edge(self, value: Any) -> bool:
        """Whether ``value`` is at an end of this parameter's values or range.

        A best value on the edge suggests the space should be widened.
        """
        if self.is_range:
            # within the outer tenth of the range, on the scale it is sampled on
            scale = math.log if self.log else float
            position = (scale(value) - scale(self.low)) / (scale(self.high) - scale(self.low))
            return position < 0.1 or position > 0.9
        if len(self.values) < 3 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in self.values
        ):
            return False
        ordered = sorted(self.values)
        return value in (ordered[0], ordered[-1])


@dataclasses.dataclass(frozen=True)
class Space:
    """An ordered set of parameters over config fields."""

    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ConfigError(f"search space names a parameter twice: {names}")

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in declaration order."""
        return tuple(p.name for p in self.params)

    def __getitem__(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise ConfigError(f"unknown parameter {name!r}; this space has: {', '.join(self.names)}")

    def defaults(self) -> dict[str, Any]:
        """Every parameter at its default."""
        return {p.name: p.default for p in self.params}

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of values, the last parameter varying fastest."""
        return [
            dict(zip(self.names, combo, strict=True))
            for combo in itertools.product(*(p.values for p in self.params))
        ]

    def sweep(self) -> list[dict[str, Any]]:
        """The defaults, then each parameter's other values with the rest at their defaults.

        A space with factors of 3 and 4 values gives 1 + 2 + 3 settings.
        """
        base = self.defaults()
        settings = [dict(base)]
        for p in self.params:
            for value in p.values:
                if value != p.default:
                    settings.append({**base, p.name: value})
        return settings

    def select(self, names: Iterable[str]) -> Space:
        """The sub-space of the named parameters, in this space's order."""
        wanted = list(names)
        for name in wanted:
            self[name]  # raises with the list of known names
        return Space(tuple(p for p in self.params if p.name in wanted))

    def without(self, *names: str) -> Space:
        """The space less the named parameters (they keep the base run's values)."""
        return Space(tuple(p for p in self.params if p.name not in names))

    def narrow(
        self,
        fixed: Mapping[str, Any] | None = None,
        choices: Mapping[str, Sequence[Any]] | None = None,
    ) -> Space:
        """Fix some parameters to one value and restrict others to a few values.

        Args:
            fixed: name -> the only value (the parameter keeps one value, its default).
            choices: name -> the values to keep, any of the declared values or, for a
                parameter with a range, values inside it.

        Raises:
            ConfigError: an unknown name, a parameter both fixed and restricted, or a value
                outside what the space declares.
        """
        fixed = dict(fixed or {})
        choices = {k: tuple(v) for k, v in (choices or {}).items()}
        both = set(fixed) & set(choices)
        if both:
            raise ConfigError(
                f"parameter {sorted(both)[0]!r} is both fixed and restricted: choose one"
            )
        params = {p.name: p for p in self.params}
        for name, value in [*fixed.items(), *((n, v) for n, vs in choices.items() for v in vs)]:
            if name not in params:
                raise ConfigError(
                    f"unknown parameter {name!r}; this space has: {', '.join(self.names)}"
                )
            p = params[name]
            in_range = p.is_range and isinstance(value, int | float) and p.low <= value <= p.high
            if value not in p.values and not in_range:
                raise ConfigError(f"{name}={value!r} is outside the space: allowed {_describe(p)}")
        out = []
        for p in self.params:
            if p.name in fixed:
                out.append(Param(p.name, (fixed[p.name],), fixed[p.name]))
            elif p.name in choices:
                kept = choices[p.name]
                if not kept:
                    raise ConfigError(
                        f"parameter {p.name!r} restricted to no values: give at least one"
                    )
                default = p.default if p.default in kept else kept[0]
                out.append(Param(p.name, kept, default))
            else:
                out.append(p)
        return Space(tuple(out))

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The space as JSON-ready data: each parameter's values, default and range, in order.

        Two spaces with the same ``to_dict()`` search the same settings; a search is known
        by it (see :func:`keras_fcn.tuning.search_identity`).
        """
        out = {}
        for p in self.params:
            entry: dict[str, Any] = {
                "values": [encode_value(v) for v in p.values],
                "default": encode_value(p.default),
            }
            if p.is_range:
                entry.update(low=p.low, high=p.high, log=p.log)
            out[p.name] = entry
        return out

    def size(self) -> int:
        """Number of settings in the full grid."""
        return math.prod(len(p.values) for p in self.params)

    def to_hp(self, hp: Any, *, use_ranges: bool = True) -> dict[str, Any]:
        """Declare every parameter on a KerasTuner ``HyperParameters`` and read its value.

        Values KerasTuner cannot hold (tuples such as hidden layer sizes) are passed as
        strings and decoded back, so ``hp`` names and values match the config fields.

        Args:
            hp: a ``keras_tuner.HyperParameters``.
            use_ranges: draw ``Float``/``Int`` from declared ranges; ``False`` (the grid
                tuner) uses the listed values only.

        Returns:
            name -> value, ready for :func:`keras_fcn.config.apply`.
        """
        out = {}
        for p in self.params:
            if len(p.values) == 1 and not p.is_range:
                out[p.name] = p.values[0]
            elif use_ranges and p.is_range:
                kind = (
                    hp.Int
                    if all(isinstance(v, int) for v in (p.low, p.high, p.default))
                    else hp.Float
                )
                sampling = "log" if p.log else "linear"
                out[p.name] = kind(p.name, p.low, p.high, sampling=sampling, default=p.default)
            else:
                encoded = [encode_value(v) for v in p.values]
                chosen = hp.Choice(p.name, encoded, default=encode_value(p.default), ordered=False)
                out[p.name] = p.values[encoded.index(chosen)]
        return out


def encode_value(value: Any) -> Any:
    """A value as KerasTuner can hold it: tuples become ``"512-256"`` strings."""
    if isinstance(value, tuple):
        return "-".join(str(v) for v in value)
    return value


def _describe(p: Param) -> str:
    values = ", ".join(encode_value(v).__repr__() for v in p.values)
    if p.is_range:
        return f"[{p.low}, {p.high}] or one of {values}"
    return values
