"""Runs per hour of a study in-process against the same study on Ray with ``--jobs``.

    python -m experiments.bench.jobs [--study chenab] [--only optimizer_lr] [--seeds 2]
        [--quick] [--jobs 2] [--threads-per-run 1] [--out results/benchmark/jobs]

Each engine trains the same runs from an empty folder, as ``python -m experiments.reproduce``
run by a user does (start-up, reading the data and, for Ray, starting the local instance
included). Prints and saves ``jobs.csv``/``.md``: runs, seconds, runs per hour, and each
engine's ratio to the in-process run. The default of ``--jobs`` follows this measurement
(docs/cluster.md).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from experiments._cli import Parser, check_out, run_main
from keras_fcn import layout


def build_parser() -> Parser:
    parser = Parser(prog="experiments.bench.jobs", description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="chenab", help="default: %(default)s")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TABLE",
        help="tables to run (default: optimizer_lr; repeatable)",
    )
    parser.add_argument("--seeds", type=int, default=2, help="default: %(default)s")
    parser.add_argument("--quick", action="store_true", help="the study's --quick runs")
    parser.add_argument(
        "--jobs",
        type=int,
        action="append",
        default=[],
        help="runs at once on Ray (default: 2; repeatable)",
    )
    parser.add_argument("--threads-per-run", type=int, default=1, help="default: %(default)s")
    parser.add_argument(
        "--out",
        default=str(layout.folder("benchmark") / "jobs"),
        help="results folder, emptied first (default: %(default)s)",
    )
    return parser


def measure(label: str, argv: list[str], folder: Path) -> dict:
    """Run ``python -m experiments.reproduce argv`` into an empty ``folder``; time it."""
    shutil.rmtree(folder, ignore_errors=True)
    command = [sys.executable, "-m", "experiments.reproduce", *argv, "--out", str(folder)]
    print(f"{label}: {' '.join(command[1:])}", flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    runs = sum(
        1 for f in folder.glob("*/runs.jsonl") for line in f.read_text().splitlines() if line
    )
    return {"engine": label, "runs": runs, "seconds": round(seconds, 1),
            "runs/hour": round(3600 * runs / seconds, 1)}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = check_out(args.out)
    import pandas as pd

    from keras_fcn.reporting.tables import save_table

    study = [args.study, "--seeds", str(args.seeds), "--baselines", str(out / "none")]
    for table in args.only or ["optimizer_lr"]:
        study += ["--only", table]
    if args.quick:
        study.append("--quick")
    rows = [measure("in-process", study, out / "in-process")]
    for jobs in args.jobs or [2]:
        engine = ["--jobs", str(jobs), "--threads-per-run", str(args.threads_per_run)]
        rows.append(
            measure(f"--jobs {jobs} --threads-per-run {args.threads_per_run}", study + engine,
                    out / f"jobs-{jobs}")
        )  # fmt: skip
    table = pd.DataFrame(rows)
    table["ratio"] = (table["runs/hour"] / table["runs/hour"].iloc[0]).round(2)
    save_table(table, out / "jobs", index=False)
    print(table.to_markdown(index=False))
    return 0


if __name__ == "__main__":
    run_main(main)
