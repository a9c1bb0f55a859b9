"""Where a dataset's files are found: local folders first, then Keras's download.

The loader looks for the four original IDX files of a dataset, in this order:

1. the folder passed as ``data_dir`` (the ``--data-dir`` flag of every command);
2. the folder named by the ``KERAS_FCN_DATA_DIR`` environment variable;
3. Debian's ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``);
4. Keras's own cache (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``);

and only then asks Keras to download it. A folder passed as ``data_dir`` must hold the
dataset: a missing folder, a file, or a folder without the files is an error, never skipped
for a later place (:func:`check_data_dir`). A folder may hold the files directly or in a
sub-folder named after the dataset (``fashion-mnist/``, ``mnist/``), gzipped or not; the
first folder holding any of them must hold all four, or the loader names those missing. The
decompressed bytes of each file are checked against the MD5 the dataset is published with;
a copy that differs is rejected with a message naming the file, both checksums, every
folder searched and what the file most likely is: another dataset's file, a truncated
download, a file compressed twice, or a corrupt copy.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from keras_fcn import idx
from keras_fcn.errors import DataError

ENV_VAR = "KERAS_FCN_DATA_DIR"
DEBIAN_DIR = Path("/usr/share/datasets")


def keras_cache_dir() -> Path:
    """The folder where Keras caches downloaded datasets."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"


def candidate_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Every folder searched for ``name``'s files, in search order."""
    info = idx.info(name)
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


def _files_in(name: str, folder: Path) -> dict[str, Path] | None:
    """``name``'s four files in ``folder`` as file -> path, or None if it holds none.

    Raises:
        DataError: ``folder`` holds some of the four files but not all.
    """
    found = {}
    for stem in idx.FILES:
        for candidate in (folder / (stem + ".gz"), folder / stem):
            if candidate.is_file():
                found[stem] = candidate
                break
    if len(found) == len(idx.FILES):
        return found
    if found:
        missing = [stem for stem in idx.FILES if stem not in found]
        raise DataError(
            f"{folder}: holds {len(found)} of the 4 files of {idx.title(name)} but not "
            f"{', '.join(missing)} (gzipped or not); add the missing "
            f"{'file' if len(missing) == 1 else 'files'} there, or move the others away"
        )
    return None


def check_data_dir(data_dir: str | os.PathLike, names: tuple[str, ...] | None = None) -> Path:
    """``data_dir`` as a path, once it is known to hold the four files of one of ``names``
    (every dataset when None), directly or in the dataset's own sub-folder.

    A folder named on purpose that holds nothing is a mistake (a typo, the wrong folder):
    going on to ``KERAS_FCN_DATA_DIR`` or a download would hide it.

    Raises:
        DataError: the folder does not exist, is a file, or holds none of the datasets (the
            message lists the files looked for and every folder looked in), or holds some
            of a dataset's files but not all.
    """
    folder = Path(data_dir)
    names = tuple(idx.DATASETS) if names is None else names
    wanted = " or ".join(idx.title(n) for n in names)
    if not folder.exists():
        raise DataError(
            f"data folder {folder} (--data-dir) does not exist; give the folder holding the "
            f"IDX files of {wanted}"
        )
    if not folder.is_dir():
        raise DataError(
            f"data folder {folder} (--data-dir) is a file; give the folder holding the IDX "
            f"files of {wanted}"
        )
    places = [folder / idx.info(n).folder for n in names] + [folder]
    for name in names:
        for place in (folder / idx.info(name).folder, folder):
            if _files_in(name, place) is not None:
                return folder
    looked_in = ", ".join(str(p) for p in dict.fromkeys(places))
    raise DataError(
        f"data folder {folder} (--data-dir) holds no copy of {wanted}: looked for "
        f"{', '.join(idx.FILES)} (each .gz or not) in {looked_in}; put them there, or leave "
        f"out --data-dir to search {ENV_VAR} and the usual places"
    )


def find_files(name: str, data_dir: str | os.PathLike | None = None) -> dict[str, Path] | None:
    """The first folder holding files of ``name``, as file -> path, or None if none holds any.

    Raises:
        DataError: ``data_dir`` is given but does not hold ``name`` (:func:`check_data_dir`),
            or the first folder holding any of the four files lacks some of them. Going on to
            a later folder, or to a download, would hide a copy the user meant to use.
    """
    if data_dir:
        check_data_dir(data_dir, (name,))
    for folder in candidate_dirs(name, data_dir):
        found = _files_in(name, folder)
        if found is not None:
            return found
    return None


@functools.lru_cache(maxsize=4)
def _read_verified(
    files: tuple[tuple[str, str, int, int], ...], name: str, searched: tuple[str, ...]
) -> dict[str, np.ndarray]:
    # Cached per process on (path, mtime, size): a study or a test session reads each file once.
    return {
        stem: idx.read_idx(
            Path(path), idx.DATASETS[name].md5[stem], dataset=name, stem=stem, searched=searched
        )
        for stem, path, _, _ in files
    }


def _download(name: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    import keras

    loader = {"fashion_mnist": keras.datasets.fashion_mnist, "mnist": keras.datasets.mnist}[name]
    return loader.load_data()


def _why(exc: BaseException) -> str:
    """What went wrong, on one line: the exception's message after its type (``OSError:
    network unreachable``), or its type alone when it has no message."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


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
    idx.info(name)  # an unknown name fails before any search
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
            raise DataError(f"{hint}; the download failed too: {_why(exc)}") from exc
        source = "download"
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or y.shape != (x.shape[0],):
            raise DataError(
                f"{name} {split} split has images {x.shape} and labels {y.shape}; "
                "expected (n, 28, 28) and (n,)"
            )
    raw = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    return raw, source
