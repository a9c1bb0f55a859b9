"""Claims about the rows of a study's tables: a row better or worse than others (``rows``),
and other rows bringing no gain over it or ending close to it (``not_better``, ``similar``).

A claimed difference is a two-sided t-test at :data:`~claim_stats.ALPHA`. A claim of no
difference is two one-sided tests against the claim's margin (TOST): a difference the seeds
cannot tell from zero is not evidence that there is none, so it is *supported* only when the
90 % interval of every compared row lies within the margin, *reversed* when one lies wholly
beyond it, and *not resolved* otherwise.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from keras_fcn.record import RunRecord
from keras_fcn.replication.claim_stats import (
    ALPHA,
    VERDICTS,
    difference,
    scores,
    seeds_needed,
    t_test,
    tost,
)

Tables = Mapping[str, Mapping[str, Sequence[RunRecord]]]


def missing(text: str, n: int) -> dict[str, object]:
    """A comparison the runs cannot make yet: too few seeds, or not run."""
    return {"comparison": text, "n": n, "verdict": "too few seeds" if n else "not run"}


def paired(a: Sequence[RunRecord], b: Sequence[RunRecord]) -> dict[str, object]:
    """``a - b`` in points (:func:`~claim_stats.difference`), tested two-sided: effect, 95 %
    interval, p, seeds, verdict; for a difference within seed noise, ``seeds_needed``."""
    sample = difference(a, b)
    if "effect" not in sample:
        return dict(sample)
    test = t_test(sample)
    out = {k: test[k] for k in ("effect", "ci_low", "ci_high", "p")} | {"n": sample["n"]}
    out["verdict"] = VERDICTS[test["sign"]]
    if not test["sign"]:
        out["seeds_needed"] = seeds_needed(sample["sd"], abs(sample["effect"]), sides=2)
    return out


def _mean(records: Sequence[RunRecord]) -> float:
    return float(np.mean(list(scores(records).values()) or [math.nan]))


def _named(key: tuple[str, str], table: str) -> str:
    return f"row {key[1]}" if key[0] == table else f"{key[0]} row {key[1]}"


def _getter(tables: Tables):
    return lambda key: tables.get(key[0], {}).get(key[1], [])


def judge_rows(claim: Any, tables: Tables) -> dict[str, object]:
    """A ``rows`` claim: the subject against its strongest (or weakest) competitor."""
    get = _getter(tables)
    subject = get((claim.table, claim.subject))
    ran = [k for k in claim.versus if scores(get(k))]
    if not scores(subject) or not ran:
        return missing(f"row {claim.subject} vs its competitors", 0)
    worse = claim.direction == "worse"
    rival = (min if worse else max)(ran, key=lambda k: _mean(get(k)))
    result = paired(get(rival), subject) if worse else paired(subject, get(rival))
    a, b = _named(rival, claim.table), f"row {claim.subject}"
    text = f"{a} − {b}" if worse else f"{b} − {a}"
    text += f" ({'weakest' if worse else 'strongest'} of {len(claim.versus)})"
    if len(ran) < len(claim.versus):
        text += f"; {len(claim.versus) - len(ran)} not run"
    return {"comparison": text, **result}


def bounds(kind: str, margin: float) -> tuple[float, float]:
    """The differences a claim of no difference allows: within ``±margin`` (``similar``), or
    below ``+margin`` (``not_better``)."""
    return (-margin if kind == "similar" else -math.inf), margin


def margin_text(kind: str, margin: float) -> str:
    unit = "point" if margin == 1 else "points"
    return f"margin {'±' if kind == 'similar' else '+'}{margin:g} {unit}"


def judge_no_gain(claim: Any, tables: Tables) -> dict[str, object]:
    """``not_better`` / ``similar``: every ``versus`` row minus the subject, by TOST against
    the claim's margin (:func:`bounds`). Supported when every row's 90 % interval lies
    within it, reversed when some row's lies wholly beyond it; the row shown is the one that
    decides (a reversed one, else an unresolved one, else the one nearest the margin)."""
    get = _getter(tables)
    subject = get((claim.table, claim.subject))
    samples = {k: difference(get(k), subject) for k in claim.versus}
    untested = [k for k, s in samples.items() if "effect" not in s]
    if untested:
        named = ", ".join(_named(k, claim.table) for k in untested)
        return missing(f"{named} vs row {claim.subject}", min(samples[k]["n"] for k in untested))
    low, high = bounds(claim.kind, claim.margin)
    tests = {k: tost(s, low, high) for k, s in samples.items()}

    def beyond(k) -> float:  # how far its interval reaches past the margin
        return max(tests[k]["ci_high"] - high, low - tests[k]["ci_low"])

    order = {-1: 0, 0: 1, 1: 2}
    key = min(tests, key=lambda k: (order[tests[k]["sign"]], -beyond(k)))
    sign = tests[key]["sign"]
    text = f"{_named(key, claim.table)} − row {claim.subject}"
    text += f" ({'the one' if len(tests) == 1 else 'deciding, of ' + str(len(tests))}); "
    text += margin_text(claim.kind, claim.margin)
    reversed_ = [k for k in tests if tests[k]["sign"] < 0]
    if reversed_:
        text += "; beyond it: " + ", ".join(_named(k, claim.table) for k in reversed_)
    result = {k: tests[key][k] for k in ("effect", "ci_low", "ci_high", "p")}
    result |= {"n": samples[key]["n"], "verdict": VERDICTS[sign], "level": 1 - 2 * ALPHA}
    if sign == 0:
        effect = samples[key]["effect"]
        finite = [b for b in (low, high) if math.isfinite(b)]
        distance = min(abs(effect - b) for b in finite)
        result["seeds_needed"] = seeds_needed(samples[key]["sd"], distance)
    return {"comparison": text, **result}
