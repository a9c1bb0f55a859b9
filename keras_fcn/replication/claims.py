"""The published studies' conclusions, as data, and their test against our runs.

``studies/claims.csv`` holds one line per conclusion a study draws from its own tables (the
study, the section stating it, the claim in a few words) with the comparison that tests it:

* ``rows``: the ``subject`` row is claimed ``better`` (or ``worse``: ``direction``) than the
  ``versus`` rows (``;``-separated, ``table:row`` for another table of the study; empty =
  the rest of its table). It meets its strongest (weakest) competitor by mean test accuracy
  in a paired t-test over the seeds both have; a competitor that is the single run of
  another family (a classical baseline) by a one-sample t-test against its value.
* ``not_better`` / ``similar``: the ``versus`` rows are claimed to bring no gain over (to end
  close to) the ``subject`` row, within the claim's ``margin`` in points (the study's own
  size where it gives one, else :data:`DEFAULT_MARGIN`). Two one-sided tests (TOST) per
  row: supported when every row's 90 % interval lies within the margin (below ``+margin``
  for ``not_better``), reversed when one lies wholly beyond it, not resolved otherwise.
* ``gap`` / ``final_val``: the ``subject`` row's training minus validation accuracy
  (its validation accuracy) at the final epoch, from the runs' histories, is claimed to lie
  in the range ``size`` (``LOW-HIGH`` in points, read to its rounding), tested the same way.
* ``epoch_gain``: the ``subject`` row's validation accuracy at its final epoch is claimed
  better (``direction``) than at the epoch ``versus`` of the same runs.
* ``converges``: the ``subject`` row is claimed to converge faster than the ``versus`` rows,
  read as a higher validation accuracy after the first ``size`` epochs, judged as ``rows``.
* ``larger_change``: of the two ``versus`` rows, each one change away from the ``subject``
  row, the first is claimed to move its final validation accuracy more than the second.

A row may be one the study's variants trained: ``TABLE~VARIANT`` names the rows of ``TABLE``
under the variant ``VARIANT`` (``final~tanh:1``).
* ``untestable``: the ``note`` says why the study's own protocol cannot test it.

Claims are judged on **test** accuracy, as the studies reported them (validation decides
nothing here), except the claims read from the histories, which hold validation accuracy
per epoch. A run counts unless it failed or has no test accuracy (a diverged run keeps
that of its last finite weights, as a study's table would show it).
"""

from __future__ import annotations

import csv
import dataclasses
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from keras_fcn.errors import ConfigError
from keras_fcn.record import RunRecord
from keras_fcn.replication.claim_stats import ALPHA, VERDICTS, counted, scores
from keras_fcn.replication.factor_claims import (
    factor_table,
    factor_value,
    judge_level,
    judge_matters,
    judge_spread,
    per_layer,
    spreads,
)
from keras_fcn.replication.history_claims import (
    check_epoch,
    judge_converges,
    judge_epochs,
    judge_larger_change,
    judge_range,
    stated_range,
)
from keras_fcn.replication.protocol import Protocol, read_published
from keras_fcn.replication.registry import STUDIES_DIR
from keras_fcn.replication.row_claims import judge_no_gain, judge_rows, paired

CLAIMS_CSV = STUDIES_DIR / "claims.csv"
KINDS = (
    "rows",
    "not_better",
    "similar",
    "factor_spread",
    "factor_level",
    "factor_matters",
    "gap",
    "final_val",
    "epoch_gain",
    "converges",
    "larger_change",
    "untestable",
)
ROW_KINDS = (
    "rows",
    "not_better",
    "similar",
    "gap",
    "final_val",
    "epoch_gain",
    "converges",
    "larger_change",
)
VARIANT_MARK = "~"
"""``TABLE~VARIANT``: the rows of a table trained under one of the study's variants
(:mod:`keras_fcn.replication.variants`), as a claim may name them."""
"""The kinds whose ``subject`` is a row of a published table."""
DEFAULT_MARGIN = 1.0
"""The margin, in points, of a claim of no difference whose study gives no size of its own."""
HEAD = ("study", "section", "claim")
COLUMNS = (
    *HEAD,
    "comparison",
    "effect",
    "ci_low",
    "ci_high",
    "level",
    "p",
    "n",
    "verdict",
    "seeds_needed",
)
__all__ = [
    "ALPHA",
    "CLAIMS_CSV",
    "COLUMNS",
    "DEFAULT_MARGIN",
    "KINDS",
    "VERDICTS",
    "Claim",
    "counted",
    "factor_table",
    "factor_value",
    "judge",
    "paired",
    "per_layer",
    "read_claims",
    "scores",
    "spreads",
]

Tables = Mapping[str, Mapping[str, Sequence[RunRecord]]]


@dataclasses.dataclass(frozen=True)
class Claim:
    """One line of the claims CSV; ``versus`` holds ``(table, row)`` pairs (for an
    ``epoch_gain`` claim, one pair whose row is the earlier epoch); ``margin`` is in points;
    ``size`` is a stated range ``LOW-HIGH`` in points, as printed."""

    study: str
    section: str
    claim: str
    kind: str
    table: str
    subject: str
    direction: str
    versus: tuple[tuple[str, str], ...]
    note: str = ""
    margin: float = DEFAULT_MARGIN
    size: str = ""


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
    better = ("rows", "factor_level", "epoch_gain", "converges")
    direction = line["direction"] or ("better" if kind in better else "")
    if direction not in ("", "better", "worse"):
        raise ConfigError(f"direction must be better or worse, not {direction!r}")
    refs = [v.strip() for v in line["versus"].split(";") if v.strip()]
    versus = tuple(tuple(r.split(":", 1)) if ":" in r else (table, r) for r in refs)
    if kind in ROW_KINDS:
        versus = _check_rows(protocol, kind, table, subject, versus)
    elif kind == "factor_level" and "=" not in subject:
        raise ConfigError(f"a factor_level subject is factor=value, not {subject!r}")
    elif kind.startswith("factor"):
        _check_factor(protocol, subject.split("=", 1)[0])
    elif not line["note"]:
        raise ConfigError("an untestable claim needs a note saying why")
    texts = {k: line[k] for k in (*HEAD, "kind", "table", "subject", "note")}
    margin, size = _sizes(kind, line.get("margin") or "", line.get("size") or "")
    return Claim(**texts, direction=direction, versus=versus, margin=margin, size=size)


def _check_rows(
    protocol: Protocol, kind: str, table: str, subject: str, versus: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """The claim's rows checked against the study's CSV; an empty ``versus`` of a claim
    between rows is the rest of the table."""
    known = [(r.table, r.row) for r in read_published(protocol.path(protocol.published))]
    known += variant_rows_of(protocol)
    protocol.table(table.split(VARIANT_MARK)[0])
    between = kind in ("rows", "not_better", "similar", "converges", "larger_change")
    for t, r in ((table, subject), *(versus if between else ())):
        if (t, r) not in known:
            raise ConfigError(f"study {protocol.name!r} has no row {r!r} in table {t!r}")
    if kind == "larger_change" and len(versus) != 2:
        raise ConfigError(
            "a larger_change claim's versus is two rows: the one said to change more, then the other"
        )
    if kind == "epoch_gain":
        if len(versus) != 1:
            raise ConfigError("an epoch_gain claim's versus is one epoch number")
        check_epoch(versus[0][1])
    elif not between and versus:
        raise ConfigError(f"a {kind} claim compares no rows: leave versus empty")
    if between and not versus:
        versus = tuple(k for k in known if k[0] == table and k[1] != subject)
    return versus


def _sizes(kind: str, margin: str, size: str) -> tuple[float, str]:
    """A claim's margin (points; :data:`DEFAULT_MARGIN` when blank) and stated range."""
    if margin and kind not in ("not_better", "similar"):
        raise ConfigError(f"a margin is for not_better and similar claims, not {kind}")
    value = float(margin) if margin else DEFAULT_MARGIN
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"a margin is a positive number of points, not {margin!r}")
    if kind in ("gap", "final_val"):
        if not size:
            raise ConfigError(f"a {kind} claim needs its stated size, LOW-HIGH in points")
        stated_range(size)
    elif kind == "converges":
        if not size.isdigit() or int(size) < 1:
            raise ConfigError(
                f"a converges claim's size is an epoch number, 1 or more, not {size!r}"
            )
    elif size:
        raise ConfigError(f"a size is for gap, final_val and converges claims, not {kind}")
    return value, size


def variant_rows_of(protocol: Protocol) -> list[tuple[str, str]]:
    """The ``(TABLE~VARIANT, ROW)`` rows a claim may name: every row of every variant."""
    return [
        (f"{table}{VARIANT_MARK}{variant.name}", row)
        for variant in protocol.variants
        for table, row in variant.rows
    ]


def _check_factor(protocol: Protocol, factor: str) -> None:
    if protocol.grid is None:
        raise ConfigError(f"study {protocol.name!r} has no grid for a factor claim")
    with open(protocol.path(protocol.grid), "rb") as f:
        if factor not in tomllib.load(f):
            raise ConfigError(f"the grid of {protocol.name!r} has no factor {factor!r}")


def judge(
    claims: Sequence[Claim],
    tables: Mapping[str, Tables],
    grids: Mapping[str, tuple[Sequence[RunRecord], Sequence[str]]] | None = None,
) -> pd.DataFrame:
    """Each claim's comparison, effect (points), its interval and the interval's confidence
    ``level`` (0.95; 0.90 for a claim of no difference or of a stated range), p, seeds,
    verdict, and for a comparison not resolved about how many seeds would resolve it
    (``seeds_needed``; infinite: more than :data:`~claim_stats.MAX_SEEDS`).

    Args:
        claims: from :func:`read_claims`.
        tables: study -> table -> row id -> its records (``TableResult.records`` by table).
        grids: study -> (its grid's records, the grid's factor names), for factor claims.
    """
    rows = []
    for claim in claims:
        head = {c: getattr(claim, c) for c in HEAD}
        grid_records, factors = (grids or {}).get(claim.study, ((), ()))
        study = tables.get(claim.study, {})
        if claim.kind == "untestable":
            result = {"comparison": claim.note, "verdict": "untestable"}
        elif claim.kind == "rows":
            result = judge_rows(claim, study)
        elif claim.kind in ("not_better", "similar"):
            result = judge_no_gain(claim, study)
        elif claim.kind in ("gap", "final_val"):
            result = judge_range(claim, study)
        elif claim.kind == "epoch_gain":
            result = judge_epochs(claim, study)
        elif claim.kind == "converges":
            result = judge_converges(claim, study)
        elif claim.kind == "larger_change":
            result = judge_larger_change(claim, study)
        elif claim.kind == "factor_spread":
            result = judge_spread(claim, grid_records, factors)
        elif claim.kind == "factor_matters":
            result = judge_matters(claim, grid_records, factors)
        else:
            result = judge_level(claim, grid_records)
        rows.append({c: math.nan for c in COLUMNS} | {"level": 1 - ALPHA} | head | result)
    return pd.DataFrame(rows, columns=list(COLUMNS))
