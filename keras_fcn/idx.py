"""The IDX files of Fashion-MNIST and MNIST: what is known of each dataset (its classes and
the MD5 of each of its four files), reading a file, and, when its checksum differs, what the
file most likely is: another dataset's file, a truncated download, a file compressed twice,
or a corrupt copy."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from keras_fcn.errors import DataError

N_CLASSES = 10  # both datasets: ten classes of 28x28 grey images

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
        ),
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
        class_names=tuple(str(d) for d in range(N_CLASSES)),
        md5={
            "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
            "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
            "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
            "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
        },
    ),
}


GZIP_MAGIC = b"\x1f\x8b"

# Other containers a download may arrive in, recognised by their first bytes.
ARCHIVES = {b"PK\x03\x04": "zip", b"\xfd7zXZ\x00": "xz", b"BZh": "bzip2"}


def title(name: str) -> str:
    """How a dataset is named in messages."""
    return {"fashion_mnist": "Fashion-MNIST", "mnist": "MNIST"}.get(name, name)


def info(name: str) -> DatasetInfo:
    """What is known of dataset ``name``."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


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
