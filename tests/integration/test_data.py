from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from keras_fcn import data as datasets
from keras_fcn import data_sources
from keras_fcn.errors import DataError


def _real_folder() -> Path:
    files = data_sources.find_files("fashion_mnist")
    assert files is not None, "Fashion-MNIST files not found: set KERAS_FCN_DATA_DIR"
    return files["train-images-idx3-ubyte"].parent


def _copy_dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "fashion-mnist"
    shutil.copytree(_real_folder(), folder)
    return folder


def test_full_dataset_loads_with_known_sizes_and_range():
    data = datasets.load("fashion_mnist", download=False)
    assert data.sizes == {"train": 54000, "val": 6000, "test": 10000}
    assert data.x_train.dtype == np.float32 and data.x_train.shape[1:] == (28, 28)
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    assert set(np.unique(data.y_test)) == set(range(10))
    assert data.class_names[0] == "T-shirt/top"


def test_corrupt_file_is_rejected_naming_the_file(tmp_path):
    folder = _copy_dataset(tmp_path)
    labels = folder / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one label changed: still a valid IDX file
    labels.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: MD5 .* expected 9018921c"):
        datasets.load("fashion_mnist", data_dir=tmp_path, download=False)


def test_truncated_file_is_rejected_naming_the_file(tmp_path):
    folder = _copy_dataset(tmp_path)
    images = folder / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:5000])
    with pytest.raises(
        DataError, match=r"t10k-images-idx3-ubyte\.gz: MD5 .* most likely a truncated download"
    ):
        datasets.load("fashion_mnist", data_dir=tmp_path, download=False)
