"""What a search's results say: the best setting as text, warnings when a best value sits
on the edge of the space, validation accuracy plotted along each hyperparameter, and what
the search left on disk."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from keras_fcn.space import Space, encode_value
from keras_fcn.tuning.hypermodel import OBJECTIVE


def edge_warnings(space: Space, best: Mapping[str, Any]) -> list[str]:
    """A line for each hyperparameter whose best value is on the edge of the space.

    Args:
        space: the space searched.
        best: the best setting, as names of the space (``depth``, ``units_1``, ...).
    """
    lines = []
    for name in space.searched():
        value = best.get(name)
        # zero (no momentum, no dropout, no penalty) and one layer are hard bounds, not edges
        # to widen
        hard = (None, 0, 1) if name == "depth" else (None, 0)
        if value not in hard and space[name].on_edge(value):
            lines.append(
                f"{name}={value!r} is on the edge of the space: the optimum may lie beyond it"
            )
    return lines


def rivals_line(table: pd.DataFrame, final_val: Sequence[float | None]) -> str:
    """How sure the choice of the best trial is: how many other completed trials lie within
    twice the spread (std) of the best setting's validation accuracy over its final seeds.
    Their order is within seed noise when each trial ran once. Empty with fewer than two
    final seeds or no validation accuracy in the table.

    Args:
        table: the trial table (:func:`keras_fcn.tuning.trials.trials_frame`).
        final_val: the best validation accuracy of each final run of the best setting
            (``None`` where a run has none: left out).
    """
    final_val = [v for v in final_val if v is not None]
    if len(final_val) < 2 or OBJECTIVE not in table:
        return ""
    margin = 2 * float(np.std(final_val, ddof=1))
    scores = table.loc[table["status"] == "COMPLETED", OBJECTIVE].astype(float)
    close = int((scores >= scores.max() - margin).sum()) - 1
    within = f"within {100 * margin:.2f} points of the best on validation (twice the std"
    spread = f" of its {len(final_val)} final seeds)"
    if close <= 0:
        return f"no other trial lies {within}{spread}: the choice is clear of seed noise"
    lie, order = ("s lie", "their order") if close > 1 else (" lies", "the order of the two")
    return (
        f"{close} other trial{lie} {within}{spread}: {order} is within seed noise (more "
        "--executions per trial would separate them)"
    )


def plot_along_each(table: pd.DataFrame, space: Space) -> Figure:
    """Validation accuracy against each searched hyperparameter, one point per trial, the
    best trial marked."""
    names = space.searched()
    done = table[(table["status"] == "COMPLETED") & table[OBJECTIVE].notna()]
    cols = min(3, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    best = done.loc[done[OBJECTIVE].idxmax()] if len(done) else None
    for ax, name in zip(axes, names, strict=False):
        p = space[name]
        values = done[name]
        numeric = p.is_range or all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in p.values
        )
        if numeric:
            x = values.astype(float)
            if p.log or (
                not p.is_range and min(p.values) > 0 and max(p.values) / min(p.values) >= 100
            ):
                ax.set_xscale("log")
        else:
            encoded = [encode_value(v) for v in p.values]
            labels = [str(v) for v in encoded]
            # equality first: a table read back may hold True as 1
            x = values.map(
                lambda v, encoded=encoded: next(
                    (i for i, e in enumerate(encoded) if v == e or str(v) == str(e)), np.nan
                )
            )
            ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize="small")
        ax.scatter(x, done[OBJECTIVE], s=18, alpha=0.7)
        if best is not None:
            bx = x.loc[best.name]  # NaN where the best trial has no such layer
            ax.scatter(
                [bx], [best[OBJECTIVE]], marker="*", s=160, color="crimson", zorder=3, label="best"
            )
        ax.set(xlabel=name, ylabel="validation accuracy")
        ax.grid(alpha=0.3)
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    return fig


def _number(trial_id: Any) -> int | None:
    """A trial id as a number: KerasTuner pads ids to the width of ``max_trials`` (``0007``
    in Hyperband, ``007`` in a random search of 999 trials, ``7`` in a grid), and a CSV reads
    them back as numbers or strings. ``None`` for a missing one."""
    if trial_id is None or pd.isna(trial_id) or str(trial_id) == "":
        return None
    return int(float(trial_id))


def _trial_histories(project: Path, number: int) -> Path | None:
    for folder in project.glob("trial_*"):
        if folder.name[len("trial_") :].isdigit() and int(folder.name[len("trial_") :]) == number:
            return folder / "histories.json"
    return None


def trial_curve(project: Path, table: pd.DataFrame, trial_id: Any) -> list[float]:
    """Validation accuracy per epoch of a trial's first execution, from its first epoch: a
    Hyperband trial that continues an earlier one (``tuner/trial_id``) trains from that
    trial's weights, so the earlier trial's epochs come first. Empty where a trial's
    ``histories.json`` is missing."""
    number = _number(trial_id)
    path = _trial_histories(project, number)
    if path is None or not path.exists():
        return []
    own = json.loads(path.read_text())[0].get(OBJECTIVE, [])
    rows = table.set_index(table["trial_id"].map(_number))
    row = rows.loc[number] if number in rows.index else None
    parent = None if row is None else _number(row.get("tuner/trial_id"))
    if parent is None:
        return [float(v) for v in own]
    start = int(row.get("tuner/initial_epoch") or 0)
    earlier = trial_curve(project, table, parent)
    return [float(v) for v in earlier[:start] + own]


def plot_best_curves(project: Path, table: pd.DataFrame, n: int = 5) -> Figure:
    """Validation accuracy per epoch of the ``n`` best trials (their first execution), each
    from its first epoch (:func:`trial_curve`), the best one bold. A trial that a better one
    continued is the start of that one's curve: it is left out."""
    done = table[(table["status"] == "COMPLETED") & table[OBJECTIVE].notna()]
    numbers = table["trial_id"].map(_number)
    parent_ids = table.get("tuner/trial_id", pd.Series(index=table.index))
    parents = dict(zip(numbers, parent_ids.map(_number), strict=True))
    names = dict(zip(numbers, table["trial_id"].astype(str), strict=True))  # as the table has it
    chosen: list[int] = []
    covered: set[int] = set()
    for number in done.sort_values(OBJECTIVE, ascending=False)["trial_id"].map(_number):
        if number in covered:
            continue
        chosen.append(number)
        parent = parents.get(number)
        while parent is not None:
            covered.add(parent)
            parent = parents.get(parent)
        if len(chosen) == n:
            break
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    for rank, number in enumerate(chosen):
        curve = trial_curve(project, table, number)
        if curve:
            epochs = range(1, len(curve) + 1)
            label = f"trial {names[number]}: {max(curve):.4f}"
            ax.plot(epochs, curve, linewidth=2.4 if rank == 0 else 1.2, label=label)
    ax.set(xlabel="epoch", ylabel="validation accuracy", title=f"The {len(chosen)} best trials")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize="small", loc="lower right")
    return fig


def describe_searched(settings: Mapping[str, Any], names: Sequence[str]) -> str:
    """``name=value`` pairs of the searched hyperparameters."""

    def text(value: Any) -> str:
        return f"{value:.3g}" if isinstance(value, float) else str(encode_value(value))

    return ", ".join(f"{n}={text(settings[n])}" for n in names if n in settings)


def size_text(n_bytes: int) -> str:
    """A size as people read it: ``812 B``, ``4.0 KB``, ``34.1 MB``."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} B"


def disk_usage(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def saved_line(folder: Path) -> str:
    """``saved: FOLDER (SIZE): NAME SIZE, FOLDER/ SIZE, ...``: every file and folder of a
    search's folder with its size, largest first."""
    entries = sorted(folder.iterdir(), key=lambda p: (-disk_usage(p), p.name))
    parts = [f"{p.name}{'/' if p.is_dir() else ''} {size_text(disk_usage(p))}" for p in entries]
    return f"saved: {folder}/ ({size_text(disk_usage(folder))}): {', '.join(parts)}"
