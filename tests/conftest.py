"""Shared fixtures: a seed before every test, and small slices of the real datasets."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_fcn import data as datasets  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    np.random.seed(0)
    import random

    random.seed(0)


@pytest.fixture(scope="session")
def fashion_small() -> datasets.Dataset:
    """3,000 training, 600 validation and 1,000 test images of the real Fashion-MNIST.

    The files are found as the commands find them (``make test`` points
    ``KERAS_FCN_DATA_DIR`` at the datasets); without them the test fails with the loader's
    message saying where it looked.
    """
    return datasets.load(
        "fashion_mnist", validation=600, train_limit=3000, test_limit=1000, download=False
    )


def write_idx(path: Path, array: np.ndarray, *, compress: bool = True) -> Path:
    """Write ``array`` (uint8) as an IDX file, gzipped by default."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(
        struct.pack(">I", d) for d in array.shape
    )
    raw = header + array.tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path
