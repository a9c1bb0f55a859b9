"""The model families by name, and the one path from a family's defaults to a run.

A family makes itself known by an entry point of the group ``keras_fcn.families`` (the
package's own two are declared in ``setup.cfg``: ``dense`` and ``lenet``), or in a session by
:func:`register_family`. :func:`resolve_run` is how every command and the public API turn a
family and settings into a :class:`~keras_fcn.family.RunConfig`, always in the same order.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any

from keras_fcn.config import TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE, Family, RunConfig

ENTRY_POINTS = "keras_fcn.families"

DEFAULT_SEED = TrainConfig().seed
"""The seed of a run that names none, and the first seed of every study (42)."""

DEFAULT_SEEDS = (DEFAULT_SEED, DEFAULT_SEED + 1, DEFAULT_SEED + 2)
"""The seeds of a study that names none: three, from :data:`DEFAULT_SEED`."""

_REGISTERED: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Make ``family`` known by its name in this process (a family defined in a notebook).

    Raises:
        ConfigError: another family already has that name.
    """
    known = families()
    if family.name in known and known[family.name] is not family:
        raise ConfigError(f"a family named {family.name!r} is already known: choose another name")
    _REGISTERED[family.name] = family
    return family


def families() -> dict[str, Family]:
    """Family name -> family: the installed families (entry points), then those registered."""
    found = {DENSE.name: DENSE}
    for point in entry_points(group=ENTRY_POINTS):
        if point.name not in found:
            found[point.name] = point.load()
    return {**found, **_REGISTERED}


def get_family(name: str | Family) -> Family:
    """The family called ``name`` (a family is returned as it is).

    Raises:
        ConfigError: no family has that name; the message lists the known ones.
    """
    if isinstance(name, Family):
        return name
    known = families()
    if name not in known:
        raise ConfigError(f"unknown family {name!r}; choose one of {', '.join(known)}")
    return known[name]


def resolve_run(
    family: str | Family,
    overrides: Mapping[str, Any] | None = None,
    *,
    study: Mapping[str, Any] | None = None,
    preset: Mapping[str, Any] | None = None,
) -> RunConfig:
    """The run of ``family`` with settings applied in one order, later ones winning.

    1. the family's defaults (:attr:`Family.train`, :attr:`Family.data`, its config class);
    2. ``study``: a published study's settings for the run (its protocol, then its row);
    3. ``preset``: a command's ``--quick`` fields (:func:`keras_fcn.presets.quick`);
    4. ``overrides``: what the user set (``--set``, ``--epochs``, keyword arguments).

    Values may be typed or strings as typed after ``--set`` (``hidden="256-128"``).

    Raises:
        ConfigError: an unknown family or field, or a value its config rejects.
    """
    settings = {**(study or {}), **(preset or {}), **(overrides or {})}
    return get_family(family).run_config(settings)
