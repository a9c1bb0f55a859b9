"""A PyTorch study's chosen rows trained again by a plain PyTorch loop, set beside ours.

Where our Keras re-run of a study written in PyTorch differs from the paper, the difference
may come from our port or from the paper. The rows a protocol names
(:attr:`~keras_fcn.replication.protocol.Protocol.crosscheck`) are trained by
:mod:`keras_fcn.pytorch_loop` at the same settings, seeds, split and arrays, into a store
of their own (``pytorch_runs.jsonl`` beside the study's ``runs.jsonl``: the same run ids,
trained by another framework). :func:`crosscheck_table` reads both stores and says, row
by row, where a difference lies (:data:`RULE`).

Nothing here imports PyTorch but :func:`train_crosscheck`'s default trainer.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from keras_fcn.errors import ConfigError
from keras_fcn.family import Family, RunConfig
from keras_fcn.identity import Status
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.replication.claim_stats import interval, welch
from keras_fcn.replication.comparison import comparison_rows
from keras_fcn.replication.protocol import Protocol, PublishedRow, TableSpec, read_published
from keras_fcn.replication.rerun import RerunOptions, reproduce
from keras_fcn.study import StudyProgress, run_study, with_seeds

FLOOR = 0.001
"""A difference this small is never a difference: published figures are rounded to 0.1 %
at worst (the floor of :func:`keras_fcn.replication.comparison.verdict`)."""

RULE = (
    "Ours and the PyTorch loop agree when the 95 % interval of the difference of their means "
    "(Welch's t over the seeds of each) contains zero, or the difference is under 0.1 points; "
    "each agrees with the paper when the published figure lies within two standard deviations "
    "of its mean over the seeds (or 0.1 points), the rule of the table above."
)


@dataclasses.dataclass(frozen=True)
class CheckedRow:
    """One published row the cross-check trains: its runs over the seeds and the records of
    them that a store holds."""

    spec: TableSpec
    row: PublishedRow
    label: str
    runs: tuple[RunConfig, ...]
    records: tuple[RunRecord, ...]


def selection(
    protocol: Protocol, entries: Sequence[str] | None = None
) -> list[tuple[str, str | None]]:
    """``(table, row)`` for each entry of ``entries`` (by default ``protocol.crosscheck``;
    row ``None``: every row of the table).

    Raises:
        ConfigError: an entry names a table or a row the study does not have.
    """
    rows = read_published(protocol.path(protocol.published))
    chosen = []
    for entry in protocol.crosscheck if entries is None else entries:
        table, _, row = entry.partition("/")
        protocol.table(table)  # an unknown table fails here, naming the known ones
        if row and not any(r.table == table and r.row == row for r in rows):
            known = ", ".join(r.row for r in rows if r.table == table)
            raise ConfigError(
                f"study {protocol.name!r}: crosscheck {entry!r} names no row of {table}; its rows: {known}"
            )
        chosen.append((table, row or None))
    return chosen


def checked_rows(
    protocol: Protocol,
    family: Family,
    store: Iterable[RunRecord],
    seeds: Sequence[int],
    *,
    quick: bool = False,
    entries: Sequence[str] | None = None,
    recorded: bool = False,
) -> list[CheckedRow]:
    """The rows the protocol cross-checks (or ``entries``, as :func:`selection` reads them),
    at the settings the study carried, with their runs over ``seeds`` and the records
    ``store`` holds of them (those of ``seeds`` only); with ``recorded``, also every other
    row of which ``store`` holds a record.

    The runs are resolved as :func:`keras_fcn.replication.reproduce` resolves them (one
    path to a run), so a row's runs have the run ids of the Keras re-run.
    """
    chosen = selection(protocol, entries)
    plan = RerunOptions(seeds, load=None, quick=quick, dry_run=True)
    results = reproduce(protocol, family, store, plan)
    named, more = [], []
    for result in results:
        for row, run in result.rows:
            if run is None:
                continue
            runs = tuple(with_seeds([run], seeds))
            ids = {r.run_id for r in runs}
            records = tuple(r for r in result.records.get(row.row, []) if r.run_id in ids)
            checked = CheckedRow(result.spec, row, result.labels[row.row], runs, records)
            if any(t == result.spec.name and w in (None, row.row) for t, w in chosen):
                named.append(checked)
            elif recorded and records:
                more.append(checked)
    return named + _new_runs(more, named)


def _new_runs(rows: Sequence[CheckedRow], seen: Sequence[CheckedRow]) -> list[CheckedRow]:
    """``rows`` less those whose runs are those of an earlier row or of a row of ``seen``
    (a study's baseline is often a row of several tables, trained once)."""
    ids = {c.runs[0].run_id for c in seen}
    out = []
    for row in rows:
        if row.runs[0].run_id not in ids:
            ids.add(row.runs[0].run_id)
            out.append(row)
    return out


def differing(
    protocol: Protocol, family: Family, ours: Iterable[RunRecord], seeds: Sequence[int]
) -> list[str]:
    """``TABLE/ROW`` of each row where our records differ from the published figure beyond
    the seed spread (``ours higher`` or ``ours lower``), to be checked too; rows the
    protocol checks already, or whose runs are theirs, are left out."""
    ours = list(ours)
    lines = pd.concat(
        [
            r.comparison
            for r in reproduce(protocol, family, ours, RerunOptions(seeds, None, dry_run=True))
        ],
        ignore_index=True,
    )
    beyond = lines[lines["verdict"].isin(("ours higher", "ours lower"))]
    wanted = {(t, str(r)) for t, r in zip(beyond["table"], beyond["row"], strict=True)}
    every = [t.name for t in protocol.tables if not t.classical]
    rows = [
        c
        for c in checked_rows(protocol, family, ours, seeds, entries=every)
        if (c.spec.name, c.row.row) in wanted
    ]
    declared = checked_rows(protocol, family, [], seeds)
    return [f"{c.spec.name}/{c.row.row}" for c in _new_runs(rows, declared)]


def train_crosscheck(
    protocol: Protocol,
    family: Family,
    store: RunStore,
    options: RerunOptions,
    *,
    command: Callable[[RunConfig], str] | None = None,
    entries: Sequence[str] | None = None,
) -> list[RunRecord]:
    """Train the cross-checked rows' runs that ``store`` lacks with the PyTorch loop.

    Args:
        protocol: the study.
        family: its family (dense).
        store: the PyTorch runs' store; runs it holds are skipped, so a check resumes.
        options: of :class:`~keras_fcn.replication.rerun.RerunOptions`, the ``seeds`` of
            every row, ``load`` (``DataConfig`` -> dataset), ``quick`` (as for
            :func:`reproduce`) and ``trainer`` (``(family, run, dataset) -> RunRecord``; by
            default :func:`keras_fcn.pytorch_loop.train_record`; tests pass a stub). The
            check trains the study's own rows, in this process: the rest are not used.
        command: a run -> the line that trains it again, for its record.
        entries: the rows to train, as ``Protocol.crosscheck`` names them; by default the
            protocol's own (:func:`differing` gives more).

    Returns:
        The records of every cross-checked run, in row order.
    """
    trainer = options.trainer
    if trainer is None:
        from keras_fcn.pytorch_loop import train_record as trainer
    rows = checked_rows(
        protocol, family, store, options.seeds, quick=options.quick, entries=entries
    )
    names = {
        run.run_id: f"{protocol.name}/{c.spec.name} {c.row.row} seed {run.train.seed} (PyTorch)"
        for c in rows
        for run in c.runs
    }
    runs = list({run.run_id: run for c in rows for run in c.runs}.values())

    def train(family_, run, data):
        record = trainer(family_, run, data)
        if command is not None:
            record.command = command(run)
        return record

    return run_study(
        {family.name: family},
        runs,
        store,
        load=options.load,
        trainer=train,
        progress=StudyProgress(lambda run: names[run.run_id]),
    )


def difference_interval(ours: Sequence[float], theirs: Sequence[float]) -> tuple[float, float]:
    """The 95 % interval of ``mean(ours) - mean(theirs)`` by Welch's t; NaN with fewer than
    two values on a side; the difference itself when neither side varies."""
    if len(ours) < 2 or len(theirs) < 2:
        return math.nan, math.nan
    low, high = interval(welch(ours, theirs), 0.95)
    return float(low), float(high)


def agree(difference: float, low: float, high: float) -> bool:
    """Whether ours and PyTorch's agree by :data:`RULE`."""
    return abs(difference) < FLOOR or low <= 0 <= high


def reading(line: dict[str, Any]) -> str:
    """Where the difference of a row lies, in words, from its line of :func:`crosscheck_table`."""
    if not line["pytorch_n"]:
        return "PyTorch loop not run"
    if not line["ours_n"]:
        return "ours not run"
    if math.isnan(line["low"]):
        return "fewer than two seeds on a side: not compared"
    ours_fit = line["ours_verdict"] == "within seed spread"
    torch_fit = line["pytorch_verdict"] == "within seed spread"
    if line["agree"]:
        if ours_fit and torch_fit:
            return "all three agree"
        if not ours_fit and not torch_fit:
            return "PyTorch and ours agree, both differ from the paper: the paper's difference"
        closer = "ours" if ours_fit else "PyTorch's"
        return f"PyTorch and ours agree; only {closer} within the paper's spread: not decided"
    if torch_fit:
        return "ours differ from PyTorch, which matches the paper: the port's"
    return "ours differ from PyTorch, and both from the paper: the port's in part"


def _values(records: Sequence[RunRecord], metric: str) -> list[float]:
    """A metric of the finished runs (``test_accuracy``, or the best epoch's validation
    accuracy for ``val_accuracy``), as the side by side averages them."""
    field = "test_accuracy" if metric.startswith("test") else "best_val_accuracy"
    values = [getattr(r, field) for r in records if r.status == Status.OK]
    return [float(v) for v in values if v is not None]


def crosscheck_table(
    protocol: Protocol,
    family: Family,
    ours: Iterable[RunRecord],
    pytorch: Iterable[RunRecord],
    seeds: Sequence[int],
    *,
    quick: bool = False,
) -> pd.DataFrame:
    """Per cross-checked row (the protocol's, and any other the PyTorch records hold) and
    published metric: the published value, ours and the PyTorch
    loop's (mean, std, seeds, verdict against the paper), their difference with its 95 %
    interval, whether they agree, and the :func:`reading`.

    Args:
        protocol: the study.
        family: its family.
        ours: the Keras runs' records (the study's store).
        pytorch: the PyTorch loop's records.
        seeds: the seeds compared, the same on both sides.
        quick: the runs of ``reproduce``'s ``quick`` preset.
    """
    torch_rows = checked_rows(protocol, family, pytorch, seeds, quick=quick, recorded=True)
    shown = [f"{r.spec.name}/{r.row.row}" for r in torch_rows]
    keras_rows = {
        (r.spec.name, r.row.row): r
        for r in checked_rows(protocol, family, ours, seeds, quick=quick, entries=shown)
    }
    lines = []
    for theirs in torch_rows:
        mine = keras_rows[theirs.spec.name, theirs.row.row]
        for k, t in zip(
            comparison_rows(mine.spec, mine.row, mine.label, mine.records),
            comparison_rows(theirs.spec, theirs.row, theirs.label, theirs.records),
            strict=True,
        ):
            low, high = difference_interval(
                _values(mine.records, k["metric"]), _values(theirs.records, k["metric"])
            )
            line = {key: k[key] for key in ("table", "row", "setting", "metric", "published")}
            line["published_std"] = k["published_std"]
            for side, values in (("ours", k), ("pytorch", t)):
                line[side] = values["ours"]
                line[f"{side}_std"] = values["ours_std"]
                line[f"{side}_n"] = values["n"]
                line[f"{side}_verdict"] = values["verdict"]
            line["difference"] = line["ours"] - line["pytorch"]
            line.update(low=low, high=high)
            line["agree"] = not math.isnan(low) and agree(line["difference"], low, high)
            line["reading"] = reading(line)
            lines.append(line)
    return pd.DataFrame(lines)
