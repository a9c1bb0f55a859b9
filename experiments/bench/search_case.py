"""The search case: the first search most KerasTuner users write, run two ways.

``plain``: KerasTuner's introductory Hyperband search as a user writes it from KerasTuner's
getting-started guide: a ``Sequential`` network of one hidden layer (32-512 units in steps
of 32) and Adam at 1e-2, 1e-3 or 1e-4, inputs scaled to [0, 1], ``model.fit`` on batches
of 32 with the last 20 % of the training images for validation, early stopping on the
validation loss after 5 epochs; then the best setting trained 50 epochs to find its best
epoch, trained again for that many epochs and tested once.

``keras-fcn`` (and its variants, :data:`SIDES`): ``python -m experiments.tune`` over the same space
(``experiments/spaces/one_layer.toml``), tuner, budget, batch, split, scaling and patience;
its final retraining is its own: the best setting over 3 seeds at the search's
``max_epochs``, each tested once.

Each side runs in a process of its own, timed from outside; its wall time is split into the
search (process start, imports, data, every trial) and the final retraining. ``python -m experiments.benchmark``
runs the two in interleaved rounds (:func:`measure_search_case`).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from keras_fcn.registry import DEFAULT_SEED

MAX_EPOCHS, FACTOR, PATIENCE, BATCH, VALIDATION = 10, 3, 5, 32, 0.2
FINAL_EPOCHS = 50  # the plain side's first final training, which finds the best epoch
QUICK_IMAGES, QUICK_EPOCHS = 3000, 4  # 4: the epochs of `tune --quick`
SIDES = {
    "plain": None,
    "keras-fcn": (),
    "keras-fcn-bfloat16": ("--set", "precision=mixed_bfloat16", "--set", "jit_compile=off"),
}
"""Each side of the case: ``plain``, or ``experiments.tune`` with these arguments added to
:data:`TUNE_ARGS`: its defaults, and bfloat16 without XLA (the defaults before the
small-batch path, :func:`keras_fcn.hardware.small_batch_path`)."""

TUNE_ARGS = (
    "--space", "experiments/spaces/one_layer.toml",
    "--tuner", "hyperband",
    "--max-epochs", str(MAX_EPOCHS),
    "--factor", str(FACTOR),
    "--patience", str(PATIENCE),
    "--set", f"batch_size={BATCH}",
    "--set", f"validation={VALIDATION}",
    "--set", "standardize=false",
)  # fmt: skip
"""``experiments.tune``'s side of the case, as a user types it."""


def guide_model(hp: Any) -> Any:
    """The guide's hypermodel: one hidden layer of 32-512 ReLU units in steps of 32, Adam at
    1e-2, 1e-3 or 1e-4."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(hp.Int("units", 32, 512, step=32), activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    rate = hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def plain_search(
    folder: Path, *, seed: int = DEFAULT_SEED, data_dir: str | None = None, quick: bool = False
) -> dict[str, Any]:
    """The plain side in this process, its KerasTuner project in ``folder``; its times,
    trials, epochs and test accuracy."""
    import keras
    import keras_tuner

    from keras_fcn.data_sources import load_raw

    raw, _ = load_raw("fashion_mnist", data_dir)
    count = QUICK_IMAGES if quick else len(raw["y_train"])
    x, y = raw["x_train"][:count] / 255.0, raw["y_train"][:count]
    x_test, y_test = raw["x_test"] / 255.0, raw["y_test"]
    max_epochs, final_epochs = (QUICK_EPOCHS, QUICK_EPOCHS) if quick else (MAX_EPOCHS, FINAL_EPOCHS)
    keras.utils.set_random_seed(seed)

    epochs = _EpochCounter(keras)
    tuner = keras_tuner.Hyperband(
        guide_model,
        objective="val_accuracy",
        max_epochs=max_epochs,
        factor=FACTOR,
        seed=seed,
        directory=str(folder),
        project_name="plain",
    )
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=PATIENCE)
    fit = {"batch_size": BATCH, "validation_split": VALIDATION, "verbose": 0}
    tuner.search(x, y, epochs=FINAL_EPOCHS, callbacks=[stop, epochs.callback], **fit)
    searched = time.perf_counter()

    best = tuner.get_best_hyperparameters(1)[0]
    history = tuner.hypermodel.build(best).fit(x, y, epochs=final_epochs, **fit)
    scores = history.history["val_accuracy"]
    best_epoch = scores.index(max(scores)) + 1
    model = tuner.hypermodel.build(best)
    model.fit(x, y, epochs=best_epoch, **fit)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=BATCH, verbose=0)
    return {
        "final_s": time.perf_counter() - searched,
        "trials": len(tuner.oracle.trials),
        "epochs": epochs.count,
        "test_accuracy": [float(accuracy)],
    }


class _EpochCounter:
    """Counts the epochs trained by a search's trials."""

    def __init__(self, keras: Any) -> None:
        counter = self

        class Count(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                counter.count += 1

        self.count = 0
        self.callback = Count()


def keras_fcn_search(
    folder: Path,
    *,
    seed: int = DEFAULT_SEED,
    data_dir: str | None = None,
    quick: bool = False,
    extra: Sequence[str] = (),
) -> dict[str, Any]:
    """An ``experiments.tune`` side in this process (``extra`` added to its arguments),
    writing under ``folder``; its final retraining's time, trials, epochs and test
    accuracies (one per final seed)."""
    from experiments.tune import main as tune

    argv = [*TUNE_ARGS, *extra, "--seed", str(seed), "--out", str(folder)]
    argv += ["--quick"] if quick else []
    argv += ["--data-dir", data_dir] if data_dir else []
    tune(argv)
    (search,) = [p.parent for p in Path(folder).glob("*/summary.json")]
    summary = json.loads((search / "summary.json").read_text())
    finals = [json.loads(line) for line in (search / "final_runs.jsonl").read_text().splitlines()]
    return {
        "final_s": sum(record["wall_time_s"] for record in finals),
        "trials": summary["trials"],
        "epochs": summary["total_epochs"],
        "test_accuracy": [record["test_accuracy"] for record in finals],
    }


def run_side(
    side: str, *, seed: int, data_dir: str | None, quick: bool
) -> tuple[dict[str, Any] | None, str]:
    """``side`` measured in a new process, in a folder removed afterwards: what it measured
    with ``search_s`` (the process's wall time less its final retraining), or None and the
    last line of its error output."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "side.json"
        argv = [sys.executable, "-m", "experiments.bench.search_case", side, str(out)]
        argv += ["--folder", folder, "--seed", str(seed), *(["--quick"] if quick else [])]
        argv += ["--data-dir", data_dir] if data_dir else []
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0 or not out.exists():
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            return None, lines[-1] if lines else f"exit status {done.returncode}"
        found = json.loads(out.read_text())
    return {"side": side, "search_s": wall - found["final_s"], **found}, ""


def measure_search_case(
    run: Any, repeats: int, *, log: Any = print
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``repeats`` rounds of every side, each round starting one side later; ``run(side)``
    measures one side in a process of its own (or returns ``None`` and why it failed).

    Returns:
        One dict per process (``round`` added), and why each side that failed was skipped.
    """
    found: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    sides = list(SIDES)
    for round_ in range(1, repeats + 1):
        shift = (round_ - 1) % len(sides)
        for side in [*sides[shift:], *sides[:shift]]:
            if side in skipped:
                continue
            log(f"[{round_}/{repeats}] search case, {side} ...")
            result, why = run(side)
            if result is None:
                log(f"  skipped: {why}")
                skipped[side] = why
                continue
            found.append({**result, "round": round_})
            log(
                f"  search {result['search_s']:.0f} s ({result['trials']} trials, "
                f"{result['epochs']} epochs), final {result['final_s']:.0f} s, test accuracy "
                + ", ".join(f"{a:.4f}" for a in result["test_accuracy"])
            )
    return found, skipped


def search_table(found: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per side: medians over its processes (with the lowest and highest), and the
    plain side's search time over each side's, paired by round."""
    plain = {r["round"]: r["search_s"] for r in found if r["side"] == "plain"}
    rows = []
    for side in SIDES:
        mine = [r for r in found if r["side"] == side]
        if not mine:
            continue
        searches = [r["search_s"] for r in mine]
        ratios = [plain[r["round"]] / r["search_s"] for r in mine if r["round"] in plain]
        accuracies = [a for r in mine for a in r["test_accuracy"]]
        rows.append(
            {
                "side": side,
                "processes": len(mine),
                "search_s": statistics.median(searches),
                "search_s_range": f"{min(searches):.0f}-{max(searches):.0f}",
                "final_s": statistics.median(r["final_s"] for r in mine),
                "trials": statistics.median(r["trials"] for r in mine),
                "epochs": statistics.median(r["epochs"] for r in mine),
                "test_accuracy": statistics.mean(accuracies),
                "test_accuracy_std": statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0,
                "search_speedup": statistics.median(ratios) if ratios else float("nan"),
                "speedup_range": f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "",
            }
        )
    return pd.DataFrame(rows)


def search_case(
    repeats: int, out: Path, *, seed: int, data_dir: str | None, quick: bool
) -> tuple[pd.DataFrame | None, list[dict[str, Any]], dict[str, str]]:
    """The whole case as the benchmark runs it: ``repeats`` rounds of every side, printed,
    the table saved as ``out/search.csv``/``.md``. Returns the table (None with no round),
    every process's measurement and why each side that failed was skipped."""
    from keras_fcn.reporting.tables import save_table

    if not repeats:
        return None, [], {}
    print("\nThe search case: KerasTuner's introductory search, plain and by experiments.tune")

    def run(side: str) -> tuple[dict[str, Any] | None, str]:
        return run_side(side, seed=seed, data_dir=data_dir, quick=quick)

    found, skipped = measure_search_case(run, repeats, log=lambda line: print(line, flush=True))
    table = search_table(found) if found else pd.DataFrame()
    if len(table):
        print("\n" + table.to_markdown(index=False))
        save_table(table, out / "search", index=False)
    return table, found, skipped


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m experiments.bench.search_case SIDE JSON --folder F [--seed N]
    [--data-dir D] [--quick]``: one side in this process, written as JSON (how
    :func:`run_side` runs each)."""
    import argparse

    parser = argparse.ArgumentParser(prog="experiments.bench.search_case")
    parser.add_argument("side", choices=SIDES)
    parser.add_argument("json")
    parser.add_argument("--folder", required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--data-dir")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    where = {"seed": args.seed, "data_dir": args.data_dir, "quick": args.quick}
    if SIDES[args.side] is None:
        found = plain_search(Path(args.folder), **where)
    else:
        found = keras_fcn_search(Path(args.folder), **where, extra=SIDES[args.side])
    Path(args.json).write_text(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
