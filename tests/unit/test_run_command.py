"""Every run record carries the one line that trains its run again: the line must build the
same config (the same run id), whichever command first trained it."""

from __future__ import annotations

import pytest

from experiments._cli import settings_from
from experiments.fashion_dense import build_parser
from keras_fcn import registry
from keras_fcn.commands import Command
from keras_fcn.presets import quick
from keras_fcn.record import RunStore
from keras_fcn.replication import all_studies
from keras_fcn.replication.rerun import RerunOptions, reproduce


def rebuilt(line: str):
    """The run config that ``line`` (``python -m COMMAND ...``) trains."""
    command = Command.parse(line)
    name = {f.command: f.name for f in registry.families().values()}[command.module]
    args = build_parser(command.module, "fashion_mnist", name).parse_args(command.words())
    settings = {"dataset": args.dataset, **settings_from(args), "seed": args.seed}
    return registry.get_family(name).run_config(settings)


def study_runs():
    """Every run of every published study's tables, quick and full, over two seeds."""
    for protocol in all_studies().values():
        family = registry.get_family(protocol.family)
        for is_quick in (False, True):
            results = reproduce(
                protocol,
                family,
                RunStore("unused.jsonl"),
                RerunOptions(seeds=[42, 45], load=None, dry_run=True, quick=is_quick),
            )
            for result in results:
                yield from (run for _, run in result.rows if run is not None)


def test_every_study_run_is_rebuilt_by_its_command():
    runs = list(study_runs())
    assert len(runs) > 100
    for run in runs:
        line = registry.get_family(run.family).command_for(run)
        assert rebuilt(line).run_id == run.run_id, line


@pytest.mark.parametrize("family", ["dense", "lenet"])
def test_default_run_needs_no_settings_and_other_data_are_named(family):
    fam = registry.get_family(family)
    assert fam.command_for(fam.run_config()) == f"python -m {fam.command} --seed 42"
    run = fam.run_config({"dataset": "mnist", "seed": 7, **quick("single")})
    line = fam.command_for(run)
    assert "--dataset mnist --seed 7" in line and "--set train_limit=" in line
    assert rebuilt(line).run_id == run.run_id
