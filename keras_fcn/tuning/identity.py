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


def search_identity(
    tuner_name: str,
    base: RunConfig,
    space: Space,
    *,
    max_epochs: int,
    factor: int,
    trials: int,
    executions: int,
    seed: int,
    epoch_budget: int = 0,
) -> dict[str, Any]:
    """Everything that defines a search, as JSON-ready data.

    Two commands with the same identity are the same search (the second resumes the
    first); any difference (the tuner or one of its settings, a value of the space after
    ``--search``/``--fix``/``--only``, a ``--set`` value, the data) makes another search.
    Settings a tuner ignores are left out (Hyperband's factor for a random search, say),
    and so are the speed settings a run id leaves out: they do not change results.

    Args:
        tuner_name: ``hyperband``, ``random``, ``bayesian`` or ``grid``.
        base: the run every trial starts from (family, model, training and data settings).
        space: the space searched, already narrowed.
        max_epochs: Hyperband's budget per trial (the others train ``base.train.epochs``).
        factor: Hyperband's reduction factor.
        trials: trials of random and Bayesian search.
        executions: trainings per trial.
        seed: seed of the oracle and of every training.
        epoch_budget: the epochs after which random and Bayesian searches stop (0: none).
    """
    settings: dict[str, Any] = {"executions": executions, "seed": seed}
    if tuner_name == "hyperband":
        settings.update(max_epochs=max_epochs, factor=factor)
    elif tuner_name in ("random", "bayesian"):
        settings.update(trials=trials)
        if epoch_budget:
            settings.update(epoch_budget=epoch_budget)
    return {
        "family": base.family,
        "tuner": tuner_name,
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
