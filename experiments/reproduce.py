"""Re-run a published study and print its tables side by side with its published numbers.

    python -m experiments.reproduce STUDY [--seeds 3] [--only TABLE] [--quick] [--dry-run]
    python -m experiments.reproduce all [--seeds 3] [--quick] [--dry-run]
        [--jobs N | --ray-address HOST:PORT]   (several runs at once on Ray; without
        these, 2 at once for batches of at most 64, where that was measured faster)
    python -m experiments.reproduce STUDY --pytorch [--seeds 3]   (its cross-checked rows
        trained by a plain PyTorch loop, beside ours and the paper; needs PyTorch)

Records go to ``--out/STUDY/runs.jsonl``; rerunning the same command skips finished runs,
so an interrupted study resumes, and so does a study whose records are committed
(``--records``): they are put back into its store first. One command at a time writes a
study's folder: a second stops in one line naming the first, or waits for it with
``--wait SECONDS``. ``--dry-run`` lists the runs, each stage planned from the same records a
real run would resume from (``--out`` and committed), and estimates the time of those left
from the measured speed of each network and batch size.
The comparison is written as ``comparison.csv``/``.md`` with one learning-curve figure per
table. ``--pytorch`` trains the rows a PyTorch study's protocol cross-checks with a plain
PyTorch loop instead, into ``--out/STUDY/pytorch_runs.jsonl``, resumable the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from experiments._cli import (
    Parser,
    add_data_dir_arg,
    add_engine_args,
    add_records_arg,
    add_set_arg,
    add_wait_arg,
    check_out,
    print_wall_time,
    records_folder,
    run_main,
    settings_from,
)
from keras_fcn import layout, registry
from keras_fcn.cluster import (
    AUTO_JOBS,
    AUTO_JOBS_MAX_BATCH,
    auto_jobs,
    engine_from,
)
from keras_fcn.errors import ConfigError
from keras_fcn.estimate import duration
from keras_fcn.identity import Status
from keras_fcn.registry import DEFAULT_SEED
from keras_fcn.replication import all_studies, get_study


def build_parser() -> Parser:
    parser = Parser(prog="experiments.reproduce", description=__doc__.splitlines()[0])
    parser.add_argument("study", help="all, or one of: " + ", ".join(all_studies()))
    _add_selection_args(parser)
    _add_mode_args(parser)
    parser.add_argument(
        "--out",
        default=str(layout.folder("reproduce")),
        help="results folder (default: %(default)s)",
    )
    add_data_dir_arg(parser)
    add_records_arg(parser, "committed records a study resumes from")
    parser.add_argument(
        "--baselines",
        default=str(layout.runs("baselines")),
        help="records of experiments.baselines shown beside the published baselines (default: %(default)s)",
    )
    add_set_arg(parser)
    add_wait_arg(parser)
    add_engine_args(
        parser,
        jobs_default=f"{AUTO_JOBS} for batches of at most {AUTO_JOBS_MAX_BATCH} where Ray is "
        "installed, 1 (in this process) otherwise",
    )
    return parser


def _add_selection_args(parser: Parser) -> None:
    """The seeds and tables a study runs, and how much of each run."""
    parser.add_argument(
        "--seeds", type=int, default=3, help="seeds per configuration (default: %(default)s)"
    )
    parser.add_argument(
        "--first-seed",
        type=int,
        default=DEFAULT_SEED,
        help="seeds are FIRST, FIRST+1, ... (default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TABLE",
        help="run only this table (repeatable)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2,000 images and 2 epochs per run: the whole path in seconds",
    )
    parser.add_argument("--dry-run", action="store_true", help="list the runs without training")


def _add_mode_args(parser: Parser) -> None:
    """What is run instead of the study's tables: its grid, or its rows in PyTorch."""
    parser.add_argument(
        "--grid", action="store_true", help="run the study's full grid instead of its tables"
    )
    parser.add_argument(
        "--pytorch",
        action="store_true",
        help="train the rows the study checks against PyTorch with a plain PyTorch loop "
        "instead, and print them beside ours and the paper (pip install -e .[bench]); "
        "--threads-per-run N sets PyTorch's threads",
    )
    parser.add_argument(
        "--differing",
        action="store_true",
        help="with --pytorch: also the rows where ours differ from the paper beyond the seed "
        "spread (by the Keras records on disk and committed)",
    )
    parser.add_argument(
        "--max-runs", type=int, help="with --grid: a random sample of this many grid settings"
    )
    parser.add_argument(
        "--grid-seed", type=int, help="with --grid: seed of that sample (default: 0)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.records = records_folder(args.records)
    _check_flags(args)
    if not args.pytorch:
        engine_from(args.jobs, args.threads_per_run, args.ray_address)  # bad flags stop here
    started = time.monotonic()
    if args.study != "all":
        run_one(get_study(args.study), args, _engine_for(args, get_study(args.study)))
        if not args.dry_run:
            print_wall_time(args.study, started)
        return 0
    if args.only or args.grid:
        raise ConfigError("--only and --grid work on one study, not on all")
    studies = [p for p in all_studies().values() if p.crosscheck or not args.pytorch]
    for protocol in studies:  # reject a bad --set before anything runs
        registry.get_family(protocol.family).run_config(settings_from(args))
    left = 0.0
    for protocol in studies:
        print(f"\n=== {protocol.name}")
        study_started = time.monotonic()
        left += run_one(protocol, args, _engine_for(args, protocol))
        if not args.dry_run:
            print_wall_time(protocol.name, study_started)
    if args.dry_run and not (args.quick or args.pytorch):
        print(f"\nall {len(studies)} studies: about {duration(left)} of training left")
    if not args.dry_run:
        print_wall_time(f"\nall {len(studies)} studies", started)
    return 0


def _engine_for(args, protocol):
    """The engine the flags ask for; without any, what :func:`auto_jobs` measured faster for
    the study's batch size; ``None``: in this process (always for --dry-run and --quick)."""
    if args.dry_run or args.pytorch:
        return None
    jobs, address = args.jobs, args.ray_address or os.environ.get("RAY_ADDRESS")
    if jobs is None and not (args.quick or args.threads_per_run or address):
        family = registry.get_family(protocol.family)
        batch = family.run_config({**protocol.settings, **settings_from(args)}).train.batch_size
        jobs = auto_jobs(batch)
        if jobs > 1:
            print(
                f"{protocol.name}: batch {batch}: {jobs} runs at once on a local Ray instance "
                "(--jobs 1: one at a time in this process; docs/cluster.md)"
            )
    return engine_from(jobs, args.threads_per_run, args.ray_address)


def run_one(protocol, args, engine=None) -> float:
    """Run (or with ``--dry-run`` list) one study, on ``engine`` if given (started here,
    stopped at the end), holding its folder's lock; returns the estimated seconds left."""
    registry.get_family(protocol.family).run_config(settings_from(args))  # a bad --set: now
    with _hold(_folder(protocol, args), args):
        if engine is None:
            return _study(protocol, args, None)
        with engine:
            return _study(protocol, args, engine)


def _folder(protocol, args) -> Path:
    """The study's folder under ``--out``."""
    return Path(args.out) / layout.variant(protocol.name, quick=args.quick, grid=args.grid)


def _hold(folder: Path, args):
    """The study folder's lock (:mod:`keras_fcn.lock`), taken before the engine starts; none
    for ``--dry-run``, which writes nothing."""
    import contextlib

    from keras_fcn.lock import folder_lock

    if args.dry_run:
        return contextlib.nullcontext()
    store = folder / layout.RUNS
    if not store.is_file():  # one line naming the store if its folder cannot be made
        check_out(store)
    return folder_lock(folder, wait=args.wait)


def _study(protocol, args, engine) -> float:
    """:func:`run_one` on a started engine, or ``None``."""
    family = registry.get_family(protocol.family)
    folder = _folder(protocol, args)

    from keras_fcn.record import RunStore
    from keras_fcn.replication import reproduce_views

    store = RunStore(folder / layout.RUNS)
    committed = _committed(args, folder)
    if committed and not args.dry_run:
        from experiments.reporting.archive import restore

        count = restore(store, committed)
        if count:
            print(f"{count} runs taken from the committed records ({committed})")
    options = _rerun_options(args, engine)

    print(f"{protocol.name}: {protocol.source}")
    for note in protocol.notes:
        print(f"  - {note}")

    if args.pytorch:
        from experiments._pytorch_check import check_study

        check_study(
            protocol, family, folder, options, records=args.records,
            threads=args.threads_per_run, differing=args.differing,
        )  # fmt: skip
        return 0.0
    if args.grid:
        from experiments._study_grid import grid_runs, run_grid

        runs = grid_runs(protocol, family, store, options, args)
        if args.dry_run:
            return _estimate(args, family, runs, store, committed)
        run_grid(protocol, family, runs, store, folder, options)
        return 0.0

    views = reproduce_views(protocol, family, store, _with_records(options, args, store, committed))
    if args.dry_run:
        _print_planned(views.published, "published")
        if views.procedure:
            _print_planned(views.procedure, "validation")
        return _estimate(args, family, views.planned_runs(options.seeds), store, committed)
    _write_outputs(protocol, family, views, folder, options.load)
    return 0.0


def _rerun_options(args, engine):
    """The :class:`~keras_fcn.replication.RerunOptions` the flags ask for."""
    from keras_fcn.replication import RerunOptions
    from keras_fcn.train import load_dataset

    def load(data_config):
        return load_dataset(data_config, args.data_dir)

    return RerunOptions(
        seeds=list(range(args.first_seed, args.first_seed + args.seeds)),
        load=load,
        quick=args.quick,
        only=args.only,
        dry_run=args.dry_run,
        overrides=settings_from(args),
        engine=engine,
    )


def _with_records(options, args, store, committed: Path | None):
    """``options`` with the baselines' records, and for a dry run the records of ``store``
    and ``committed``: a dry run plans each stage from the records a real run would resume
    from."""
    import dataclasses

    from experiments.reporting.archive import restored
    from keras_fcn.record import RunStore

    return dataclasses.replace(
        options,
        baseline_records=RunStore(args.baselines).records(),
        resumed=restored(store, committed) if args.dry_run else (),
    )


def _check_flags(args) -> None:
    """Refuse a count out of range, and flags that would be silently ignored."""
    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds}: must be at least 1")
    # flags of the grid that would be silently ignored without it, or the reverse
    if not args.grid:
        for flag in ("max_runs", "grid_seed"):
            if getattr(args, flag) is not None:
                raise ConfigError(f"--{flag.replace('_', '-')} works only with --grid")
    elif args.only:
        raise ConfigError("--only picks tables; --grid runs the whole grid: use one of them")
    if args.pytorch:
        for flag, given in (("grid", args.grid), ("only", args.only), ("set", args.settings)):
            if given:
                raise ConfigError(f"--pytorch checks the study's own rows: drop --{flag}")
        if args.jobs is not None or args.ray_address:
            raise ConfigError("--pytorch trains in this process: drop --jobs and --ray-address")
        if args.threads_per_run is not None and args.threads_per_run < 1:
            raise ConfigError(f"--threads-per-run {args.threads_per_run}: must be at least 1")
    elif args.differing:
        raise ConfigError("--differing works only with --pytorch")
    if args.max_runs is not None and args.max_runs < 1:
        raise ConfigError(f"--max-runs {args.max_runs}: must be at least 1")


def _print_planned(results, carry_from: str) -> None:
    """Each table's rows and the run each would train (``--dry-run``)."""
    for result in results:
        view = "" if carry_from == "published" else " (choices re-made on validation)"
        print(f"\n{result.spec.name}: {result.spec.title}{view}")
        for row, run in result.rows:
            print(
                f"  {row.row}: "
                + ("classical baseline" if run is None else f"{run.run_id} {run.values()}")
            )


def _write_outputs(protocol, family, views, folder: Path, load) -> None:
    """Write and print the comparison with the published numbers."""
    from keras_fcn.reporting.studies import write_study_outputs

    def test_labels(record):
        return load(family.from_dict(record.config).data).y_test

    readable = write_study_outputs(
        protocol.name, views.published, folder, test_labels, views.procedure, views.variants
    )
    print()
    print(readable.to_markdown(index=False))
    significance = folder / "significance.md"
    if significance.exists():
        print("\nbest row of each table against its runner-up, over the same seeds:")
        print(significance.read_text())
    for name, heading in (
        (layout.PROCEDURE, "the procedure re-chosen on validation"),
        (layout.VARIANTS, "rows with an unsaid setting read another way"),
    ):
        if (folder / name).exists():
            print(f"\n{heading}:")
            print((folder / name).read_text())
    print(
        f"saved: {folder}/ (runs.jsonl, comparison.csv/.md, side_by_side.md, aggregate.csv/.md, curves_*.png)"
    )


def _committed(args, folder: Path) -> Path | None:
    """The committed records of the study in ``folder``, if there are any (never for --quick)."""
    if args.quick or args.records is None:
        return None
    from experiments.reporting.archive import archived

    path = archived(layout.study(folder.name) / layout.RUNS, args.records, layout.ROOT)
    return path if path.exists() else None


def _estimate(args, family, runs, store, committed) -> float:
    """Print how many of ``runs`` are recorded and the estimated time of the others."""
    from experiments.reporting.archive import restored
    from keras_fcn.estimate import Estimator, busy_note

    records = restored(store, committed)
    done = {r.run_id for r in records if r.status != Status.FAILED}
    unique = {run.run_id: run for run in runs}
    left = [run for run_id, run in unique.items() if run_id not in done]
    if args.quick:
        print(f"{len(unique)} runs, {len(unique) - len(left)} recorded")
        return 0.0
    estimator = Estimator({family.name: family}, records)
    busy = busy_note()  # read before the networks are timed, which load the machine
    seconds = sum(estimator.seconds(run) for run in left)
    print(
        f"{len(unique)} runs, {len(unique) - len(left)} recorded; the {len(left)} left: about "
        f"{duration(seconds)} on this machine (upper bound where a run stops early; speed of "
        f"{len(estimator.timed)} network{'s' * (len(estimator.timed) != 1)} timed here, the others from records"
        f"{busy if estimator.timed else ''})"
    )
    return seconds


if __name__ == "__main__":
    run_main(main)
