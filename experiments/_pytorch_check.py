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
    seeds: Sequence[int],
    *,
    quick: bool,
    dry_run: bool,
    data_dir: str | None,
    records: Path | None,
    threads: int | None = None,
    differing: bool = False,
) -> None:
    """Train (with ``dry_run``, list) ``protocol``'s cross-checked rows in PyTorch over
    ``seeds`` into ``folder``, then print them beside ours and the paper.

    Args:
        protocol: the study.
        family: its family.
        folder: the study's results folder (``--out/STUDY``).
        seeds: the training seeds.
        quick: the ``--quick`` preset.
        dry_run: list the runs and what is recorded; train nothing.
        data_dir: folder of the IDX files, or ``None``.
        records: the folder of committed records (``--records``), or ``None`` for none.
        threads: PyTorch's threads (``--threads-per-run``); ``None`` leaves its default.
        differing: also the rows where ours differ from the paper beyond the seed spread
            (``--differing``), by the Keras records here and committed.
    """
    from keras_fcn.record import RunStore
    from keras_fcn.replication.crosscheck import checked_rows, train_crosscheck

    entries = None
    if differing and protocol.crosscheck:
        entries = _with_differing(protocol, family, folder, seeds, records)

    if not protocol.crosscheck:
        print(f"{protocol.name}: no rows to check against PyTorch (its protocol names none)")
        return
    store = RunStore(folder / layout.PYTORCH_RUNS)
    if dry_run:
        for row in checked_rows(protocol, family, store, seeds, quick=quick, entries=entries):
            print(
                f"  {row.spec.name} {row.row.row}: {row.label}: {len(row.runs)} runs, "
                f"{len(row.records)} recorded in PyTorch -> {store.path}"
            )
        return
    if not quick:  # ours were restored by the command, as for any re-run
        _restore(store, folder.name, records)
    from experiments.reporting.studies import write_crosscheck
    from keras_fcn import pytorch_loop
    from keras_fcn.train import load_dataset

    if threads is not None:
        pytorch_loop.use_threads(threads)

    train_crosscheck(
        protocol,
        family,
        store,
        seeds,
        load=lambda data: load_dataset(data, data_dir),
        quick=quick,
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
