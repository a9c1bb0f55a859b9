"""The trials of a search as a table: each trial's setting decoded to the space's values,
its status, validation accuracy (mean, std, each execution) and cost; the best trial."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras_tuner as kt
import pandas as pd

from keras_fcn.errors import ConfigError
from keras_fcn.params import encode_value
from keras_fcn.space import Space
from keras_fcn.tuning import HYPERBAND_KEYS, OBJECTIVE, active_values


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
    each execution), validation loss, epochs, wall time and, for failures, why."""
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        row: dict[str, Any] = {"trial_id": trial_id, "status": trial.status}
        values = trial.hyperparameters.values
        setting = decode(space, values)
        # a layer beyond the trial's depth is empty, not zero
        row.update({name: encode_value(setting.get(name)) for name in space.hp_names()})
        row.update({key: values[key] for key in HYPERBAND_KEYS if key in values})
        metrics = trial.metrics
        for name in (OBJECTIVE, f"{OBJECTIVE}_std", "val_loss", "epochs_trained", "wall_time_s"):
            row[name] = metrics.get_last_value(name) if metrics.exists(name) else None
        execs = sorted(n for n in metrics.metrics if n.startswith(f"{OBJECTIVE}_exec"))
        row["executions"] = ", ".join(f"{metrics.get_last_value(n):.4f}" for n in execs)
        message = (trial.message or "").strip().splitlines()
        row["message"] = message[-1] if message else ""
        rows.append(row)
    return pd.DataFrame(rows)


def top_trials(table: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` best completed trials by mean validation accuracy."""
    done = table[table["status"] == "COMPLETED"]
    return done.sort_values(OBJECTIVE, ascending=False).head(n)


def best_point(tuner: kt.Tuner, space: Space) -> dict[str, Any]:
    """The best completed trial's values (chosen on validation accuracy), as names of the
    space; :meth:`Space.to_config` turns them into config fields."""
    trials = [
        t for t in tuner.oracle.get_best_trials(len(tuner.oracle.trials)) if t.status == "COMPLETED"
    ]
    if not trials:
        raise ConfigError(
            "no trial completed: nothing to choose from (see the trial table for why)"
        )
    return decode(space, trials[0].hyperparameters.values)


def total_epochs(table: pd.DataFrame, executions: int) -> int:
    """Epochs the search trained, summed over trials and executions."""
    return int(round(table["epochs_trained"].fillna(0).sum() * executions))
