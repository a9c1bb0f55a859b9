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
from keras_fcn.replication.comparison import comparison_rows
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
from keras_fcn.study import StudyProgress, run_study, with_seeds

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


@dataclasses.dataclass(frozen=True)
class RerunOptions:
    """How :func:`reproduce` re-runs a study: everything beside the study, its family and
    its store.

    Attributes:
        seeds: training seeds of every row.
        load: ``DataConfig`` -> dataset (``None`` where nothing is trained: a dry run).
        quick: a small subset and 2 epochs, to exercise the whole path in seconds.
        only: run only these tables (the others still provide carried choices from
            records on disk, or from the published numbers).
        dry_run: build every run config and train nothing.
        trainer: ``(family, run, dataset) -> RunRecord``, passed to :func:`run_study`
            (tests stub it).
        overrides: settings applied to every run after the protocol's own.
        baseline_records: records of ``experiments.baselines``, shown as ours in the
            tables of classical baselines.
        engine: trains the runs several at once (:mod:`keras_fcn.cluster`); ``None``: in
            this process.
        resumed: finished runs held outside the store that count as done, so they are not
            trained again (a dry run's committed records, which it reads without copying
            them into the store); a run the store holds keeps the store's record.
    """

    seeds: Sequence[int]
    load: Callable[[Any], Any] | None
    quick: bool = False
    only: Sequence[str] = ()
    dry_run: bool = False
    trainer: Callable | None = None
    overrides: Mapping[str, Any] | None = None
    baseline_records: Sequence[RunRecord] = ()
    engine: Engine | None = None
    resumed: Sequence[RunRecord] = ()

    def trains(self, table: str) -> bool:
        """Whether ``table``'s runs are trained (not a dry run, and chosen by ``only``)."""
        return not self.dry_run and (table in self.only if self.only else True)


def train_table(
    protocol: Protocol,
    spec: TableSpec,
    family: Family,
    seeded: Mapping[str, Sequence[RunConfig]],
    labels: Mapping[str, str],
    store: RunStore,
    options: RerunOptions,
) -> list[RunRecord]:
    """Train a table's runs (row label -> its seeded runs) that neither the store nor
    ``options.resumed`` holds."""
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
        load=options.load,
        trainer=options.trainer,
        progress=StudyProgress(lambda run: names[run.run_id]),
        engine=options.engine,
        resumed=options.resumed,
    )


def reproduce(
    protocol: Protocol,
    family: Family,
    store: RunStore,
    options: RerunOptions,
    carry_from: str = "published",
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
        options: the seeds, the data, what to train and how (:class:`RerunOptions`).
        carry_from: ``published`` or ``validation``: what picks the carried settings.
    """
    if carry_from not in CARRY_SOURCES:
        raise ValueError(f"carry_from={carry_from!r}: choose one of {', '.join(CARRY_SOURCES)}")
    for name in options.only:
        protocol.table(name)
    published = read_published(protocol.path(protocol.published))
    rerun = _Rerun(protocol, family, store, options)
    carried: dict[str, Any] = {}
    results = []
    for spec in protocol.tables:
        result = rerun.table(spec, [r for r in published if r.table == spec.name], carried)
        results.append(result)
        if spec.carry:
            by = result.records if carry_from == "validation" else {}
            carried.update(choose(result.rows, by, spec.carry))
    return results


class _Rerun:
    """One call of :func:`reproduce`: the study, and every run known done so far (run id ->
    record: the resumed ones, the store's, and those trained by earlier tables)."""

    def __init__(
        self, protocol: Protocol, family: Family, store: RunStore, options: RerunOptions
    ) -> None:
        self.protocol, self.family, self.store, self.options = protocol, family, store, options
        records = [*options.resumed, *store]
        self.done = {r.run_id: r for r in records if r.status != Status.FAILED}

    def table(
        self, spec: TableSpec, rows: Sequence[PublishedRow], carried: Mapping[str, Any]
    ) -> TableResult:
        """Resolve one table's rows at the ``carried`` settings, train those asked for and
        not done, and compare them with the published ``rows``."""
        options = self.options
        pairs, labels = table_runs(
            self.protocol,
            spec,
            self.family,
            rows,
            carried,
            quick=options.quick,
            overrides=options.overrides,
        )
        seeded = {
            row.row: with_seeds([run], options.seeds) for row, run in pairs if run is not None
        }
        if options.trains(spec.name):
            finished = train_table(
                self.protocol, spec, self.family, seeded, labels, self.store, options
            )
            self.done.update({r.run_id: r for r in finished})
        records = {
            row: [self.done[r.run_id] for r in group if r.run_id in self.done]
            for row, group in seeded.items()
        }
        return _table_result(spec, pairs, labels, records, options.baseline_records, carried)


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
    protocol: Protocol, family: Family, store: RunStore, options: RerunOptions
) -> StudyViews:
    """:func:`reproduce` once per view of the study (``published`` always; ``validation``,
    the procedure re-chosen on validation, for a study that carries choices), then the
    protocol's variants of its rows (trained unless ``options.dry_run``)."""
    views = {
        view: reproduce(protocol, family, store, options, carry_from=view)
        for view in (("published", "validation") if carries(protocol) else ("published",))
    }
    only = options.only or [spec.name for spec in protocol.tables]
    chosen = [v for v in protocol.variants if any(table in only for table, _ in v.rows)]
    planned = variant_runs(chosen, views["published"], options.seeds)
    planned = [item for item in planned if item[1] in only]
    runs = [run for *_, group in planned for run in group]
    if runs and not options.dry_run:
        run_study(
            {family.name: family},
            runs,
            store,
            load=options.load,
            trainer=options.trainer,
            progress=StudyProgress(lambda run: f"{protocol.name} variant {run.values()}"),
            engine=options.engine,
            resumed=options.resumed,
        )
    done = {r.run_id: r for r in options.resumed if r.status != Status.FAILED}
    done.update({r.run_id: r for r in store if r.status != Status.FAILED})
    return StudyViews(
        views["published"],
        views.get("validation"),
        variant_rows(planned, views["published"], done),
    )


def _table_result(
    spec: TableSpec,
    pairs: list[tuple[PublishedRow, RunConfig | None]],
    labels: dict[str, str],
    records: dict[str, list[RunRecord]],
    baseline_records: Sequence[RunRecord],
    carried: Mapping[str, Any],
) -> TableResult:
    """One table's rows beside the published ones, from its ``records`` (row -> records;
    a classical row's are taken from ``baseline_records``)."""
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
