from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from keras_fcn import data as datasets
from keras_fcn.errors import DataError
from tests.conftest import write_idx


def _real_folder() -> Path:
    files = datasets.find_files("fashion_mnist")
    assert files is not None, "Fashion-MNIST files not found: set KERAS_FCN_DATA_DIR"
    return files["train-images-idx3-ubyte"].parent


def _copy_dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "fashion-mnist"
    shutil.copytree(_real_folder(), folder)
    return folder


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    for compress in (True, False):
        path = write_idx(tmp_path / f"x{compress}", array, compress=compress)
        np.testing.assert_array_equal(datasets.read_idx(path), array)


def test_read_idx_rejects_wrong_magic_and_wrong_size(tmp_path):
    bad_magic = tmp_path / "bad"
    bad_magic.write_bytes(b"\x00\x00\x09\x01\x00\x00\x00\x02ab")
    with pytest.raises(DataError, match="bad magic"):
        datasets.read_idx(bad_magic)
    short = tmp_path / "short"
    short.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(DataError, match="header says shape"):
        datasets.read_idx(short)


def test_full_dataset_loads_with_known_sizes_and_range():
    data = datasets.load("fashion_mnist", download=False)
    assert data.sizes == {"train": 54000, "val": 6000, "test": 10000}
    assert data.x_train.dtype == np.float32 and data.x_train.shape[1:] == (28, 28)
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    assert set(np.unique(data.y_test)) == set(range(10))
    assert data.class_names[0] == "T-shirt/top"


def test_validation_by_count_takes_the_first_images_and_standardize_rescales():
    raw, _ = datasets.load_raw("fashion_mnist", download=False)
    data = datasets.load("fashion_mnist", validation=5000, standardize=True, download=False)
    np.testing.assert_array_equal(data.y_val, raw["y_train"][:5000])
    np.testing.assert_allclose(data.x_val[0], (raw["x_train"][0] / 255.0 - 0.5) / 0.5, atol=1e-6)
    assert data.x_train.min() == pytest.approx(-1.0)


def test_random_validation_split_is_seeded_and_disjoint():
    train_a, val_a = datasets.split_validation(1000, 0.1, seed=3)
    train_b, val_b = datasets.split_validation(1000, 0.1, seed=3)
    _, val_c = datasets.split_validation(1000, 0.1, seed=4)
    np.testing.assert_array_equal(val_a, val_b)
    assert len(val_a) == 100 and not set(val_a) & set(train_a)
    assert not np.array_equal(val_a, val_c)


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
        DataError, match=r"t10k-images-idx3-ubyte\.gz: cannot be read or decompressed"
    ):
        datasets.load("fashion_mnist", data_dir=tmp_path, download=False)


def test_missing_data_lists_every_place_searched(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(datasets, "DEBIAN_DIR", tmp_path / "debian")
    with pytest.raises(DataError) as info:
        datasets.load("mnist", data_dir=tmp_path / "flag", download=False)
    message = str(info.value)
    for place in ("flag", "env", "debian", "keras"):
        assert str(tmp_path / place) in message
    assert "\n" not in message


def test_flag_folder_is_searched_before_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path / "elsewhere"))
    dirs = datasets.candidate_dirs("fashion_mnist", tmp_path / "flag")
    assert dirs.index(tmp_path / "flag" / "fashion-mnist") < dirs.index(
        tmp_path / "elsewhere" / "fashion-mnist"
    )
    assert dirs.index(tmp_path / "elsewhere") < dirs.index(datasets.DEBIAN_DIR / "fashion-mnist")


def test_failed_download_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(datasets, "DEBIAN_DIR", tmp_path / "debian")

    def offline(name):
        raise OSError("network unreachable")

    monkeypatch.setattr(datasets, "_download", offline)
    with pytest.raises(DataError, match="looked in .*; the download failed too"):
        datasets.load("mnist", data_dir=tmp_path)


def test_unknown_dataset_is_rejected():
    with pytest.raises(DataError, match="unknown dataset 'cifar'"):
        datasets.load("cifar")
