"""The trials of a search as a table: each trial's setting decoded to the space's values,
its status, validation accuracy (mean, std, each execution) and cost; the best trial; and
the one line printed for each trial as it ends.

Trials are known by KerasTuner's trial ids (``00``, ``01``, ...: from 0, as their folders
``trial_00`` and their TensorBoard logs are named).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras_tuner as kt
import pandas as pd

from keras_fcn.errors import ConfigError
from keras_fcn.space import Space, encode_value
from keras_fcn.tuning.hypermodel import HYPERBAND_KEYS, OBJECTIVE, active_values
from keras_fcn.tuning.summary import describe_searched

METRICS = (OBJECTIVE, f"{OBJECTIVE}_std", "val_loss", "epochs_trained", "wall_time_s")


def decode(space: Space, values: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's whole setting as the space's values (``"512-256"`` -> ``(512, 256)``): its
    ``hp`` values, and the value of every parameter fixed to one (KerasTuner holds none
    for those); layers beyond the trial's depth left out."""
    active = active_values(space, values)
    depth = active.get("depth", space.layers.depth.default if space.layers else 0)
    out = {}
    for name in space.hp_names():
        p = space[name]
        per_layer = space.layers and name != "depth" and space.layers.param_of(name)
        if per_layer and int(name.rpartition("_")[2]) > depth:
            continue  # this trial has no such layer
        if name in active:
            encoded = [encode_value(v) for v in p.values]
            value = active[name]
            out[name] = p.values[encoded.index(value)] if value in encoded else value
        elif not p.searched:
            out[name] = p.values[0]
    return out


def trials_frame(tuner: kt.Tuner, space: Space) -> pd.DataFrame:
    """Every trial as a row: id, status, hyperparameters, validation accuracy (mean, std,
    each execution), validation loss, epochs, wall time and, for failures, why.

    Columns of whole numbers (units, batch sizes, epochs) hold integers, and a value a trial
    lacks (a layer beyond its depth, the metrics of a failed trial) is missing (``<NA>``),
    so that the CSV and Markdown show an empty cell, not ``nan`` or ``128.0``.
    """
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        row: dict[str, Any] = {"trial_id": trial_id, "status": trial.status}
        values = trial.hyperparameters.values
        setting = decode(space, values)
        # a layer beyond the trial's depth is empty, not zero
        row.update({name: encode_value(setting.get(name)) for name in space.hp_names()})
        row.update({key: values[key] for key in HYPERBAND_KEYS if key in values})
        metrics = trial.metrics
        for name in METRICS:
            row[name] = metrics.get_last_value(name) if metrics.exists(name) else None
        execs = sorted(n for n in metrics.metrics if n.startswith(f"{OBJECTIVE}_exec"))
        row["executions"] = ", ".join(f"{metrics.get_last_value(n):.4f}" for n in execs)
        message = (trial.message or "").strip().splitlines()
        row["message"] = message[-1] if message else ""
        rows.append(row)
    frame = pd.DataFrame(rows)
    whole = [*space.hp_names(), *HYPERBAND_KEYS, "epochs_trained"]
    for name in (c for c in whole if c in frame):
        frame[name] = _whole_numbers(frame[name])
    return frame


def _whole_numbers(column: pd.Series) -> pd.Series:
    """``column`` as nullable integers when every value it holds is a whole number."""
    present = column.dropna()
    numbers = all(
        isinstance(v, int | float) and not isinstance(v, bool) and float(v).is_integer()
        for v in present
    )
    return column.astype("Int64") if len(present) and numbers else column


def save_trials(table: pd.DataFrame, stem: str | os.PathLike) -> tuple[Path, Path]:
    """Write the trial table as ``STEM.csv`` and ``STEM.md``, a missing value as an empty
    cell and trial ids as KerasTuner spells them (``00``)."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv, md = stem.with_suffix(".csv"), stem.with_suffix(".md")
    table.to_csv(csv, index=False)
    shown = table.astype(object).where(table.notna(), "")
    ids = [list(table.columns).index("trial_id")] if "trial_id" in table else []
    md.write_text(shown.to_markdown(index=False, disable_numparse=ids) + "\n")
    return csv, md


def top_trials(table: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` best completed trials by mean validation accuracy."""
    done = table[table["status"] == "COMPLETED"]
    return done.sort_values(OBJECTIVE, ascending=False).head(n)


def best_trial(tuner: kt.Tuner) -> kt.engine.trial.Trial:
    """The completed trial best on validation accuracy.

    Raises:
        ConfigError: no trial completed.
    """
    trials = [
        t for t in tuner.oracle.get_best_trials(len(tuner.oracle.trials)) if t.status == "COMPLETED"
    ]
    if not trials:
        raise ConfigError(
            "no trial completed: nothing to choose from (see the trial table for why)"
        )
    return trials[0]


def best_point(tuner: kt.Tuner, space: Space) -> dict[str, Any]:
    """The best completed trial's values (chosen on validation accuracy), as names of the
    space; :meth:`Space.to_config` turns them into config fields."""
    return decode(space, best_trial(tuner).hyperparameters.values)


def total_epochs(table: pd.DataFrame, executions: int) -> int:
    """Epochs the search trained, summed over trials and executions."""
    return int(round(table["epochs_trained"].astype(float).fillna(0).sum() * executions))


def trial_line(space: Space, trial: kt.engine.trial.Trial, result: Mapping[str, float]) -> str:
    """One line for a finished trial: its id, validation accuracy, epochs, seconds and
    searched values; or why it failed."""
    values = describe_searched(decode(space, trial.hyperparameters.values), space.searched())
    if trial.status != "COMPLETED" or OBJECTIVE not in result:
        message = (trial.message or "").strip().splitlines()
        why = f": {message[-1]}" if message else ""
        return f"trial {trial.trial_id} {str(trial.status).lower()}{why}; {values}"
    std = (
        f" ± {result[f'{OBJECTIVE}_std']:.4f}"
        if len([k for k in result if "_exec" in k]) > 1
        else ""
    )
    epochs = result["epochs_trained"]
    # Hyperband continues a trial from the checkpoint of an earlier one: say from where
    initial = int(trial.hyperparameters.values.get("tuner/initial_epoch") or 0)
    if initial:
        trained = f"epochs {initial + 1}-{initial + epochs:g}"
    else:
        trained = f"{epochs:g} epoch{'s' * (epochs != 1)}"
    return (
        f"trial {trial.trial_id}: {OBJECTIVE} {result[OBJECTIVE]:.4f}{std}, "
        f"{trained}, {result['wall_time_s']:.1f} s; {values}"
    )
