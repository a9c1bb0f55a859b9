"""Write ``report.md`` from the run records under ``results/``; trains nothing.

python -m experiments.report [--results DIR] [--out DIR]
python -m experiments.report --readme     # print the table of results at a glance instead
python -m experiments.report --docs       # write docs/results.md and docs/configs.md instead
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from experiments._cli import Parser, check_out, run_main
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
        help="write the pages of results and configs (results.md, configs.md) into --out instead",
    )
    parser.add_argument(
        "--study",
        action="append",
        default=[],
        help="with --readme: also print this study's side-by-side table",
    )
    parser.add_argument("--data-dir", help="folder holding the IDX files (for the data section)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # checked before anything is read, so that a mistake is one line and leaves nothing behind
    if args.study and not args.readme:
        raise ConfigError("--study works only with --readme")
    if args.readme and args.docs:
        raise ConfigError("--readme prints, --docs writes pages: use one of them")
    if args.readme:
        return _readme(args)
    if args.docs:
        return _docs(args, check_out(args.out or DOCS))

    out = check_out(args.out or layout.folder("report", args.results))
    from keras_fcn.data import load
    from keras_fcn.replication import STUDIES_DIR
    from keras_fcn.reporting.document import write_report

    path = write_report(
        args.results,
        out,
        STUDIES_DIR,
        _defaults(),
        load=lambda name: load(name, data_dir=args.data_dir, download=False),
    )
    print(f"wrote {path}")
    return 0


def _defaults() -> dict[str, dict]:
    """Family name -> its default ``RunConfig.to_dict()``."""
    from experiments import _families

    return {name: f.run_config().to_dict() for name, f in _families.families().items()}


def _docs(args, out: Path) -> int:
    """Write the results page and the configs page into ``out``."""
    from experiments import _families
    from keras_fcn.replication import all_studies
    from keras_fcn.reporting.pages import write_pages

    sources = {name: p.source for name, p in all_studies().items()}
    for path in write_pages(args.results, out, _defaults(), _families.families(), sources):
        print(f"wrote {path}")
    return 0


def _readme(args) -> int:
    """Print the table at a glance, then each ``--study``'s side-by-side table."""
    from keras_fcn.reporting import glance

    print(glance.readme_block(args.results, _defaults()))
    for study in args.study:
        path = layout.study(study, args.results) / layout.SIDE_BY_SIDE
        print(f"\n{study}:\n")
        print(
            path.read_text()
            if path.exists()
            else f"not run yet: python -m experiments.reproduce {study}"
        )
    return 0


if __name__ == "__main__":
    run_main(main)
