"""Numbers as people read them, and tables written as CSV and Markdown."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def save_table(
    frame: pd.DataFrame, path_stem: str | os.PathLike, *, index: bool = True
) -> tuple[Path, Path]:
    """Write a table as ``STEM.csv`` and ``STEM.md``."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv, md = stem.with_suffix(".csv"), stem.with_suffix(".md")
    frame.to_csv(csv, index=index)
    md.write_text(frame.to_markdown(index=index) + "\n")
    return csv, md


def unpadded_markdown(frame: pd.DataFrame) -> str:
    """A Markdown table without the padding that lines its columns up as plain text: one long
    cell (a search's whole command) would otherwise widen every row of its column. Renders
    the same; ``|`` in a cell is escaped."""

    def line(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    rule = "|" + "|".join(":---" for _ in frame.columns) + "|"
    return "\n".join([line(frame.columns), rule, *map(line, frame.itertuples(index=False))])


def plural(count: int, noun: str) -> str:
    """``1 seed``, ``3 seeds``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def percent(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage without the sign; empty for a missing value."""
    return "" if value is None or pd.isna(value) else f"{100 * value:.{digits}f}"


def plus_minus(mean: float, std: float) -> str:
    """``mean ± std`` as percentages; the mean alone when there is no spread."""
    if pd.isna(mean):
        return ""
    return f"{100 * mean:.2f}" + ("" if pd.isna(std) else f" ± {100 * std:.2f}")


def mean_std(
    values: Sequence[float | None], *, scale: float = 100, digits: int = 2, unit: str = " %"
) -> str:
    """Values over seeds as ``mean ± std`` (the sample std) times ``scale``, or one value
    alone, then ``unit``: accuracies as percentages by default; empty without a value."""
    kept = [scale * v for v in values if v is not None and not pd.isna(v)]
    if not kept:
        return ""
    if len(kept) == 1:
        return f"{kept[0]:.{digits}f}{unit}"
    return f"{np.mean(kept):.{digits}f} ± {np.std(kept, ddof=1):.{digits}f}{unit}"


def format_side_by_side(comparison: pd.DataFrame) -> pd.DataFrame:
    """A study comparison as people read it: percentages, ours as mean ± std over seeds (and
    our validation accuracy beside the rows of a table that shows it, ``TableSpec.show_val``)."""
    rows = []
    for _, line in comparison.iterrows():
        published = percent(line["published"])
        if not pd.isna(line.get("published_std")):
            published += f" ± {percent(line['published_std'])}"
        ours = percent(line["ours"])
        if ours and not pd.isna(line["ours_std"]):
            ours += f" ± {percent(line['ours_std'])}"
        seeds = f"{line['n']}" + (
            f" (+{line['diverged']} diverged)" if line.get("diverged") else ""
        )
        beside = {}
        if "ours_val" in comparison:  # a table showing our validation beside its test
            beside["ours val %"] = plus_minus(line["ours_val"], line["ours_val_std"])
        rows.append(
            {
                "table": line["table"],
                "row": line["row"],
                "setting": line["setting"],
                "metric": str(line["metric"]).replace("_accuracy", ""),
                "published %": published,
                "ours %": ours,
                **beside,
                "seeds": seeds,
                "diff": "" if pd.isna(line["difference"]) else f"{100 * line['difference']:+.2f}",
                "verdict": line["verdict"],
            }
        )
    return pd.DataFrame(rows)
