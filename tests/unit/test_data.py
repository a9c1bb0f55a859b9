from __future__ import annotations

import dataclasses
import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from keras_fcn import data as datasets
from keras_fcn import data_sources, idx
from keras_fcn.errors import DataError
from tests.helpers import write_idx


def test_read_idx_round_trip(tmp_path):
    array = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    for compress in (True, False):
        path = write_idx(tmp_path / f"x{compress}", array, compress=compress)
        np.testing.assert_array_equal(idx.read_idx(path), array)


def test_read_idx_rejects_wrong_magic_and_wrong_size(tmp_path):
    bad_magic = tmp_path / "bad"
    bad_magic.write_bytes(b"\x00\x00\x09\x01\x00\x00\x00\x02ab")
    with pytest.raises(DataError, match="bad magic"):
        idx.read_idx(bad_magic)
    short = tmp_path / "short"
    short.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(DataError, match="header says shape"):
        idx.read_idx(short)


def test_validation_by_count_takes_the_first_images_and_standardize_rescales():
    raw, _ = data_sources.load_raw("fashion_mnist", download=False)
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


def test_missing_data_lists_every_place_searched(tmp_path, monkeypatch):
    monkeypatch.setenv(data_sources.ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(data_sources, "DEBIAN_DIR", tmp_path / "debian")
    with pytest.raises(DataError) as info:
        datasets.load("mnist", download=False)
    message = str(info.value)
    for place in ("env", "debian", "keras"):
        assert str(tmp_path / place) in message
    assert "\n" not in message


def test_flag_folder_is_searched_before_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(data_sources.ENV_VAR, str(tmp_path / "elsewhere"))
    dirs = data_sources.candidate_dirs("fashion_mnist", tmp_path / "flag")
    assert dirs.index(tmp_path / "flag" / "fashion-mnist") < dirs.index(
        tmp_path / "elsewhere" / "fashion-mnist"
    )
    assert dirs.index(tmp_path / "elsewhere") < dirs.index(
        data_sources.DEBIAN_DIR / "fashion-mnist"
    )


def test_failed_download_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv(data_sources.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(data_sources, "DEBIAN_DIR", tmp_path / "debian")

    def offline(name):
        raise OSError("network unreachable")

    monkeypatch.setattr(data_sources, "_download", offline)
    with pytest.raises(DataError, match="looked in .*; the download failed too") as info:
        datasets.load("mnist")
    # why it failed, on the same line
    assert str(info.value).endswith("the download failed too: OSError: network unreachable")


def test_failed_download_without_a_message_names_the_exception(monkeypatch):
    monkeypatch.delenv(data_sources.ENV_VAR, raising=False)

    def broken(name):
        raise ValueError("checksum\nmismatch") if name == "fashion_mnist" else KeyError()

    monkeypatch.setattr(data_sources, "_download", broken)
    with pytest.raises(DataError) as info:
        datasets.load("fashion_mnist")
    assert str(info.value).endswith("failed too: ValueError: checksum mismatch")
    with pytest.raises(DataError) as info:
        datasets.load("mnist")
    assert str(info.value).endswith("failed too: KeyError")


def test_unknown_dataset_is_rejected():
    with pytest.raises(DataError, match="unknown dataset 'cifar'"):
        datasets.load("cifar")


# Two tiny datasets whose checksums stand in for the published ones, so that every way a
# copy can go wrong is tested without the real files.
TINY_SHAPES = {
    "train-images-idx3-ubyte": (3, 28, 28),
    "train-labels-idx1-ubyte": (3,),
    "t10k-images-idx3-ubyte": (2, 28, 28),
    "t10k-labels-idx1-ubyte": (2,),
}


def _tiny_arrays(offset: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(offset)
    return {stem: rng.integers(0, 10, size=shape) for stem, shape in TINY_SHAPES.items()}


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """``tmp_path/data`` holding tiny Fashion-MNIST and MNIST folders, the only places
    searched, with ``DATASETS`` checksums matching them; a download fails the test."""
    for var, folder in ((data_sources.ENV_VAR, "env"), ("KERAS_HOME", "keras")):
        monkeypatch.setenv(var, str(tmp_path / folder))
    monkeypatch.setattr(data_sources, "DEBIAN_DIR", tmp_path / "debian")
    downloads = []
    monkeypatch.setattr(data_sources, "_download", lambda name: downloads.append(name) or 1 / 0)
    table = {}
    for offset, (name, info) in enumerate(idx.DATASETS.items()):
        folder = tmp_path / "data" / info.folder
        folder.mkdir(parents=True)
        md5 = {}
        for stem, array in _tiny_arrays(offset).items():
            path = write_idx(folder / f"{stem}.gz", array)
            md5[stem] = hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest()
        table[name] = dataclasses.replace(info, md5=md5)
    monkeypatch.setattr(idx, "DATASETS", table)
    yield tmp_path / "data"
    assert not downloads, "a broken local copy must not fall through to a download"


def _load_error(data_dir: Path, download: bool = True) -> str:
    with pytest.raises(DataError) as info:
        datasets.load("fashion_mnist", validation=1, data_dir=data_dir, download=download)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "missing", [["t10k-labels-idx1-ubyte"], ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"]]
)
def test_folder_with_some_files_names_the_missing_ones_and_does_not_download(tiny, missing):
    # the other dataset's complete folder beside it still loads: only the partial one fails
    assert datasets.load("mnist", validation=1, data_dir=tiny).sizes["test"] == 2
    folder = tiny / "fashion-mnist"
    for stem in missing:
        (folder / f"{stem}.gz").unlink()
    message = _load_error(tiny)
    assert message.startswith(f"{folder}: holds {4 - len(missing)} of the 4 files")
    assert f"but not {', '.join(missing)}" in message
    assert "add the missing" in message


def _md5_message(tiny: Path, stem: str, replace) -> tuple[str, Path]:
    """The error for Fashion-MNIST's ``stem`` once ``replace(path)`` has rewritten it."""
    path = tiny / "fashion-mnist" / f"{stem}.gz"
    replace(path)
    message = _load_error(tiny)
    expected = idx.DATASETS["fashion_mnist"].md5[stem]
    assert message.startswith(f"{path}: MD5 of the ")
    found = message.split(" bytes is ", 1)[1].split(",", 1)[0]
    assert len(found) == 32 and found != expected
    assert f"expected {expected} (Fashion-MNIST's {stem})" in message
    assert f"searched: {tiny / 'fashion-mnist'}, {tiny}," in message
    return message, path


def test_another_datasets_file_is_named_as_such(tiny):
    stem = "train-images-idx3-ubyte"
    mnist = tiny / "mnist" / f"{stem}.gz"
    message, _ = _md5_message(tiny, stem, lambda path: shutil.copy(mnist, path))
    assert f"most likely this is MNIST's {stem}" in message
    assert "keep MNIST's in a folder named mnist/" in message
    assert idx.DATASETS["mnist"].md5[stem] in message


def test_swapped_files_of_one_dataset_are_named(tiny):
    folder = tiny / "fashion-mnist"
    labels = (folder / "train-labels-idx1-ubyte.gz").read_bytes()
    message, _ = _md5_message(tiny, "t10k-labels-idx1-ubyte", lambda path: path.write_bytes(labels))
    assert "this is Fashion-MNIST's train-labels-idx1-ubyte" in message and "swapped" in message


def test_gzip_stream_cut_short_is_a_truncated_download(tiny):
    def cut(path):
        path.write_bytes(path.read_bytes()[:-300])

    message, _ = _md5_message(tiny, "train-images-idx3-ubyte", cut)
    assert "most likely a truncated download (the gzip stream ends early" in message
    assert "of the 2,368 its IDX header announces" in message  # 16 + 3 * 28 * 28
    assert "download it again" in message


def test_plain_file_shorter_than_its_header_is_a_truncated_download(tiny):
    gz = tiny / "fashion-mnist" / "t10k-images-idx3-ubyte.gz"
    path = gz.with_suffix("")
    path.write_bytes(gzip.decompress(gz.read_bytes())[:1000])
    gz.unlink()
    message = _load_error(tiny)
    assert message.startswith(f"{path}: MD5 of the file bytes is ")
    assert "truncated download (the file ends early: 1,000 bytes of the 1,584" in message


def test_same_size_other_contents_is_a_corrupt_copy(tiny):
    def flip(path):
        raw = bytearray(gzip.decompress(path.read_bytes()))
        raw[-1] ^= 1
        path.write_bytes(gzip.compress(bytes(raw)))

    message, _ = _md5_message(tiny, "train-labels-idx1-ubyte", flip)
    assert "most likely a modified or corrupt copy (the size matches its IDX header" in message
    assert message.endswith(
        "replace it with the original; searched: " + message.split("searched: ", 1)[1]
    )


def test_file_compressed_twice_is_named(tiny):
    message, _ = _md5_message(
        tiny,
        "t10k-labels-idx1-ubyte",
        lambda path: path.write_bytes(gzip.compress(path.read_bytes())),
    )
    assert "most likely a file compressed twice" in message and "decompress it once more" in message


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "does not exist; give the folder holding the IDX files of Fashion-MNIST"),
        ("a file", "is a file; give the folder holding the IDX files of Fashion-MNIST"),
        ("empty", "holds no copy of Fashion-MNIST: looked for train-images-idx3-ubyte, "),
        ("wrong files", "holds no copy of Fashion-MNIST: looked for "),
        ("the other dataset only", "holds no copy of Fashion-MNIST: looked for "),
    ],
)
def test_an_explicit_data_folder_without_the_dataset_is_an_error(tiny, tmp_path, kind, message):
    """A folder named on purpose is never skipped for the next place, though the environment
    variable's folder (``tiny``'s ``env``, holding it here) would have it."""
    shutil.copytree(tiny, tmp_path / "env")
    folder = tmp_path / "given"
    if kind == "a file":
        folder.write_text("not a folder")
    elif kind != "missing":
        folder.mkdir()
    if kind == "wrong files":
        for name in ("train-images.png", "readme.txt", "t10k-labels-idx1-ubyte.zip"):
            (folder / name).write_text("x")
    if kind == "the other dataset only":
        shutil.copytree(tiny / "mnist", folder / "mnist")
    assert datasets.load("fashion_mnist", validation=1).source == str(
        tmp_path / "env/fashion-mnist"
    )
    error = _load_error(folder)
    assert error.startswith(f"data folder {folder} (--data-dir) ") and message in error
    if "looked for" in message:
        assert f"in {folder / 'fashion-mnist'}, {folder};" in error
        for stem in idx.FILES:
            assert stem in error


def test_an_explicit_data_folder_holding_the_dataset_is_used(tiny):
    assert data_sources.check_data_dir(tiny) == tiny
    assert data_sources.check_data_dir(tiny / "mnist", ("mnist",)) == tiny / "mnist"
    data = datasets.load("mnist", validation=1, data_dir=tiny / "mnist")
    assert data.source == str(tiny / "mnist")
