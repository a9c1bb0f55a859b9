"""The commands' own lines, as :class:`keras_fcn.commands.Command`: what the records, the
report and the pages print to repeat a study, a search, a benchmark or the baselines.

A family's run is rendered by :func:`keras_fcn.commands.run_command`; this module names the
other commands, whose modules the library does not know.
"""

from __future__ import annotations

from keras_fcn.commands import Command, Option

PACKAGE = "experiments"
"""The package of the commands; each command writes into the results folder of its name."""

REPRODUCE = f"{PACKAGE}.reproduce"
TUNE = f"{PACKAGE}.tune"
BASELINES = f"{PACKAGE}.baselines"
BENCHMARK = f"{PACKAGE}.benchmark"
JOBS = f"{PACKAGE}.bench.jobs"


def of_folder(folder: str) -> str:
    """The module of the command that writes the results folder ``folder`` (its name)."""
    return f"{PACKAGE}.{folder}"


def study(name: str, seeds: int | None = None, *options: Option) -> Command:
    """``python -m experiments.reproduce NAME [--seeds N] [OPTIONS]``."""
    seeded: tuple[Option, ...] = () if seeds is None else (("--seeds", str(seeds)),)
    return Command(REPRODUCE, (name,), seeded + options)
