"""Summaries of what has been run, read from the run records under ``results/``.

python -m experiments.report --readme    # the README's results table
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments._cli import Parser, run_main


def main(argv: Sequence[str] | None = None) -> int:
    parser = Parser(prog="experiments.report", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--results", default="results", help="folder the commands wrote to (default: %(default)s)"
    )
    parser.add_argument("--readme", action="store_true", help="print the README's results table")
    parser.add_argument(
        "--study",
        action="append",
        default=[],
        help="also print this study's side-by-side table (repeatable)",
    )
    args = parser.parse_args(argv)

    from pathlib import Path

    from keras_fcn import report

    print(report.readme_results(args.results))
    for study in args.study:
        path = Path(args.results) / "reproduce" / study / "side_by_side.md"
        print(f"\n{study} ({path}):\n")
        print(
            path.read_text()
            if path.exists()
            else f"not run yet: python -m experiments.reproduce {study}"
        )
    return 0


if __name__ == "__main__":
    run_main(main)
