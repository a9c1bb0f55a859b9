"""A re-run study's folder rebuilt from its records: the check against the PyTorch loop,
where and why it differs from the published rows, the published claims judged, and its grid's
factors; what the report and the docs' study pages show beside the tables that
:func:`keras_fcn.reporting.studies.write_study_outputs` writes."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments import _commands as commands
from keras_fcn import layout
from keras_fcn.record import RunRecord
from keras_fcn.reporting.records import read_runs
from keras_fcn.reporting.studies import write_study_outputs
from keras_fcn.reporting.tables import plus_minus


def crosscheck_markdown(table: pd.DataFrame, name: str, seeds: Sequence[int]) -> str:
    """A study's rows checked against the PyTorch loop, as its page shows them.

    Args:
        table: :func:`keras_fcn.replication.crosscheck.crosscheck_table`'s lines.
        name: the study's name, for the command that trains the PyTorch side.
        seeds: the seeds compared.
    """
    from keras_fcn.replication.crosscheck import RULE

    rows = [
        {
            "table": line["table"],
            "row": line["row"],
            "metric": str(line["metric"]).replace("_accuracy", ""),
            "published %": plus_minus(line["published"], line["published_std"]),
            "ours (Keras) %": _with_seeds(line, "ours"),
            "PyTorch loop %": _with_seeds(line, "pytorch"),
            "ours − PyTorch (95 % CI)": _interval(line),
            "reading": line["reading"],
        }
        for _, line in table.iterrows()
    ]
    listed = ", ".join(map(str, seeds))
    return (
        "The rows below were trained again by a plain PyTorch loop (`keras_fcn.pytorch_loop`): "
        "the same configuration, split and arrays, PyTorch's own layers, initializers and "
        f"optimizers, over the same seeds ({listed}), printed by "
        f"`{commands.study(name, None, ('--pytorch', None), ('--seeds', str(len(seeds))))}`. Where ours differ from the paper, this says "
        f"whether the difference is the port's or the paper's. {RULE}\n\n"
        + pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True)
        + "\n"
    )


def _with_seeds(line: Mapping[str, Any], side: str) -> str:
    """A side's mean ± std over its seeds, and how many (``not run`` without any)."""
    if not line[f"{side}_n"]:
        return "not run"
    return f"{plus_minus(line[side], line[f'{side}_std'])} ({line[f'{side}_n']})"


def _interval(line: Mapping[str, Any]) -> str:
    """The difference in points and its 95 % interval (the difference alone without one)."""
    if pd.isna(line["difference"]):
        return ""
    text = f"{100 * line['difference']:+.2f}"
    if not pd.isna(line["low"]):
        text += f" ({100 * line['low']:+.2f}, {100 * line['high']:+.2f})"
    return text


def crosscheck_of(
    folder: str | os.PathLike, protocol: Any, family: Any, *, quick: bool = False
) -> tuple[pd.DataFrame, list[int]] | None:
    """A study folder's check against the PyTorch loop, from its two stores, over the seeds
    of its PyTorch records (``quick``: the runs of the quick preset), and those seeds;
    ``None`` when it has no PyTorch records or its protocol cross-checks no row."""
    from keras_fcn.replication.crosscheck import crosscheck_table

    folder = Path(folder)
    pytorch = read_runs(folder / layout.PYTORCH_RUNS)
    seeds = sorted({r.seed for r in pytorch})
    if not seeds or not protocol.crosscheck:
        return None
    ours = read_runs(folder / layout.RUNS)
    return crosscheck_table(protocol, family, ours, pytorch, seeds, quick=quick), seeds


def write_crosscheck(
    folder: str | os.PathLike, protocol: Any, family: Any, *, quick: bool = False
) -> Path | None:
    """Write a study folder's check against the PyTorch loop (:data:`keras_fcn.layout.CROSSCHECK`,
    :func:`crosscheck_of`); ``None`` (nothing written) when there is none."""
    checked = crosscheck_of(folder, protocol, family, quick=quick)
    if checked is None:
        return None
    path = Path(folder) / layout.CROSSCHECK
    path.write_text(crosscheck_markdown(checked[0], protocol.name, checked[1]))
    return path


def write_differences(folder: Path, views: Any, crosscheck: pd.DataFrame | None) -> None:
    """Write where a study differs from its published rows and why
    (:mod:`keras_fcn.reporting.differences`) to :data:`keras_fcn.layout.DIFFERENCES`."""
    from keras_fcn.reporting.differences import differences, differences_markdown

    comparison = pd.concat([r.comparison for r in views.published], ignore_index=True)
    same_run = {
        (result.spec.name, row.row): run.run_id
        for result in views.published
        for row, run in result.rows
        if run is not None
    }
    table = differences(comparison, views.variants, crosscheck, same_run)
    (folder / layout.DIFFERENCES).write_text(differences_markdown(table))


def study_seeds(folder: str | os.PathLike) -> list[int]:
    """The seeds of the complete runs recorded in a study's folder."""
    return sorted({r.seed for r in read_runs(Path(folder) / layout.RUNS)})


def rebuild_studies(
    root: str | os.PathLike,
    families: Mapping[str, Any],
    test_labels: Callable[[RunRecord], np.ndarray] | None = None,
) -> list[Path]:
    """Write every re-run study's outputs under ``root`` again from its records alone, and
    the published claims judged on them.

    What ``experiments.reproduce STUDY`` writes after training (the side-by-side tables,
    aggregates, curves and significance) is rebuilt from the study's ``runs.jsonl``, over
    the seeds it holds, training nothing; a folder that names no known study is left as it
    is. Each study's claims go to its folder's ``claims.md``, all of them to
    ``reproduce/claims.md`` (:data:`keras_fcn.layout.CLAIMS`).

    Args:
        root: a results root.
        families: family name -> :class:`keras_fcn.family.Family`.
        test_labels: a record's test labels, for the significance of each table's best row.

    Returns:
        The study folders written.
    """
    from keras_fcn.record import RunStore
    from keras_fcn.replication import RerunOptions, all_studies, reproduce_views

    known = all_studies()
    baselines = read_runs(layout.runs("baselines", root))
    written, tables = [], {}
    for store in sorted(layout.folder("reproduce", root).glob(f"*/{layout.RUNS}")):
        folder = store.parent
        protocol = known.get(folder.name)
        seeds = study_seeds(folder)
        if protocol is None or not seeds:
            continue
        views = reproduce_views(
            protocol,
            families[protocol.family],
            RunStore(store),
            RerunOptions(seeds, load=None, dry_run=True, baseline_records=baselines),
        )
        results = views.published
        write_study_outputs(
            protocol.name, results, folder, test_labels, views.procedure, views.variants
        )
        write_crosscheck(folder, protocol, families[protocol.family])
        checked = crosscheck_of(folder, protocol, families[protocol.family])
        write_differences(folder, views, None if checked is None else checked[0])
        tables[protocol.name] = {r.spec.name: r.records for r in results}
        for item in views.variants:  # claims name them TABLE~VARIANT
            key = f"{item.table}~{item.variant.name}"
            tables[protocol.name].setdefault(key, {})[item.row] = list(item.records)
        written.append(folder)
    if written:
        write_claims(root, known, families, tables)
    return written


def write_claims(
    root: str | os.PathLike,
    studies: Mapping[str, Any],
    families: Mapping[str, Any],
    tables: Mapping[str, Any],
) -> None:
    """Judge the published claims on the studies' records (and grids) and write them."""
    from keras_fcn.replication.claims import CLAIMS_CSV, factor_table, judge, read_claims
    from keras_fcn.reporting.claims_table import claims_markdown

    grids = {}
    for name, protocol in studies.items():
        grid = layout.study(name, root, grid=True) / layout.RUNS
        if protocol.grid and grid.exists():
            factors = families[protocol.family].read_space(protocol.path(protocol.grid)).names
            grids[name] = (read_runs(grid), list(factors))
            if name in tables:
                n = len(grids[name][0])
                text = factor_table(*grids[name]).to_markdown(index=False, disable_numparse=True)
                (layout.study(name, root) / layout.GRID_FACTORS).write_text(
                    f"{n} runs of a seeded sample of its grid (`{_grid_line(name)}`): for each factor, the mean test accuracy at each of its "
                    f"values (runs at it), best first, and their spread; a factor set per layer is read "
                    f"as one factor per layer.\n\n{text}\n"
                )
    verdicts = judge(read_claims(CLAIMS_CSV, studies), tables, grids)
    (layout.folder("reproduce", root) / layout.CLAIMS).write_text(claims_markdown(verdicts))
    for name in tables:
        mine = verdicts[verdicts["study"] == name]
        if len(mine):
            (layout.study(name, root) / layout.CLAIMS).write_text(claims_markdown(mine, False))
            mine.to_csv(layout.study(name, root) / layout.CLAIM_VERDICTS, index=False)


def _grid_line(name: str) -> str:
    """The line that runs a sample of a study's grid, its size left to the reader."""
    return commands.study(
        name, None, ("--grid", None), ("--max-runs", "N"), ("--seeds", "1")
    ).render()
