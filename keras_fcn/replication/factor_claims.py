"""Claims about a study's grid: which factor moves test accuracy most (``factor_spread``),
whether one value of a factor is better or worse than the others (``factor_level``), and
whether a factor's choice matters at all (``factor_matters``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from keras_fcn.record import RunRecord
from keras_fcn.replication.claim_stats import ALPHA, VERDICTS, counted, t_test, welch
from keras_fcn.settings import dashed


def _sign(result: Mapping[str, object]) -> int:
    """+1 / -1 when the difference is significant, 0 otherwise."""
    return 0 if result.get("p", 1.0) >= ALPHA else (1 if result["effect"] > 0 else -1)


def factor_value(record: RunRecord, factor: str) -> object:
    """The value of a config field of a record, wherever in its config it sits."""
    return dashed(_raw_value(record, factor))


def _raw_value(record: RunRecord, factor: str) -> object:
    for part in ("model", "train", "data"):
        if factor in record.config.get(part, {}):
            return record.config[part][factor]
    return None


def per_layer(records: Sequence[RunRecord], factors: Sequence[str]) -> dict[str, list[str]]:
    """Each factor's value per run, as text, under the name the analysis reads it by.

    A factor set per layer (dropout ``0.5-0.3``: 16 pairs of 4 rates) is read as one factor
    per layer (``dropout 1``, ``dropout 2``), as a study that varies rates "per layer" means
    it. Read as 16 values, its max - min of means would be inflated by the noise of the few
    runs at each pair, and the factor would win a spread ranking for having many values. A
    layer whose value never changes (``hidden 1`` in ``1024-256`` / ``1024-512``) varies
    nothing and drops out of the ranking like any constant factor.
    """
    columns: dict[str, list[str]] = {}
    for factor in factors:
        values = [_raw_value(r, factor) for r in records]
        widths = {len(v) for v in values if isinstance(v, list | tuple)}
        if len(widths) == 1 and all(isinstance(v, list | tuple) for v in values):
            for layer in range(widths.pop()):
                columns[f"{factor} {layer + 1}"] = [str(v[layer]) for v in values]
        else:
            columns[factor] = [str(dashed(v)) for v in values]
    return columns


def _parts(factor: str, columns: Sequence[str]) -> list[str]:
    """The columns a grid factor is read as: itself, or one per layer."""
    return [c for c in columns if c == factor or c.rsplit(" ", 1)[0] == factor]


def spreads(records: Sequence[RunRecord], factors: Sequence[str]) -> dict[str, float]:
    """Factor (per layer, :func:`per_layer`) -> spread (max - min, in points) of the mean
    test accuracy over its values; largest first, factors that do not vary left out."""
    codes, _, accuracy = _coded(records, factors)
    return _ranked(codes, accuracy)


def _ranked(codes: Mapping[str, np.ndarray], accuracy: np.ndarray) -> dict[str, float]:
    out = {f: _spread(c, accuracy) for f, c in codes.items() if len(np.unique(c)) > 1}
    return dict(sorted(out.items(), key=lambda kv: kv[1], reverse=True))


def _coded(
    records: Sequence[RunRecord], factors: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Each factor's value per run (per layer, :func:`per_layer`) as integer codes, the
    values the codes stand for, and the runs' test accuracy in points."""
    coded = {
        f: pd.factorize(pd.Series(v, dtype=object)) for f, v in per_layer(records, factors).items()
    }
    accuracy = 100 * np.array([r.test_accuracy for r in records], dtype=float)
    return {f: c for f, (c, _) in coded.items()}, {f: v for f, (_, v) in coded.items()}, accuracy


def _means(codes: np.ndarray, accuracy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mean accuracy and the number of runs at each code (0 runs: a mean of NaN)."""
    counts = np.bincount(codes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(codes, weights=accuracy) / counts, counts


def _spread(codes: np.ndarray, accuracy: np.ndarray) -> float:
    """Max - min of the mean accuracy over the values present in ``codes``."""
    means, _ = _means(codes, accuracy)
    return float(np.nanmax(means) - np.nanmin(means))


def factor_table(records: Sequence[RunRecord], factors: Sequence[str]) -> pd.DataFrame:
    """The grid's runs factor by factor, as the spread claims read them: for each factor
    that varies, its spread and the mean test accuracy at each value (runs at it), best
    first; factors by spread, largest first."""
    records = counted(records)
    codes, values, accuracy = _coded(records, factors)
    rows = []
    for factor, spread in spreads(records, factors).items():
        means, counts = _means(codes[factor], accuracy)
        order = np.argsort(-means, kind="stable")
        by_value = ", ".join(f"{values[factor][i]} {means[i]:.2f} ({counts[i]})" for i in order)
        rows.append(
            {"factor": factor, "spread (points)": f"{spread:.2f}", "mean % (runs)": by_value}
        )
    return pd.DataFrame(rows, columns=["factor", "spread (points)", "mean % (runs)"])


SPREAD_RESAMPLES = 2000
"""Bootstrap resamples of the grid's runs behind a spread claim's interval (seeded: the
report is the same at every build)."""


def judge_spread(
    claim: Any, records: Sequence[RunRecord], factors: Sequence[str]
) -> dict[str, object]:
    """``factor_spread``: does the claimed factor move test accuracy more than any other?

    The effect is the claimed factor's spread minus the largest spread of the others. Its
    95 % interval and two-sided p come from resampling the runs with replacement
    (:data:`SPREAD_RESAMPLES` times): a ranking of spreads has no t distribution, and on a
    sample of a grid each factor's value means carry the noise of the other factors. It
    needs two runs at every value of every factor; fewer is "too few runs".
    """
    records = counted(records)
    codes, _, accuracy = _coded(records, factors)
    ranked = _ranked(codes, accuracy)
    text = f"spread of {claim.subject} over the grid"
    mine = _parts(claim.subject, list(ranked))
    if not mine or len(ranked) == len(mine):
        return {"comparison": text, "n": len(records), "verdict": _too_few(records)}
    codes = {f: codes[f] for f in ranked}
    if min(np.bincount(c).min() for c in codes.values()) < 2:
        return {"comparison": text, "n": len(records), "verdict": "too few runs"}

    def margin(rows: np.ndarray) -> float:
        spread = {f: _spread(codes[f][rows], accuracy[rows]) for f in ranked}
        return max(spread.pop(f) for f in mine) - max(spread.values())

    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(records), size=(SPREAD_RESAMPLES, len(records)))
    boot = np.array([margin(rows) for rows in draws])
    low, high = np.percentile(boot, [2.5, 97.5])
    p = min(1.0, 2 * min(float(np.mean(boot <= 0)), float(np.mean(boot >= 0))))
    ranking = ", ".join(f"{f} {s:.2f}" for f, s in ranked.items())
    result = {"effect": margin(np.arange(len(records))), "ci_low": low, "ci_high": high, "p": p}
    return {
        "comparison": f"spread of the mean over each factor's values, in points: {ranking}; "
        f"effect: {claim.subject} − the largest other",
        **{k: float(v) for k, v in result.items()},
        "n": len(records),
        "verdict": VERDICTS[_sign(result)],
    }


def judge_matters(
    claim: Any, records: Sequence[RunRecord], factors: Sequence[str]
) -> dict[str, object]:
    """``factor_matters``: do the runs at the ``subject`` factor's values differ in test
    accuracy? A Kruskal-Wallis test over the values (a grid's accuracies are far from
    normal: a bad setting collapses to chance); the effect is the factor's spread, its 95 %
    interval from resampling the runs (:data:`SPREAD_RESAMPLES` times). It needs two runs at
    every value of the factor.
    """
    records = counted(records)
    codes, _, accuracy = _coded(records, factors)
    text = f"{claim.subject}: do its values differ"
    parts = _parts(claim.subject, list(codes))
    if len(parts) != 1 or len(np.unique(codes[parts[0]])) < 2:
        return {"comparison": text, "n": len(records), "verdict": _too_few(records)}
    code = codes[parts[0]]
    counts = np.bincount(code)
    if counts.min() < 2:
        return {"comparison": text, "n": len(records), "verdict": "too few runs"}
    p = float(stats.kruskal(*(accuracy[code == c] for c in range(len(counts)))).pvalue)
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(records), size=(SPREAD_RESAMPLES, len(records)))
    boot = np.array([_spread(code[rows], accuracy[rows]) for rows in draws])
    low, high = np.percentile(boot, [2.5, 97.5])
    return {
        "comparison": f"{claim.subject}: Kruskal-Wallis test over its {len(counts)} values "
        f"({', '.join(map(str, counts))} runs); effect: spread of the mean over its values",
        "effect": _spread(code, accuracy),
        "ci_low": float(low),
        "ci_high": float(high),
        "p": p,
        "n": len(records),
        "verdict": VERDICTS[1] if p < ALPHA else VERDICTS[0],
    }


def _too_few(records: Sequence[RunRecord]) -> str:
    return "too few runs" if records else "not run"


def judge_level(claim: Any, records: Sequence[RunRecord]) -> dict[str, object]:
    """``factor_level``: runs at the value against runs at the factor's other values."""
    factor, value = claim.subject.split("=", 1)
    values = [
        (str(factor_value(r, factor)) == value, 100 * r.test_accuracy) for r in counted(records)
    ]
    at = np.array([acc for hit, acc in values if hit])
    rest = np.array([acc for hit, acc in values if not hit])
    worse = claim.direction == "worse"
    text = f"others − {claim.subject}" if worse else f"{claim.subject} − others"
    if len(at) < 2 or len(rest) < 2:
        return {"comparison": text, "n": len(values), "verdict": _too_few(values)}
    a, b = (rest, at) if worse else (at, rest)
    test = t_test(welch(a, b))
    result = {k: test[k] for k in ("effect", "ci_low", "ci_high", "p")} | {"n": len(values)}
    text += f" ({len(at)} vs {len(rest)} runs)"
    return {"comparison": text, **result, "verdict": VERDICTS[test["sign"]]}
