"""What tests of both tiers share: the project's folders, IDX files and synthetic datasets,
running a command in this process, and finding the processes a command started."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from experiments._cli import run_main
from keras_fcn import idx

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "experiments" / "published"
SPACES = ROOT / "experiments" / "spaces"


# IDX files and synthetic datasets --------------------------------------------------------


def write_idx(path: Path, array: np.ndarray, *, compress: bool = True) -> Path:
    """Write ``array`` (uint8) as an IDX file, gzipped by default."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + b"".join(
        struct.pack(">I", d) for d in array.shape
    )
    raw = header + array.tobytes()
    path.write_bytes(gzip.compress(raw, compresslevel=1) if compress else raw)
    return path


def _prototypes(rng: np.random.Generator) -> np.ndarray:
    """Ten 28x28 images in [0, 1], one a class: each a few Gaussian blobs at random places."""
    yy, xx = np.mgrid[0:28, 0:28]
    prototypes = np.zeros((10, 28, 28))
    for image in prototypes:
        for _ in range(4):
            cy, cx = rng.uniform(6, 22, 2)
            sy, sx = rng.uniform(2, 6, 2)
            blob = np.exp(-((yy - cy) ** 2 / (2 * sy**2) + (xx - cx) ** 2 / (2 * sx**2)))
            image += rng.uniform(0.5, 1.0) * blob
        image /= image.max()
    return prototypes


def synthetic_images(
    n: int, prototypes: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images of 28x28 and their labels, every class equally often.

    Each image is its class's prototype blended with another class's (up to half), shifted
    by up to two pixels, dimmed, and covered in noise; dark pixels are set to zero, as the
    background of the real images is. A small network learns them to 70-90 % in a few
    epochs on a few thousand images, like the real Fashion-MNIST, and not to 100 %.
    """
    y = rng.permutation(np.arange(n) % 10)
    other = (y + rng.integers(1, 10, n)) % 10
    weight = rng.uniform(0, 0.5, (n, 1, 1))
    x = (1 - weight) * prototypes[y] + weight * prototypes[other]
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2)))
    dy, dx = rng.integers(0, 5, (2, n))
    rows = dy[:, None] + np.arange(28)
    cols = dx[:, None] + np.arange(28)
    x = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    x = x * rng.uniform(0.6, 1.0, (n, 1, 1)) + 0.3 * rng.standard_normal(x.shape)
    x = np.where(x < 0.15, 0.0, x)
    return np.clip(np.rint(x * 255), 0, 255).astype(np.uint8), y.astype(np.uint8)


# enough training images for the studies that hold out the first 5,000 for validation
SYNTHETIC_SIZES = {"train": 6000, "test": 1000}


def write_synthetic_datasets(folder: Path) -> dict[str, idx.DatasetInfo]:
    """Write a synthetic Fashion-MNIST and MNIST under ``folder`` as the loader looks for them
    (``fashion-mnist/`` and ``mnist/``, four gzipped IDX files each), and return the
    loader's table of datasets with these files' checksums in place of the published ones."""
    table = {}
    for offset, (name, info) in enumerate(idx.DATASETS.items()):
        rng = np.random.default_rng(1000 + offset)
        prototypes = _prototypes(rng)
        x_train, y_train = synthetic_images(SYNTHETIC_SIZES["train"], prototypes, rng)
        x_test, y_test = synthetic_images(SYNTHETIC_SIZES["test"], prototypes, rng)
        arrays = {
            "train-images-idx3-ubyte": x_train,
            "train-labels-idx1-ubyte": y_train,
            "t10k-images-idx3-ubyte": x_test,
            "t10k-labels-idx1-ubyte": y_test,
        }
        (folder / info.folder).mkdir(parents=True, exist_ok=True)
        md5 = {}
        for stem, array in arrays.items():
            path = write_idx(folder / info.folder / f"{stem}.gz", array)
            md5[stem] = hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest()
        table[name] = idx.DatasetInfo(info.name, info.folder, info.class_names, md5)
    return table


# Commands run in this process --------------------------------------------------------------


def exit_code(main, argv: list[str], capsys) -> tuple[int, pytest.CaptureResult]:
    """Run a command's ``main`` on ``argv`` in this process: its exit code and its output."""
    with pytest.raises(SystemExit) as info:
        run_main(main, argv)
    return info.value.code, capsys.readouterr()


def run_ok(main, argv: list[str], capsys) -> str:
    """Run a command in this process, check that it exits 0, and return what it printed."""
    code, out = exit_code(main, argv, capsys)
    assert code == 0, out.err[-2000:]
    return out.out


def files_under(folder: Path) -> list[Path]:
    """Every file and folder under ``folder``, relative to it, sorted."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


# Processes a command started ---------------------------------------------------------------


def children_with(pid: int, variable: str) -> dict[str, int]:
    """Value of the environment variable ``variable`` -> pid, for the children of ``pid``
    that have it, read from /proc."""
    found = {}
    prefix = variable.encode() + b"="
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0") if parent == pid else []
        except (OSError, ValueError, IndexError):
            continue
        for item in environ:
            if item.startswith(prefix):
                found[item[len(prefix) :].decode()] = int(entry.name)
    return found


# Command lines shared by tests -------------------------------------------------------------

# dense-l2 --quick shrunk further: each run takes a second or two, so a kill can land in
# start-up, in training, right after a record is written, or while the tables are saved
STUDY = [
    "dense-l2",
    "--quick",
    "--set",
    "train_limit=500",
    "--set",
    "test_limit=300",
    "--set",
    "validation=500",
    "--set",
    "hidden=32",
    "--set",
    "epochs=1",
    "--set",
    "jit_compile=off",
]


def study_argv(out: Path, seeds: int) -> list[str]:
    """The tiny study's command line, writing under ``out``, without classical baselines."""
    return [*STUDY, "--seeds", str(seeds), "--out", str(out), "--baselines", str(out / "none")]


# a grid of four settings on a few hundred images: what the tests of several tuning
# processes (chief and workers) run
TINY_SEARCH = [
    "--tuner",
    "grid",
    "--search",
    "learning_rate,activation",
    "--only",
    "learning_rate=0.001,0.01",
    "--only",
    "activation=relu,tanh",
    "--set",
    "hidden=16",
    "--set",
    "train_limit=300",
    "--set",
    "test_limit=200",
    "--set",
    "validation=200",
    "--set",
    "jit_compile=off",
    "--max-epochs",
    "2",
    "--final-seeds",
    "1",
]


# the Keras class behind each name of keras_fcn.config.INITIALIZERS
INITIALIZER_CLASSES = {
    "default": "GlorotUniform",
    "pytorch": "VarianceScaling",
    "random_normal": "RandomNormal",
    "standard_normal": "RandomNormal",
    "random_normal_0.1": "RandomNormal",
    "xavier_normal": "GlorotNormal",
    "xavier_uniform": "GlorotUniform",
    "kaiming_normal": "HeNormal",
    "kaiming_uniform": "HeUniform",
}
