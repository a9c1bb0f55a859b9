"""The README's results: at most ten rows at a glance, and each re-run study's key rows.

The block is written between two markers of ``README.md`` by ``python -m experiments.report
--docs``; a test checks that the committed README holds what the committed records give.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from experiments import _commands as commands
from experiments.reporting import glance
from experiments.reporting.studies import study_seeds
from keras_fcn import layout
from keras_fcn.commands import Command
from keras_fcn.identity import SPEED_FIELDS
from keras_fcn.reporting.tables import plus_minus, unpadded_markdown

BEGIN = "<!-- results: written by `python -m experiments.report --docs`; do not edit -->"
END = "<!-- end of results -->"
SPEED_BEGIN = "<!-- speed: written by `python -m experiments.report --docs`; do not edit -->"
SPEED_END = "<!-- end of speed -->"
BLOCKS = {"results": (BEGIN, END), "speed": (SPEED_BEGIN, SPEED_END)}
"""The README's generated blocks, by name: their opening and closing markers."""

MAX_ROWS = 10
"""The most rows the README's table at a glance shows; ``docs/results.md`` shows them all."""

STUDY_PAGES = "studies"
"""The folder of ``docs/`` holding one side-by-side page per re-run study."""

_FINAL_TABLES = ("final", "mnist_final")


COMPUTE_SETTINGS = (*SPEED_FIELDS, "precision", "loop")
"""Settings that change how a run computes, not what it trains: the README shows, of the
runs of one config that differ only in these, the one closest to the defaults (the others
are compared on ``docs/speed.md`` and listed on ``docs/results.md``)."""


def glance_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the table at a glance the README shows: each family's defaults on each
    dataset (of the single-run configs that set nothing but :data:`COMPUTE_SETTINGS`, the one
    that sets the fewest; configs set by hand are on ``docs/results.md``), the best search of
    each family on each dataset (without the values it chose: they are on
    ``docs/results.md`` and ``docs/searches.md``), and the best classical baseline of each
    dataset, at most :data:`MAX_ROWS`."""
    accuracy = table["value"].str.extract(r"^([\d.]+)")[0].astype(float)
    family = table["result"].str.split(" (", regex=False).str[0]  # "tuned dense"
    kept = pd.Series(True, index=table.index)
    single = pd.Series(True, index=table.index)  # not a search nor a baseline
    lines = table["command"].map(lambda command: Command.parse(command.strip("`")))
    modules = lines.map(lambda line: line.module)
    for module, group in (
        (commands.BASELINES, table["dataset"]),
        (commands.TUNE, table["dataset"] + " " + family),
    ):
        rows = modules == module
        best = accuracy[rows].groupby(group[rows]).idxmax()
        kept &= ~rows | table.index.isin(best.values)
        single &= ~rows
    flags = lines.map(lambda line: list(line.settings.items()))
    compute = flags.map(lambda pairs: sum(key in COMPUTE_SETTINGS for key, _ in pairs))
    config = modules + " " + table["dataset"]
    config += flags.map(lambda pairs: str(sorted(p for p in pairs if p[0] not in COMPUTE_SETTINGS)))
    defaults = compute == flags.map(len)  # every flag a compute setting
    closest = compute[single & defaults].groupby(config[single & defaults]).idxmin()
    kept &= ~single | table.index.isin(closest.values)
    shown = table[kept].head(MAX_ROWS).copy()
    shown["result"] = shown["result"].str.replace(glance.CHOSEN, r"\1", regex=True)
    return shown


def key_rows(comparison: pd.DataFrame) -> pd.DataFrame:
    """A study's key rows: where it started (the first row of its first table) and what it
    ended with (its ``final`` and ``mnist_final`` tables, or its last table when it has
    neither), on the metric each row publishes."""
    tables = list(dict.fromkeys(comparison["table"]))
    finals = [t for t in tables if t in _FINAL_TABLES] or tables[-1:]
    first = comparison[comparison["table"] == tables[0]]
    start = first[first["row"] == first["row"].iloc[0]]
    chosen = pd.concat([start, comparison[comparison["table"].isin(finals)]])
    return chosen.drop_duplicates(subset=["table", "row", "metric"])


def study_table(comparison: pd.DataFrame) -> str:
    """A study's key rows as Markdown: published, ours (mean ± std over seeds), verdict.

    Test accuracy unless the row says otherwise; the seeds are the study command's.
    """
    rows = [
        {
            "row": f"{line['table']} {line['row']}" + _metric(line["metric"]),
            "dataset": line["dataset"],
            "published %": plus_minus(line["published"], line["published_std"]),
            "ours %": plus_minus(line["ours"], line["ours_std"]),
            "verdict": line["verdict"],
        }
        for _, line in key_rows(comparison).iterrows()
    ]
    return unpadded_markdown(
        pd.DataFrame(rows, columns=["row", "dataset", "published %", "ours %", "verdict"])
    )


def _metric(metric: str) -> str:
    """`` (validation)`` for a row published on validation accuracy; nothing for test."""
    name = str(metric).replace("_accuracy", "")
    return "" if name == "test" else f" ({'validation' if name == 'val' else name})"


_ROW_VERDICTS = ("within seed spread", "ours lower", "ours higher", "diverged", "not run")
_CLAIM_VERDICTS = (
    "supported",
    "not resolved",
    "reversed",
    "too few seeds",
    "too few runs",
    "not run",
    "untestable",
)


def _counted(verdicts: pd.Series, order: tuple[str, ...]) -> str:
    counts = verdicts.value_counts()
    return ", ".join(f"{counts[v]} {v}" for v in order if v in counts)


def tally(folder: Path) -> str:
    """A re-run study's verdicts counted: its published rows against ours, and its claims
    (``Published rows: 10 within seed spread, 2 ours lower. Claims: 3 supported.``)."""
    rows = pd.read_csv(folder / layout.COMPARISON)["verdict"]
    text = f"Published rows: {_counted(rows, _ROW_VERDICTS)}."
    if (folder / layout.CLAIM_VERDICTS).exists():
        claims = pd.read_csv(folder / layout.CLAIM_VERDICTS)["verdict"]
        text += f" Claims: {_counted(claims, _CLAIM_VERDICTS)}."
    return text


def block(
    root: str | os.PathLike,
    defaults: Mapping[str, dict[str, Any]],
    readings: Mapping[str, str] | None = None,
) -> str:
    """The README's results block (without its markers), from the records under ``root``;
    ``readings``: study name -> what reproduces and why (its protocol's ``reading``)."""
    table = glance.glance_table(root, defaults)
    lines = [
        glance.to_markdown(glance_rows(table)) if len(table) else glance.NO_RESULTS,
        "",
        "### The published studies",
        "",
        "Each study's starting point and final configuration, published against ours (test "
        "accuracy, mean ± std over the seeds of the command under each), the verdicts of all its "
        "rows and claims counted; every row and claim is on the study's page.",
    ]
    for folder in layout.studies(root):
        comparison = pd.read_csv(folder / layout.COMPARISON)
        seeds = len(study_seeds(folder))
        lines += [
            "",
            f"**[{folder.name}](docs/{STUDY_PAGES}/{folder.name}.md)**: "
            f"`{commands.study(folder.name, seeds)}`",
            "",
            study_table(comparison),
            "",
            " ".join([tally(folder), (readings or {}).get(folder.name, "")]).strip(),
        ]
    return "\n".join(lines)


def replace_block(text: str, new_block: str, name: str = "results") -> str:
    """``text`` with what lies between the markers of block ``name`` replaced by ``new_block``.

    Raises:
        ValueError: the markers are not both there, in order.
    """
    begin, end = BLOCKS[name]
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"the README has no {name} block: it needs the lines {begin} and {end}")
    return pattern.sub(lambda _: f"{begin}\n{new_block}\n{end}", text, count=1)


def update_readme(path: str | os.PathLike, new_block: str, name: str = "results") -> bool:
    """Rewrite the README's block ``name``; returns whether the file changed."""
    path = Path(path)
    text = path.read_text()
    updated = replace_block(text, new_block, name)
    if updated != text:
        path.write_text(updated)
    return updated != text
