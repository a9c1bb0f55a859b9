"""The published studies' claims against our runs, as a Markdown table for the report.

Input: the frame of :func:`keras_fcn.replication.claims.judge`. Effects and their confidence
bounds (95 %, or 90 % where marked) are in percentage points, with 2 decimals; p-values have 2
significant digits; a verdict not resolved says about how many seeds would resolve it.
"""

from __future__ import annotations

import math

import pandas as pd

from keras_fcn.replication.claim_stats import MAX_SEEDS

COLUMNS = ("study", "section", "claim", "comparison", "effect (points)", "CI", "p", "n")

LEGEND = (
    "Each claim a study draws from its own tables is tested on our runs' test accuracy, as the "
    "studies reported it (a claim about training and validation curves, on the runs' per-epoch "
    "histories). The effect is the difference named in the comparison, in percentage points, "
    "with its 95 % confidence interval (t distribution) over the seeds both rows ran, paired by "
    "seed (Welch's where the seeds do not pair; runs of the grid for a factor claim; for a "
    "spread claim, the claimed factor's spread minus the largest other, a factor set per layer "
    "read as one factor per layer, its interval and p from 2,000 bootstrap resamples of the "
    "runs). A claimed difference is **supported** when our runs show it at p < 0.05 and "
    "**reversed** when they significantly show the opposite (for a spread claim: another factor "
    "moves test accuracy more). A claim of no gain or of similarity names a margin (the study's "
    "own size where it gives one; otherwise 1 point) and is tested by two one-sided tests "
    "(TOST): **supported** when the 90 % interval (marked 90 %) of every compared row lies "
    "within ±margin (for no gain: below +margin), **reversed** when one lies wholly beyond it "
    "in the direction claimed against; a non-significant difference is no evidence of none. A "
    "stated size (training accuracy 1-2 points above validation) is read to its rounding (0.5 "
    "to 2.5 points) and tested the same way on the mean over seeds. **not resolved**: neither; "
    "beside it, about how many seeds would resolve it if the effect and the spread per seed "
    "stayed as observed (the least n with (t(1-α, n-1) + t(0.8, n-1)) · s / √n ≤ d: α = 0.05, "
    "halved for a two-sided test of a difference; 80 % power; s the standard deviation of one "
    "seed's difference; d the distance of the effect from zero, or from the margin it must "
    "clear); more than 100 seeds means that seeds will not settle it. **too few seeds**: fewer "
    "than two paired seeds; **too few runs**: fewer than two grid runs at some value of a "
    "factor; **not run**: rows the claim needs have no runs yet; **untestable**: the study's "
    "own protocol cannot test it (the comparison says why)."
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


def _interval(low: float, high: float, level: float = 0.95) -> str:
    if _missing(low) or _missing(high):
        return ""
    marked = "" if _missing(level) or round(level, 3) == 0.95 else f" {100 * level:.0f} %"
    return f"[{low:+.2f}, {high:+.2f}]{marked}"


def _verdict(verdict: str, seeds: object) -> str:
    """The verdict in bold; for one not resolved, about how many seeds would resolve it."""
    text = f"**{verdict}**"
    if verdict != "not resolved" or _missing(seeds):
        return text
    if math.isinf(seeds):
        return f"{text} (more than {MAX_SEEDS} seeds)"
    return f"{text} (about {int(seeds)} seeds)"


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
                "CI": _interval(line.ci_low, line.ci_high, getattr(line, "level", 0.95)),
                "p": p_value(line.p),
                "n": "" if _missing(line.n) else str(int(line.n)),
                "verdict": _verdict(line.verdict, getattr(line, "seeds_needed", None)),
            }
        )
    return pd.DataFrame(rows, columns=[*COLUMNS, "verdict"])


def claims_markdown(verdicts: pd.DataFrame, legend: bool = True) -> str:
    """A Markdown table of the judged claims, followed by the legend of the verdicts."""
    table = claims_frame(verdicts).to_markdown(index=False, disable_numparse=True)
    return f"{table}\n\n{LEGEND}\n" if legend else f"{table}\n"
