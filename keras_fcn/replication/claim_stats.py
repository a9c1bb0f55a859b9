"""The statistics behind the claims' verdicts: a difference over seeds, its interval, the
two one-sided tests of a claim of no difference, and the seeds that would resolve a claim.

Every figure is in percentage points of accuracy. A *sample* is what one comparison
estimates over the seeds (:func:`difference`, :func:`one_sample`): its effect (a mean), the
standard error of that mean, its degrees of freedom, the seeds behind it and the spread of
one seed's value (``sd``), from which :func:`seeds_needed` says how many seeds an
unresolved comparison would take.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from keras_fcn.identity import Status
from keras_fcn.record import RunRecord

ALPHA = 0.05
"""Level of every test: two-sided for a claimed difference, each one-sided test of a TOST."""
VERDICTS = {1: "supported", -1: "reversed", 0: "not resolved"}
POWER = 0.8
"""The chance of resolving a claim that the seeds estimate plans for."""
MAX_SEEDS = 100
"""Beyond this many seeds the estimate is given as "more than": a seed count of that size
says the difference is too small against the noise for seeds to settle it."""

Sample = Mapping[str, float]


def counted(records: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs that count: not failed, with a test accuracy."""
    return [r for r in records if r.status != Status.FAILED and r.test_accuracy is not None]


def scores(records: Sequence[RunRecord]) -> dict[int, float]:
    """Seed -> test accuracy of the runs that count (the last one per seed)."""
    return {r.seed: r.test_accuracy for r in counted(records)}


def one_sample(values: Sequence[float]) -> dict[str, float]:
    """The mean of ``values`` (points) as a sample: its standard error over ``n - 1`` degrees
    of freedom; ``sd`` is the spread of one value."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    sd = float(np.std(values, ddof=1))
    return {"effect": float(values.mean()), "se": sd / math.sqrt(n), "df": n - 1, "sd": sd, "n": n}


def difference(a: Sequence[RunRecord], b: Sequence[RunRecord]) -> dict[str, object]:
    """``a - b`` in points of test accuracy, as a sample.

    Paired over the seeds both have, where two or more pair; against the value of ``b`` when
    it is the single run of another family (a classical baseline, whose seed means nothing);
    otherwise, with two seeds or more on each side, unpaired (Welch: the standard error and
    degrees of freedom of two independent means). Fewer: ``{"n": ..., "verdict": ...}``.
    """
    sa, sb = scores(a), scores(b)
    if not sa or not sb:
        return {"n": 0, "verdict": "not run"}
    common = sorted(set(sa) & set(sb))
    if len(sb) == 1 and {r.family for r in counted(b)}.isdisjoint(r.family for r in a):
        diffs = [100 * (v - next(iter(sb.values()))) for v in sa.values()]
    elif len(common) >= 2 or min(len(sa), len(sb)) < 2:
        diffs = [100 * (sa[s] - sb[s]) for s in common]
    else:
        return welch(100 * np.array(list(sa.values())), 100 * np.array(list(sb.values())))
    if len(diffs) < 2:
        return {"n": len(diffs), "verdict": "too few seeds"}
    return one_sample(diffs)


def welch(a: Sequence[float], b: Sequence[float]) -> dict[str, float]:
    """``mean(a) - mean(b)`` of two independent samples (points) as a sample: Welch's standard
    error and degrees of freedom. A side that does not vary adds nothing to the error (where
    a library's t-test warns of lost precision on nearly equal values)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se else len(a) - 1
    # one seed's spread of the difference: what n seeds on each side divide
    sd = math.sqrt(np.var(a, ddof=1) + np.var(b, ddof=1))
    n = min(len(a), len(b))
    return {"effect": float(a.mean() - b.mean()), "se": se, "df": df, "sd": sd, "n": n}


def interval(sample: Sample, level: float) -> tuple[float, float]:
    """The two-sided ``level`` confidence interval of the sample's effect (t distribution)."""
    half = stats.t.ppf((1 + level) / 2, sample["df"]) * sample["se"] if sample["se"] else 0.0
    return sample["effect"] - half, sample["effect"] + half


def t_test(sample: Sample) -> dict[str, float]:
    """Effect, 95 % interval and two-sided p of "the effect is zero"; a sign of +1 / -1 when
    it is significant at :data:`ALPHA`, else 0."""
    effect, se = sample["effect"], sample["se"]
    if se == 0:
        p = 1.0 if effect == 0 else 0.0
    else:
        p = float(2 * stats.t.sf(abs(effect) / se, sample["df"]))
    low, high = interval(sample, 1 - ALPHA)
    sign = 0 if p >= ALPHA else (1 if effect > 0 else -1)
    return {"effect": effect, "ci_low": low, "ci_high": high, "p": p, "sign": sign}


def tost(sample: Sample, low: float, high: float) -> dict[str, float]:
    """Two one-sided tests of "the effect lies within (``low``, ``high``)".

    Each bound is tested one-sided at :data:`ALPHA` (an infinite bound is not tested); both
    pass exactly when the ``1 - 2 ALPHA`` (90 %) interval lies inside the bounds: sign +1.
    An interval wholly beyond a bound shows the opposite: sign -1. Otherwise 0. ``p`` is the
    larger of the two one-sided p-values, that of the claim of no difference.
    """
    effect, se = sample["effect"], sample["se"]
    ci_low, ci_high = interval(sample, 1 - 2 * ALPHA)
    p = max(_one_sided(effect - low, se, sample["df"]), _one_sided(high - effect, se, sample["df"]))
    sign = 1 if low < ci_low and ci_high < high else (-1 if ci_high < low or ci_low > high else 0)
    return {"effect": effect, "ci_low": ci_low, "ci_high": ci_high, "p": p, "sign": sign}


def _one_sided(distance: float, se: float, df: float) -> float:
    """p of "the effect lies at the bound or beyond it", ``distance`` inside the bound."""
    if math.isinf(distance):
        return 0.0
    if se == 0:
        return 0.0 if distance > 0 else 1.0
    return float(stats.t.sf(distance / se, df))


def seeds_needed(sd: float, distance: float, sides: int = 1) -> float | None:
    """About how many seeds resolve a comparison whose effect lies ``distance`` points from
    the bound it must clear (zero for a claimed difference, a margin for a TOST), if each
    seed's value spreads by ``sd`` points and the effect stays what it is.

    The usual sample size of a t-test: the least ``n`` with ``(t(1 - ALPHA/sides, n-1) +
    t(POWER, n-1)) * sd / sqrt(n) <= distance`` (``sides``: 2 for a two-sided test of a
    difference, 1 for each one-sided test of a TOST). Infinite beyond :data:`MAX_SEEDS`;
    ``None`` when the effect sits on the bound (no number of seeds moves it off).
    """
    if distance <= 0 or not math.isfinite(sd):
        return None
    for n in range(2, MAX_SEEDS + 1):
        quantiles = stats.t.ppf(1 - ALPHA / sides, n - 1) + stats.t.ppf(POWER, n - 1)
        if quantiles * sd / math.sqrt(n) <= distance:
            return n
    return math.inf
