"""The transfer to MNIST, as the studies made it: a configuration chosen on Fashion-MNIST,
retrained unchanged on MNIST.

Two kinds of rows: each family's best Fashion-MNIST configuration (chosen on validation)
beside the runs of the same configuration on MNIST, or the line that trains them when there
are none; and each re-run study that retrained its final configuration on MNIST (its
``final`` and ``mnist_final`` tables), beside the published figures.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence

import pandas as pd

from experiments.reporting.best import Best
from keras_fcn import layout
from keras_fcn.commands import Command
from keras_fcn.identity import Status, record_group_key
from keras_fcn.record import RunRecord
from keras_fcn.reporting.tables import mean_std, plus_minus

LineOf = Callable[[RunRecord], Command | None]
"""A record (with its config changed) -> the line that trains it; None for a record of no
network family (a classical baseline), which has no transfer row."""


def on_mnist(record: RunRecord) -> RunRecord:
    """A copy of ``record`` whose config names MNIST instead of its dataset."""
    twin = copy.deepcopy(record)
    twin.config["data"]["dataset"] = "mnist"
    return twin


def family_rows(
    bests: Sequence[Best], records: Sequence[RunRecord], command: LineOf
) -> list[dict[str, str]]:
    """Each family's chosen Fashion-MNIST configuration, and the same on MNIST."""
    rows = []
    for b in bests:
        if b.dataset != "fashion_mnist" or not b.records:
            continue
        twin = on_mnist(b.records[0])
        line = command(twin)
        if line is None:
            continue
        key = record_group_key(twin)
        mnist = [r for r in records if r.status == Status.OK and record_group_key(r) == key]
        rows.append(
            {
                "chosen on Fashion-MNIST": f"{b.family}: best mean validation accuracy",
                "Fashion-MNIST test": mean_std([r.test_accuracy for r in b.records]),
                "MNIST test, unchanged": mean_std([r.test_accuracy for r in mnist])
                or f"not run: `{line.with_options(('--seed', 'S'))}`",
                "published": "",
            }
        )
    return rows


def study_rows(root: str | os.PathLike) -> list[dict[str, str]]:
    """Each re-run study's final configuration on Fashion-MNIST and retrained on MNIST."""
    rows = []
    for folder in layout.studies(root):
        comparison = pd.read_csv(folder / layout.COMPARISON)
        test = comparison[comparison["metric"] == "test_accuracy"]
        final = test[test["table"] == "final"]
        mnist = test[test["table"] == "mnist_final"]
        if final.empty or mnist.empty:
            continue
        f, m = final.iloc[0], mnist.iloc[0]
        rows.append(
            {
                "chosen on Fashion-MNIST": f"{folder.name}: its final configuration",
                "Fashion-MNIST test": _ours(f),
                "MNIST test, unchanged": _ours(m),
                "published": f"{plus_minus(f['published'], f['published_std'])} → "
                f"{plus_minus(m['published'], m['published_std'])} %",
            }
        )
    return rows


def _ours(line: pd.Series) -> str:
    if pd.isna(line["ours"]):
        return "not run"
    return f"{plus_minus(line['ours'], line['ours_std'])} % ({int(line['n'])} seeds)"


def transfer_table(
    root: str | os.PathLike, bests: Sequence[Best], records: Sequence[RunRecord], command: LineOf
) -> pd.DataFrame:
    """The families' rows, then the studies'."""
    return pd.DataFrame(family_rows(bests, records, command) + study_rows(root))
