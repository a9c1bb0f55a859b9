"""The published studies' claims against our runs, as a Markdown table for the report.

Input: the frame of :func:`keras_fcn.replication.claims.judge`. Effects and their 95 %
confidence bounds are in percentage points of test accuracy, with 2 decimals; p-values have 2
significant digits.
"""

from __future__ import annotations

import math

import pandas as pd

COLUMNS = ("study", "section", "claim", "comparison", "effect (points)", "95 % CI", "p", "n")

LEGEND = (
    "Each claim a study draws from its own tables is tested on our runs' test accuracy, as the "
    "studies reported it. The effect is the difference named in the comparison, in percentage "
    "points, with its 95 % confidence interval (t distribution) over the seeds both rows ran "
    "(runs of the grid for a factor claim; for a spread claim, the claimed factor's spread "
    "minus the largest other, a factor set per layer read as one factor per layer, its "
    "interval and p from 2,000 bootstrap resamples of the runs). "
    "**supported**: our runs agree, significantly "
    "(p < 0.05) for a claimed difference, or without a significant difference against a claim "
    "of no gain or of similarity; **reversed**: our runs significantly show the opposite (for "
    "a spread claim: another factor moves test accuracy more); **not resolved**: the difference "
    "is within seed noise; **too few seeds**: fewer than two paired seeds; **too few runs**: "
    "fewer than two grid runs at some value of a factor; **not run**: rows "
    "the claim needs have no runs yet; **untestable**: the study's own protocol cannot test it "
    "(the comparison says why)."
)


def points(value: float) -> str:
    """A difference in percentage points, signed, with 2 decimals; blank when missing."""
    return "" if _missing(value) else f"{value:+.2f}"


def p_value(value: float) -> str:
    """A p-value with 2 significant digits; blank when missing."""
    if _missing(value):
        return ""
    return "< 1e-16" if value < 1e-16 else f"{value:.2g}"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _interval(low: float, high: float) -> str:
    return "" if _missing(low) or _missing(high) else f"[{low:+.2f}, {high:+.2f}]"


def claims_frame(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The judged claims as displayed: one row per claim, numbers as text."""
    rows = []
    for line in verdicts.itertuples(index=False):
        rows.append(
            {
                "study": line.study,
                "section": line.section,
                "claim": line.claim,
                "comparison": str(line.comparison).replace("|", "\\|"),
                "effect (points)": points(line.effect),
                "95 % CI": _interval(line.ci_low, line.ci_high),
                "p": p_value(line.p),
                "n": "" if _missing(line.n) else str(int(line.n)),
                "verdict": f"**{line.verdict}**",
            }
        )
    return pd.DataFrame(rows, columns=[*COLUMNS, "verdict"])


def claims_markdown(verdicts: pd.DataFrame, legend: bool = True) -> str:
    """A Markdown table of the judged claims, followed by the legend of the verdicts."""
    table = claims_frame(verdicts).to_markdown(index=False, disable_numparse=True)
    return f"{table}\n\n{LEGEND}\n" if legend else f"{table}\n"
