"""A re-run row beside its published figure: one line per metric, with a verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from keras_fcn.record import RunRecord
from keras_fcn.replication.protocol import PublishedRow, TableSpec
from keras_fcn.study import aggregate


def verdict(
    published: float,
    mean: float,
    std: float,
    n_ok: int,
    n_diverged: int,
    published_std: float = math.nan,
) -> str:
    """Where the published value falls against our runs.

    Within seed spread when the gap is at most twice the standard deviation of the
    difference between one run of ours and one of the study's, ``sqrt(std**2 +
    published_std**2)``: our spread over seeds combined with the spread the study reports
    (none reported: ours alone). A published figure that is a mean over runs varies less
    than one run, so the rule never calls a gap the study's own spread explains a
    difference; no study states how many runs it averaged, so a test of the two means
    (Welch's) cannot be made.
    """
    if n_ok == 0:
        return "diverged" if n_diverged else "not run"
    spreads = [s for s in (std, published_std) if not math.isnan(s)]
    spread = 2 * math.sqrt(sum(s**2 for s in spreads))
    # published figures are rounded to 0.1 % at worst: never call that a difference
    if abs(published - mean) <= max(spread, 0.001):
        return "within seed spread"
    return "ours higher" if mean > published else "ours lower"


def comparison_rows(
    spec: TableSpec, row: PublishedRow, label: str, records: Sequence[RunRecord]
) -> list[dict[str, Any]]:
    """The side-by-side lines of one published row, one per metric it reports."""
    agg = aggregate(records, by=[]) if records else pd.DataFrame()
    out = []
    for metric, (value, std) in row.values.items():
        line = {
            "table": spec.name,
            "row": row.row,
            "dataset": row.dataset,
            "setting": label,
            "metric": metric,
            "published": value,
            "published_std": std,
        }
        if agg.empty:
            missing = "run experiments.baselines" if spec.classical else "not run"
            line.update(ours=math.nan, ours_std=math.nan, n=0, diverged=0)
            line.update(difference=math.nan, verdict=missing)
        else:
            a = agg.iloc[0]
            prefix = "test" if metric.startswith("test") else "val"
            mean, sd = a[f"{prefix}_mean"], a[f"{prefix}_std"]
            n, diverged = int(a["n"]), int(a["n_diverged"])
            line.update(ours=mean, ours_std=sd, n=n, diverged=diverged)
            line.update(difference=mean - value, verdict=verdict(value, mean, sd, n, diverged, std))
        if spec.show_val and metric.startswith("test"):
            val = agg.iloc[0] if not agg.empty else {"val_mean": math.nan, "val_std": math.nan}
            line.update(ours_val=val["val_mean"], ours_val_std=val["val_std"])
        out.append(line)
    return out
