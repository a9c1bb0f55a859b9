"""A search space declared on KerasTuner's ``HyperParameters``.

Values KerasTuner cannot hold (tuples such as hidden layer sizes) are passed as strings
(:func:`keras_fcn.space.params.encode_value`) and decoded back; each layer's values are
declared under the depth (``hp.conditional_scope``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras_fcn.space.params import Param, encode_value
from keras_fcn.space.space import Space


def declare_param(
    param: Param, hp: Any, name: str, use_ranges: bool = True, default: Any = None
) -> Any:
    """Declare ``param`` on a KerasTuner ``HyperParameters`` as ``name``; return its
    value (decoded: ``"512-256"`` comes back as ``(512, 256)``). ``default`` replaces the
    parameter's own (a layer's default of its own)."""
    if default is not None:
        return declare_param(dataclasses.replace(param, default=default), hp, name, use_ranges)
    if len(param.values) == 1 and not param.is_range:
        return param.values[0]
    if param.is_range and (use_ranges or not param.values):
        sampling = "log" if param.log else "linear"
        if param.is_integer:
            step = int(param.step) if param.step is not None else None
            return hp.Int(
                name, param.low, param.high, step=step, sampling=sampling, default=param.default
            )
        return hp.Float(
            name,
            float(param.low),
            float(param.high),
            step=param.step,
            sampling=sampling,
            default=float(param.default),
        )
    encoded = [encode_value(v) for v in param.values]
    chosen = hp.Choice(name, encoded, default=encode_value(param.default), ordered=False)
    # None: declared under a condition that does not hold (a layer beyond the depth)
    return None if chosen is None else param.values[encoded.index(chosen)]


def declare_space(space: Space, hp: Any, *, use_ranges: bool = True) -> dict[str, Any]:
    """Declare every parameter on a KerasTuner ``HyperParameters`` and read its value.

    Values KerasTuner cannot hold (tuples such as hidden layer sizes) are passed as
    strings and decoded back. Each layer's values are declared under the depth
    (``hp.conditional_scope``), so a layer that is absent has no value.

    Args:
        space: the space to declare.
        hp: a ``keras_tuner.HyperParameters``.
        use_ranges: draw ``Float``/``Int`` from declared ranges; ``False`` (the grid
            tuner) uses the listed values only.

    Returns:
        name -> value as config fields, ready for :func:`keras_fcn.settings.apply`.
    """
    point = {p.name: declare_param(p, hp, p.name, use_ranges) for p in space.params}
    if space.layers is not None:
        depths = space.layers.depth.grid_values()
        depth = declare_param(space.layers.depth, hp, "depth", use_ranges)
        point["depth"] = depth
        for i in range(1, space.layers.max_depth + 1):
            present = [d for d in depths if d >= i]
            for lp in space.layers.per_layer:
                name = f"{lp.name}_{i}"
                if len(depths) == 1:
                    point[name] = declare_param(lp.param, hp, name, use_ranges, lp.default(i))
                    continue
                with hp.conditional_scope("depth", present):
                    value = declare_param(lp.param, hp, name, use_ranges, lp.default(i))
                if i <= depth:
                    point[name] = value
    return space.to_config(point)
