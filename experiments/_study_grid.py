"""``experiments.reproduce STUDY --grid``: the study's full grid (or a random sample of it)
trained over the seeds, and its table, best on validation first."""

from __future__ import annotations

from pathlib import Path

from keras_fcn.errors import ConfigError
from keras_fcn.replication import all_studies


def grid_runs(protocol, family, store, options, args) -> list:
    """The runs of the study's grid (or ``--max-runs`` settings of it drawn at random) over
    ``options.seeds``; listed with ``--dry-run``."""
    from keras_fcn.replication.grid import grid_runs as study_grid_runs

    if protocol.grid is None:
        raise ConfigError(
            f"study {protocol.name!r} has no grid; --grid works for: "
            + ", ".join(p.name for p in all_studies().values() if p.grid)
        )
    seeds = options.seeds
    runs = study_grid_runs(
        protocol, family, seeds, quick=options.quick, overrides=options.overrides,
        max_runs=args.max_runs, sample_seed=args.grid_seed or 0,
    )  # fmt: skip
    print(
        f"grid: {len(runs) // len(seeds)} settings x {len(seeds)} seeds = {len(runs)} runs -> {store.path}"
    )
    if options.dry_run:
        for run in runs[:50]:
            print(f"  {run.run_id} {run.values()}")
    return runs


def run_grid(protocol, family, runs, store, folder: Path, options) -> None:
    """Train the grid's runs not yet recorded (on ``options.engine``, if any), and print its
    table, best on validation first."""
    from keras_fcn.replication.grid import grid_table
    from keras_fcn.reporting.tables import save_table
    from keras_fcn.study import run_study

    records = run_study(
        {family.name: family}, runs, store, load=options.load, engine=options.engine
    )
    table = grid_table(protocol, family, records)
    save_table(table, folder / "grid")
    print(table.head(20).to_string(index=False))
