"""Fashion-MNIST and MNIST from local files first, checked against their known checksums.

The loader looks for the four original IDX files of a dataset, in this order:

1. the folder passed as ``data_dir`` (the ``--data-dir`` flag of every command);
2. the folder named by the ``KERAS_FCN_DATA_DIR`` environment variable;
3. Debian's ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``);
4. Keras's own cache (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``);

and only then asks Keras to download it. A folder may hold the files directly or in a
sub-folder named after the dataset (``fashion-mnist/``, ``mnist/``), gzipped or not. The
decompressed bytes of each file are checked against the MD5 the dataset is published with,
so a truncated or corrupt copy is rejected with a message naming the file.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_fcn.errors import DataError

ENV_VAR = "KERAS_FCN_DATA_DIR"
DEBIAN_DIR = Path("/usr/share/datasets")

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What is known about a dataset before reading it."""

    name: str
    folder: str
    class_names: tuple[str, ...]
    md5: dict[str, str]


DATASETS = {
    "fashion_mnist": DatasetInfo(
        name="fashion_mnist",
        folder="fashion-mnist",
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),  # fmt: skip
        md5={
            "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
            "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
            "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
        },
    ),
    "mnist": DatasetInfo(
        name="mnist",
        folder="mnist",
        class_names=tuple(str(d) for d in range(10)),
        md5={
            "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        },
    ),
}

# Mean and standard deviation used by the study that standardizes its inputs.
STANDARDIZE_MEAN = 0.5
STANDARDIZE_STD = 0.5


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Train / validation / test arrays of one dataset.

    Images are float32 of shape ``(n, 28, 28)``; labels are int64 class indices.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str

    @property
    def sizes(self) -> dict[str, int]:
        """Number of images in each split."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}


def keras_cache_dir() -> Path:
    """The folder where Keras caches downloaded datasets."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def candidate_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Every folder searched for ``name``'s files, in search order."""
    info = _info(name)
    roots: list[Path] = []
    if data_dir:
        roots.append(Path(data_dir))
    if os.environ.get(ENV_VAR):
        roots.append(Path(os.environ[ENV_VAR]))
    roots.append(DEBIAN_DIR)
    roots.append(keras_cache_dir())
    dirs: list[Path] = []
    for root in roots:
        for folder in (root / info.folder, root):
            if folder not in dirs:
                dirs.append(folder)
    return dirs


def find_files(name: str, data_dir: str | os.PathLike | None = None) -> dict[str, Path] | None:
    """The first folder holding all four files of ``name``, as file -> path, or None."""
    for folder in candidate_dirs(name, data_dir):
        found = {}
        for stem in FILES:
            for candidate in (folder / (stem + ".gz"), folder / stem):
                if candidate.is_file():
                    found[stem] = candidate
                    break
        if len(found) == len(FILES):
            return found
    return None


def read_idx(path: Path, expected_md5: str | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a uint8 array, checking its MD5.

    Raises:
        DataError: the file cannot be decompressed, its checksum differs, or its header does
            not describe its contents.
    """
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path}: cannot be read or decompressed ({exc}); replace the file"
        ) from exc
    if expected_md5 is not None:
        digest = hashlib.md5(raw).hexdigest()
        if digest != expected_md5:
            raise DataError(
                f"{path}: MD5 of the decompressed bytes is {digest}, expected {expected_md5}; "
                "the file is corrupt or truncated: replace it"
            )
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: IDX header is truncated")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) - header != int(np.prod(shape)):
        raise DataError(
            f"{path}: header says shape {shape} ({int(np.prod(shape))} bytes) "
            f"but the file holds {len(raw) - header} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@functools.lru_cache(maxsize=4)
def _read_verified(
    files: tuple[tuple[str, str, int, int], ...], name: str
) -> dict[str, np.ndarray]:
    # Cached per process on (path, mtime, size): a study or a test session reads each file once.
    return {stem: read_idx(Path(path), DATASETS[name].md5[stem]) for stem, path, _, _ in files}


def _info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def _download(name: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    import keras

    loader = {"fashion_mnist": keras.datasets.fashion_mnist, "mnist": keras.datasets.mnist}[name]
    return loader.load_data()


def load_raw(
    name: str, data_dir: str | os.PathLike | None = None, download: bool = True
) -> tuple[dict[str, np.ndarray], str]:
    """The four arrays of a dataset as uint8, and where they came from.

    Returns:
        ``({"x_train", "y_train", "x_test", "y_test"}, source)``.

    Raises:
        DataError: no folder holds the files and the download fails (or is disabled), or a
            file found is corrupt.
    """
    _info(name)  # an unknown name fails before any search
    files = find_files(name, data_dir)
    if files is not None:
        stamps = tuple(
            sorted((s, str(p), p.stat().st_mtime_ns, p.stat().st_size) for s, p in files.items())
        )
        arrays = _read_verified(stamps, name)
        x_train, y_train = arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]
        x_test, y_test = arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]
        source = str(files["train-images-idx3-ubyte"].parent)
    else:
        searched = ", ".join(str(d) for d in candidate_dirs(name, data_dir))
        hint = (
            f"no copy of {name} found (looked in {searched}); put the four IDX .gz files in "
            f"a folder and pass --data-dir or set {ENV_VAR}"
        )
        if not download:
            raise DataError(hint)
        try:
            (x_train, y_train), (x_test, y_test) = _download(name)
        except Exception as exc:  # any network or cache failure ends in the same advice
            raise DataError(f"{hint}; the download failed too ({type(exc).__name__})") from exc
        source = "download"
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (x.shape[0],):
            raise DataError(
                f"{name} {split} split has images {x.shape} and labels {y.shape}; "
                "expected (n, 28, 28) and (n,)"
            )
    raw = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return raw, source


def split_validation(
    n: int, validation: float | int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and validation parts of ``n`` training images.

    Args:
        n: number of training images.
        validation: a fraction in (0, 1) takes a seeded random subset; a whole number N >= 1
            takes the first N images (as one study does with 5,000); 0 gives no validation set.
        seed: seed of the random subset.
    """
    if isinstance(validation, bool) or validation < 0 or validation >= n:
        raise DataError(f"validation={validation!r} must be a fraction in [0, 1) or a count < {n}")
    if isinstance(validation, float) and validation < 1:
        order = np.random.default_rng(seed).permutation(n)
        n_val = int(round(n * validation))
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    n_val = int(validation)
    if n_val != validation:
        raise DataError(f"validation={validation!r}: a count of images must be a whole number")
    return np.arange(n_val, n), np.arange(n_val)


def load(
    name: str = "fashion_mnist",
    *,
    validation: float | int = 0.1,
    split_seed: int = 0,
    standardize: bool = False,
    train_limit: int | None = None,
    test_limit: int | None = None,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> Dataset:
    """Load a dataset as float32 images in [0, 1] with a validation split.

    Args:
        name: ``"fashion_mnist"`` or ``"mnist"``.
        validation: fraction (random, seeded by ``split_seed``) or count (first N images) of
            the training set held out for validation.
        split_seed: seed of the random validation subset and of the training subset.
        standardize: map pixels to ``(x - 0.5) / 0.5`` instead of leaving them in [0, 1].
        train_limit: keep only this many training images (a seeded random subset, taken
            after the validation split), for quick runs.
        test_limit: keep only the first this many test images.
        data_dir: a folder searched before the others.
        download: whether to fall back on Keras's download.

    Returns:
        A :class:`Dataset`.
    """
    raw, source = load_raw(name, data_dir, download)
    train_idx, val_idx = split_validation(len(raw["y_train"]), validation, split_seed)
    if train_limit is not None and train_limit < len(train_idx):
        rng = np.random.default_rng(split_seed + 1)
        train_idx = np.sort(rng.choice(train_idx, size=train_limit, replace=False))
    test_end = len(raw["y_test"]) if test_limit is None else test_limit

    def scale(x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float32) / np.float32(255.0)
        if standardize:
            x = (x - np.float32(STANDARDIZE_MEAN)) / np.float32(STANDARDIZE_STD)
        return x

    x_train, y_train = raw["x_train"], raw["y_train"].astype(np.int64)
    return Dataset(
        name=name,
        x_train=scale(x_train[train_idx]),
        y_train=y_train[train_idx],
        x_val=scale(x_train[val_idx]),
        y_val=y_train[val_idx],
        x_test=scale(raw["x_test"][:test_end]),
        y_test=raw["y_test"][:test_end].astype(np.int64),
        class_names=_info(name).class_names,
        source=source,
    )


def class_counts(labels: Sequence[int] | np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Number of images of each class."""
    return np.bincount(np.asarray(labels), minlength=n_classes)
