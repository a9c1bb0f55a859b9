"""``docs/searches.md``: every finished search, with the evidence behind its row of the
results table: its command and compute, the best setting's final runs, its best trials and
the two figures the archive keeps (:data:`experiments.reporting.archive.SEARCH_EVIDENCE`)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from experiments.reporting.glance import Defaults, search_command
from keras_fcn import layout
from keras_fcn.commands import Command
from keras_fcn.identity import Status
from keras_fcn.reporting.records import final_records
from keras_fcn.reporting.tables import mean_std, unpadded_markdown
from keras_fcn.tuning.summary import rivals_line

SEARCHES_PAGE = "searches.md"
TOP = 10  # trials shown per search
OBJECTIVE = "val_accuracy"
BOOKKEEPING = ("status", "executions", "message", "val_accuracy_std", "val_loss")


def searches_page(results: str | os.PathLike, defaults: Defaults) -> str:
    """The page, from the finished searches under ``results``; figures are linked from the
    archive (``docs/records/tune/NAME/``, relative to ``docs/``) where it holds them.
    ``defaults``: family name -> its default ``RunConfig.to_dict()``, which each search's
    command is written against (:func:`~experiments.reporting.glance.search_command`)."""
    lines = [
        "# Searches",
        "",
        "Written by `python -m experiments.report --docs` from the committed searches",
        f"(`{layout.ARCHIVE / 'tune'}`: each one's `summary.json`, table of trials and figures,",
        "and its final runs) and those under `results/tune`. Each search chose its best setting",
        "on validation; that setting was then retrained over 3 seeds and tested once each.",
        "How to run one: [tuning.md](tuning.md).",
    ]
    searches = [s for s in layout.searches(results, compared=False) if not layout.is_quick(s)]
    comparisons = layout.comparisons(results)
    if not searches and not comparisons:
        return "\n".join([*lines, "", "No search finished yet: `python -m experiments.tune`.", ""])
    for search in searches:
        lines += ["", *search_section(search, defaults)]
    for comparison in comparisons:
        lines += ["", *comparison_section(comparison)]
    return "\n".join(lines) + "\n"


def comparison_section(folder: Path) -> list[str]:
    """A tuner comparison: its command, its table and plot, and the searches it ran."""
    record = json.loads((folder / layout.TUNER_COMPARISON).read_text())
    budgets = ", ".join(f"{epochs} (seed {seed})" for seed, epochs in record["budgets"].items())
    table = pd.read_csv(folder / "comparison.csv", dtype=str, keep_default_na=False)
    lines = [
        "## Which tuner: Hyperband, random and Bayesian at one budget",
        "",
        f"`{Command.parse(record['command']).portable().render()}`" if record["command"] else "",
        "",
        "Each seed's Hyperband search sets the budget of epochs (a trial counts once it has",
        f"ended) that random and Bayesian search may spend with the same seed: {budgets}.",
        "Best validation accuracy (%) each reached by each quarter of its budget, mean ± std",
        "over the seeds, then what the whole search cost and its best setting's final test:",
        "",
        unpadded_markdown(table),
    ]
    plot = layout.ARCHIVE / "tune" / folder.name / "comparison.png"
    if plot.exists():
        lines += ["", f"![tuners]({plot.relative_to(layout.ARCHIVE.parent)})"]
    names = ", ".join(f"`{name}`" for name in layout.comparison_members(folder))
    return [*lines, "", f"Its searches (each in `{layout.ARCHIVE / 'tune'}`): {names}."]


def search_section(search: Path, defaults: Defaults) -> list[str]:
    """One search: heading, command, compute, final result, best trials and figures."""
    summary = json.loads((search / layout.SEARCH_SUMMARY).read_text())
    records = final_records(search, summary)
    finals = [r for r in records if r.status == Status.OK]
    machine = f" on {summary['machine']}" if "machine" in summary else ""
    lines = [
        f"## {summary['family']} on {summary['dataset']}: {summary['tuner']}, "
        f"{summary['trials']} trials",
        "",
        f"`{search_command(summary, records, defaults).render()}`",
        "",
        f"- Compute: {summary['trials']} trials ({summary['failed']} failed), "
        f"{summary['total_epochs']} epochs, {summary['trial_hours']:.2f} h of trials{machine}.",
        f"- Best on validation: {summary['best']}.",
        f"- Test accuracy of that setting over {len(finals)} final seeds: "
        f"**{mean_std([r.test_accuracy for r in finals]) or 'not run'}** "
        f"(validation {mean_std([r.best_val_accuracy for r in finals]) or '-'}).",
    ]
    if (search / layout.TRIALS).exists():
        table = pd.read_csv(search / layout.TRIALS, dtype={"trial_id": str})
        if rivals := rivals_line(table, [r.best_val_accuracy for r in finals]):
            lines.append(f"- How sure the choice is: {rivals}.")
        lines += ["", f"The {TOP} best trials:", "", best_trials(table)]
    archived = layout.ARCHIVE / "tune" / search.name
    for name, what in ((layout.ALONG_EACH, "along each"), (layout.BEST_CURVES, "best trials")):
        if (archived / name).exists():  # linked from docs/, where the page is published
            lines += ["", f"![{what}]({(archived / name).relative_to(layout.ARCHIVE.parent)})"]
    return lines


def best_trials(table: pd.DataFrame, top: int = TOP) -> str:
    """The ``top`` completed trials by validation accuracy, as Markdown: their searched
    values, epochs and seconds (KerasTuner's and the table's bookkeeping left out)."""
    done = table[table["status"] == "COMPLETED"].sort_values(OBJECTIVE, ascending=False)
    columns = [
        c
        for c in done.columns
        if c not in BOOKKEEPING and not c.startswith("tuner/") and not c.startswith(OBJECTIVE)
    ]
    shown = done.head(top)[[*columns, OBJECTIVE]].copy()
    shown[OBJECTIVE] = shown[OBJECTIVE].map(lambda v: f"{v:.4f}")
    for column in shown.columns:
        if shown[column].dtype == float:
            shown[column] = shown[column].map(_number)
    return unpadded_markdown(shown)


def _number(value: float) -> str:
    """A table's float as people read it: three significant digits, whole from 100 on."""
    if pd.isna(value):
        return ""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
