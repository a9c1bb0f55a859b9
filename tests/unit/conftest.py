"""The unit tier: every test in this process, on synthetic datasets, without a subprocess.

A synthetic Fashion-MNIST and MNIST (6,000 training and 1,000 test images each, of learnable
classes) are written once per session as gzipped IDX files. Each test then sees them where
the commands look first (``KERAS_FCN_DATA_DIR``), with the loader's checksum table holding
their checksums; the other places the loader searches are empty and downloading fails, so
that no unit test reads or fetches the real datasets.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from keras_fcn import data as datasets
from keras_fcn import data_sources, idx
from tests.helpers import write_synthetic_datasets


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> tuple[Path, dict[str, idx.DatasetInfo]]:
    """The folder of the synthetic datasets and the loader's table of their checksums."""
    folder = tmp_path_factory.mktemp("synthetic-data")
    return folder, write_synthetic_datasets(folder)


@pytest.fixture(autouse=True)
def _synthetic_datasets(synthetic_data, tmp_path_factory, monkeypatch):
    folder, table = synthetic_data
    monkeypatch.setattr(idx, "DATASETS", table)
    monkeypatch.setenv(data_sources.ENV_VAR, str(folder))
    empty = tmp_path_factory.getbasetemp() / "no-data"
    monkeypatch.setenv("KERAS_HOME", str(empty / "keras"))
    monkeypatch.setattr(data_sources, "DEBIAN_DIR", empty / "debian")

    def no_download(name):
        raise OSError(f"a unit test asked to download {name}")

    monkeypatch.setattr(data_sources, "_download", no_download)


class _NoPythonProcess(subprocess.Popen):
    def __init__(self, args, *rest, **kwargs):
        program = args if isinstance(args, str | bytes) else args[0]
        if str(program) == sys.executable:
            raise AssertionError(f"a unit test started a Python process: {args}")
        super().__init__(args, *rest, **kwargs)


@pytest.fixture(autouse=True)
def _no_python_process(monkeypatch):
    """A test that runs Python in another process (a command, a worker) belongs to the
    integration tier. Libraries' own probes (``lscpu`` and the like) may still run."""
    monkeypatch.setattr(subprocess, "Popen", _NoPythonProcess)


@pytest.fixture(scope="session")
def fashion_small(synthetic_data) -> datasets.Dataset:
    """3,000 training, 600 validation and 1,000 test images of the synthetic Fashion-MNIST."""
    folder, table = synthetic_data
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(idx, "DATASETS", table)
        return datasets.load(
            "fashion_mnist",
            validation=600,
            train_limit=3000,
            test_limit=1000,
            data_dir=folder,
            download=False,
        )
