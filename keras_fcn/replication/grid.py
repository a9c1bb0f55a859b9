"""A published study's full grid (Lybbert's): its runs, and its table by factor.

The grid is a space file beside the study's module (``Protocol.grid``); every setting of it
is a run of the study's settings (and ``Protocol.grid_settings``) with that setting's values.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from keras_fcn import presets
from keras_fcn.errors import ConfigError
from keras_fcn.family import Family, RunConfig
from keras_fcn.record import RunRecord
from keras_fcn.registry import resolve_run
from keras_fcn.replication.protocol import Protocol
from keras_fcn.study import aggregate, with_seeds


def grid_runs(
    protocol: Protocol,
    family: Family,
    seeds: Sequence[int],
    *,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
    max_runs: int | None = None,
    sample_seed: int = 0,
) -> list[RunConfig]:
    """The runs of the study's grid over ``seeds`` (``max_runs`` of its settings drawn at
    random with ``sample_seed``, when fewer than the grid holds).

    Raises:
        ConfigError: the study has no grid.
    """
    if protocol.grid is None:
        raise ConfigError(f"study {protocol.name!r} has no grid")
    settings = family.read_space(protocol.path(protocol.grid)).grid()
    if max_runs is not None and max_runs < len(settings):
        settings = random.Random(sample_seed).sample(settings, max_runs)
    preset = presets.quick("reproduce") if quick else None
    base = {**protocol.settings, **protocol.grid_settings}
    runs = [resolve_run(family, overrides, study={**base, **s}, preset=preset) for s in settings]
    return with_seeds(runs, seeds)


def grid_table(protocol: Protocol, family: Family, records: Sequence[RunRecord]) -> pd.DataFrame:
    """The grid's records aggregated over seeds by its factors, best on validation first."""
    names = list(family.read_space(protocol.path(protocol.grid)).names)
    return aggregate(records, by=names).sort_values("val_mean", ascending=False)
