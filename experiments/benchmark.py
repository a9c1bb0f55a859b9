"""Benchmark keras-fcn's training path against a plain PyTorch loop of the same networks.

    python -m experiments.benchmark [--models dense,lenet|none] [--epochs N] [--repeats 3]
                                    [--trials 30] [--search 2] [--quick]

Each case (see ``experiments.bench.cases.CASES``: the PyTorch reference in float32 and with
bfloat16 autocast, keras-fcn's defaults, and keras-fcn with one speed setting, or one of
TensorFlow's thread and kernel environment variables, changed) runs in a process of its
own, ``--repeats`` times, in rounds: every case once per round, in an order that turns from
round to round, so that a slow spell of the machine falls on all of them. Each round also
measures the machine's limit at each network's shapes (the faster of TensorFlow's and
PyTorch's matrix multiplications in float32 and bfloat16, see ``experiments.bench.limits``).
Prints the CPU's relevant instruction-set flags, the limits, and a table of each case's
median throughput, GFLOP/s, fraction of the limit, first epoch, peak memory (of its own
process), test accuracy and its median ratio to the PyTorch loop of the same precision with
the lowest and highest round.

Writes under ``--out`` (default ``results/benchmark``): ``benchmark.csv``/``.md``,
``limits.csv``/``.md``, ``trials.csv``/``.md`` (fixed cost and memory of each tuning trial
in one process), ``search.csv``/``.md`` (the search case: KerasTuner's introductory search
written plainly against ``experiments.tune``, see ``experiments.bench.search_case``) and
``benchmark.json`` (everything, with every process's epochs, the CPU
and the library versions). ``--models none`` runs the tuning trials alone.

PyTorch is optional (``pip install -e .[bench]``): without it the keras-fcn cases still run.
Where JAX is installed, keras-fcn's defaults are measured on ``KERAS_BACKEND=jax`` too.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments._cli import Parser, add_data_dir_arg, check_out, run_main
from experiments.bench.child import LIMITS, PROFILE, data_of, epochs_of, models_of, one_case
from keras_fcn import layout, registry
from keras_fcn.registry import DEFAULT_SEED

PROFILED = ("tensorflow", "pytorch")


def build_parser() -> Parser:
    parser = Parser(prog="experiments.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        default="dense,lenet",
        help="dense, lenet or both; none: the tuning trials alone (default: %(default)s)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="epochs per case, the first being warm-up (default: 6 dense, 4 lenet; 2 --quick)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        help="processes per case, one per round (default: 3; 1 with --quick)",
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=30,
        help="two-epoch tuning trials in one process, 0 to skip (default: %(default)s)",
    )
    parser.add_argument(
        "--cases",
        default="",
        help="only the cases whose name (model/framework/variant) contains one of these "
        "comma-separated parts, e.g. batch_size=32 (default: every case)",
    )
    parser.add_argument(
        "--search",
        type=int,
        help="processes per side of the search case, 0 to skip (default: 2; 1 with --quick)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="default: %(default)s")
    add_data_dir_arg(parser)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3,000 images, 2 epochs, 3 trials, short limit timings: the path in minutes",
    )
    parser.add_argument(
        "--out",
        default=str(layout.folder("benchmark")),
        help="results folder (default: %(default)s)",
    )
    # one case (or the limits) in this process, written as JSON: how the parent runs each
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    return parser


def child_env(case, backend: str | None) -> dict[str, str]:
    """The environment of the process that measures ``case`` on ``backend`` (None: the default)."""
    return {**os.environ, **case.env, **({"KERAS_BACKEND": backend} if backend else {})}


def _measure_in_child(args, name: str, env: dict[str, str], epochs: int | None):
    """Run the case ``name`` (or the limits) in a new process; return what it wrote, or None
    and the last line of its error output."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "case.json"
        argv = [sys.executable, "-m", "experiments.benchmark", "--case", name]
        argv += ["--json", str(out), "--seed", str(args.seed), "--models", args.models]
        argv += ["--trials", str(args.trials)]
        argv += ["--epochs", str(epochs)] if epochs else []
        argv += ["--data-dir", args.data_dir] if args.data_dir else []
        argv += ["--quick"] if args.quick else []
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            return None, lines[-1] if lines else f"exit status {done.returncode}"
        return json.loads(out.read_text()), ""


def _check(args) -> tuple[list[str], Path]:
    """The models and the results folder, once every argument is known to be usable."""
    from experiments.bench.cases import CASES, MODELS
    from keras_fcn.errors import ConfigError

    models = models_of(args)
    if models == ["none"]:  # the tuning trials and the search case alone
        if not args.trials and args.search == 0:
            raise ConfigError(
                "--models none --trials 0 --search 0: nothing to measure; "
                "give --trials N or --search N"
            )
        models = []
    elif not models:
        raise ConfigError(
            f"--models {args.models!r}: name at least one of {', '.join(MODELS)}, or none"
        )
    for model in models:
        if model not in MODELS:
            raise ConfigError(f"--models {model!r}: choose from {', '.join(MODELS)}")
    if args.epochs is not None and args.epochs < 2:
        raise ConfigError(f"--epochs {args.epochs}: at least 2 (the first is warm-up)")
    if args.repeats is not None and args.repeats < 1:
        raise ConfigError(f"--repeats {args.repeats}: at least 1")
    if args.trials < 0:
        raise ConfigError(f"--trials {args.trials}: must be 0 or more")
    if args.search is not None and args.search < 0:
        raise ConfigError(f"--search {args.search}: must be 0 or more")
    cases = [part for part in args.cases.split(",") if part]
    if models and cases and not plan(models, [None], cases):
        names = ", ".join(c.name for c in CASES if c.model in models)
        raise ConfigError(
            f"--cases {args.cases!r}: no case of {', '.join(models)} matches; the cases: {names}"
        )
    for model in {*models, *(["dense"] if args.trials else [])}:  # the trials train dense
        registry.get_family(model).run_config({"seed": args.seed})  # a bad --seed fails here
    return models, check_out(args.out)  # fails here, before anything is measured


def recorded_command(argv: Sequence[str]) -> str:
    """The command a run records and the pages print: ``argv`` without the folders of
    this machine (:meth:`~keras_fcn.commands.Command.portable`)."""
    from experiments._commands import BENCHMARK
    from keras_fcn.commands import Command

    return Command.from_argv(BENCHMARK, argv).portable().render()


def plan(
    models: Sequence[str], backends: Sequence[str | None], cases: Sequence[str] = ()
) -> list[tuple[Any, str | None]]:
    """What each round measures: the limits (``(LIMITS, None)``), then every case of
    ``models``, its defaults on each of ``backends`` (None: the default backend); with
    ``cases``, only the cases whose name contains one of them."""
    from experiments.bench.cases import CASES

    chosen = [
        (case, backend)
        for case in CASES
        if case.model in models and (not cases or any(part in case.name for part in cases))
        for backend in (backends if case.variant == "defaults" else [None])
    ]
    return [(LIMITS, None), *chosen] if chosen else []


def round_order(items: Sequence[Any], round_: int) -> list[Any]:
    """``items`` turned by ``round_ - 1`` places: each round starts one item later."""
    shift = (round_ - 1) % len(items) if items else 0
    return [*items[shift:], *items[:shift]]


def label(case, backend: str | None) -> str:
    if case == LIMITS:
        return "the limits: matrix multiplications of each network's shapes"
    return case.name + (f" (KERAS_BACKEND={backend})" if backend else "")


def _run_item(args, case, backend: str | None):
    if case == LIMITS:
        return _measure_in_child(args, LIMITS, dict(os.environ), None)
    from experiments.bench.measure import Measurement

    env, epochs = child_env(case, backend), epochs_of(args, case.model)
    found, why = _measure_in_child(args, case.name, env, epochs)
    return (Measurement(**found) if found else None), why


def _describe_measurement(result) -> str:
    if isinstance(result, dict):  # the limits of one round
        return "; ".join(
            f"{model}: "
            + ", ".join(f"{d} {g:,.1f}" for d, g in limit["gflops"].items())
            + " GFLOP/s"
            for model, limit in result.items()
        )
    return (
        f"{result.images_per_s:,.0f} images/s, first epoch {result.first_epoch_s:.2f} s, "
        f"peak {result.peak_rss_mb[0]:,.0f} MB, test accuracy {result.test_accuracy:.4f}"
    )


def measure_rounds(args, items, repeats: int):
    """Every item once per round, ``repeats`` rounds; return the cases' measurements by
    label, the limits of each round, and why each item that failed was skipped."""
    results: dict[str, Any] = {}
    limit_rounds: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for round_ in range(1, repeats + 1):
        for case, backend in round_order(items, round_):
            name = label(case, backend)
            if name in skipped:
                continue
            print(f"[{round_}/{repeats}] {name} ...", flush=True)
            result, why = _run_item(args, case, backend)
            if result is None:
                print(f"  skipped: {why}", flush=True)
                skipped[name] = why
            elif case == LIMITS:
                limit_rounds.append(result)
            else:
                results[name] = results[name].merge(result) if name in results else result
            if result is not None:
                print(f"  {_describe_measurement(result)}", flush=True)
    return results, limit_rounds, skipped


def _profile(args, models: Sequence[str], repeats: int, out: Path):
    """Each model's training step in parts (``experiments.bench.profile``), TensorFlow and
    PyTorch in processes of their own, ``repeats`` interleaved rounds; printed and saved."""
    from experiments.bench.profile import profile_table
    from keras_fcn.reporting.tables import save_table

    items = [(model, framework) for model in models for framework in PROFILED]
    found, skipped = [], set()
    for round_ in range(1, repeats + 1):
        for model, framework in round_order(items, round_):
            if (model, framework) in skipped:
                continue
            print(f"[{round_}/{repeats}] {model}/{framework}: one step in parts ...", flush=True)
            name = f"{PROFILE}:{model}:{framework}"
            result, why = _measure_in_child(args, name, dict(os.environ), None)
            if result is None:
                print(f"  skipped: {why}", flush=True)
                skipped.add((model, framework))
            else:
                found.append(result)
    if not found:
        return None
    table = profile_table(found)
    print(
        "\nWhere a training step's time goes (ms per step, median of the processes; each part "
        "is what it adds to the parts before it):\n" + table.to_markdown(index=False)
    )
    save_table(table, out / "profile", index=False)
    return table


def _trials(args, out: Path):
    """The tuning trials' costs, printed and saved; None with ``--trials 0``."""
    import pandas as pd

    from experiments.bench import trials as costs
    from experiments.bench.page import trials_line
    from keras_fcn.reporting.tables import save_table

    if not args.trials:
        return None
    count, family = costs.trial_count(args), registry.get_family("dense")
    data = data_of(family, args)
    searches = []
    for name in (costs.DENSE_SPACE, costs.ONE_NETWORK_SPACE):
        print(f"\n{count} two-epoch tuning trials, {name}, in one process ...")
        searches.append(costs.search_costs(family, data, name, count, args.seed))
    print(f"\n{count} two-epoch tuning trials, {costs.ONEDNN_OFF} (a new process) ...")
    env = {**os.environ, **costs.ONEDNN_OFF_ENV}
    found, why = _measure_in_child(args, costs.ONEDNN_OFF, env, None)
    if found is None:
        print(f"not measured: {why}")
    else:
        searches.append(pd.DataFrame(found))
    trials = pd.concat(searches, ignore_index=True)
    save_table(trials, out / Path(layout.TRIALS).stem, index=False)
    print(trials_line(trials))  # the line docs/speed.md shows for a committed run
    return trials


def _report(out: Path, measurements, limits: dict[str, Any], cpu: dict[str, Any]) -> None:
    """Print and save the limits and the table of cases."""
    from experiments.bench import table
    from keras_fcn.reporting.tables import save_table

    print("\n" + table.describe_cpu(cpu, os.cpu_count()))
    if limits:
        rounds = max(limit["rounds"] for limit in limits.values())
        print(
            "limits: the faster of TensorFlow's and PyTorch's (where installed) matrix "
            "multiplications of each network's training shapes "
            f"(forward and both backward products), median of {rounds} round(s) "
            "(lowest-highest):"
        )
        for model, limit in limits.items():
            print(table.describe_limit(model, limit))
        save_table(table.limits_table(limits), out / "limits", index=False)
    cases = table.comparison(measurements, limits)
    if len(cases):
        save_table(cases, out / "benchmark", index=False)
        print("\n" + cases.to_markdown(index=False))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.case:
        return one_case(args)
    models, out = _check(args)
    from experiments.bench.limits import cpu_flags
    from experiments.bench.runs import set_aside

    if (earlier := set_aside(out)) is not None:
        print(f"the earlier run's files are now in {earlier}/")
    from experiments.bench.table import describe_cpu, summarize_limits
    from keras_fcn.record import library_versions, now, write_json

    cpu = cpu_flags()
    print(describe_cpu(cpu, os.cpu_count()), flush=True)
    backends = [None] + (["jax"] if importlib.util.find_spec("jax") else [])
    repeats = args.repeats or (1 if args.quick else 3)
    cases = [part for part in args.cases.split(",") if part]
    results, limit_rounds, skipped = measure_rounds(args, plan(models, backends, cases), repeats)
    measurements, limits = list(results.values()), summarize_limits(limit_rounds)
    out.mkdir(parents=True, exist_ok=True)
    _report(out, measurements, limits, cpu)
    profile = _profile(args, models, repeats, out)
    trials = _trials(args, out)
    from experiments.bench.search_case import search_case

    repeats = (1 if args.quick else 2) if args.search is None else args.search
    search, search_processes, search_skipped = search_case(
        repeats, out, seed=args.seed, data_dir=args.data_dir, quick=args.quick
    )
    write_json(
        out / "benchmark.json",
        {
            "command": recorded_command(sys.argv[1:] if argv is None else argv),
            "created": now(),
            "cases": [dataclasses.asdict(m) for m in measurements],
            "skipped": [{"case": k, "why": v} for k, v in {**skipped, **search_skipped}.items()],
            "limits": limits,
            "limit_rounds": limit_rounds,
            "cpu": {**cpu, "cores": os.cpu_count()},
            "trials": trials.to_dict(orient="records") if trials is not None else [],
            "profile": profile.to_dict(orient="records") if profile is not None else [],
            "search": search.to_dict(orient="records") if search is not None else [],
            "search_processes": search_processes,
            "versions": library_versions(),
        },
    )
    print(
        f"\nsaved: {out}/ (benchmark, limits, profile, trials and search .csv/.md; benchmark.json)"
    )
    return 0


if __name__ == "__main__":
    run_main(main)
