"""Re-running a study's tables, carrying choices, and comparing each with its published numbers."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from keras_fcn import presets
from keras_fcn.family import Family, RunConfig
from keras_fcn.identity import Status
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.registry import resolve_run
from keras_fcn.replication.protocol import (
    Protocol,
    PublishedRow,
    TableSpec,
    own_settings,
    read_published,
    row_settings,
    settings_label,
)
from keras_fcn.replication.variants import VariantRow, variant_rows, variant_runs
from keras_fcn.runner import Engine
from keras_fcn.study import aggregate, run_study, with_seeds

CARRY_SOURCES = ("published", "validation")


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
            ok = _val_scores(records)
            if ok:
                scores[row] = sum(ok) / len(ok)
        return sorted(scores, key=scores.get, reverse=True)


def _val_scores(records: Sequence[RunRecord]) -> list[float]:
    """The best validation accuracies of the finished runs."""
    return [
        r.best_val_accuracy
        for r in records
        if r.status == Status.OK and r.best_val_accuracy is not None
    ]


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
        scores = _val_scores(records.get(row.row, []))
        published = max(v for v, _ in row.values.values())
        score = sum(scores) / len(scores) if scores else published
        if run is not None and score > best_score:
            values = run.values()
            best_score, best_values = score, {f: values[f] for f in fields}
    return best_values


def table_runs(
    protocol: Protocol,
    spec: TableSpec,
    family: Family,
    rows: Sequence[PublishedRow],
    carried: Mapping[str, Any],
    *,
    quick: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[list[tuple[PublishedRow, RunConfig | None]], dict[str, str]]:
    """Each row of a table with its run (``None`` for a classical baseline), and its label."""
    pairs: list[tuple[PublishedRow, RunConfig | None]] = []
    labels: dict[str, str] = {}
    for row in rows:
        own = own_settings(protocol, spec, row)
        parts = [settings_label(own or carried), settings_label(overrides) if overrides else ""]
        labels[row.row] = spec.classical or " ".join(filter(None, parts))
        if spec.classical:
            pairs.append((row, None))
            continue
        study = row_settings(protocol, spec, row, carried)
        preset = presets.quick("reproduce") if quick else None
        pairs.append((row, resolve_run(family, overrides, study=study, preset=preset)))
    return pairs, labels


def baseline_records_of(
    spec: TableSpec, row: PublishedRow, baseline_records: Sequence[RunRecord]
) -> list[RunRecord]:
    """The newest full-data record of the table's classical baseline on the row's dataset."""
    matching = [
        r
        for r in baseline_records
        if r.family == spec.classical
        and r.config["data"]["dataset"] == row.dataset
        and r.config["data"].get("train_limit") is None
    ]
    return matching[-1:]


def train_table(
    protocol: Protocol,
    spec: TableSpec,
    family: Family,
    seeded: Mapping[str, Sequence[RunConfig]],
    labels: Mapping[str, str],
    store: RunStore,
    load: Callable[[Any], Any],
    trainer: Callable | None = None,
    engine: Engine | None = None,
) -> list[RunRecord]:
    """Train a table's runs (row label -> its seeded runs) that the store does not hold."""
    names = {
        r.run_id: f"{protocol.name}/{spec.name} {labels[row]} seed {r.train.seed}"
        for row, group in seeded.items()
        for r in group
    }
    runs = [r for group in seeded.values() for r in group]
    return run_study(
        {family.name: family},
        runs,
        store,
        load=load,
        trainer=trainer,
        label=lambda run: names[run.run_id],
        engine=engine,
    )


def reproduce(
    protocol: Protocol,
    family: Family,
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
    engine: Engine | None = None,
    carry_from: str = "published",
    resumed: Sequence[RunRecord] = (),
) -> list[TableResult]:
    """Re-run a study's tables in order and compare each with its published numbers.

    A study that carries choices from table to table is seen two ways (``carry_from``):
    ``published``, each table at the settings the study itself carried (the best row by its
    published value), which is what the side by side and the claims compare; and
    ``validation``, the procedure re-chosen on our validation accuracy, which shows where
    our own choices lead (:func:`keras_fcn.reporting.studies.procedure_markdown`).

    Args:
        protocol: the study, with its folder (as the registry gives it).
        family: its model family.
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
        engine: trains the runs several at once (:mod:`keras_fcn.cluster`); ``None``: in
            this process.
        carry_from: ``published`` or ``validation``: what picks the carried settings.
        resumed: finished runs held outside ``store`` that count as done (a dry run's
            committed records, which it reads without copying them into the store); a run
            the store holds keeps the store's record.
    """
    if carry_from not in CARRY_SOURCES:
        raise ValueError(f"carry_from={carry_from!r}: choose one of {', '.join(CARRY_SOURCES)}")
    for name in only:
        protocol.table(name)
    published = read_published(protocol.path(protocol.published))
    done = {r.run_id: r for r in [*resumed, *store] if r.status != Status.FAILED}
    carried: dict[str, Any] = {}
    results = []
    for spec in protocol.tables:
        rows = [r for r in published if r.table == spec.name]
        pairs, labels = table_runs(
            protocol, spec, family, rows, carried, quick=quick, overrides=overrides
        )
        seeded = {row.row: with_seeds([run], seeds) for row, run in pairs if run is not None}
        if (spec.name in only if only else True) and not dry_run:
            finished = train_table(
                protocol, spec, family, seeded, labels, store, load, trainer, engine
            )
            done.update({r.run_id: r for r in finished})
        result = _table_result(spec, pairs, labels, seeded, done, baseline_records, carried)
        results.append(result)
        if spec.carry:
            by = result.records if carry_from == "validation" else {}
            carried.update(choose(pairs, by, spec.carry))
    return results


def carries(protocol: Protocol) -> bool:
    """Whether a study carries choices from table to table (and so has two views)."""
    return any(spec.carry for spec in protocol.tables)


@dataclasses.dataclass
class StudyViews:
    """A study re-run: its tables at its own settings, and what is seen beside them.

    Attributes:
        published: the tables at the settings the study carried (what the side by side and
            the claims compare).
        procedure: for a study that carries choices, the same tables with each choice made
            on our validation accuracy; else ``None``.
        variants: the protocol's :class:`~keras_fcn.replication.variants.Variant` rows.
    """

    published: list[TableResult]
    procedure: list[TableResult] | None = None
    variants: list[VariantRow] = dataclasses.field(default_factory=list)

    def planned_runs(self, seeds: Sequence[int]) -> list[RunConfig]:
        """Every run the study trains: both views' rows over ``seeds``, and the variants'."""
        views = [self.published, *([self.procedure] if self.procedure else [])]
        rows = [run for view in views for result in view for _, run in result.rows if run]
        return with_seeds(rows, seeds) + [run for item in self.variants for run in item.runs]


def reproduce_views(
    protocol: Protocol, family: Family, store: RunStore, **options: Any
) -> StudyViews:
    """:func:`reproduce` once per view of the study (``published`` always; ``validation``,
    the procedure re-chosen on validation, for a study that carries choices), then the
    protocol's variants of its rows (trained unless ``dry_run``).

    ``options`` are :func:`reproduce`'s keyword arguments but ``carry_from``.
    """
    views = {
        view: reproduce(protocol, family, store, carry_from=view, **options)
        for view in (("published", "validation") if carries(protocol) else ("published",))
    }
    only = options.get("only") or [spec.name for spec in protocol.tables]
    chosen = [v for v in protocol.variants if any(table in only for table, _ in v.rows)]
    planned = variant_runs(chosen, views["published"], options["seeds"])
    planned = [item for item in planned if item[1] in only]
    runs = [run for *_, group in planned for run in group]
    if runs and not options.get("dry_run"):
        run_study(
            {family.name: family},
            runs,
            store,
            load=options["load"],
            trainer=options.get("trainer"),
            label=lambda run: f"{protocol.name} variant {run.values()}",
            engine=options.get("engine"),
        )
    done = {r.run_id: r for r in options.get("resumed", ()) if r.status != Status.FAILED}
    done.update({r.run_id: r for r in store if r.status != Status.FAILED})
    return StudyViews(
        views["published"],
        views.get("validation"),
        variant_rows(planned, views["published"], done),
    )


def _table_result(spec, pairs, labels, seeded, done, baseline_records, carried) -> TableResult:
    """One table's records (``done``: run id -> record; a classical row's from
    ``baseline_records``) and its rows beside the published ones."""
    records = {
        row: [done[r.run_id] for r in group if r.run_id in done] for row, group in seeded.items()
    }
    if spec.classical:
        records.update(
            {row.row: baseline_records_of(spec, row, baseline_records) for row, _ in pairs}
        )
    lines = [
        line
        for row, _ in pairs
        for line in comparison_rows(spec, row, labels[row.row], records.get(row.row, []))
    ]
    for other in spec.also:  # another reading of the study's classical baseline
        reading = dataclasses.replace(spec, classical=other)
        for row, _ in pairs:
            found = baseline_records_of(reading, row, baseline_records)
            lines += [
                {**line, "row": f"{row.row} ({other})"}
                for line in comparison_rows(reading, row, other, found)
            ]
    return TableResult(spec, pairs, records, pd.DataFrame(lines), dict(carried), labels)
