"""The best config of each family on each dataset, chosen on validation, and compared.

The test set chooses nothing here: a family's best config is the one with the best mean
validation accuracy over its seeds; its test accuracy is reported as measured.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from keras_fcn.commands import Command
from keras_fcn.config import DATASET_NAMES
from keras_fcn.identity import Status, record_group_key
from keras_fcn.record import RunRecord
from keras_fcn.reporting.tables import plus_minus
from keras_fcn.settings import flag_value
from keras_fcn.study import aggregate, compare

MIN_SEEDS = 3
"""A family's best config is chosen among the configs run over at least this many seeds, or
over the most seeds any of them was run over where none reaches it: a mean over seeds is not
set beside one lucky seed."""


@dataclasses.dataclass
class Best:
    """The best config of one family on one dataset, chosen on validation accuracy."""

    family: str
    dataset: str
    records: list[RunRecord]
    summary: pd.Series

    @property
    def label(self) -> str:
        return f"{self.family} ({self.dataset})"


def best_per_family(records: Sequence[RunRecord]) -> list[Best]:
    """For each (family, dataset), the config with the best mean validation accuracy among
    those run over :data:`MIN_SEEDS` seeds or more (over the most seeds, where fewer)."""
    out = []
    frame = pd.DataFrame(
        [
            {
                "family": r.family,
                "dataset": r.config.get("data", {}).get("dataset"),
                "key": record_group_key(r),
                "record": r,
            }
            for r in records
        ]
    )
    if frame.empty:
        return out
    for (family, dataset), group in frame.groupby(["family", "dataset"], sort=True):
        table = aggregate(group["record"].tolist(), by=[])
        table = table[table["n"] > 0]
        if table.empty:
            continue
        table = table[table["n"] >= min(MIN_SEEDS, table["n"].max())]
        has_val = table["val_mean"].notna()
        chosen = (
            table[has_val].sort_values("val_mean", ascending=False).iloc[0]
            if has_val.any()
            else table.iloc[0]
        )
        runs = [
            r
            for r in group["record"]
            if record_group_key(r) == chosen["config_key"] and r.status == Status.OK
        ]
        out.append(Best(family, dataset, runs, chosen))
    return out


def published_best(published_dir: str | os.PathLike) -> dict[str, tuple[float, str]]:
    """The published studies' best test accuracy per dataset, with its study and table."""
    best: dict[str, tuple[float, str]] = {}
    for path in sorted(Path(published_dir).glob("*.csv")):
        frame = pd.read_csv(path)
        if "metric" not in frame:  # not a table of published numbers (claims.csv)
            continue
        frame = frame[(frame["metric"] == "test_accuracy") & ~frame["table"].isin(["knn", "svd"])]
        for dataset, group in frame.groupby("dataset"):
            row = group.loc[group["value"].idxmax()]
            if dataset not in best or row["value"] > best[dataset][0]:
                best[dataset] = (float(row["value"]), f"{row['study']} {row['table']}")
    return best


def best_table(bests: Sequence[Best], published: dict[str, tuple[float, str]]) -> pd.DataFrame:
    """One row per family and dataset: test accuracy over seeds, size, time, published best."""
    rows = []
    for b in bests:
        s = b.summary
        record = b.records[0]
        rows.append(
            {
                "dataset": b.dataset,
                "family": b.family,
                "best config (chosen on validation): its command or every setting": (
                    reproducing_line(record)
                ),
                "test accuracy %": plus_minus(s["test_mean"], s["test_std"]),
                "seeds": int(s["n"]),
                "parameters": f"{record.params:,}" if record.params else "",
                "fit time (s)": f"{np.mean([r.fit_time_s for r in b.records]):.0f}",
                "best published %": f"{100 * published[b.dataset][0]:.2f} ({published[b.dataset][1]})"
                if b.dataset in published
                else "",
            }
        )
    return pd.DataFrame(rows)


def reproducing_line(record: RunRecord) -> str:
    """What gives a record's number again: the line that trains it (its ``command``, written
    by :meth:`keras_fcn.family.Family.command_for`), its seed as ``S``; for a record without
    one (the classical baselines), every setting of its config as ``field=value``."""
    if record.command:
        return f"`{Command.parse(record.command).with_value('--seed', 'S')}`"
    return ", ".join(
        f"{k}={flag_value(v)}"
        for section in record.config.values()
        if isinstance(section, dict)
        for k, v in section.items()
    )


def mcnemar_table(bests: Sequence[Best], y_test_for: Callable[[str], np.ndarray]) -> pd.DataFrame:
    """McNemar's test between the best models of each pair of families on one dataset,
    on the seeds they share (or seed against seed when they share none, e.g. a baseline)."""
    rows = []
    for dataset in DATASET_NAMES:
        group = [b for b in bests if b.dataset == dataset]
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                a, b = group[i], group[j]
                seeds_a, seeds_b = {r.seed for r in a.records}, {r.seed for r in b.records}
                records_a, records_b = a.records, b.records
                if not seeds_a & seeds_b:  # pair the first run of each
                    records_b = [dataclasses.replace(b.records[0], seed=a.records[0].seed)]
                    records_a = [a.records[0]]
                result = compare(records_a, records_b, y_test_for(dataset))
                p_values = [p for _, _, p in result.mcnemar.values()]
                rows.append(
                    {
                        "dataset": dataset,
                        "A": a.family,
                        "B": b.family,
                        "A - B (points)": f"{100 * result.mean_difference:+.2f}",
                        "McNemar p (per seed)": ", ".join(f"{p:.2g}" for p in p_values),
                        "significant at 0.05": "yes" if all(p < 0.05 for p in p_values) else "no",
                    }
                )
    return pd.DataFrame(rows)
