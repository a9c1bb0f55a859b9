"""Re-running a published study: its tables as data, its protocol, and the side-by-side table.

A :class:`Protocol` names a study's family, its baseline settings and its tables. The rows
of each table, and the values the paper printed, come from the study's CSV of published
numbers (``experiments/published/``): a row's non-blank config columns are the settings it
changes. A table may *carry* fields forward: the best of its rows on validation accuracy
(mean over seeds) fixes those fields for the tables after it, as studies that tune one
factor at a time describe.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from keras_fcn import presets
from keras_fcn.config import dashed
from keras_fcn.errors import ConfigError
from keras_fcn.family import Family, RunConfig
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.study import aggregate, run_study, with_seeds

CONFIG_COLUMNS = (
    "hidden", "activation", "dropout", "batch_norm", "initializer", "l2", "optimizer",
    "learning_rate", "momentum", "epochs", "batch_size", "kernel_size", "filters", "padding",
    "pooling", "pool_size",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One table of a study.

    Attributes:
        name: the ``table`` id in the published CSV.
        title: what the table shows.
        varies: the config columns of the CSV this table sets; ``None`` takes every
            non-blank one. Fields carried from earlier tables are never overridden by it.
        carry: fields whose best value (on validation) later tables use.
        baseline: for a table of a classical baseline, the baseline (``experiments.baselines``)
            whose records are shown as ours.
    """

    name: str
    title: str
    varies: tuple[str, ...] | None = None
    carry: tuple[str, ...] = ()
    baseline: str | None = None


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How a study is re-run.

    Attributes:
        name: the study's name on the command line.
        source: the study it re-runs.
        family: the model family.
        published: file name of its CSV of published numbers.
        base: settings of the study's baseline, applied to the family's defaults.
        tables: its tables, in the order the study ran them.
        aliases: published value -> our value, per field (e.g. a PyTorch study's
            ``default`` initializer is ``pytorch`` here).
        notes: where the re-run departs from, or fills gaps in, the paper.
        grid: the file of the study's full grid (a space, ``experiments/spaces/``), for
            studies that ran one.
    """

    name: str
    source: str
    family: str
    published: str
    base: Mapping[str, Any]
    tables: tuple[TableSpec, ...]
    aliases: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    grid: str | None = None

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        raise ConfigError(
            f"study {self.name!r} has no table {name!r}; its tables: {', '.join(t.name for t in self.tables)}"
        )


@dataclasses.dataclass(frozen=True)
class PublishedRow:
    """One row of a published table with the values it reports.

    Attributes:
        table: the table id.
        row: the row label.
        dataset: ``fashion_mnist`` or ``mnist``.
        settings: its non-blank config columns, as printed.
        values: metric (``test_accuracy`` / ``val_accuracy``) -> (value, std or NaN).
        note: remarks on the transcription.
    """

    table: str
    row: str
    dataset: str
    settings: Mapping[str, str]
    values: Mapping[str, tuple[float, float]]
    note: str = ""


def read_published(path: str | Path) -> list[PublishedRow]:
    """Rows of a published CSV, one per (table, row), in file order."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = []
    for (table, row), group in frame.groupby(["table", "row"], sort=False):
        first = group.iloc[0]
        settings = {c: first[c] for c in CONFIG_COLUMNS if c in group and first[c] != ""}
        values = {
            m: (float(v), float(s) if s else math.nan)
            for m, v, s in zip(group["metric"], group["value"], group["std"], strict=True)
        }
        notes = "; ".join(dict.fromkeys(n for n in group["note"] if n))
        rows.append(PublishedRow(table, str(row), first["dataset"], settings, values, notes))
    return rows


def own_settings(protocol: Protocol, spec: TableSpec, row: PublishedRow) -> dict[str, Any]:
    """The columns a row sets itself (those its table varies), with the protocol's aliases."""
    own = {k: v for k, v in row.settings.items() if spec.varies is None or k in spec.varies}
    return {k: protocol.aliases.get(k, {}).get(v, v) for k, v in own.items()}


def row_settings(
    protocol: Protocol, spec: TableSpec, row: PublishedRow, carried: Mapping[str, Any]
) -> dict[str, Any]:
    """The settings of one row's run: baseline, then the row's own columns, then carried fields."""
    return {**protocol.base, **own_settings(protocol, spec, row), **carried, "dataset": row.dataset}


def settings_label(settings: Mapping[str, Any]) -> str:
    """``key=value`` pairs for a table label (``baseline`` when there are none)."""
    return " ".join(f"{k}={dashed(v)}" for k, v in settings.items()) or "baseline"


@dataclasses.dataclass
class TableResult:
    """A re-run table: its runs per row, and the side-by-side comparison."""

    spec: TableSpec
    rows: list[tuple[PublishedRow, RunConfig | None]]
    records: dict[str, list[RunRecord]]
    comparison: pd.DataFrame
    carried: dict[str, Any]
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

    def ranked(self) -> list[str]:
        """Row labels with finished runs, best mean validation accuracy first."""
        scores = {}
        for row, records in self.records.items():
            ok = [
                r.best_val_accuracy
                for r in records
                if r.status == "ok" and r.best_val_accuracy is not None
            ]
            if ok:
                scores[row] = sum(ok) / len(ok)
        return sorted(scores, key=scores.get, reverse=True)


def verdict(published: float, mean: float, std: float, n_ok: int, n_diverged: int) -> str:
    """Where the published value falls against our runs."""
    if n_ok == 0:
        return "diverged" if n_diverged else "not run"
    spread = 2 * std if not math.isnan(std) else 0.0
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
            line.update(ours=math.nan, ours_std=math.nan, n=0, diverged=0, difference=math.nan,
                        verdict="run experiments.baselines" if spec.baseline else "not run")  # fmt: skip
        else:
            a = agg.iloc[0]
            prefix = "test" if metric.startswith("test") else "val"
            mean, sd = a[f"{prefix}_mean"], a[f"{prefix}_std"]
            line.update(ours=mean, ours_std=sd, n=int(a["n"]), diverged=int(a["n_diverged"]), difference=mean - value,
                        verdict=verdict(value, mean, sd, int(a["n"]), int(a["n_diverged"])))  # fmt: skip
        out.append(line)
    return out


def choose(
    rows: Sequence[tuple[PublishedRow, RunConfig | None]],
    records: Mapping[str, Sequence[RunRecord]],
    fields: Sequence[str],
) -> dict[str, Any]:
    """The carried fields of the row with the best mean validation accuracy.

    Rows without records are judged by their published value instead, so a table can be
    skipped (``--only``) and later tables still get a choice.
    """
    best_score, best_values = -math.inf, {}
    for row, run in rows:
        recs = [
            r
            for r in records.get(row.row, [])
            if r.status == "ok" and r.best_val_accuracy is not None
        ]
        if recs:
            score = sum(r.best_val_accuracy for r in recs) / len(recs)
        else:
            score = max(v for v, _ in row.values.values())
        if run is not None and score > best_score:
            values = run.values()
            best_score, best_values = score, {f: values[f] for f in fields}
    return best_values


def reproduce(
    protocol: Protocol,
    family: Family,
    published_dir: str | Path,
    store: RunStore,
    *,
    seeds: Sequence[int],
    load: Callable[[Any], Any],
    quick: bool = False,
    only: Sequence[str] = (),
    dry_run: bool = False,
    trainer: Callable | None = None,
    overrides: Mapping[str, Any] | None = None,
    baseline_records: Sequence[RunRecord] = (),
) -> list[TableResult]:
    """Re-run a study's tables in order and compare each with its published numbers.

    Args:
        protocol: the study.
        family: its model family.
        published_dir: folder of the published CSVs.
        store: the study's run store (shared by all its tables, so a run appearing in
            several tables is trained once).
        seeds: training seeds of every row.
        load: ``DataConfig`` -> dataset.
        quick: a small subset and 2 epochs, to exercise the whole path in seconds.
        only: run only these tables (the others still provide carried choices from
            records on disk, or from the published numbers).
        dry_run: build every run config and train nothing.
        trainer: passed to :func:`run_study` (tests stub it).
        overrides: settings applied to every run after the protocol's own.
        baseline_records: records of ``experiments.baselines``, shown as ours in the
            tables of classical baselines.
    """
    for name in only:
        protocol.table(name)
    published = read_published(Path(published_dir) / protocol.published)
    done = {r.run_id: r for r in store if r.status != "failed"}
    carried: dict[str, Any] = {}
    results = []
    for spec in protocol.tables:
        rows = [r for r in published if r.table == spec.name]
        pairs: list[tuple[PublishedRow, RunConfig | None]] = []
        labels: dict[str, str] = {}
        for row in rows:
            own = own_settings(protocol, spec, row)
            labels[row.row] = spec.baseline or " ".join(
                filter(
                    None,
                    [
                        settings_label(own or carried),
                        settings_label(overrides) if overrides else "",
                    ],
                )
            )
            if spec.baseline:
                pairs.append((row, None))
                continue
            settings = row_settings(protocol, spec, row, carried)
            if quick:
                settings.update(presets.quick("reproduce"))
            settings.update(overrides or {})
            pairs.append((row, family.run_config(settings)))
        seeded = {row.row: with_seeds([run], seeds) for row, run in pairs if run is not None}
        active = spec.name in only if only else True
        if active and not dry_run:
            runs = [r for group in seeded.values() for r in group]
            names = {
                r.run_id: f"{protocol.name}/{spec.name} {labels[row]} seed {r.train.seed}"
                for row, group in seeded.items()
                for r in group
            }
            finished = run_study({family.name: family}, runs, store, load=load, trainer=trainer,
                                 label=lambda run, names=names: names[run.run_id])  # fmt: skip
            done.update({r.run_id: r for r in finished})
        records = {
            row: [done[r.run_id] for r in group if r.run_id in done]
            for row, group in seeded.items()
        }
        if spec.baseline:
            for row, _ in pairs:
                matching = [
                    r for r in baseline_records
                    if r.family == spec.baseline and r.config["data"]["dataset"] == row.dataset
                    and r.config["data"].get("train_limit") is None
                ]  # fmt: skip
                records[row.row] = matching[-1:]
        lines = [
            line
            for row, _ in pairs
            for line in comparison_rows(spec, row, labels[row.row], records.get(row.row, []))
        ]
        result = TableResult(spec, pairs, records, pd.DataFrame(lines), dict(carried), labels)
        if spec.carry:
            carried.update(choose(pairs, records, spec.carry))
        results.append(result)
    return results
