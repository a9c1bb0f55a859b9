"""Search spaces declared once, as data, and everything derived from them.

A :class:`Space` is a list of :class:`Param` (a config field, its values or range, its
default) and, optionally, :class:`Layers`: a number of layers searched with the width (or
filters, or dropout) of each layer present. From that one declaration come the full grid,
the one-factor-at-a-time sweep of the published studies' tables, narrowing from the
command line, and the mapping onto KerasTuner's ``hp`` (conditional hyperparameters for the
layers), which :func:`keras_fcn.space.hp.declare_space` makes: that adapter knows the space,
the space knows nothing of KerasTuner. A field's name is also its ``hp`` name, its column in
results tables and its label on plots; a layer's value is named ``NAME_I`` (``units_1``,
``units_2``, ...).

A space is written as TOML (see :func:`keras_fcn.space.syntax.parse_entry` and
``docs/spaces.md``)::

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from keras_fcn.errors import ConfigError
from keras_fcn.space.params import LayerParam, Layers, Param, describe_values


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
        layer_names = (
            () if self.layers is None else ("depth", *(lp.name for lp in self.layers.per_layer))
        )
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
            self._check_narrowed(name, values, accept)
        params = [_narrowed(p, wanted[p.name]) if p.name in wanted else p for p in self.params]
        layers = self.layers
        if layers is not None:
            depth = layers.depth
            if "depth" in wanted:
                depth = _narrowed(depth, wanted["depth"])
            per_layer = tuple(
                LayerParam(_narrowed(lp.param, wanted[lp.name]), lp.field, lp.defaults)
                if lp.name in wanted
                else lp
                for lp in layers.per_layer
            )
            layers = Layers(depth, per_layer)
        return Space(tuple(params), layers)

    def _check_narrowed(
        self, name: str, values: Sequence[Any], accept: Callable[[str, Any], bool] | None
    ) -> None:
        """Raise unless ``name`` may be narrowed to ``values`` (see :meth:`narrow`)."""
        if name not in self.names:
            raise ConfigError(
                f"unknown parameter {name!r}; this space has: {', '.join(self.names)}"
            )
        p = self[name]
        if not values:
            raise ConfigError(f"parameter {name!r} restricted to no values: give at least one")
        flat = name in [q.name for q in self.params]
        for value in values:
            declared = value in p.values or p.within(value)
            if not declared and not (accept and flat and accept(name, value)):
                raise ConfigError(
                    f"{name}={value!r} is outside the space: allowed {describe_values(p)}"
                )

    def to_dict(self) -> dict[str, Any]:
        """The space as JSON-ready data: each parameter's values, default and range, in order.

        Two spaces with the same ``to_dict()`` search the same settings; a search is known
        by it (see :func:`keras_fcn.tuning.search_identity`).
        """
        out: dict[str, Any] = {p.name: p.to_dict() for p in self.params}
        if self.layers is not None:
            out["layers"] = self.layers.to_dict()
        return out


def _narrowed(p: Param, values: Sequence[Any]) -> Param:
    """``p`` restricted to ``values``, keeping its default when it is among them."""
    return Param(p.name, tuple(values), p.default if p.default in values else None)
