"""The rules of the claims of no difference (TOST against a margin), of stated sizes read from
the runs' histories, and the seeds estimate of an unresolved claim, on constructed records."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from keras_fcn.errors import ConfigError
from keras_fcn.record import RunRecord
from keras_fcn.replication import all_studies
from keras_fcn.replication.claim_stats import ALPHA, POWER, seeds_needed
from keras_fcn.replication.claims import CLAIMS_CSV, Claim, judge, read_claims
from keras_fcn.replication.history_claims import stated_range
from keras_fcn.reporting.claims_table import claims_markdown

STUDIES = all_studies()


def runs(accuracies, seeds=None, histories=None):
    """Records with these test accuracies (and per-epoch histories), seeds 0, 1, ..."""
    seeds = range(len(accuracies)) if seeds is None else seeds
    histories = histories or [{}] * len(accuracies)
    return [
        RunRecord(f"r{s}", "dense", {}, s, test_accuracy=a, history=h)
        for s, a, h in zip(seeds, accuracies, histories, strict=True)
    ]


def no_gain(kind="not_better", versus=("b",), margin=1.0):
    return Claim(
        "x", "S", "no gain", kind, "t", "a", "", tuple(("t", v) for v in versus), "", margin
    )


def judged(c, tables):
    return judge([c], {"x": {"t": tables}}).iloc[0]


def pair(diffs, base=0.85):
    """The subject ``a`` and a row ``b`` whose paired differences b - a are ``diffs`` points."""
    return {"a": runs([base] * len(diffs)), "b": runs([base + d / 100 for d in diffs])}


def test_a_difference_within_the_margin_is_supported():
    diffs = [0.1, -0.2, 0.05, 0.15, -0.1]
    row = judged(no_gain(), pair(diffs))
    assert row["verdict"] == "supported" and row["level"] == pytest.approx(0.9)
    half = stats.t.ppf(0.95, 4) * np.std(diffs, ddof=1) / math.sqrt(5)  # the 90 % interval
    assert row["ci_high"] == pytest.approx(np.mean(diffs) + half)
    assert row["ci_high"] < 1 and "margin +1 point" in row["comparison"] and row["p"] < ALPHA


def test_a_non_significant_gain_above_the_margin_is_no_support():
    # a +1.69 point gain whose 95 % interval spans zero (the old rule called it support)
    diffs = [0.78, 1.55, 2.74]
    row = judged(no_gain(), pair(diffs))
    assert row["effect"] == pytest.approx(np.mean(diffs))
    assert stats.ttest_1samp(diffs, 0).pvalue > 0.05
    assert row["ci_low"] < 1 < row["ci_high"] and row["verdict"] == "not resolved"


def test_a_gain_wholly_beyond_the_margin_is_reversed():
    row = judged(no_gain(versus=("b", "c")), pair([2.0, 2.2, 1.9, 2.1]) | {"c": runs([0.85] * 4)})
    assert row["verdict"] == "reversed" and row["ci_low"] > 1
    assert "row b − row a" in row["comparison"] and "beyond it: row b" in row["comparison"]
    # a loss, however large, does not contradict "no gain", but it contradicts "similar"
    loss = pair([-2.0, -2.2, -1.9, -2.1])
    assert judged(no_gain(), loss)["verdict"] == "supported"
    assert judged(no_gain("similar"), loss)["verdict"] == "reversed"


def test_a_small_significant_gap_inside_the_margin_supports_similarity():
    # +0.5 points, significant in a t-test, yet within a margin of 1: similar, as claimed
    row = judged(no_gain("similar"), pair([0.45, 0.5, 0.55, 0.5, 0.48]))
    assert row["verdict"] == "supported"
    # the same gap against a margin of 0.25 points lies wholly beyond it
    assert judged(no_gain("similar", margin=0.25), pair([0.45, 0.5, 0.55]))["verdict"] == "reversed"


def test_an_unresolved_claim_says_how_many_seeds_would_resolve_it():
    diffs = np.array([0.9, -0.3, 0.6])  # mean 0.4, sd 0.62: the interval reaches past +1
    row = judged(no_gain(), pair(list(diffs)))
    assert row["verdict"] == "not resolved"
    n, sd = row["seeds_needed"], np.std(diffs, ddof=1)
    assert n == seeds_needed(sd, 1 - diffs.mean())
    quantile = lambda k: stats.t.ppf(1 - ALPHA, k - 1) + stats.t.ppf(POWER, k - 1)  # noqa: E731
    assert quantile(n) * sd / math.sqrt(n) <= 0.6 < quantile(n - 1) * sd / math.sqrt(n - 1)
    # n seeds with the same mean and spread resolve it
    more = diffs.mean() + sd * stats.zscore(np.arange(n)) * math.sqrt((n - 1) / n)
    assert np.std(more, ddof=1) == pytest.approx(sd)
    assert judged(no_gain(), pair(list(more)))["verdict"] == "supported"
    text = claims_markdown(judge([no_gain()], {"x": {"t": pair(list(diffs))}}), legend=False)
    assert f"**not resolved** (about {n} seeds)" in text and " 90 %" in text
    # an effect lost in noise needs more seeds than is worth saying
    assert seeds_needed(1.0, 0.01) == math.inf
    tiny = judge([no_gain("similar", margin=0.01)], {"x": {"t": pair([0.3, -0.3, 0.1])}})
    assert "(more than 100 seeds)" in claims_markdown(tiny, legend=False)


def history(train, val):
    return {"accuracy": list(train), "val_accuracy": list(val)}


def gap_claim(kind="gap", size="1-2"):
    return Claim("x", "S", "gap", kind, "t", "a", "", (), "", 1.0, size)


def with_gaps(gaps, val=0.9):
    """Runs ending with training accuracy ``gaps`` points above ``val``."""
    return {
        "a": runs(
            [0.88] * len(gaps), histories=[history([0.5, val + g / 100], [0.5, val]) for g in gaps]
        )
    }


def test_a_stated_size_is_read_to_its_rounding():
    assert stated_range("1-2") == (0.5, 2.5)
    assert stated_range("89.5-90") == pytest.approx((89.45, 90.5))
    for bad in ("2-1", "1", "a-b"):
        with pytest.raises(ConfigError, match="LOW-HIGH"):
            stated_range(bad)


@pytest.mark.parametrize(
    ("gaps", "verdict"),
    [
        ([1.6, 1.8, 1.7, 1.75], "supported"),
        ([3.4, 3.6, 3.5], "reversed"),
        ([0.2, 0.25, 0.3], "reversed"),
        ([1.5, 3.5, 2.4], "not resolved"),
    ],
)
def test_the_final_gap_between_training_and_validation_against_a_stated_size(gaps, verdict):
    row = judged(gap_claim(), with_gaps(gaps))
    assert row["verdict"] == verdict and row["effect"] == pytest.approx(np.mean(gaps))
    assert "training − validation accuracy at the final epoch (2)" in row["comparison"]
    assert "read as 0.5 to 2.5 points" in row["comparison"]
    assert (
        (row["seeds_needed"] > 2) if verdict == "not resolved" else math.isnan(row["seeds_needed"])
    )


def test_the_final_validation_accuracy_against_a_stated_range():
    assert (
        judged(gap_claim("final_val", "89-90"), with_gaps([1, 1, 1.1], val=0.897))["verdict"]
        == "supported"
    )
    row = judged(gap_claim("final_val", "89-90"), with_gaps([1, 1, 1.1], val=0.907))
    assert row["verdict"] == "reversed" and row["effect"] == pytest.approx(90.7)
    assert judged(gap_claim(), {"a": runs([0.9])})["verdict"] == "not run"  # no history


def test_more_epochs_against_fewer_in_the_same_runs():
    c = Claim("x", "S", "10 beat 5", "epoch_gain", "t", "a", "better", (("t", "2"),))
    rising = [history([0.5] * 3, [0.80, 0.85, 0.86 + d]) for d in (0.001, 0.002, 0.0015)]
    row = judged(c, {"a": runs([0.9] * 3, histories=rising)})
    assert row["verdict"] == "supported" and row["effect"] == pytest.approx(1.15)
    assert row["comparison"] == "row a: validation accuracy at epoch 3 − at epoch 2"
    flat = [history([0.5] * 3, [0.8, 0.85, 0.85 + d]) for d in (0.002, -0.002, 0.001)]
    assert judged(c, {"a": runs([0.9] * 3, histories=flat)})["verdict"] == "not resolved"


def test_the_csv_gives_each_claim_of_no_difference_its_margin_and_each_size_claim_its_size():
    claims = read_claims(CLAIMS_CSV, STUDIES)
    for c in claims:
        if c.kind in ("not_better", "similar"):
            assert c.margin > 0
        if c.kind in ("gap", "final_val"):
            assert stated_range(c.size)
    kinds = {(c.study, c.kind) for c in claims}
    assert {
        ("dense-l2", "gap"),
        ("lenet", "gap"),
        ("lenet", "final_val"),
        ("lenet", "epoch_gain"),
    } <= kinds
    assert not any("700-200-50" in c.claim for c in claims)  # Hippe never says so


@pytest.mark.parametrize(
    ("kind", "subject", "versus", "margin", "size", "message"),
    [
        ("rows", "4", "", "1", "", "a margin is for not_better and similar claims"),
        ("not_better", "4", "5", "-1", "", "a margin is a positive number"),
        ("gap", "4", "", "", "", "a gap claim needs its stated size"),
        ("gap", "4", "", "", "2-1", "needs LOW below HIGH"),
        ("rows", "4", "", "", "1-2", "a size is for gap, final_val and converges claims"),
        ("epoch_gain", "4", "x", "", "", "versus is one epoch number"),
        ("gap", "4", "5", "", "1-2", "a gap claim compares no rows"),
    ],
)
def test_a_bad_margin_or_size_is_a_one_line_error(
    tmp_path, kind, subject, versus, margin, size, message
):
    path = tmp_path / "claims.csv"
    head = "study,section,claim,kind,table,subject,direction,versus,margin,size,note\n"
    path.write_text(
        head + f"chenab,T2,c,{kind},optimizer_lr,{subject},,{versus},{margin},{size},\n"
    )
    with pytest.raises(ConfigError, match=f"claims.csv line 2: .*{message}"):
        read_claims(path, STUDIES)


def test_faster_convergence_is_higher_validation_accuracy_after_the_stated_epochs():
    def converges(direction="better"):
        return Claim(
            "x", "S", "fast", "converges", "t", "a", direction, (("t", "b"),), "", 1.0, "2"
        )

    fast = [history([0.5] * 3, [0.70, 0.84 + d, 0.86]) for d in (0.001, 0.003, 0.002)]
    slow = [history([0.5] * 3, [0.60, 0.80 + d, 0.86]) for d in (0.002, 0.001, 0.0)]
    tables = {"a": runs([0.86] * 3, histories=fast), "b": runs([0.86] * 3, histories=slow)}
    row = judged(converges(), tables)
    # the final test accuracies are equal: only the epoch-2 validation accuracy decides
    assert row["verdict"] == "supported" and row["effect"] == pytest.approx(4.1)
    assert row["comparison"].endswith("; validation accuracy after epoch 2")
    assert judged(converges("worse"), tables)["verdict"] == "reversed"
    short = {"a": runs([0.86] * 3, histories=[history([0.5], [0.7])] * 3), "b": tables["b"]}
    assert judged(converges(), short)["verdict"] == "not run"  # stopped before epoch 2
    line = {
        "study": "chenab", "section": "S", "claim": "c", "kind": "converges", "table": "init",
        "subject": "2", "direction": "", "versus": "1", "margin": "", "size": "0", "note": "",
    }  # fmt: skip
    with pytest.raises(ConfigError, match="a converges claim's size is an epoch number"):
        read_claims_line(line)


def read_claims_line(line):
    from keras_fcn.replication.claims import _claim

    return _claim(line, STUDIES)


def test_a_larger_change_compares_two_changes_from_one_row_paired_by_seed():
    c = Claim("x", "S", "depth over width", "larger_change", "t", "a", "",
              (("t~deeper", "a"), ("t~wider", "a")), "", 1.0)  # fmt: skip

    def ending(*values):
        return runs([0.9] * len(values), histories=[history([0.5], [v]) for v in values])

    tables = {
        "t": {"a": ending(0.880, 0.882, 0.879)},
        "t~deeper": {"a": ending(0.900, 0.905, 0.898)},  # +2 points
        "t~wider": {"a": ending(0.882, 0.880, 0.881)},  # about 0
    }
    row = judge([c], {"x": tables}).iloc[0]
    assert row["verdict"] == "supported" and row["effect"] == pytest.approx(1.8, abs=0.1)
    assert row["comparison"].startswith("|t~deeper row a − row a| − |t~wider row a − row a|")
    swapped = dataclasses.replace(c, versus=c.versus[::-1])
    assert judge([swapped], {"x": tables}).iloc[0]["verdict"] == "reversed"


def test_claims_may_name_the_rows_of_a_studys_variants():
    claims = {c.claim: c for c in read_claims(CLAIMS_CSV, STUDIES)}
    tanh = claims["ReLU does as well as tanh"]
    assert tanh.kind == "similar" and tanh.versus == (("final~tanh", "1"),)
    line = {
        "study": "dense-l2", "section": "S", "claim": "c", "kind": "similar", "table": "final",
        "subject": "1", "direction": "", "versus": "final~nope:1", "margin": "", "size": "",
        "note": "",
    }  # fmt: skip
    with pytest.raises(ConfigError, match="has no row '1' in table 'final~nope'"):
        read_claims_line(line)
