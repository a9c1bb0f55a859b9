"""Which tuner to use: KerasTuner's Hyperband, random and Bayesian searches of one space at
the same budget of epochs, over several search seeds.

For each seed, Hyperband runs first and its epochs in all become the budget of the others
(:attr:`SearchOptions.epoch_budget`: they start no trial once their finished trials have
trained as many). Each search is an ordinary, resumable search in its own folder, with its
final retraining. What is compared is the best validation accuracy each reaches by the
epochs spent (a trial counts once it has ended), at each quarter of the budget.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from keras_fcn import layout
from keras_fcn.family import Family, RunConfig
from keras_fcn.record import write_json
from keras_fcn.registry import get_family
from keras_fcn.reporting.figures import save_figure
from keras_fcn.reporting.tables import mean_std, save_table
from keras_fcn.space import Space
from keras_fcn.tuning.hypermodel import OBJECTIVE
from keras_fcn.tuning.options import SearchOptions
from keras_fcn.tuning.search import SearchResult, run_search
from keras_fcn.tuning.trials import total_epochs

TUNERS = ("hyperband", "random", "bayesian")
FRACTIONS = (0.25, 0.5, 0.75, 1.0)
MAX_TRIALS = 999  # random and Bayesian stop by the epoch budget long before (ids: 000-998)


@dataclasses.dataclass
class TunerComparison:
    """What :func:`compare_tuners` returns.

    Attributes:
        searches: ``(tuner, seed) -> SearchResult``.
        budgets: ``seed -> epochs`` Hyperband trained in all (the others' budget).
        table: one row per tuner: best validation accuracy at each quarter of the budget
            (mean and standard deviation over the seeds), trials, epochs, hours of trials
            and the final runs' test accuracy.
        curves: one row per finished trial: tuner, seed, epochs spent so far, best so far.
        folder: where the table and the plot are written.
    """

    searches: dict[tuple[str, int], SearchResult]
    budgets: dict[int, int]
    table: pd.DataFrame
    curves: pd.DataFrame
    folder: Path


def budget_curve(trials: pd.DataFrame) -> pd.DataFrame:
    """Epochs spent and best validation accuracy so far after each trial, in trial order
    (a failed trial spends what it trained, when known, and improves nothing)."""
    ordered = trials.sort_values("trial_id", key=lambda ids: ids.astype(int))
    epochs = ordered["epochs_trained"].astype(float).fillna(0).cumsum()
    best = ordered[OBJECTIVE].astype(float).cummax()
    return pd.DataFrame({"epochs": epochs.to_numpy(), "best": best.ffill().to_numpy()})


def best_within(curve: pd.DataFrame, epochs: float) -> float:
    """The best validation accuracy of the trials ended within ``epochs`` (NaN if none)."""
    within = curve[curve["epochs"] <= epochs + 1e-9]["best"].dropna()
    return float(within.iloc[-1]) if len(within) else float("nan")


def compare_tuners(
    family: Family | str,
    space: Space | None = None,
    *,
    base: RunConfig | None = None,
    options: SearchOptions | None = None,
    seeds: int = 3,
    tuners: Sequence[str] = TUNERS,
    command: str = "",
) -> TunerComparison:
    """Run each of ``tuners`` on ``space`` with ``seeds`` search seeds (``options.seed``,
    ``+1``, ...) at Hyperband's budget of epochs, and compare them. ``epochs`` is left out
    of ``space`` (the family's own if ``None``): every trial trains up to ``max_epochs``.

    ``options`` are those of every search (``max_epochs``, ``factor``, ``final_seeds``,
    ``out``, ...); ``trials`` is replaced by the budget, and Bayesian search's random start
    by :func:`initial_points`. Resumable: searches already done
    are read back. Writes the table, the plot and ``comparison.json`` (``command``, the
    budgets and the searches' folders) into the comparison's folder.
    """
    family = get_family(family)
    options = options or SearchOptions()
    # every tuner's trials train at most max_epochs, as Hyperband's do: a searched ``epochs``
    # would let one random or Bayesian trial spend most of the budget alone
    space = (family.space if space is None else space).without("epochs")
    searches: dict[tuple[str, int], SearchResult] = {}
    budgets: dict[int, int] = {}
    for seed in range(options.seed, options.seed + seeds):
        hyperband = run_search(
            family, space, base=base, options=options, tuner="hyperband", seed=seed
        )
        searches["hyperband", seed] = hyperband
        budgets[seed] = total_epochs(hyperband.trials, executions=1)  # as the budget counts
        for tuner in (t for t in tuners if t != "hyperband"):
            searches[tuner, seed] = run_search(
                family,
                space,
                base=base,
                options=options,
                tuner=tuner,
                seed=seed,
                trials=MAX_TRIALS,
                epoch_budget=budgets[seed],
                initial_points=initial_points(options, budgets[seed]) if tuner == "bayesian" else 0,
            )
    curves = _curves(searches)
    first = searches["hyperband", options.seed].folder.name
    folder = Path(options.out) / f"tuners-{first}"  # named after the first seed's Hyperband
    table = comparison_table(curves, budgets, searches)
    save_table(table, folder / "comparison", index=False)
    save_figure(plot_comparison(curves, budgets), folder / "comparison.png")
    members: dict[str, list[str]] = {}
    for (tuner, _), result in searches.items():
        members.setdefault(tuner, []).append(result.folder.name)
    record = {"command": command, "budgets": budgets, "searches": members}
    write_json(folder / layout.TUNER_COMPARISON, record)
    return TunerComparison(searches, budgets, table, curves, folder)


def initial_points(options: SearchOptions, budget: int) -> int:
    """Bayesian search's random start in a comparison: ``options.initial_points`` if set,
    else a third of the trials the budget affords at ``max_epochs`` each (at least 2).
    KerasTuner's default, three per dimension of the space, outlasts small budgets: the
    search would be random search trial for trial."""
    return options.initial_points or max(2, budget // (3 * options.max_epochs))


def _curves(searches: dict[tuple[str, int], SearchResult]) -> pd.DataFrame:
    frames = []
    for (tuner, seed), result in searches.items():
        curve = budget_curve(result.trials)
        frames.append(curve.assign(tuner=tuner, seed=seed))
    return pd.concat(frames, ignore_index=True)


def comparison_table(
    curves: pd.DataFrame,
    budgets: dict[int, int],
    searches: dict[tuple[str, int], SearchResult],
) -> pd.DataFrame:
    """One row per tuner: best validation accuracy by each quarter of the budget (mean ±
    std over seeds, in %), trials, epochs and hours spent, final test accuracy."""
    rows = []
    for tuner, by_tuner in curves.groupby("tuner", sort=False):
        row: dict[str, Any] = {"tuner": tuner}
        for fraction in FRACTIONS:
            values = [
                best_within(curve, fraction * budgets[seed])
                for seed, curve in by_tuner.groupby("seed")
            ]
            row[f"best val % at {fraction:.0%} of the budget"] = mean_std(values, unit="")
        results = [r for (t, _), r in searches.items() if t == tuner]
        row["trials"] = mean_std([len(r.trials) for r in results], scale=1, digits=0, unit="")
        spent = [by_tuner[by_tuner["seed"] == s]["epochs"].max() for s in budgets]
        row["epochs"] = mean_std(spent, scale=1, digits=0, unit="")
        hours = [r.trials["wall_time_s"].astype(float).sum() / 3600 for r in results]
        row["hours of trials"] = mean_std(hours, scale=1, unit="")
        tests = [x.test_accuracy for r in results for x in r.final_records if x.test_accuracy]
        row["final test %"] = mean_std(tests, unit="")
        rows.append(row)
    return pd.DataFrame(rows)


def plot_comparison(curves: pd.DataFrame, budgets: dict[int, int]) -> Figure:
    """Best validation accuracy by epochs spent: one line per search, a colour per tuner,
    Hyperband's budget of each seed marked."""
    figure = Figure(figsize=(7, 4.5))
    axes = figure.subplots()
    colours = dict(zip(TUNERS, ("tab:blue", "tab:orange", "tab:green"), strict=True))
    for (tuner, seed), curve in curves.groupby(["tuner", "seed"], sort=False):
        first = seed == min(budgets)
        axes.step(
            curve["epochs"],
            curve["best"] * 100,
            where="post",
            color=colours.get(tuner),
            alpha=0.8,
            label=tuner if first else None,
        )
    for budget in budgets.values():
        axes.axvline(budget, color="grey", linewidth=0.6, linestyle=":")
    axes.set_xlabel("epochs trained by the search (a trial counts once ended)")
    axes.set_ylabel("best validation accuracy so far, %")
    axes.set_title("KerasTuner's tuners at one budget of epochs (dotted: Hyperband's)")
    axes.legend()
    low = np.nanpercentile(curves["best"] * 100, 5) if curves["best"].notna().any() else 0
    axes.set_ylim(bottom=low)
    return figure
