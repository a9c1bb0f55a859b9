"""A published study as data: its protocol, its tables, and the rows of its CSV.

A :class:`Protocol` names a study's family, its base settings and its tables. The rows
of each table, and the values the paper printed, come from the study's CSV of published
numbers, beside the module that declares it: a row's non-blank config columns are the
settings it changes. A table may *carry* fields forward: the best of its rows on
validation accuracy (mean over seeds) fixes those fields for the tables after it, as
studies that tune one factor at a time describe.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from keras_fcn.errors import ConfigError
from keras_fcn.settings import dashed

CONFIG_COLUMNS = (
    "hidden",
    "activation",
    "dropout",
    "batch_norm",
    "initializer",
    "l2",
    "optimizer",
    "learning_rate",
    "momentum",
    "epochs",
    "batch_size",
    "kernel_size",
    "filters",
    "padding",
    "pooling",
    "pool_size",
)


# The published studies trained in float32: their re-runs do too, whatever a family's default
# precision, unless ``--set precision=`` says otherwise. They train with the epoch loop, which
# gave the same results as Keras's ``fit`` within seed noise on full data (docs/benchmark.md).
STUDY_DEFAULTS: Mapping[str, Any] = {"precision": "float32", "loop": "epoch"}


@dataclasses.dataclass(frozen=True)
class TableSpec:
    """One table of a study.

    Attributes:
        name: the ``table`` id in the published CSV.
        title: what the table shows.
        varies: the config columns of the CSV this table sets; ``None`` takes every
            non-blank one. Fields carried from earlier tables are never overridden by it.
        carry: fields whose best value (on validation) later tables use.
        classical: for a table of a classical baseline, which one: its name in the records
            of ``experiments.baselines`` (``knn-5``, say), whose records are shown as ours.
        show_val: show our validation accuracy beside each row compared on test, without a
            verdict: for a table whose caption and text disagree on what it reports.
        also: for a classical table, other readings of the baseline the study names, each
            shown as a row of its own (``ROW (READING)``) beside the published figure.
    """

    name: str
    title: str
    varies: tuple[str, ...] | None = None
    carry: tuple[str, ...] = ()
    classical: str | None = None
    show_val: bool = False
    also: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How a study is re-run.

    Attributes:
        name: the study's name on the command line.
        source: the study it re-runs.
        family: the model family, by name.
        published: file name of its CSV of published numbers, beside its module.
        base: the study's base settings, applied to the family's defaults and to
            :data:`STUDY_DEFAULTS` (:attr:`settings`).
        tables: its tables, in the order the study ran them.
        aliases: published value -> our value, per field (e.g. a PyTorch study's
            ``default`` initializer is ``pytorch`` here).
        notes: where the re-run departs from, or fills gaps in, the paper.
        reading: what reproduces and what does not, and why where that is known; shown
            under the study's key rows in the README and on its page. Words, no figures:
            the figures beside it come from the records.
        grid: file name of the study's full grid (a space, beside its module), for studies
            that ran one.
        grid_settings: settings the grid's runs keep over :attr:`settings` (the grid's
            committed runs were trained before a protocol change; see the study's notes).
        variants: rows trained again with one setting read another way
            (:class:`keras_fcn.replication.variants.Variant`), shown beside them.
        crosscheck: the rows also trained by a plain PyTorch loop, for a study written in
            PyTorch (:mod:`keras_fcn.replication.crosscheck`): ``TABLE`` for every row of a
            table, ``TABLE/ROW`` for one row.
        folder: the folder of its module, CSV and grid; set by the registry
            (:func:`keras_fcn.replication.all_studies`).
    """

    name: str
    source: str
    family: str
    published: str
    base: Mapping[str, Any]
    tables: tuple[TableSpec, ...]
    aliases: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    notes: tuple[str, ...] = ()
    reading: str = ""
    grid: str | None = None
    grid_settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    variants: tuple[Any, ...] = ()
    crosscheck: tuple[str, ...] = ()
    folder: Path | None = None

    @property
    def settings(self) -> dict[str, Any]:
        """The settings every run of the study starts from: :data:`STUDY_DEFAULTS`, then
        :attr:`base`."""
        return {**STUDY_DEFAULTS, **self.base}

    def table(self, name: str) -> TableSpec:
        for spec in self.tables:
            if spec.name == name:
                return spec
        raise ConfigError(
            f"study {self.name!r} has no table {name!r}; its tables: {', '.join(t.name for t in self.tables)}"
        )

    def path(self, name: str) -> Path:
        """The file ``name`` beside the study's module (its CSV, its grid)."""
        if self.folder is None:
            raise ConfigError(
                f"study {self.name!r} has no folder: find it through the registry "
                "(keras_fcn.replication.all_studies), which sets it"
            )
        return Path(self.folder) / name


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
    """The settings of one row's run: the base settings, then the row's own columns, then carried fields."""
    return {
        **protocol.settings,
        **own_settings(protocol, spec, row),
        **carried,
        "dataset": row.dataset,
    }


def settings_label(settings: Mapping[str, Any]) -> str:
    """``key=value`` pairs for a table label (``base`` when there are none)."""
    return " ".join(f"{k}={dashed(v)}" for k, v in settings.items()) or "base"
