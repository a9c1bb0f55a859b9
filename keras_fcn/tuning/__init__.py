"""Tuning with KerasTuner over a family's declared search space, from Python.

:func:`run_search` runs a whole search (resumable, one folder per search, in one process
or as KerasTuner's chief and workers), then retrains the best setting over seeds and tests
it once; the tune command (docs/commands.md) is that call plus its command line. The package is
split by role, as KerasTuner's engine is:

- :mod:`~keras_fcn.tuning.options`: :class:`SearchOptions`, how a search runs;
- :mod:`~keras_fcn.tuning.identity`: what defines a search, and its folder's name;
- :mod:`~keras_fcn.tuning.hypermodel`: a family as a KerasTuner ``HyperModel``;
- :mod:`~keras_fcn.tuning.tuner`: KerasTuner's tuners with seeds, per-execution values,
  divergence as a failed trial, a line per trial, and a resumable grid;
- :mod:`~keras_fcn.tuning.trials`: the trial table and the best trial;
- :mod:`~keras_fcn.tuning.summary`: edge warnings, plots, sizes on disk;
- :mod:`~keras_fcn.tuning.final`: the best setting retrained and tested once;
- :mod:`~keras_fcn.tuning.workers`: KerasTuner's chief and workers on one machine;
- :mod:`~keras_fcn.tuning.search`: :func:`run_search` and :class:`SearchResult`;
- :mod:`~keras_fcn.tuning.compare`: :func:`compare_tuners`, the tuners at one budget.

Names are loaded when first used, so that importing the options or the workers does not
start TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "SearchOptions": "options",
    "TUNER_NAMES": "options",
    "run_search": "search",
    "SearchResult": "search",
    "search_identity": "identity",
    "search_key": "identity",
    "search_folder_name": "identity",
    "space_for": "identity",
    "FamilyHyperModel": "hypermodel",
    "OBJECTIVE": "hypermodel",
    "HYPERBAND_KEYS": "hypermodel",
    "active_values": "hypermodel",
    "search_callbacks": "hypermodel",
    "make_tuner": "tuner",
    "SpaceGridOracle": "tuner",
    "closing_text": "final",
    "compare_tuners": "compare",
    "TunerComparison": "compare",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
