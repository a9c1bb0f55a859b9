"""Where a re-run study differs from the published numbers, and why, as far as tested.

Every published row whose verdict is *ours lower* or *ours higher* gets a line: the gap, and
what the checks run on that row say of its cause. The checks are the study's variants (the
row trained again with an unsaid setting read another way: :mod:`keras_fcn.replication.variants`)
and the plain PyTorch loop (:mod:`keras_fcn.replication.crosscheck`). A variant that lands
within the published spread *closes* the gap: the unsaid setting is the likely cause. A
PyTorch loop that lands with ours puts the gap in the study; one that lands with the paper
puts it in the port. A row no check reaches, or that none explains, is *not isolated*.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from keras_fcn.replication.comparison import verdict
from keras_fcn.study import aggregate

DIFFERENT = ("ours lower", "ours higher")


def differences(
    comparison: pd.DataFrame,
    variants: Sequence[Any] = (),
    crosscheck: pd.DataFrame | None = None,
    same_run: Mapping[tuple[str, str], str] | None = None,
) -> pd.DataFrame:
    """One line per published row and metric outside the spread, with its tested cause.

    Args:
        comparison: the study's side by side (:class:`~keras_fcn.replication.TableResult`
            ``comparison`` frames, concatenated), at the study's own settings.
        variants: its :class:`~keras_fcn.replication.variants.VariantRow` list.
        crosscheck: its :func:`~keras_fcn.replication.crosscheck.crosscheck_table`, if any.
        same_run: ``(table, row)`` -> the run id it trains, so that a check of one row
            serves every row of another table that trains the same run (a study's baseline
            repeated in its later tables).
    """
    run_of = dict(same_run or {})

    def key(table: str, row: str) -> Any:
        return run_of.get((table, row), (table, row))

    lines = []
    for _, line in comparison[comparison["verdict"].isin(DIFFERENT)].iterrows():
        here = key(line["table"], line["row"])
        causes = _variant_causes(line, variants, here, key)
        causes += _crosscheck_causes(line, crosscheck, here, key)
        if not causes:
            causes = ["not isolated: no check was run on this row"]
        elif not any(cause.startswith(("closed", "the study's", "the port's")) for cause in causes):
            causes.append("not isolated: no check closes the gap")
        lines.append(
            {
                "row": f"{line['table']} {line['row']}",
                "metric": str(line["metric"]).replace("_accuracy", ""),
                "gap (points)": f"{100 * line['difference']:+.2f}",
                "what was tested, and what it says": "; ".join(causes),
            }
        )
    return pd.DataFrame(lines)


def _variant_causes(line: pd.Series, variants: Sequence[Any], here: Any, key: Any) -> list[str]:
    causes = []
    for item in variants:
        if key(item.table, item.row) != here or not item.records:
            continue
        if item.variant.versus:  # compared with another variant, not with the paper
            continue
        agg = aggregate(item.records, by=[]).iloc[0]
        prefix = "test" if str(line["metric"]).startswith("test") else "val"
        mean, std = agg[f"{prefix}_mean"], agg[f"{prefix}_std"]
        within = verdict(
            line["published"], mean, std, int(agg["n"]), 0, line.get("published_std", float("nan"))
        )
        where = f"{item.variant.name} gives {100 * mean:.2f}"
        if within == "within seed spread":
            causes.append(f"closed by {where}, within the published spread")
        else:
            causes.append(f"{where}: does not close it")
    return causes


def _crosscheck_causes(
    line: pd.Series, crosscheck: pd.DataFrame | None, here: Any, key: Any
) -> list[str]:
    if crosscheck is None or crosscheck.empty:
        return []
    same = [key(t, r) == here for t, r in zip(crosscheck["table"], crosscheck["row"], strict=True)]
    match = crosscheck[
        pd.Series(same, index=crosscheck.index) & (crosscheck["metric"] == line["metric"])
    ]
    if match.empty or not match.iloc[0]["pytorch_n"]:
        return []
    check = match.iloc[0]
    text = f"a plain PyTorch loop gives {100 * check['pytorch']:.2f}"
    reading = check["reading"]
    if "the paper's difference" in reading:
        return [f"the study's: {text}, with ours"]
    if "the port's" in reading:
        return [f"the port's: {text}; {reading}"]
    return [f"{text}: {reading}"]


def differences_markdown(table: pd.DataFrame) -> str:
    """The table of :func:`differences` with the rule above it, or a sentence when no row
    differs."""
    if table.empty:
        return "Every published row lies within the combined spread of ours and the study's.\n"
    rule = (
        "Each row outside the combined spread, with what the checks run on it say: a variant "
        "that lands within the published spread closes the gap (the unsaid setting it reads "
        "another way is the likely cause); a plain PyTorch loop that lands with ours puts the "
        "gap in the study, one that lands with the paper puts it in our port."
    )
    return f"{rule}\n\n{table.to_markdown(index=False, disable_numparse=True)}\n"
