"""What a setting that a study leaves unsaid changes: some of its rows trained again with
one setting read another way, beside the rows as the re-run reads them.

A :class:`Variant` is data on a study's protocol: a name, what it changes (``settings``
applied over each row's own) and the rows it retrains, ``(table, row)`` pairs of the study's
CSV. A PyTorch study's rows retrained with Keras's defaults show what PyTorch's defaults
change; with Keras's ``fit`` as well, they are the runs the study's records held before it
moved to the epoch loop; a "random normal" read as another spread shows whether a verdict
hinges on the reading.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from keras_fcn.family import RunConfig
from keras_fcn.record import RunRecord
from keras_fcn.study import aggregate, compare, with_seeds


@dataclasses.dataclass(frozen=True)
class Variant:
    """Some rows of a study trained with one setting read another way.

    Attributes:
        name: a short name, shown in the variants' table.
        title: what it changes and why it is worth knowing.
        settings: the fields set over each row's own settings.
        rows: ``(table, row)`` pairs of the study's CSV that are retrained.
        versus: the name of another variant of the same rows to compare with, instead of
            the rows as the re-run reads them (one change at a time).
    """

    name: str
    title: str
    settings: Mapping[str, Any]
    rows: tuple[tuple[str, str], ...]
    versus: str | None = None


@dataclasses.dataclass(frozen=True)
class VariantRow:
    """One row of a study and the same row under a variant, each over the same seeds."""

    variant: Variant
    table: str
    row: str
    runs: tuple[RunConfig, ...]
    base: tuple[RunRecord, ...]
    records: tuple[RunRecord, ...]


def variant_runs(
    variants: Sequence[Variant], results: Sequence[Any], seeds: Sequence[int]
) -> list[tuple[Variant, str, str, list[RunConfig]]]:
    """Each variant's rows as runs over ``seeds``, made from the rows of ``results`` (a
    study's :class:`~keras_fcn.replication.TableResult` list at its own settings)."""
    rows = {
        (result.spec.name, row.row): run
        for result in results
        for row, run in result.rows
        if run is not None
    }
    out = []
    for variant in variants:
        for table, row in variant.rows:
            run = rows[(table, row)].with_settings(variant.settings)
            out.append((variant, table, row, with_seeds([run], seeds)))
    return out


def variant_rows(
    planned: Sequence[tuple[Variant, str, str, list[RunConfig]]],
    results: Sequence[Any],
    done: Mapping[str, RunRecord],
) -> list[VariantRow]:
    """The variants' rows with their records (``done``: run id -> record) beside those they
    are compared with: the rows' records from ``results``, or another variant's."""
    base = {(r.spec.name, row): recs for r in results for row, recs in r.records.items()}
    own = {
        (variant.name, table, row): tuple(done[run.run_id] for run in runs if run.run_id in done)
        for variant, table, row, runs in planned
    }
    return [
        VariantRow(
            variant,
            table,
            row,
            tuple(runs),
            own.get((variant.versus, table, row), ())
            if variant.versus
            else tuple(base.get((table, row), ())),
            own[(variant.name, table, row)],
        )
        for variant, table, row, runs in planned
    ]


def variants_markdown(
    rows: Sequence[VariantRow], test_labels: Callable[[RunRecord], np.ndarray] | None = None
) -> str:
    """A table of each variant row: ours as the re-run reads the study, ours under the
    variant, their paired difference over the seeds both hold (and McNemar's tests when the
    test labels are given)."""
    lines = []
    for item in rows:
        line = {
            "variant": item.variant.name,
            "row": f"{item.table} {item.row}",
            "against": item.variant.versus or "ours",
            "against %": _mean_std(item.base),
            "variant %": _mean_std(item.records),
            "difference": "",
        }
        if item.base and item.records and test_labels is not None:
            try:
                labels = test_labels(item.base[0])
                line["difference"] = compare(item.records, item.base, labels).summary()
            except ValueError as exc:  # no seed finished in both
                line["difference"] = f"not compared: {exc}"
        lines.append(line)
    titles = {item.variant.name: item.variant.title for item in rows}
    legend = "\n".join(f"- **{name}**: {title}" for name, title in titles.items())
    table = pd.DataFrame(lines).to_markdown(index=False)
    note = (
        "Test accuracy over the same seeds. Difference: the variant minus what it is "
        "compared with (ours: the row as the re-run reads the study), paired by seed."
    )
    return f"{legend}\n\n{note}\n\n{table}\n"


def _mean_std(records: Sequence[RunRecord]) -> str:
    if not records:
        return "not run"
    agg = aggregate(records, by=[])
    if agg.empty or agg.iloc[0]["n"] == 0:
        return "no finished run"
    a = agg.iloc[0]
    std = "" if np.isnan(a["test_std"]) else f" ± {100 * a['test_std']:.2f}"
    return f"{100 * a['test_mean']:.2f}{std} (n={int(a['n'])})"
