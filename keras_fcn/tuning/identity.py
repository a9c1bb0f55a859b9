"""What defines a search: the space its tuner searches, its identity, and its folder's name.

Two searches with the same identity are one search (the second resumes the first). How the
identity is written and hashed must not change: the folders of committed searches are
named by it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from keras_fcn import layout
from keras_fcn.errors import ConfigError
from keras_fcn.family import RunConfig
from keras_fcn.space import Space
from keras_fcn.tuning.options import SearchOptions

GRID_LIMIT = 5000


def space_for(tuner_name: str, space: Space) -> Space:
    """The space a tuner searches: Hyperband owns the epoch budget, so ``epochs`` is fixed.

    Raises:
        ConfigError: nothing is left to search, or a grid too large to run.
    """
    if tuner_name == "hyperband":
        space = space.without("epochs")
    if not space.searched():
        raise ConfigError(
            "the search space is empty: every parameter is fixed; free some with --only or fewer --fix"
        )
    if tuner_name == "grid" and space.size() > GRID_LIMIT:
        raise ConfigError(
            f"the grid has {space.size():,} settings; narrow it with --fix/--only (at most 5,000)"
        )
    return space


def search_identity(options: SearchOptions, base: RunConfig, space: Space) -> dict[str, Any]:
    """Everything that defines a search, as JSON-ready data.

    Two commands with the same identity are the same search (the second resumes the
    first); any difference (the tuner or one of its settings, a value of the space after
    ``--search``/``--fix``/``--only``, a ``--set`` value, the data) makes another search.
    Settings a tuner ignores are left out (Hyperband's factor for a random search, say),
    and so are the speed settings a run id leaves out: they do not change results.

    Args:
        options: the search's options; of them only the tuner and its budget count
            (``tuner``, ``max_epochs`` and ``factor`` for Hyperband, ``trials`` and
            ``epoch_budget`` for random and Bayesian search, ``initial_points`` for Bayesian, ``executions`` and ``seed``
            for all).
        base: the run every trial starts from (family, model, training and data settings).
        space: the space searched, already narrowed.
    """
    settings: dict[str, Any] = {"executions": options.executions, "seed": options.seed}
    if options.tuner == "hyperband":
        settings.update(max_epochs=options.max_epochs, factor=options.factor)
    elif options.tuner in ("random", "bayesian"):
        settings.update(trials=options.trials)
        if options.epoch_budget:
            settings.update(epoch_budget=options.epoch_budget)
        if options.initial_points and options.tuner == "bayesian":
            settings.update(initial_points=options.initial_points)
    return {
        "family": base.family,
        "tuner": options.tuner,
        "tuner_settings": settings,
        "space": space.to_dict(),
        "base": base.result_settings(),
    }


def search_key(identity: dict[str, Any]) -> str:
    """A short hash of a search's identity, part of its folder's name."""
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def search_folder_name(identity: dict[str, Any], quick: bool = False) -> str:
    """``FAMILY-DATASET-TUNER[-quick]-HASH``: readable, and one folder per search."""
    dataset = identity["base"]["data"]["dataset"]
    name = layout.variant(f"{identity['family']}-{dataset}-{identity['tuner']}", quick=quick)
    return f"{name}-{search_key(identity)}"
