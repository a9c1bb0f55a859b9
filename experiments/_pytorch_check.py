"""``experiments.reproduce STUDY --pytorch``: the study's cross-checked rows trained by the
plain PyTorch loop, printed beside ours and the paper.

The records go to ``STUDY/pytorch_runs.jsonl`` (:data:`keras_fcn.layout.PYTORCH_RUNS`),
beside the Keras runs; runs already there, or in the committed records, are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from experiments import _commands as commands
from keras_fcn import layout


def command_line(study: str, seed: int, quick: bool) -> str:
    """The line that trains a cross-checked run again (with the study's other cross-checked
    rows at that seed)."""
    options = [("--pytorch", None), ("--seeds", "1"), ("--first-seed", str(seed))]
    return commands.study(study, None, *options, *([("--quick", None)] if quick else [])).render()


def check_study(
    protocol,
    family,
    folder: Path,
    options,
    *,
    records: Path | None = None,
    threads: int | None = None,
    differing: bool = False,
) -> None:
    """Train (with ``options.dry_run``, list) ``protocol``'s cross-checked rows in PyTorch
    over ``options.seeds`` into ``folder``, then print them beside ours and the paper.

    Args:
        protocol: the study.
        family: its family.
        folder: the study's results folder (``--out/STUDY``).
        options: the :class:`~keras_fcn.replication.RerunOptions` of the command: its
            seeds, data, ``quick`` preset and ``dry_run`` (list the runs and what is
            recorded; train nothing).
        records: the folder of committed records (``--records``), or ``None`` for none.
        threads: PyTorch's threads (``--threads-per-run``); ``None`` leaves its default.
        differing: also the rows where ours differ from the paper beyond the seed spread
            (``--differing``), by the Keras records here and committed.
    """
    from keras_fcn.record import RunStore

    entries = None
    if differing and protocol.crosscheck:
        entries = _with_differing(protocol, family, folder, options.seeds, records)

    if not protocol.crosscheck:
        print(f"{protocol.name}: no rows to check against PyTorch (its protocol names none)")
        return
    store = RunStore(folder / layout.PYTORCH_RUNS)
    if options.dry_run:
        _list_checked(protocol, family, store, options, entries)
        return
    if not options.quick:  # ours were restored by the command, as for any re-run
        _restore(store, folder.name, records)
    from keras_fcn import pytorch_loop

    if threads is not None:
        pytorch_loop.use_threads(threads)
    _train_and_print(protocol, family, folder, store, options, entries)


def _list_checked(protocol, family, store, options, entries: list | None) -> None:
    """Each cross-checked row, its runs and how many ``store`` holds (``--dry-run``)."""
    from keras_fcn.replication.crosscheck import checked_rows

    seeds, quick = options.seeds, options.quick
    for row in checked_rows(protocol, family, store, seeds, quick=quick, entries=entries):
        print(
            f"  {row.spec.name} {row.row.row}: {row.label}: {len(row.runs)} runs, "
            f"{len(row.records)} recorded in PyTorch -> {store.path}"
        )


def _train_and_print(protocol, family, folder: Path, store, options, entries) -> None:
    """Train the rows' runs ``store`` lacks, then write and print the cross-check."""
    from experiments.reporting.studies import write_crosscheck
    from keras_fcn.replication.crosscheck import train_crosscheck

    quick = options.quick
    train_crosscheck(
        protocol,
        family,
        store,
        options,
        command=lambda run: command_line(protocol.name, run.train.seed, quick),
        entries=entries,
    )
    path = write_crosscheck(folder, protocol, family, quick=quick)
    if path is not None:
        print()
        print(path.read_text())
        print(f"saved: {store.path}, {path}")


def _with_differing(
    protocol, family, folder: Path, seeds: Sequence[int], records: Path | None
) -> list:
    """The protocol's checked rows and those where our records (here and committed) differ
    from the paper beyond the seed spread."""
    from experiments.reporting.archive import archived, read_archived
    from keras_fcn.record import RunStore
    from keras_fcn.replication.crosscheck import differing

    ours = RunStore(folder / layout.RUNS).records()
    if records is not None:
        ours += read_archived(
            archived(layout.study(folder.name) / layout.RUNS, records, layout.ROOT)
        )
    more = [e for e in differing(protocol, family, ours, seeds) if e not in protocol.crosscheck]
    print(f"{len(more)} more rows where ours differ from the paper: {', '.join(more) or 'none'}")
    return [*protocol.crosscheck, *more]


def _restore(store, study: str, records: Path | None) -> None:
    """Put the committed PyTorch records of ``study`` back into ``store``, so that the runs
    they hold are skipped."""
    if records is None:
        return
    from experiments.reporting.archive import archived, restore

    path = archived(layout.study(study) / layout.PYTORCH_RUNS, records, layout.ROOT)
    if path.exists():
        restored = restore(store, path)
        if restored:
            print(f"{restored} runs taken from the committed records ({path})")
