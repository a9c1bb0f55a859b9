"""Fixtures of both tiers: a seed before every test.

The unit tier (``tests/unit``) runs on synthetic datasets its conftest writes; the
integration tier (``tests/integration``) runs the commands on the real ones. What tests
share besides fixtures is in ``tests/helpers.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    np.random.seed(0)
    import random

    random.seed(0)
