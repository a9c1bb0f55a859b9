"""Fashion-MNIST and MNIST as float32 arrays: the training set split into training and
validation parts, pixels scaled to [0, 1] or standardized.

The files come from local folders first, checked against their known checksums
(``keras_fcn.data_sources``, ``keras_fcn.idx``; see ``docs/data.md``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from keras_fcn import data_sources, idx
from keras_fcn.errors import DataError

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
    raw, source = data_sources.load_raw(name, data_dir, download)
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
        class_names=idx.info(name).class_names,
        source=source,
    )


def class_counts(labels: Sequence[int] | np.ndarray, n_classes: int = idx.N_CLASSES) -> np.ndarray:
    """Number of images of each class."""
    return np.bincount(np.asarray(labels), minlength=n_classes)
