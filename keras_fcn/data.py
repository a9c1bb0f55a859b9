"""Fashion-MNIST and MNIST from local files first, checked against their known checksums.

The loader looks for the four original IDX files of a dataset, in this order:

1. the folder passed as ``data_dir`` (the ``--data-dir`` flag of every command);
2. the folder named by the ``KERAS_FCN_DATA_DIR`` environment variable;
3. Debian's ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``);
4. Keras's own cache (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``);

and only then asks Keras to download it. A folder may hold the files directly or in a
sub-folder named after the dataset (``fashion-mnist/``, ``mnist/``), gzipped or not; the
first folder holding any of them must hold all four, or the loader names those missing. The
decompressed bytes of each file are checked against the MD5 the dataset is published with;
a copy that differs is rejected with a message naming the file, both checksums, every
folder searched and what the file most likely is: another dataset's file, a truncated
download, a file compressed twice, or a corrupt copy.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_fcn.errors import DataError

ENV_VAR = "KERAS_FCN_DATA_DIR"
N_CLASSES = 10  # both datasets: ten classes of 28x28 grey images
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
    """The first folder holding files of ``name``, as file -> path, or None if none holds any.

    Raises:
        DataError: the first folder holding any of the four files lacks some of them. Going
            on to a later folder, or to a download, would hide a copy the user meant to use.
    """
    for folder in candidate_dirs(name, data_dir):
        found = {}
        for stem in FILES:
            for candidate in (folder / (stem + ".gz"), folder / stem):
                if candidate.is_file():
                    found[stem] = candidate
                    break
        if len(found) == len(FILES):
            return found
        if found:
            missing = [stem for stem in FILES if stem not in found]
            raise DataError(
                f"{folder}: holds {len(found)} of the 4 files of {title(name)} but not "
                f"{', '.join(missing)} (gzipped or not); add the missing "
                f"{'file' if len(missing) == 1 else 'files'} there, or move the others away"
            )
    return None


GZIP_MAGIC = b"\x1f\x8b"
# Other containers a download may arrive in, recognised by their first bytes.
ARCHIVES = {b"PK\x03\x04": "zip", b"\xfd7zXZ\x00": "xz", b"BZh": "bzip2"}


def title(name: str) -> str:
    """How a dataset is named in messages."""
    return {"fashion_mnist": "Fashion-MNIST", "mnist": "MNIST"}.get(name, name)


def _gunzip(raw: bytes) -> tuple[bytes, str | None]:
    """The decompressed bytes of every gzip member of ``raw``, and why the stream stopped
    early (None if it ended properly), so that a truncated file can still be measured."""
    parts: list[bytes] = []
    rest = raw
    while rest[:2] == GZIP_MAGIC:
        stream = zlib.decompressobj(wbits=31)
        try:
            parts.append(stream.decompress(rest))
        except zlib.error as exc:
            return b"".join(parts), f"the gzip stream is corrupt ({exc})"
        if not stream.eof:
            parts.append(stream.flush())
            return b"".join(parts), "the gzip stream ends early"
        rest = stream.unused_data
    return b"".join(parts), None


def _announced_size(data: bytes) -> int | None:
    """Size in bytes of an IDX file of unsigned bytes as its own header describes it."""
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        return None
    header = 4 + 4 * data[3]
    if len(data) < header:
        return None
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(data[3])]
    return header + int(np.prod(shape, dtype=np.int64))


def _diagnosis(
    path: Path, data: bytes, broken: str | None, digest: str, dataset: str, stem: str
) -> tuple[str, str]:
    """What a file whose checksum differs most likely is, and what to do about it."""
    for other, info in DATASETS.items():
        for other_stem, md5 in info.md5.items():
            if md5 == digest and (other, other_stem) != (dataset, stem):
                what = f"this is {title(other)}'s {other_stem}"
                if other == dataset:
                    return what, f"put {stem} under this name instead (the files are swapped)"
                if not dataset:
                    return what, "replace it with the file expected here"
                return what, (
                    f"put {title(dataset)}'s own files in {path.parent} and keep "
                    f"{title(other)}'s in a folder named {info.folder}/"
                )
    size = _announced_size(data)
    if broken or (size is not None and len(data) < size):
        held = f"{len(data):,} bytes" + (
            f" of the {size:,} its IDX header announces" if size else ""
        )
        return f"a truncated download ({broken or 'the file ends early'}: {held})", (
            "delete it and download it again"
        )
    if data[:2] == GZIP_MAGIC:
        return "a file compressed twice (its decompressed bytes are gzip again)", (
            "decompress it once more, or replace it with the original"
        )
    for magic, kind in ARCHIVES.items():
        if data.startswith(magic):
            return f"a {kind} archive, not a gzipped or plain IDX file", (
                f"extract {stem} from it, or replace it with the original"
            )
    if size is None:
        return "not an IDX file of unsigned bytes (bad magic number)", (
            "replace it with the original"
        )
    if len(data) > size:
        return f"{len(data) - size:,} bytes longer than its IDX header announces", (
            "replace it with the original"
        )
    return "a modified or corrupt copy (the size matches its IDX header, the contents differ)", (
        "replace it with the original"
    )


def read_idx(
    path: Path,
    expected_md5: str | None = None,
    *,
    dataset: str | None = None,
    stem: str | None = None,
    searched: Sequence[str | os.PathLike] = (),
) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a uint8 array, checking its MD5.

    Args:
        path: the file.
        expected_md5: MD5 of the decompressed bytes; None skips the check.
        dataset: the dataset the file should belong to, named in a checksum error.
        stem: the file the dataset expects here, e.g. ``"train-images-idx3-ubyte"``.
        searched: the folders searched, listed in a checksum error.

    Raises:
        DataError: the file cannot be read or decompressed, its checksum differs (the message
            says what the file most likely is), or its header does not describe its contents.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror}); replace the file") from exc
    compressed = raw[:2] == GZIP_MAGIC
    data, broken = _gunzip(raw) if compressed else (raw, None)
    if expected_md5 is not None:
        digest = hashlib.md5(data).hexdigest()
        if digest != expected_md5:
            stem = stem or path.name.removesuffix(".gz")
            what, todo = _diagnosis(path, data, broken, digest, dataset or "", stem)
            owner = f" ({title(dataset)}'s {stem})" if dataset else ""
            places = f"; searched: {', '.join(map(str, searched))}" if searched else ""
            raise DataError(
                f"{path}: MD5 of the {'decompressed' if compressed else 'file'} bytes is "
                f"{digest}, expected {expected_md5}{owner}; most likely {what}; {todo}{places}"
            )
    elif broken:
        raise DataError(f"{path}: cannot be decompressed ({broken}); replace the file")
    raw = data
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
    files: tuple[tuple[str, str, int, int], ...], name: str, searched: tuple[str, ...]
) -> dict[str, np.ndarray]:
    # Cached per process on (path, mtime, size): a study or a test session reads each file once.
    return {
        stem: read_idx(
            Path(path), DATASETS[name].md5[stem], dataset=name, stem=stem, searched=searched
        )
        for stem, path, _, _ in files
    }


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
        DataError: no folder holds the files and the download fails (or is disabled), the
            first folder holding some of them lacks others, or a file found is not the one
            expected.
    """
    _info(name)  # an unknown name fails before any search
    files = find_files(name, data_dir)
    if files is not None:
        stamps = tuple(
            sorted((s, str(p), p.stat().st_mtime_ns, p.stat().st_size) for s, p in files.items())
        )
        searched = tuple(str(d) for d in candidate_dirs(name, data_dir))
        arrays = _read_verified(stamps, name, searched)
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
