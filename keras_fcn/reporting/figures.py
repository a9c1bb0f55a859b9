"""Figures made with matplotlib: confusion matrices, learning curves, images of the data.

Figures are made with ``matplotlib.figure.Figure`` directly, so no display is needed; each
function returns one and writes nothing, :func:`save_figure` does the writing.
"""

from __future__ import annotations

import math
import os
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from keras_fcn.idx import N_CLASSES
from keras_fcn.record import RunRecord

CURVE_KEYS = ("loss", "val_accuracy")  # the histories drawn: training loss, validation accuracy
LEGEND_WIDTH = 48  # characters per line of a label in a legend
LEGEND_COLUMNS = 3  # labels side by side under the curves


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write a figure as PNG, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def plot_confusion(
    matrix: Sequence[Sequence[int]],
    class_names: Sequence[str],
    *,
    normalize: bool = False,
    title: str = "",
) -> Figure:
    """The confusion matrix as a heat map (counts, or each row divided by its total)."""
    cm = np.asarray(matrix, dtype=float if normalize else int)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(7.5, 6.5), layout="constrained")
    ax = fig.add_subplot()
    ConfusionMatrixDisplay(cm, display_labels=list(class_names)).plot(
        ax=ax,
        cmap="Blues",
        colorbar=True,
        values_format=".2f" if normalize else "d",
        xticks_rotation=45,
    )
    ax.set_title(
        title or ("Confusion matrix (row-normalized)" if normalize else "Confusion matrix")
    )
    return fig


def has_curves(records: Sequence[RunRecord]) -> bool:
    """Whether any of ``records`` has a per-epoch history to draw (the classical baselines
    have none)."""
    return any(r.history.get(key) for r in records for key in CURVE_KEYS)


def plot_learning_curves(
    records: Mapping[str, RunRecord | Sequence[RunRecord]], title: str = ""
) -> Figure:
    """Training loss and validation accuracy against epoch, one line per label (labels
    without a history are left out: call :func:`has_curves` first to skip an empty figure).

    Args:
        records: label -> a record, or several records (seeds) drawn as their mean with a
            band of one standard deviation.
        title: the figure's title.
    """
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for label, runs in records.items():
        runs = [runs] if isinstance(runs, RunRecord) else list(runs)
        # a long label (a whole config) on one line would squeeze the axes to nothing
        label = textwrap.fill(label, LEGEND_WIDTH)
        for ax, key in zip((ax_loss, ax_acc), CURVE_KEYS, strict=True):
            curves = [r.history.get(key, []) for r in runs if r.history.get(key)]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            stacked = np.array([c[:length] for c in curves], dtype=float)
            epochs = np.arange(1, length + 1)
            with warnings.catch_warnings():  # epochs where every seed diverged stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(stacked, axis=0)
                std = np.nanstd(stacked, axis=0)
            (line,) = ax.plot(epochs, mean, label=label)
            if len(curves) > 1:
                ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    handles, labels = ax_acc.get_legend_handles_labels()
    if handles:
        # below the axes, the figure taller by its height: inside them, a table of many
        # rows would cover the curves or squeeze the axes to nothing
        ncols = min(LEGEND_COLUMNS, len(handles))
        lines = sum(label.count("\n") + 1 for label in labels)
        fig.set_figheight(fig.get_figheight() + 0.3 + 0.2 * math.ceil(lines / ncols))
        fig.legend(handles, labels, loc="outside lower center", ncols=ncols, fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_confused_examples(
    pairs: pd.DataFrame,
    x_test: np.ndarray,
    y_test: np.ndarray,
    predictions: np.ndarray,
    per_pair: int = 6,
) -> Figure:
    """A few test images of each confused pair, one row per pair.

    Args:
        pairs: the pairs, as :func:`keras_fcn.reporting.confusion.most_confused` gives them.
        x_test: the test images.
        y_test: their classes.
        predictions: the class predicted for each.
        per_pair: images shown per pair.
    """
    fig = Figure(figsize=(1.3 * per_pair, 1.5 * len(pairs)), layout="constrained")
    axes = fig.subplots(max(1, len(pairs)), per_pair, squeeze=False)
    for row, (_, pair) in zip(axes, pairs.iterrows(), strict=False):
        idx = np.flatnonzero(
            (y_test == pair["true_index"]) & (predictions == pair["predicted_index"])
        )[:per_pair]
        for k, ax in enumerate(row):
            ax.axis("off")
            if k < len(idx):
                ax.imshow(x_test[idx[k]], cmap="gray_r")
        row[0].set_title(f"{pair['true']} → {pair['predicted']}", fontsize="small", loc="left")
    return fig


def plot_class_distribution(data: object) -> Figure:
    """Images per class in each split of a :class:`keras_fcn.data.Dataset`."""
    from keras_fcn.data import class_counts

    fig = Figure(figsize=(10, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, split in zip(axes, ("train", "val", "test"), strict=True):
        counts = class_counts(getattr(data, f"y_{split}"))
        ax.bar(range(N_CLASSES), counts, color="steelblue")
        ax.set_xticks(range(N_CLASSES), data.class_names, rotation=60, fontsize="x-small")
        ax.set_title(f"{split}: {counts.sum():,} images", fontsize="small")
    return fig


def plot_first_images(data: object, n: int = 64) -> Figure:
    """The first ``n`` training images with their class names."""
    side = int(np.ceil(np.sqrt(n)))
    fig = Figure(figsize=(1.2 * side, 1.35 * side), layout="constrained")
    axes = fig.subplots(side, side, squeeze=False).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k < min(n, len(data.y_train)):
            ax.imshow(data.x_train[k], cmap="gray_r")
            ax.set_title(data.class_names[data.y_train[k]], fontsize=6)
    return fig
