"""The committed run records: a compressed copy of the results tree that the report is rebuilt from.

``results/`` is not committed, so the runs behind the published figures would be lost with
the machine that trained them. The archive (``docs/records/`` by default) keeps them: the
same folders as the results root, each store of run records as ``NAME.jsonl.gz`` holding its
full-data records (quick runs and failed runs left out), and each finished search's
``summary.json``, its table of trials (``trials.csv.gz``) and its two figures
(``along_each.png``, ``best_trials.png``), and each tuner comparison's record, table and
plot. A record carries its config, seed, test predictions and the line that
trains it again, so the archive is enough to rebuild every table and figure.

- :func:`save` adds what a results root holds to the archive; a run id the archive already
  holds keeps its archived record, so the committed figures do not move.
- :func:`assemble` lays the archive and a results root, merged, into a folder the report
  reads like any results root.
- :func:`restore` puts a store's archived records back into a local store, so a study
  continued on a fresh clone skips the runs already archived.

The gzip files are written without a time stamp, so the same records give the same bytes.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from keras_fcn import layout
from keras_fcn.identity import Status
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.reporting.records import full_data

SUFFIX = ".gz"


def archived(
    store: str | os.PathLike, archive: str | os.PathLike, results: str | os.PathLike
) -> Path:
    """Where the archive keeps the store ``store`` of the results root ``results``."""
    relative = Path(store).relative_to(results)
    return Path(archive) / relative.with_name(relative.name + SUFFIX)


def read_archived(path: str | os.PathLike) -> list[RunRecord]:
    """The records of one archived store, in the order written; none if it does not exist."""
    path = Path(path)
    if not path.exists():
        return []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [RunRecord.from_dict(json.loads(line)) for line in f if line.strip()]


def write_archived(path: str | os.PathLike, records: Iterable[RunRecord]) -> None:
    """Write records as gzipped JSON lines, byte for byte the same for the same records."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps(r.to_dict(), separators=(",", ":")).encode() + b"\n" for r in records)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(_gzipped(b"".join(lines)))
    os.replace(tmp, path)


def _kept(record: RunRecord) -> bool:
    """Whether a record belongs in the archive: a finished run on the full data."""
    return record.status != Status.FAILED and full_data(record)


def _stores(results: Path) -> list[Path]:
    """The stores of a results root worth archiving: not the quick studies' or searches'."""
    return [p for p in layout.records(results) if not layout.is_quick(p)]


def save(
    results: str | os.PathLike,
    archive: str | os.PathLike = layout.ARCHIVE,
    complete: Callable[[RunRecord], RunRecord] | None = None,
) -> list[Path]:
    """Add the full-data records under ``results`` to the archive.

    Args:
        results: a results root.
        archive: the archive folder.
        complete: applied to each new record before it is archived (the report fills in
            the reproducing line of records written before records carried one).

    Returns:
        The archived files that changed.
    """
    results, archive = Path(results), Path(archive)
    changed = []
    for store in _stores(results):
        target = archived(store, archive, results)
        records = {r.run_id: r for r in read_archived(target)}
        before = len(records)
        for record in RunStore(store):
            if _kept(record) and record.run_id not in records:
                records[record.run_id] = complete(record) if complete else record
        if len(records) > before:
            write_archived(target, records.values())
            changed.append(target)
    for search in layout.searches(results):
        changed += save_search(search, archive / search.relative_to(results))
    for comparison in layout.comparisons(results):
        changed += _save_files(comparison, archive / comparison.relative_to(results), COMPARED)
    return changed


COMPARED = (layout.TUNER_COMPARISON, "comparison.csv", "comparison.png")
"""What the archive keeps of a tuner comparison (its searches are kept as searches)."""


def _save_files(source: Path, target: Path, names: Iterable[str]) -> list[Path]:
    """Copy the files ``names`` of ``source`` that differ into ``target``; those copied."""
    changed = []
    for name in names:
        if (source / name).exists() and (
            not (target / name).exists()
            or (target / name).read_bytes() != (source / name).read_bytes()
        ):
            _copy(source / name, target / name)
            changed.append(target / name)
    return changed


SEARCH_EVIDENCE = (layout.SEARCH_SUMMARY, layout.TRIALS, layout.ALONG_EACH, layout.BEST_CURVES)
"""What the archive keeps of a finished search besides its final runs: the summary, the
table of every trial (gzipped) and the two figures."""


def save_search(search: Path, target: Path) -> list[Path]:
    """Copy a finished search's :data:`SEARCH_EVIDENCE` into ``target``, drawing the best
    trials' curves first where the search finished before it drew them; the files that
    changed."""
    if not (search / layout.BEST_CURVES).exists() and (search / layout.TRIALS).exists():
        _draw_best_curves(search)
    changed = []
    for name in SEARCH_EVIDENCE:
        source = search / name
        if not source.exists():
            continue
        data = source.read_bytes()
        path = target / name
        if name == layout.SEARCH_SUMMARY:
            data = _portable_summary(data)
        if name == layout.TRIALS:
            data, path = _gzipped(data), target / (name + SUFFIX)
        if not path.exists() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            changed.append(path)
    return changed


def _portable_summary(data: bytes) -> bytes:
    """A search summary whose command names no folder of the machine that ran it (a search
    run with ``--out`` before the command left it out)."""
    from keras_fcn.commands import Command

    summary = json.loads(data)
    if not summary.get("command", "").startswith("python "):
        return data  # no command, or a Python call (its folders left out when written)
    portable = Command.parse(summary["command"]).portable().render()
    if portable == summary["command"]:
        return data
    return (json.dumps({**summary, "command": portable}, indent=2) + "\n").encode()


def _draw_best_curves(search: Path) -> None:
    import pandas as pd

    from keras_fcn.reporting.figures import save_figure
    from keras_fcn.tuning.summary import plot_best_curves

    table = pd.read_csv(search / layout.TRIALS, dtype={"trial_id": str})
    figure = plot_best_curves(search / layout.TUNER_PROJECT, table)
    save_figure(figure, search / layout.BEST_CURVES)


def _gzipped(data: bytes) -> bytes:
    """``data`` gzipped without a time stamp: the same bytes give the same file."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as f:
        f.write(data)
    return buffer.getvalue()


def refresh(archive: str | os.PathLike, update: Callable[[RunRecord], RunRecord]) -> list[Path]:
    """Apply ``update`` to every archived record; rewrite the files whose records it changed.

    The report refreshes each record's reproducing line this way: the line names every
    field that differs from its family's defaults, so it changes when a default does.
    """
    changed = []
    for target in sorted(Path(archive).glob(f"**/*.jsonl{SUFFIX}")):
        records = read_archived(target)
        before = [r.to_dict() for r in records]
        records = [update(r) for r in records]
        if [r.to_dict() for r in records] != before:
            write_archived(target, records)
            changed.append(target)
    return changed


def assemble(
    archive: str | os.PathLike | None, results: str | os.PathLike | None, into: str | os.PathLike
) -> Path:
    """Lay the archive's records and those under ``results`` into ``into``, as one results root.

    A store holds the archived records, then the local ones the archive lacks; a local
    search summary replaces an archived one. Either source may be ``None`` or missing.
    """
    into = Path(into)
    if archive is not None and Path(archive).is_dir():
        archive = Path(archive)
        for path in sorted(archive.glob(f"**/*.jsonl{SUFFIX}")):
            relative = path.relative_to(archive)
            _append(into / relative.with_name(relative.stem), read_archived(path))
        for summary in archive.glob(f"tune/*/{layout.SEARCH_SUMMARY}"):
            _copy(summary, into / summary.relative_to(archive))
        for comparison in layout.comparisons(archive):
            _save_files(comparison, into / comparison.relative_to(archive), COMPARED)
        for trials in archive.glob(f"tune/*/{layout.TRIALS}{SUFFIX}"):
            target = into / trials.relative_to(archive).with_suffix("")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.decompress(trials.read_bytes()))
    if results is not None and Path(results).is_dir():
        results = Path(results)
        for store in _stores(results):
            _append(into / store.relative_to(results), [r for r in RunStore(store) if _kept(r)])
        for search in layout.searches(results):  # a local search replaces an archived one
            for name in (layout.SEARCH_SUMMARY, layout.TRIALS):
                if (search / name).exists():
                    _copy(search / name, into / search.relative_to(results) / name)
        for comparison in layout.comparisons(results):
            _save_files(comparison, into / comparison.relative_to(results), COMPARED)
    return into


def restore(store: RunStore, archive_path: str | os.PathLike) -> int:
    """Append to ``store`` the archived records it lacks; returns how many."""
    have = store.done_ids()
    missing = [r for r in read_archived(archive_path) if r.run_id not in have]
    for record in missing:
        store.append(record)
    return len(missing)


def restored(store: RunStore, archive_path: str | os.PathLike | None) -> list[RunRecord]:
    """The records ``store`` would hold after :func:`restore` from ``archive_path``, without
    writing them (what a dry run plans from)."""
    records = store.records()
    have = {r.run_id for r in records}
    archived_ = read_archived(archive_path) if archive_path else []
    return records + [r for r in archived_ if r.run_id not in have]


def _append(path: Path, records: Iterable[RunRecord]) -> None:
    store = RunStore(path)
    have = store.done_ids()
    for record in records:
        if record.run_id not in have:
            store.append(record)
            have.add(record.run_id)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
