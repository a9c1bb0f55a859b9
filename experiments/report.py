"""Write ``report.md`` from the run records under ``results/``; trains nothing.

python -m experiments.report [--results DIR] [--out DIR]
python -m experiments.report --readme     # print the table of results at a glance instead
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from experiments._cli import Parser, check_out, run_main
from keras_fcn.errors import ConfigError


def build_parser() -> Parser:
    """The command's flags."""
    parser = Parser(prog="experiments.report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--results", default="results", help="folder the commands wrote to (default: %(default)s)"
    )
    parser.add_argument("--out", help="report folder (default: RESULTS/report)")
    parser.add_argument(
        "--readme",
        action="store_true",
        help="print the table of results at a glance (docs/results.md) and stop",
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
    out = None if args.readme else check_out(args.out or Path(args.results) / "report")

    from keras_fcn import report

    if args.readme:
        from experiments import _families

        defaults = {
            name: family.run_config().to_dict() for name, family in _families.families().items()
        }
        print(report.readme_results(args.results, defaults))
        for study in args.study:
            path = Path(args.results) / "reproduce" / study / "side_by_side.md"
            print(f"\n{study}:\n")
            print(
                path.read_text()
                if path.exists()
                else f"not run yet: python -m experiments.reproduce {study}"
            )
        return 0

    from keras_fcn.data import load
    from keras_fcn.replication import STUDIES_DIR
    from keras_fcn.writeup import write_report

    path = write_report(args.results, out, STUDIES_DIR,
                        load=lambda name: load(name, data_dir=args.data_dir, download=False))  # fmt: skip
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    run_main(main)
