"""Runs per hour of a study in-process against the same study on Ray with ``--jobs``.

    python -m experiments.bench.jobs [--case NAME ...] [--rounds 3] [--jobs 2]
        [--threads-per-run 1] [--out results/benchmark/jobs]

Each case is a handful of real runs of a published study's protocol (its network and batch
size), shortened to a few epochs so that a case takes about a minute per engine. Each engine
trains them from an empty folder as ``python -m experiments.reproduce`` run by a user does
(start-up, reading the data and, for Ray, starting the local instance included), in rounds:
in-process then Ray, Ray then in-process, and so on, so that a drift of the machine's speed
falls on both. Prints and saves ``jobs.csv``/``.md``: per case and engine the median seconds
and runs per hour, and Ray's speed-up over in-process (median of the rounds, with the
lowest and highest round). The default of ``--jobs`` follows this measurement
(:data:`keras_fcn.cluster.AUTO_JOBS_MAX_BATCH`, docs/cluster.md).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from experiments._cli import Parser, check_out, run_main
from experiments._commands import JOBS
from keras_fcn import layout
from keras_fcn.commands import Command
from keras_fcn.errors import KerasFcnError


@dataclass(frozen=True)
class JobsCase:
    """Runs of one study table: ``seeds`` seeds of ``epochs`` epochs each."""

    name: str
    study: str
    table: str
    batch: int
    epochs: int
    seeds: int = 4

    def argv(self) -> list[str]:
        return [
            self.study,
            "--only",
            self.table,
            "--seeds",
            str(self.seeds),
            "--set",
            f"epochs={self.epochs}",
            "--records",
            "none",
        ]


CASES = (
    JobsCase("dense-512", "chenab", "baseline", batch=512, epochs=8),
    JobsCase("konycheva-64", "konycheva", "final", batch=64, epochs=3),
    JobsCase("dense-l2-32", "dense-l2", "final", batch=32, epochs=5),
)


def build_parser() -> Parser:
    parser = Parser(prog="experiments.bench.jobs", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case",
        action="append",
        default=[],
        choices=[case.name for case in CASES],
        help="cases to run (default: all; repeatable)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="default: %(default)s")
    parser.add_argument("--jobs", type=int, default=2, help="default: %(default)s")
    parser.add_argument("--threads-per-run", type=int, default=1, help="default: %(default)s")
    parser.add_argument(
        "--out",
        default=str(layout.folder("benchmark") / "jobs"),
        help="results folder, emptied first (default: %(default)s)",
    )
    return parser


def timed(argv: list[str], folder: Path) -> tuple[float, int]:
    """Seconds of ``python -m experiments.reproduce argv --out folder`` from an empty
    folder, and the runs it recorded."""
    shutil.rmtree(folder, ignore_errors=True)
    command = [sys.executable, "-m", "experiments.reproduce", *argv, "--out", str(folder)]
    start = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode:
        raise KerasFcnError(f"{' '.join(command[1:])} failed: {result.stderr.strip()[-500:]}")
    seconds = time.perf_counter() - start
    runs = sum(
        1 for f in folder.glob("*/runs.jsonl") for line in f.read_text().splitlines() if line
    )
    return seconds, runs


def measure_case(case: JobsCase, engines: dict[str, list[str]], rounds: int, out: Path):
    """Seconds per engine per round, the engines' order alternating from round to round."""
    seconds: dict[str, list[float]] = {label: [] for label in engines}
    runs: dict[str, int] = {}
    for r in range(rounds):
        order = list(engines) if r % 2 == 0 else list(reversed(engines))
        for label in order:
            s, runs[label] = timed(case.argv() + engines[label], out / case.name / f"r{r}")
            seconds[label].append(s)
            print(
                f"{case.name} round {r + 1}/{rounds} {label}: {runs[label]} runs in {s:.1f} s",
                flush=True,
            )
    return seconds, runs


def case_rows(case: JobsCase, seconds: dict[str, list[float]], runs: dict[str, int]):
    """One row per engine: median seconds, runs per hour, speed-up over in-process."""
    reference = seconds["in-process"]
    rows = []
    for label, mine in seconds.items():
        ratios = [ref / s for ref, s in zip(reference, mine, strict=True)]
        rows.append(
            {
                "case": case.name,
                "study": f"{case.study}/{case.table}",
                "batch": case.batch,
                "epochs": case.epochs,
                "engine": label,
                "runs": runs[label],
                "seconds": round(statistics.median(mine), 1),
                "runs/hour": round(3600 * runs[label] / statistics.median(mine), 1),
                "speed-up": round(statistics.median(ratios), 2),
                "low": round(min(ratios), 2),
                "high": round(max(ratios), 2),
                "rounds": len(mine),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = check_out(args.out)
    import pandas as pd

    from experiments.bench.limits import cpu_flags
    from experiments.bench.table import describe_cpu
    from keras_fcn.record import library_versions, now, write_json
    from keras_fcn.reporting.tables import save_table

    cases = [case for case in CASES if not args.case or case.name in args.case]
    ray_label = f"--jobs {args.jobs} --threads-per-run {args.threads_per_run}"
    engines = {"in-process": ["--jobs", "1"], ray_label: ray_label.split()}
    rows = []
    for case in cases:
        rows += case_rows(case, *measure_case(case, engines, args.rounds, out))
    table = pd.DataFrame(rows)
    save_table(table, out / "jobs", index=False)
    cpu = {**cpu_flags(), "cores": os.cpu_count()}
    command = Command.from_argv(JOBS, sys.argv[1:] if argv is None else argv).render()
    meta = {"command": command, "created": now(), "cpu": cpu, "versions": library_versions()}
    write_json(out / "jobs.json", meta)
    print(describe_cpu(cpu, os.cpu_count()))
    print(table.to_markdown(index=False))
    return 0


if __name__ == "__main__":
    run_main(main)
