"""Write ``report.md`` from the committed run records and those under ``results/``; trains nothing.

python -m experiments.report [--results DIR] [--records DIR] [--out DIR]
python -m experiments.report --readme         # print the table of results at a glance instead
python -m experiments.report --docs           # write docs/results.md and docs/configs.md instead
python -m experiments.report --save-records   # first add results/'s records to docs/records

The records read are the committed ones (``--records``, ``docs/records/``) and those the
commands left under ``--results``, merged; every re-run study's tables are rebuilt from them.
On a fresh clone the committed records alone rebuild the README's tables, ``docs/results.md``
and ``docs/example-report/``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments import _commands as commands
from experiments._cli import (
    Parser,
    add_data_dir_arg,
    add_records_arg,
    check_out,
    records_folder,
    run_main,
)
from keras_fcn import layout
from keras_fcn.errors import ConfigError

DOCS = Path("docs")


def build_parser() -> Parser:
    """The command's flags."""
    parser = Parser(prog="experiments.report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--results",
        default=str(layout.ROOT),
        help="folder the commands wrote to (default: %(default)s)",
    )
    parser.add_argument(
        "--out", help=f"report folder (default: RESULTS/report; with --docs: {DOCS})"
    )
    parser.add_argument(
        "--readme",
        action="store_true",
        help="print the table of results at a glance (docs/results.md) and stop",
    )
    parser.add_argument(
        "--docs",
        action="store_true",
        help="write the pages of results, configs and speed (results.md, configs.md, speed.md, "
        "studies/) into --out instead",
    )
    parser.add_argument(
        "--readme-file",
        help="with --docs: the README whose results block is rewritten (default: README.md "
        "when --out is not given, none otherwise)",
    )
    parser.add_argument(
        "--study",
        action="append",
        default=[],
        help="with --readme: also print this study's side-by-side table (repeatable)",
    )
    add_records_arg(
        parser, "the committed records, read with those of --results ('none': --results alone)"
    )
    parser.add_argument(
        "--save-records",
        action="store_true",
        help="first add the full-data records under --results to --records (the runs it holds "
        "keep their archived record)",
    )
    parser.add_argument(
        "--run-missing",
        action="store_true",
        help="first train what the report lacks: each family's default run on Fashion-MNIST, and "
        "its configuration chosen on Fashion-MNIST retrained on MNIST (the re-run studies are "
        "trained by experiments.reproduce)",
    )
    add_data_dir_arg(parser, " (for the data section)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # checked before anything is read, so that a mistake is one line and leaves nothing behind
    if args.study and not args.readme:
        raise ConfigError("--study works only with --readme")
    if args.study:
        from keras_fcn.replication import get_study

        for study in args.study:
            get_study(study)  # an unknown name is an error listing the known ones
    if args.readme and args.docs:
        raise ConfigError("--readme prints, --docs writes pages: use one of them")
    records = records_folder(args.records, written=args.save_records)
    if args.save_records and records is None:
        raise ConfigError("--save-records needs --records: the folder to add the records to")
    readme_file = args.readme_file or (None if args.out else "README.md")
    if args.docs and readme_file and not Path(readme_file).is_file():
        raise ConfigError(f"--readme-file {readme_file}: no such file (the README to rewrite)")
    out = None
    if not args.readme:
        out = check_out(args.out or (DOCS if args.docs else layout.folder("report", args.results)))
    if args.run_missing:
        _run_missing(args, records)
    if args.save_records:
        _save_records(args.results, records)

    from experiments.reporting.archive import assemble

    with tempfile.TemporaryDirectory(prefix="keras-fcn-report-") as tmp:
        root = assemble(records, args.results, tmp)
        data = _Data(args.data_dir)
        _rebuild_studies(root, None if args.readme else data.test_labels)
        if args.readme:
            return _readme(args, root)
        if args.docs:
            return _docs(root, out, readme_file, records, data.test_labels)
        from experiments.reporting.document import write_report
        from keras_fcn.replication import STUDIES_DIR

        source = "the committed ones and those the commands left under --results"
        path = write_report(
            root, out, STUDIES_DIR, _defaults(), load=data.load, source=source, command=_command
        )
    print(f"wrote {path}")
    return 0


class _Data:
    """The datasets by name, loaded once, never downloaded (the report trains nothing)."""

    def __init__(self, data_dir: str | None) -> None:
        self.data_dir, self.loaded = data_dir, {}

    def load(self, name: str):
        from keras_fcn.data import load

        if name not in self.loaded:
            self.loaded[name] = load(name, data_dir=self.data_dir, download=False)
        return self.loaded[name]

    def test_labels(self, record):
        return self.load(record.config["data"]["dataset"]).y_test


def _command(record):
    """The line that trains a record's config, without its seed (a
    :class:`keras_fcn.commands.Command`); None for no network family."""
    from keras_fcn import registry
    from keras_fcn.commands import run_command

    family = registry.families().get(record.family)
    if family is None:
        return None
    return run_command(family, family.from_dict(record.config)).without("--seed")


def missing_runs(root: Path) -> list[tuple[Any, Any]]:
    """``(family, run)`` for what the report lacks under ``root``: each family's default run
    (seed 42) when it has none, and each network family's configuration chosen on
    Fashion-MNIST, over the same seeds, on MNIST (a classical baseline has no twin to train:
    ``experiments.baselines`` runs both datasets). Each run once."""
    from experiments.reporting.best import best_per_family
    from experiments.reporting.transfer import on_mnist
    from keras_fcn import registry
    from keras_fcn.reporting.records import find_records, full_data

    records = [r for r in find_records(root) if full_data(r)]
    done = {r.run_id for r in records}
    wanted = {}
    for family in registry.families().values():
        wanted[family.run_config().run_id] = (family, family.run_config())
    for best in best_per_family(records):
        family = registry.families().get(best.family)  # None: a classical baseline
        if best.dataset != "fashion_mnist" or family is None:
            continue
        for record in best.records:
            twin = family.from_dict(on_mnist(record).config)
            wanted.setdefault(twin.run_id, (family, twin))
    return [pair for run_id, pair in wanted.items() if run_id not in done]


def missing_lines(root: Path) -> list[str]:
    """The command line of each of :func:`missing_runs`."""
    return [family.command_for(run) for family, run in missing_runs(root)]


def _run_missing(args, records: Path | None) -> None:
    """Train, one after the other, what the report lacks, each into the folder of the
    command that trains its family (its line is printed first)."""
    from experiments.reporting.archive import assemble
    from keras_fcn.single import run_and_report

    with tempfile.TemporaryDirectory(prefix="keras-fcn-report-") as tmp:
        runs = missing_runs(assemble(records, args.results, tmp))
    print(f"{len(runs)} runs missing" + (": training them one by one" if runs else ""))
    for family, run in runs:
        print(family.command_for(run), flush=True)
        out = layout.command_folder(family.command, args.results)
        run_and_report(family, run, out=out, data_dir=args.data_dir, verbose=0)


def _save_records(results: str, records: Path) -> None:
    """Add the full-data records under ``results`` to the committed records, each with the
    line that trains it again (which changes when its family's defaults do)."""
    from experiments.bench.runs import save_runs
    from experiments.reporting.archive import refresh, save
    from keras_fcn import registry
    from keras_fcn.record import DEFAULT_FRAMEWORK

    def complete(record):
        family = registry.families().get(record.family)
        # a PyTorch loop's record keeps its own line: the family's command trains in Keras
        if family is not None and record.framework == DEFAULT_FRAMEWORK:
            record.command = family.command_for(family.from_dict(record.config))
        return record

    changed = save(results, records, complete=complete) + refresh(records, complete)
    for path in dict.fromkeys(changed):
        print(f"saved {path}")
    for folder in save_runs(results, records):
        print(f"saved {folder}")


def _rebuild_studies(root: Path, test_labels) -> None:
    from experiments.reporting.studies import rebuild_studies
    from keras_fcn import registry

    rebuild_studies(root, registry.families(), test_labels)


def _readings() -> dict[str, str]:
    """Study name -> what reproduces and why (its protocol's ``reading``)."""
    from keras_fcn.replication import all_studies

    return {name: p.reading for name, p in all_studies().items()}


def _defaults() -> dict[str, dict]:
    """Family name -> its default ``RunConfig.to_dict()``."""
    from keras_fcn import registry

    return {name: f.run_config().to_dict() for name, f in registry.families().items()}


def _docs(root: Path, out: Path, readme_file: str | None, records: Path | None, test_labels) -> int:
    """Write the results, configs, study and speed pages into ``out``."""
    from experiments.bench.compared import single_runs
    from experiments.bench.page import SPEED_PAGE, readme_block, speed_page
    from experiments.reporting import readme
    from experiments.reporting.pages import write_pages
    from keras_fcn import registry
    from keras_fcn.replication import all_studies

    sources = {name: p.source for name, p in all_studies().items()}
    families = registry.families()
    pages = write_pages(root, out, _defaults(), families, sources, readme_file, _readings())
    runs = single_runs(root)
    (out / SPEED_PAGE).write_text(speed_page(records, runs, test_labels))
    pages.append(out / SPEED_PAGE)
    if readme_file is not None:
        readme.update_readme(readme_file, readme_block(records, runs, test_labels), "speed")
    for path in pages:
        print(f"wrote {path}")
    return 0


def _readme(args, root: Path) -> int:
    """Print the README's results block, then each ``--study``'s side-by-side table."""
    from experiments.reporting import readme

    print(readme.block(root, _defaults(), _readings()))
    for study in args.study:
        path = layout.study(study, root) / layout.SIDE_BY_SIDE
        print(f"\n{study}:\n")
        print(path.read_text() if path.exists() else f"not run yet: {commands.study(study)}")
    return 0


if __name__ == "__main__":
    run_main(main)
