"""A re-run study's outputs: its tables beside the published ones, aggregates, curves and
the significance of each table's best row."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from keras_fcn import layout
from keras_fcn.record import RunRecord
from keras_fcn.reporting.figures import has_curves, plot_learning_curves, save_figure
from keras_fcn.reporting.tables import format_side_by_side, save_table
from keras_fcn.study import aggregate, compare


def write_study_outputs(
    name: str,
    results: Sequence[Any],
    folder: str | os.PathLike,
    test_labels: Callable[[RunRecord], np.ndarray] | None = None,
    procedure: Sequence[Any] | None = None,
    variants: Sequence[Any] = (),
) -> pd.DataFrame:
    """Save a re-run study's comparison, aggregates and learning curves; return the readable table.

    Writes ``comparison.csv``/``.md`` (every number), ``side_by_side.md`` (as printed),
    ``aggregate.csv``/``.md`` (mean, std and 95 % CI of every config over seeds),
    ``significance.md`` (each table's best row against its runner-up) and one
    ``curves_TABLE.png`` per table.

    Args:
        name: the study's name, for titles.
        results: its :class:`keras_fcn.replication.TableResult` list.
        folder: where to write.
        test_labels: a record's test labels, for McNemar's test between rows.
        procedure: for a study that carries choices, its tables re-chosen on validation,
            written to ``procedure.md`` (:func:`procedure_markdown`).
        variants: its rows under the protocol's variants, written to ``variants.md``
            (:func:`keras_fcn.replication.variants.variants_markdown`).
    """
    from keras_fcn.replication.variants import variants_markdown

    folder = Path(folder)
    if procedure is not None:
        (folder / layout.PROCEDURE).write_text(procedure_markdown(results, procedure))
    if variants:
        (folder / layout.VARIANTS).write_text(variants_markdown(variants, test_labels))
    comparison = pd.concat([r.comparison for r in results], ignore_index=True)
    save_table(comparison, folder / Path(layout.COMPARISON).stem, index=False)
    readable = format_side_by_side(comparison)
    (folder / layout.SIDE_BY_SIDE).write_text(readable.to_markdown(index=False) + "\n")
    all_records = {
        r.run_id: r for result in results for recs in result.records.values() for r in recs
    }
    if all_records:
        save_table(aggregate(all_records.values()), folder / "aggregate", index=False)
    lines = []
    for result in results:
        _save_curves(name, result, folder)
        if test_labels is not None:
            lines += _significance(result, test_labels)
    if lines:
        (folder / layout.SIGNIFICANCE).write_text("\n".join(lines) + "\n")
    return readable


def procedure_markdown(published: Sequence[Any], procedure: Sequence[Any]) -> str:
    """A sequential study's choices made again on our validation accuracy, beside its own.

    Args:
        published: the study's tables at the settings it carried (``carry_from="published"``).
        procedure: the same tables, each choice made on validation (``carry_from="validation"``).

    Returns:
        Markdown: one line per stage that carries a choice (the study's, ours, whether they
        agree), then the rows of the tables that carry nothing (the final network) under
        each path, test accuracy over the same seeds.
    """
    from keras_fcn.replication import choose
    from keras_fcn.settings import dashed

    stages = []
    for theirs, ours in zip(published, procedure, strict=True):
        if not theirs.spec.carry:
            continue
        study = choose(theirs.rows, {}, theirs.spec.carry)
        mine = choose(ours.rows, ours.records, theirs.spec.carry)
        stages.append(
            {
                "stage": theirs.spec.name,
                "the study carried": _settings(study, dashed),
                "ours on validation": _settings(mine, dashed) if ours.ranked() else "not run",
                "same": "yes" if study == mine else "no",
            }
        )
    finals = []
    for theirs, ours in zip(published, procedure, strict=True):
        if theirs.spec.carry or theirs.spec.classical:
            continue
        for path, result in (("the study's choices", theirs), ("ours on validation", ours)):
            for _, line in format_side_by_side(result.comparison).iterrows():
                finals.append(
                    {
                        "table": line["table"],
                        "row": line["row"],
                        "path": path,
                        "setting": line["setting"],
                        "metric": line["metric"],
                        "published %": line["published %"],
                        "ours %": line["ours %"],
                        "seeds": line["seeds"],
                    }
                )
    text = (
        "The table above trains each stage at the setting the study carried forward. Here "
        "each stage's choice is made again on our validation accuracy (mean over the seeds); "
        "where a choice differs, the stages after it train other networks.\n\n"
        + pd.DataFrame(stages).to_markdown(index=False)
    )
    if finals:
        text += "\n\n" + pd.DataFrame(finals).to_markdown(index=False)
    return text + "\n"


def _settings(values: Mapping[str, Any], dashed: Callable[[Any], Any]) -> str:
    return " ".join(f"{k}={dashed(v)}" for k, v in values.items())


def _save_curves(name: str, result: Any, folder: Path) -> None:
    """One table's learning curves, one line (mean over seeds) per row; no figure for a
    table without curves (a classical baseline), and none left from an earlier run."""
    curves = {
        f"{row}: {result.labels.get(row, row)}": recs
        for row, recs in result.records.items()
        if has_curves(recs)
    }
    path = folder / f"curves_{result.spec.name}.png"
    if curves:
        save_figure(plot_learning_curves(curves, title=f"{name}: {result.spec.title}"), path)
    else:
        path.unlink(missing_ok=True)


def _significance(result: Any, test_labels: Callable[[RunRecord], np.ndarray]) -> list[str]:
    """The line saying whether a table's best row on validation beats its runner-up."""
    ranked = result.ranked()
    if len(ranked) < 2 or result.spec.classical:
        return []
    best, second = ranked[0], ranked[1]
    y_test = test_labels(result.records[best][0])
    try:
        verdict = compare(result.records[best], result.records[second], y_test).summary()
    except ValueError as exc:  # no seed finished in both rows
        verdict = f"not compared: {exc}"
    return [
        f"- {result.spec.name}: best on validation {best} ({result.labels.get(best, '')}) vs "
        f"{second} ({result.labels.get(second, '')}): {verdict}"
    ]
