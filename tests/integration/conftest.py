"""The integration tier: the commands as a user runs them, as processes (killed, restarted,
serving workers) or in this process, on the real datasets.

Every test here is marked ``real_data``: the processes find Fashion-MNIST as a user's do,
through ``KERAS_FCN_DATA_DIR`` (``make test`` points it at ``./data`` or ``../shared/data``)
or the other places the loader searches, and check it against the published checksums.
Without it each test fails with the loader's message saying where it looked. (MNIST is
checked where a copy is found: ``make demo`` downloads Fashion-MNIST only.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keras_fcn import data as datasets
from keras_fcn import data_sources
from keras_fcn.errors import DataError

TIER = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.is_relative_to(TIER):
            item.add_marker(pytest.mark.real_data)


@pytest.fixture(scope="session", autouse=True)
def _real_datasets() -> None:
    """Fail every test of the tier with one message when the real files are not found."""
    try:
        data_sources.load_raw("fashion_mnist", download=False)
    except DataError as error:
        pytest.fail(f"the integration tests run on the real datasets: {error}", pytrace=False)


@pytest.fixture(scope="session")
def fashion_small() -> datasets.Dataset:
    """3,000 training, 600 validation and 1,000 test images of the real Fashion-MNIST."""
    return datasets.load(
        "fashion_mnist", validation=600, train_limit=3000, test_limit=1000, download=False
    )
