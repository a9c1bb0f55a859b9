"""The published studies' conclusions, as data, and their test against our runs.

``studies/claims.csv`` holds one line per conclusion a study draws from its own tables (the
study, the section stating it, the claim in a few words) with the comparison that tests it:

* ``rows``: the ``subject`` row is claimed ``better`` (or ``worse``: ``direction``) than the
  ``versus`` rows (``;``-separated, ``table:row`` for another table of the study; empty =
  the rest of its table). It meets its strongest (weakest) competitor by mean test accuracy
  in a paired t-test over the seeds both have; a competitor that is the single run of
  another family (a classical baseline) by a one-sample t-test against its value.
* ``not_better`` / ``similar``: the ``versus`` rows are claimed to bring no gain over (to end
  close to) the ``subject`` row; contradicted if one is significantly better (different).
* ``factor_spread``: the ``subject`` factor of the study's grid moves test accuracy most (the
  spread, max - min, of the mean test accuracy over each factor's values; a factor set per
  layer is read as one factor per layer), with a bootstrap interval of its margin over the
  next factor.
* ``factor_level``: runs at ``subject`` (``factor=value``) are claimed better (worse) than
  the grid's runs at the factor's other values (Welch t-test).
* ``factor_matters``: the choice of the ``subject`` factor is claimed to matter: its values
  differ in test accuracy (Kruskal-Wallis test over the grid's runs at each value); the
  effect is its spread, with a bootstrap interval. Such a claim has no opposite to find:
  it is supported or not resolved.
* ``untestable``: the ``note`` says why the study's own protocol cannot test it.

Claims are judged on **test** accuracy, as the studies reported them (validation decides
nothing here). A run counts unless it failed or has no test accuracy (a diverged run keeps
that of its last finite weights, as a study's table would show it).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from keras_fcn.config import dashed
from keras_fcn.errors import ConfigError
from keras_fcn.record import RunRecord
from keras_fcn.replication.protocol import Protocol, read_published
from keras_fcn.replication.registry import STUDIES_DIR

CLAIMS_CSV = STUDIES_DIR / "claims.csv"
KINDS = (
    "rows",
    "not_better",
    "similar",
    "factor_spread",
    "factor_level",
    "factor_matters",
    "untestable",
)
ALPHA = 0.05
VERDICTS = {1: "supported", -1: "reversed", 0: "not resolved"}
HEAD = ("study", "section", "claim")
COLUMNS = (*HEAD, "comparison", "effect", "ci_low", "ci_high", "p", "n", "verdict")

Tables = Mapping[str, Mapping[str, Sequence[RunRecord]]]


@dataclasses.dataclass(frozen=True)
class Claim:
    """One line of the claims CSV; ``versus`` holds ``(table, row)`` pairs."""

    study: str
    section: str
    claim: str
    kind: str
    table: str
    subject: str
    direction: str
    versus: tuple[tuple[str, str], ...]
    note: str = ""


def read_claims(path: str | Path, studies: Mapping[str, Protocol]) -> list[Claim]:
    """The claims of ``path``, each checked against its study's tables, rows and grid."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        claims = []
        for line in reader:
            where = f"{Path(path).name} line {reader.line_num}"
            try:
                claims.append(_claim(line, studies))
            except (ConfigError, KeyError, ValueError) as exc:
                raise ConfigError(f"{where}: {exc}".replace("\n", " ")) from None
    return claims


def _claim(line: Mapping[str, str], studies: Mapping[str, Protocol]) -> Claim:
    kind, table, subject = line["kind"], line["table"], line["subject"]
    if line["study"] not in studies:
        raise ConfigError(f"unknown study {line['study']!r}")
    protocol = studies[line["study"]]
    if kind not in KINDS:
        raise ConfigError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    direction = line["direction"] or ("better" if kind in ("rows", "factor_level") else "")
    if direction not in ("", "better", "worse"):
        raise ConfigError(f"direction must be better or worse, not {direction!r}")
    refs = [v.strip() for v in line["versus"].split(";") if v.strip()]
    versus = tuple(tuple(r.split(":", 1)) if ":" in r else (table, r) for r in refs)
    if kind in ("rows", "not_better", "similar"):
        known = [(r.table, r.row) for r in read_published(protocol.path(protocol.published))]
        protocol.table(table)
        for t, r in ((table, subject), *versus):
            if (t, r) not in known:
                raise ConfigError(f"study {protocol.name!r} has no row {r!r} in table {t!r}")
        if not versus:
            versus = tuple(k for k in known if k[0] == table and k[1] != subject)
    elif kind == "factor_level" and "=" not in subject:
        raise ConfigError(f"a factor_level subject is factor=value, not {subject!r}")
    elif kind.startswith("factor"):
        _check_factor(protocol, subject.split("=", 1)[0])
    elif not line["note"]:
        raise ConfigError("an untestable claim needs a note saying why")
    texts = {k: line[k] for k in (*HEAD, "kind", "table", "subject", "note")}
    return Claim(**texts, direction=direction, versus=versus)


def _check_factor(protocol: Protocol, factor: str) -> None:
    if protocol.grid is None:
        raise ConfigError(f"study {protocol.name!r} has no grid for a factor claim")
    with open(protocol.path(protocol.grid), "rb") as f:
        if factor not in tomllib.load(f):
            raise ConfigError(f"the grid of {protocol.name!r} has no factor {factor!r}")


def counted(records: Sequence[RunRecord]) -> list[RunRecord]:
    """The runs that count: not failed, with a test accuracy."""
    return [r for r in records if r.status != "failed" and r.test_accuracy is not None]


def scores(records: Sequence[RunRecord]) -> dict[int, float]:
    """Seed -> test accuracy of the runs that count (the last one per seed)."""
    return {r.seed: r.test_accuracy for r in counted(records)}


def _missing(text: str, n: int) -> dict[str, object]:
    return {"comparison": text, "n": n, "verdict": "too few seeds" if n else "not run"}


def _interval(diffs: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, 95 % CI (t distribution) and two-sided p of one sample of differences."""
    n, mean = len(diffs), float(np.mean(diffs))
    sd = float(np.std(diffs, ddof=1))
    if sd == 0:
        return mean, mean, mean, (1.0 if mean == 0 else 0.0)
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    p = float(stats.ttest_1samp(diffs, 0.0).pvalue)
    return mean, mean - half, mean + half, p


def paired(a: Sequence[RunRecord], b: Sequence[RunRecord]) -> dict[str, object]:
    """``a - b`` in points over the seeds both have; against the value of ``b`` when it is
    the single run of another family (a classical baseline, whose seed means nothing)."""
    sa, sb = scores(a), scores(b)
    if not sa or not sb:
        return {"n": 0, "verdict": "not run"}
    common = sorted(set(sa) & set(sb))
    diffs = np.array([sa[s] - sb[s] for s in common])
    if len(sb) == 1 and {r.family for r in counted(b)}.isdisjoint(r.family for r in a):
        diffs = np.array(list(sa.values())) - next(iter(sb.values()))
    if len(diffs) < 2:
        return {"n": len(diffs), "verdict": "too few seeds"}
    mean, low, high, p = _interval(100 * diffs)
    return {"n": len(diffs), "effect": mean, "ci_low": low, "ci_high": high, "p": p}


def _sign(result: Mapping[str, object]) -> int:
    """+1 / -1 when the difference is significant, 0 otherwise."""
    return 0 if result.get("p", 1.0) >= ALPHA else (1 if result["effect"] > 0 else -1)


def _mean(records: Sequence[RunRecord]) -> float:
    return float(np.mean(list(scores(records).values()) or [math.nan]))


def _named(key: tuple[str, str], table: str) -> str:
    return f"row {key[1]}" if key[0] == table else f"{key[0]} row {key[1]}"


def judge_rows(claim: Claim, tables: Tables) -> dict[str, object]:
    """A ``rows`` claim: the subject against its strongest (or weakest) competitor."""
    get = lambda key: tables.get(key[0], {}).get(key[1], [])  # noqa: E731
    subject = get((claim.table, claim.subject))
    ran = [k for k in claim.versus if scores(get(k))]
    if not scores(subject) or not ran:
        return _missing(f"row {claim.subject} vs its competitors", 0)
    worse = claim.direction == "worse"
    rival = (min if worse else max)(ran, key=lambda k: _mean(get(k)))
    result = paired(get(rival), subject) if worse else paired(subject, get(rival))
    a, b = _named(rival, claim.table), f"row {claim.subject}"
    text = f"{a} − {b}" if worse else f"{b} − {a}"
    text += f" ({'weakest' if worse else 'strongest'} of {len(claim.versus)})"
    if len(ran) < len(claim.versus):
        text += f"; {len(claim.versus) - len(ran)} not run"
    return {"comparison": text, "verdict": result.get("verdict", VERDICTS[_sign(result)]), **result}


def judge_no_gain(claim: Claim, tables: Tables) -> dict[str, object]:
    """``not_better`` / ``similar``: no versus row significantly above (or away from) the subject."""
    subject = tables.get(claim.table, {}).get(claim.subject, [])
    results = {k: paired(tables.get(k[0], {}).get(k[1], []), subject) for k in claim.versus}
    untested = [k for k, r in results.items() if "p" not in r]
    if untested:
        named = ", ".join(_named(k, claim.table) for k in untested)
        return _missing(f"{named} vs row {claim.subject}", min(results[k]["n"] for k in untested))
    both = claim.kind == "similar"  # a difference either way contradicts it
    key = max(results, key=lambda k: abs(results[k]["effect"]) if both else results[k]["effect"])
    against = [k for k, r in results.items() if _sign(r) > 0 or (both and _sign(r))]
    text = f"{_named(key, claim.table)} − row {claim.subject} (largest of {len(results)})"
    if against:
        text += "; significant: " + ", ".join(_named(k, claim.table) for k in against)
    return {"comparison": text, **results[key], "verdict": "reversed" if against else "supported"}


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
    claim: Claim, records: Sequence[RunRecord], factors: Sequence[str]
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
    claim: Claim, records: Sequence[RunRecord], factors: Sequence[str]
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


def judge_level(claim: Claim, records: Sequence[RunRecord]) -> dict[str, object]:
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
    test = stats.ttest_ind(a, b, equal_var=False)
    low, high = test.confidence_interval(0.95)
    result = {"effect": float(a.mean() - b.mean()), "ci_low": float(low), "ci_high": float(high)}
    result |= {"p": float(test.pvalue), "n": len(values)}
    text += f" ({len(at)} vs {len(rest)} runs)"
    return {"comparison": text, **result, "verdict": VERDICTS[_sign(result)]}


def judge(
    claims: Sequence[Claim],
    tables: Mapping[str, Tables],
    grids: Mapping[str, tuple[Sequence[RunRecord], Sequence[str]]] | None = None,
) -> pd.DataFrame:
    """Each claim's comparison, effect (points), 95 % CI, p, seeds and verdict.

    Args:
        claims: from :func:`read_claims`.
        tables: study -> table -> row id -> its records (``TableResult.records`` by table).
        grids: study -> (its grid's records, the grid's factor names), for factor claims.
    """
    rows = []
    for claim in claims:
        head = {c: getattr(claim, c) for c in HEAD}
        grid_records, factors = (grids or {}).get(claim.study, ((), ()))
        if claim.kind == "untestable":
            result = {"comparison": claim.note, "verdict": "untestable"}
        elif claim.kind == "rows":
            result = judge_rows(claim, tables.get(claim.study, {}))
        elif claim.kind in ("not_better", "similar"):
            result = judge_no_gain(claim, tables.get(claim.study, {}))
        elif claim.kind == "factor_spread":
            result = judge_spread(claim, grid_records, factors)
        elif claim.kind == "factor_matters":
            result = judge_matters(claim, grid_records, factors)
        else:
            result = judge_level(claim, grid_records)
        rows.append({c: math.nan for c in COLUMNS} | head | result)
    return pd.DataFrame(rows, columns=list(COLUMNS))
