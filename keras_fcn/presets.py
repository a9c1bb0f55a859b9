"""The ``--quick`` presets of every command, in one place.

Each is a set of config fields (a data subset, fewer epochs) that runs a command's whole
path in seconds to a minute. A quick run is a run like any other, with its own run id, and
the reports leave it out of their tables (it did not see the full data).
"""

from __future__ import annotations

from typing import Any

QUICK: dict[str, dict[str, Any]] = {
    # fashion_dense, mnist_dense, fashion_cnn: `make demo`, well under a minute
    "single": {"train_limit": 10000, "epochs": 10},
    # every run of a published study's tables
    "reproduce": {"train_limit": 2000, "test_limit": 1000, "epochs": 2},
    # a search: its trials and its final retraining (tune also caps epochs and trials)
    "tune": {"train_limit": 3000, "test_limit": 2000},
    "baselines": {"train_limit": 3000, "test_limit": 1000},
    "benchmark": {"train_limit": 3000, "test_limit": 1000},
}


def quick(command: str) -> dict[str, Any]:
    """A copy of ``command``'s quick preset."""
    return dict(QUICK[command])
