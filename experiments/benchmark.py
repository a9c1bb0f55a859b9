"""Benchmark keras-fcn's training path against a plain PyTorch loop of the same networks.

    python -m experiments.benchmark [--models dense,lenet] [--epochs N] [--trials 30] [--quick]

Each case (see ``keras_fcn.benchmark.CASES``: the PyTorch reference, keras-fcn's defaults,
and keras-fcn with one speed setting, or one of TensorFlow's thread and kernel environment
variables, changed) runs in its own process on the same training split, so that its peak
memory and its environment are its own. Prints and writes under ``--out`` (default
``results/benchmark``): ``benchmark.csv``/``.md`` (throughput, first epoch, peak memory,
test accuracy, ratio to PyTorch), ``trials.csv``/``.md`` (fixed cost and memory of each
tuning trial in one process) and ``benchmark.json`` (both, with library versions).

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

from experiments import _families
from experiments._cli import Parser, check_out, run_main


def build_parser() -> Parser:
    parser = Parser(prog="experiments.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", default="dense,lenet", help="dense, lenet or both (default: %(default)s)"
    )
    parser.add_argument(
        "--epochs",
        type=int,
        help="epochs per case, the first being warm-up (default: 6 dense, 4 lenet; 2 --quick)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="processes per case, run in turns, so that a slow spell of the machine does "
        "not fall on one case (default: %(default)s; 1 with --quick)",
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=30,
        help="one-epoch tuning trials in one process, 0 to skip (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=42, help="default: %(default)s")
    parser.add_argument(
        "--data-dir", help="folder holding the IDX files (searched before KERAS_FCN_DATA_DIR)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3,000 images, 2 epochs, 3 trials: the path in a minute",
    )
    parser.add_argument(
        "--out", default="results/benchmark", help="results folder (default: %(default)s)"
    )
    # one case in this process, written as JSON: how the parent runs each case
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    return parser


def _data(family, args):
    from keras_fcn.train import load_dataset

    config = family.data
    if args.quick:
        from keras_fcn.presets import quick

        config = dataclasses.replace(config, **quick("benchmark"))
    return load_dataset(config, args.data_dir)


def _epochs(args, model: str) -> int:
    if args.epochs is not None:
        return args.epochs
    return 2 if args.quick else {"dense": 6, "lenet": 4}[model]


def _one_case(args) -> int:
    """Child mode: measure one case and write it as JSON."""
    from keras_fcn import benchmark

    case = benchmark.find_case(args.case)
    family = _families.family(case.model)
    result = benchmark.run_case(
        case, family, _data(family, args), epochs=_epochs(args, case.model), seed=args.seed
    )
    Path(args.json).write_text(json.dumps(dataclasses.asdict(result)))
    return 0


def child_env(case, backend: str | None) -> dict[str, str]:
    """The environment of the process that measures ``case`` on ``backend`` (None: the default)."""
    return {**os.environ, **case.env, **({"KERAS_BACKEND": backend} if backend else {})}


def _measure_in_child(case, args, backend: str | None) -> tuple[object | None, str]:
    """Run ``case`` in a new process; return its measurement, or None and why not."""
    from keras_fcn.benchmark import Measurement

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "case.json"
        argv = [sys.executable, "-m", "experiments.benchmark", "--case", case.name]
        argv += ["--json", str(out), "--seed", str(args.seed)]
        argv += ["--epochs", str(_epochs(args, case.model))]
        argv += ["--data-dir", args.data_dir] if args.data_dir else []
        argv += ["--quick"] if args.quick else []
        done = subprocess.run(argv, env=child_env(case, backend), capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            return None, lines[-1] if lines else f"exit status {done.returncode}"
        return Measurement(**json.loads(out.read_text())), ""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from keras_fcn.errors import ConfigError

    if args.case:
        return _one_case(args)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    from keras_fcn import benchmark, report
    from keras_fcn.record import library_versions, write_json

    if not models:
        raise ConfigError(
            f"--models {args.models!r}: name at least one of {', '.join(benchmark.MODELS)}"
        )
    for model in models:
        if model not in benchmark.MODELS:
            raise ConfigError(f"--models {model!r}: choose from {', '.join(benchmark.MODELS)}")
    if args.epochs is not None and args.epochs < 2:
        raise ConfigError(f"--epochs {args.epochs}: at least 2 (the first is warm-up)")
    if args.repeats < 1:
        raise ConfigError(f"--repeats {args.repeats}: at least 1")
    if args.trials < 0:
        raise ConfigError(f"--trials {args.trials}: must be 0 or more")
    for model in {*models, *(["dense"] if args.trials else [])}:  # the trials train dense
        _families.family(model).run_config({"seed": args.seed})  # a bad --seed fails here
    out = check_out(args.out)  # fails here, before anything is measured

    backends = [None] + (["jax"] if importlib.util.find_spec("jax") else [])
    plan = [
        (case, backend)
        for case in benchmark.CASES
        if case.model in models
        for backend in (backends if case.variant == "defaults" else [None])
    ]
    results: dict[str, object] = {}
    skipped: dict[str, str] = {}
    repeats = 1 if args.quick else args.repeats
    for round_ in range(1, repeats + 1):
        for case, backend in plan:
            label = case.name + (f" (KERAS_BACKEND={backend})" if backend else "")
            if label in skipped:
                continue
            print(f"[{round_}/{repeats}] measuring {label} ...", flush=True)
            result, why = _measure_in_child(case, args, backend)
            if result is None:
                print(f"  skipped: {why}", flush=True)
                skipped[label] = why
                continue
            print(
                f"  {result.steady_images_per_s:,.0f} images/s, first epoch "
                f"{result.first_epoch_s:.2f} s, peak {result.peak_rss_mb:,.0f} MB, "
                f"test accuracy {result.test_accuracy:.4f}",
                flush=True,
            )
            results[label] = results[label].merge(result) if label in results else result
    measurements = list(results.values())
    out.mkdir(parents=True, exist_ok=True)

    table = benchmark.comparison(measurements)
    if len(table):
        report.save_table(table, out / "benchmark", index=False)
        print("\n" + table.to_markdown(index=False))
    trials = None
    if args.trials:
        trial_count = min(args.trials, 3) if args.quick else args.trials
        family = _families.family("dense")
        data = _data(family, args)
        small = dataclasses.replace(
            data, x_train=data.x_train[:2000], y_train=data.y_train[:2000],
            x_val=data.x_val[:500], y_val=data.y_val[:500],
        )  # fmt: skip
        print(f"\n{trial_count} one-epoch tuning trials of the dense space in one process ...")
        trials = benchmark.trial_costs(
            family,
            family.run_config({"seed": args.seed}),
            small,
            trials=trial_count,
            seed=args.seed,
        )
        report.save_table(trials, out / "trials", index=False)
        growth = trials["rss_mb"].iloc[-1] - trials["rss_mb"].iloc[0]
        print(
            f"fixed cost per trial (build, compile, first step): median "
            f"{trials['fixed_cost_s'].median():.2f} s; resident memory after trial 1: "
            f"{trials['rss_mb'].iloc[0]:,.0f} MB, after trial {len(trials)}: "
            f"{trials['rss_mb'].iloc[-1]:,.0f} MB (growth {growth:+,.0f} MB)"
        )
    write_json(
        out / "benchmark.json",
        {
            "command": "python -m experiments.benchmark "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "cases": [dataclasses.asdict(m) for m in measurements],
            "skipped": [{"case": k, "why": v} for k, v in skipped.items()],
            "trials": trials.to_dict(orient="records") if trials is not None else [],
            "versions": library_versions(),
            "cpu_count": os.cpu_count(),
        },
    )
    print(f"\nsaved: {out}/ (benchmark.csv/.md, trials.csv/.md, benchmark.json)")
    return 0


if __name__ == "__main__":
    run_main(main)
