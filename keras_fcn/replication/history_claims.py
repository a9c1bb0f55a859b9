"""Claims read from the runs' per-epoch histories: how far training accuracy ends above
validation accuracy (``gap``), where validation accuracy ends (``final_val``), and whether
training longer pays (``epoch_gain``).

A study that states a size ("1-2 %", "89-90 %") rounds it: the stated range is read to its
rounding, widened by half a unit of its last digit (``1-2`` covers 0.5-2.5 points), and the
claim is tested like a claim of no difference: *supported* when the 90 % interval of the
mean over seeds lies within that range, *reversed* when it lies wholly outside, *not
resolved* otherwise. The histories are Keras's: an epoch's training accuracy is the mean
over its batches, as the studies' own curves plotted it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from keras_fcn.errors import ConfigError
from keras_fcn.identity import Status
from keras_fcn.record import RunRecord
from keras_fcn.replication.claim_stats import (
    ALPHA,
    VERDICTS,
    one_sample,
    seeds_needed,
    t_test,
    tost,
)

Tables = Mapping[str, Mapping[str, Sequence[RunRecord]]]

MEASURES = {
    "gap": "training − validation accuracy at the final epoch",
    "final_val": "validation accuracy at the final epoch",
}


def stated_range(text: str) -> tuple[float, float]:
    """A stated range ``LOW-HIGH`` in points, read to its rounding: ``1-2`` -> (0.5, 2.5),
    ``89.5-90`` -> (89.45, 90.5)."""
    parts = text.split("-")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise ConfigError(f"a size is LOW-HIGH in points (1-2), not {text!r}") from None
    if not low < high:
        raise ConfigError(f"a size LOW-HIGH needs LOW below HIGH, not {text!r}")
    return low - _half_unit(parts[0]), high + _half_unit(parts[1])


def _half_unit(printed: str) -> float:
    """Half a unit of the last digit printed: 0.5 for ``2``, 0.05 for ``2.5``."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return 0.5 * 10.0**-decimals


def _histories(records: Sequence[RunRecord]) -> dict[int, dict[str, list[float]]]:
    """Seed -> history of the finished runs that recorded one."""
    return {
        r.seed: r.history
        for r in records
        if r.status == Status.OK and r.history.get("val_accuracy")
    }


def _final_values(claim: Any, histories: Mapping[int, Mapping[str, list[float]]]) -> list[float]:
    """Each seed's measure at its final epoch, in points."""
    if claim.kind == "gap":
        return [100 * (h["accuracy"][-1] - h["val_accuracy"][-1]) for h in histories.values()]
    return [100 * h["val_accuracy"][-1] for h in histories.values()]


def judge_range(claim: Any, tables: Tables) -> dict[str, object]:
    """``gap`` / ``final_val``: the row's measure at the final epoch, mean over seeds, against
    the stated range read to its rounding (:func:`stated_range`)."""
    histories = _histories(tables.get(claim.table, {}).get(claim.subject, []))
    low, high = stated_range(claim.size)
    text = f"row {claim.subject}: {MEASURES[claim.kind]}"
    if histories:
        epochs = sorted({len(h["val_accuracy"]) for h in histories.values()})
        text += f" ({'/'.join(map(str, epochs))})"
    text += f"; stated {claim.size}, read as {low:g} to {high:g} points"
    if len(histories) < 2:
        return {"comparison": text, "n": len(histories), "verdict": _few(histories)}
    sample = one_sample(_final_values(claim, histories))
    test = tost(sample, low, high)
    result = {k: test[k] for k in ("effect", "ci_low", "ci_high", "p")}
    result |= {"n": sample["n"], "verdict": VERDICTS[test["sign"]], "level": 1 - 2 * ALPHA}
    if not test["sign"]:
        distance = min(abs(sample["effect"] - low), abs(sample["effect"] - high))
        result["seeds_needed"] = seeds_needed(sample["sd"], distance)
    return {"comparison": text, **result}


def judge_epochs(claim: Any, tables: Tables) -> dict[str, object]:
    """``epoch_gain``: validation accuracy at the row's final epoch minus at the earlier
    epoch ``versus``, paired over seeds (two-sided t-test). The first epochs of a run are
    those of a shorter run of the same seed (same batches, a constant learning rate, no
    early stopping), so one record holds both; only validation accuracy is kept per epoch."""
    earlier = int(claim.versus[0][1])
    histories = _histories(tables.get(claim.table, {}).get(claim.subject, []))
    longer = {s: h for s, h in histories.items() if len(h["val_accuracy"]) > earlier}
    last = sorted({len(h["val_accuracy"]) for h in longer.values()})
    text = f"row {claim.subject}: validation accuracy at epoch {'/'.join(map(str, last)) or 'end'}"
    text += f" − at epoch {earlier}"
    if len(longer) < 2:
        return {"comparison": text, "n": len(longer), "verdict": _few(longer)}
    diffs = [
        100 * (h["val_accuracy"][-1] - h["val_accuracy"][earlier - 1]) for h in longer.values()
    ]
    sample = one_sample(diffs)
    test = t_test(sample)
    sign = -test["sign"] if claim.direction == "worse" else test["sign"]
    result = {k: test[k] for k in ("effect", "ci_low", "ci_high", "p")}
    result |= {"n": sample["n"], "verdict": VERDICTS[sign]}
    if not sign:
        result["seeds_needed"] = seeds_needed(sample["sd"], abs(sample["effect"]), sides=2)
    return {"comparison": text, **result}


def judge_converges(claim: Any, tables: Tables) -> dict[str, object]:
    """``converges``: the ``subject`` row converges faster than the ``versus`` rows, read as
    a higher validation accuracy after the first ``size`` epochs (the study states no
    measure of its own); judged as a ``rows`` claim on that accuracy, against its strongest
    competitor and paired over seeds."""
    from keras_fcn.replication.row_claims import judge_rows

    epoch = int(claim.size)
    early = {
        table: {row: [_at_epoch(r, epoch) for r in records] for row, records in rows.items()}
        for table, rows in tables.items()
    }
    result = judge_rows(claim, early)
    result["comparison"] += f"; validation accuracy after epoch {epoch}"
    return result


def judge_larger_change(claim: Any, tables: Tables) -> dict[str, object]:
    """``larger_change``: of the two ``versus`` rows, each one change away from the
    ``subject`` row, the first moves the final validation accuracy more: per seed, the
    first's absolute change minus the second's, in points, two-sided t-test."""
    (first, second) = claim.versus
    found = [
        _histories(tables.get(t, {}).get(r, []))
        for t, r in ((claim.table, claim.subject), first, second)
    ]
    seeds = sorted(set(found[0]) & set(found[1]) & set(found[2]))
    final = [{s: 100 * h[s]["val_accuracy"][-1] for s in seeds} for h in found]
    text = (
        f"|{_ref(first, claim.table)} − row {claim.subject}| − |{_ref(second, claim.table)} − "
        f"row {claim.subject}|, validation accuracy at the final epoch"
    )
    if len(seeds) < 2:
        return {
            "comparison": text,
            "n": len(seeds),
            "verdict": "too few seeds" if seeds else "not run",
        }
    diffs = [abs(final[1][s] - final[0][s]) - abs(final[2][s] - final[0][s]) for s in seeds]
    sample = one_sample(diffs)
    test = t_test(sample)
    result = {k: test[k] for k in ("effect", "ci_low", "ci_high", "p")}
    result |= {"n": sample["n"], "verdict": VERDICTS[test["sign"]]}
    if not test["sign"]:
        result["seeds_needed"] = seeds_needed(sample["sd"], abs(sample["effect"]), sides=2)
    return {"comparison": text, **result}


def _ref(key: tuple[str, str], table: str) -> str:
    return f"row {key[1]}" if key[0] == table else f"{key[0]} row {key[1]}"


def _at_epoch(record: RunRecord, epoch: int) -> RunRecord:
    """``record`` scored by its validation accuracy after ``epoch`` epochs (no score when it
    stopped before)."""
    values = (record.history or {}).get("val_accuracy", [])
    score = float(values[epoch - 1]) if len(values) >= epoch else None
    return dataclasses.replace(record, test_accuracy=score, test_predictions=None)


def _few(found: Mapping) -> str:
    return "too few seeds" if found else "not run"


def check_epoch(text: str) -> None:
    """An ``epoch_gain`` claim's ``versus``: one epoch number, at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise ConfigError(f"an epoch_gain claim's versus is one epoch number, not {text!r}")
