"""The published studies' claims: the CSV against the studies, and verdicts on chosen records."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.replication import all_studies
from keras_fcn.replication.claims import (
    CLAIMS_CSV,
    KINDS,
    Claim,
    factor_table,
    factor_value,
    judge,
    read_claims,
    spreads,
    variant_rows_of,
)
from keras_fcn.replication.protocol import read_published
from keras_fcn.replication.rerun import RerunOptions, reproduce
from keras_fcn.reporting.claims_table import LEGEND, claims_markdown, p_value, points

STUDIES = all_studies()
SEEDS = (0, 1, 2, 3, 4)


def runs(accuracies, seeds=SEEDS, **config):
    """Records with these test accuracies, one per seed; ``config`` goes in the model part."""
    return [
        RunRecord(
            run_id=f"r{s}-{a}",
            family="dense",
            config={"model": dict(config)},
            seed=s,
            test_accuracy=a,
        )
        for s, a in zip(seeds, accuracies, strict=True)
    ]


def claim(kind="rows", subject="a", versus=(("t", "b"),), direction="better"):
    return Claim("x", "S1", "a beats b", kind, "t", subject, direction, tuple(versus))


def verdict_of(c, tables, grids=None):
    frame = judge([c], {"x": tables}, grids)
    assert list(frame["study"]) == ["x"]
    return frame.iloc[0]


NOISE = np.array([0.001, -0.002, 0.0005, 0.0015, -0.001])


def test_the_claims_csv_names_existing_study_tables_and_rows():
    claims = read_claims(CLAIMS_CSV, STUDIES)
    with open(CLAIMS_CSV, newline="") as f:
        lines = list(csv.DictReader(f))
    assert len(claims) == len(lines) > 0
    assert {c.study for c in claims} == set(STUDIES)  # every study is read for its claims
    for c in claims:
        assert c.kind in KINDS and c.claim and c.section
        if c.kind in ("rows", "not_better", "similar"):
            protocol = STUDIES[c.study]
            rows = {(r.table, r.row) for r in read_published(protocol.path(protocol.published))}
            rows |= set(variant_rows_of(protocol))  # TABLE~VARIANT: a variant's rows
            assert (c.table, c.subject) in rows, c
            assert c.versus and set(c.versus) <= rows and (c.table, c.subject) not in c.versus
        if c.kind == "untestable":
            assert c.note, c


def test_an_empty_versus_means_every_other_row_of_the_table():
    (topology,) = [c for c in read_claims(CLAIMS_CSV, STUDIES) if c.table == "topology"]
    assert topology.subject == "T4"
    assert [r for _, r in topology.versus] == ["T1", "T2", "T3", "T5"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"study": "nobody"}, "unknown study 'nobody'"),
        ({"table": "nope"}, "has no table 'nope'"),
        ({"subject": "99"}, "no row '99' in table 'optimizer_lr'"),
        ({"versus": "1;baseline:7"}, "no row '7' in table 'baseline'"),
        ({"kind": "vibes"}, "unknown kind 'vibes'"),
        ({"direction": "sideways"}, "direction must be better or worse"),
    ],
)
def test_a_bad_claim_line_is_a_one_line_error_naming_the_line(tmp_path, change, message):
    line = {"study": "chenab", "section": "T2", "claim": "c", "kind": "rows"}
    line |= {"table": "optimizer_lr", "subject": "4", "direction": "", "versus": "", "note": ""}
    path = tmp_path / "claims.csv"
    good = ",".join(line.values())
    bad = ",".join((line | change).values())
    path.write_text(",".join(line) + "\n" + good + "\n" + bad + "\n")
    with pytest.raises(ConfigError) as info:
        read_claims(path, STUDIES)
    text = str(info.value)
    assert text.startswith("claims.csv line 3:") and message in text and "\n" not in text


def test_a_factor_claim_needs_a_factor_of_the_study_grid(tmp_path):
    path = tmp_path / "claims.csv"
    head = "study,section,claim,kind,table,subject,direction,versus,note\n"
    path.write_text(head + "lybbert,5,c,factor_spread,,colour,,,\n")
    with pytest.raises(ConfigError, match="line 2: the grid of 'lybbert' has no factor 'colour'"):
        read_claims(path, STUDIES)
    path.write_text(head + "hippe,5,c,factor_level,,initializer=x,worse,,\n")
    with pytest.raises(ConfigError, match="line 2: study 'hippe' has no grid"):
        read_claims(path, STUDIES)


def test_a_clearly_better_row_is_supported():
    tables = {"t": {"a": runs(0.90 + NOISE), "b": runs(0.88 + NOISE[::-1]), "c": runs([0.5] * 5)}}
    row = verdict_of(claim(versus=(("t", "b"), ("t", "c"))), tables)
    assert row["verdict"] == "supported"
    assert "row b" in row["comparison"] and "strongest of 2" in row["comparison"]
    assert row["effect"] == pytest.approx(2.0, abs=0.1) and row["p"] < 0.05
    assert row["ci_low"] < row["effect"] < row["ci_high"] and row["n"] == 5


def test_a_clearly_worse_row_is_reversed():
    tables = {"t": {"a": runs(0.85 + NOISE), "b": runs(0.88 + NOISE[::-1])}}
    row = verdict_of(claim(), tables)
    assert row["verdict"] == "reversed" and row["effect"] < 0 and row["ci_high"] < 0


def test_a_row_claimed_worse_meets_the_weakest_competitor():
    tables = {"t": {"a": runs(0.70 + NOISE), "b": runs(0.88 + NOISE), "c": runs(0.75 + NOISE)}}
    row = verdict_of(claim(direction="worse", versus=(("t", "b"), ("t", "c"))), tables)
    assert row["verdict"] == "supported" and row["comparison"].startswith("row c − row a")
    assert row["effect"] == pytest.approx(5.0)


def test_a_difference_within_seed_noise_is_not_resolved():
    rng = np.random.default_rng(0)
    noisy = 0.88 + rng.normal(0, 0.01, size=(2, 5))
    tables = {"t": {"a": runs(noisy[0] + 0.001), "b": runs(noisy[1])}}
    row = verdict_of(claim(), tables)
    assert row["verdict"] == "not resolved" and row["p"] >= 0.05
    assert row["ci_low"] < 0 < row["ci_high"]


def test_one_seed_is_too_few_and_missing_rows_are_not_run():
    one = {"t": {"a": runs([0.9], seeds=(0,)), "b": runs([0.8], seeds=(0,))}}
    assert verdict_of(claim(), one)["verdict"] == "too few seeds"
    # seeds that do not pair are compared unpaired (Welch), not dropped
    unpaired = {"t": {"a": runs([0.9, 0.91], seeds=(0, 1)), "b": runs([0.8, 0.81], seeds=(2, 3))}}
    row = verdict_of(claim(), unpaired)
    assert row["effect"] == pytest.approx(10.0) and row["n"] == 2
    assert row["ci_low"] == pytest.approx(10.0 - stats.t.ppf(0.975, 2) * math.sqrt(0.5))
    assert verdict_of(claim(), {"t": {"a": runs([0.9] * 5)}})["verdict"] == "not run"
    assert verdict_of(claim(), {})["verdict"] == "not run"
    failed = runs([0.9] * 5)
    for r in failed:
        r.status = "failed"
    assert verdict_of(claim(), {"t": {"a": failed, "b": runs([0.8] * 5)}})["verdict"] == "not run"


def test_a_single_deterministic_run_is_compared_by_its_value():
    knn = runs([0.854], seeds=(0,))  # a classical baseline's record has seed 0
    knn[0].family = "knn-5"
    tables = {"t": {"a": runs(0.90 + NOISE), "knn": knn}}
    row = verdict_of(claim(versus=(("t", "knn"),)), tables)
    assert row["verdict"] == "supported" and row["effect"] == pytest.approx(4.6, abs=0.01)
    assert row["n"] == 5
    # one run of the same family is one seed, not a fixed value
    tables["t"]["knn"] = runs([0.854], seeds=(0,))
    assert verdict_of(claim(versus=(("t", "knn"),)), tables)["verdict"] == "too few seeds"


def test_a_row_of_another_table_can_be_the_competitor():
    tables = {"t": {"a": runs(0.86 + NOISE)}, "base": {"1": runs(0.85 + NOISE[::-1])}}
    row = verdict_of(claim(versus=(("base", "1"),)), tables)
    assert row["verdict"] == "supported" and "base row 1" in row["comparison"]


def grid():
    """A grid where the initializer moves accuracy by 10 points and the rest by about 1."""
    records = []
    for i, (init, lr, bn) in enumerate(
        (i, lr, bn) for i in ("he", "xavier", "normal") for lr in (0.1, 0.01) for bn in (1, 0)
    ):
        acc = 0.88 - (0.10 if init == "normal" else 0) + (0.01 if lr == 0.01 else 0) + 0.001 * bn
        records += runs([acc + NOISE[i % 5]], seeds=(i,), initializer=init, lr=lr, bn=bn)
    return records


def test_the_factor_spread_picks_the_factor_that_moves_accuracy_most():
    records = grid()
    ranked = spreads(records, ["lr", "bn", "initializer"])
    assert list(ranked) == ["initializer", "lr", "bn"]
    spread = claim(kind="factor_spread", subject="initializer", versus=())
    row = verdict_of(spread, {}, {"x": (records, ["lr", "bn", "initializer"])})
    margin = ranked["initializer"] - ranked["lr"]  # over the next factor
    assert row["verdict"] == "supported" and row["effect"] == pytest.approx(margin)
    assert "initializer" in row["comparison"] and "lr" in row["comparison"]
    wrong = claim(kind="factor_spread", subject="lr", versus=())
    grids = {"x": (records, ["lr", "bn", "initializer"])}
    assert verdict_of(wrong, {}, grids)["verdict"] == "reversed"
    assert verdict_of(wrong, {}, {})["verdict"] == "not run"


def test_the_grid_factor_table_shows_each_value_mean_and_count_by_spread():
    table = factor_table(grid(), ["lr", "bn", "initializer"])
    assert list(table["factor"]) == ["initializer", "lr", "bn"]
    first = table.iloc[0]
    # he and xavier at 88 % and up, normal 10 points lower; four runs at each value
    assert first["mean % (runs)"].endswith(", normal 78.54 (4)")
    assert first["spread (points)"] == f"{spreads(grid(), ['initializer'])['initializer']:.2f}"


def test_a_spread_claim_needs_two_runs_at_every_value_and_carries_an_interval():
    records = grid()
    spread = claim(kind="factor_spread", subject="initializer", versus=())
    factors = ["lr", "bn", "initializer"]
    row = verdict_of(spread, {}, {"x": (records, factors)})
    assert row["ci_low"] > 0 and row["ci_low"] < row["effect"] < row["ci_high"] and row["p"] < 0.05
    # two runs rank every factor alike: no verdict but that there are too few
    assert verdict_of(spread, {}, {"x": (records[:2], factors)})["verdict"] == "too few runs"
    # factors that move accuracy by the same noise: neither ranking is significant
    flat = [
        runs([0.88 + NOISE[i % 5]], seeds=(i,), initializer=init, lr=lr, bn=0)
        for i, (init, lr) in enumerate((i, lr) for i in ("a", "b") for lr in (1, 2) for _ in "xyz")
    ]
    row = verdict_of(spread, {}, {"x": ([r for rs in flat for r in rs], ["lr", "initializer"])})
    assert row["verdict"] == "not resolved" and row["ci_low"] < 0 < row["ci_high"]


def test_a_factor_set_per_layer_is_read_as_one_factor_per_layer():
    # 16 dropout pairs that do nothing but carry noise, against an initializer worth 3 points:
    # as 16 values the pairs' max - min of few-run means would rank first
    rng = np.random.default_rng(1)
    rates, records = (0.5, 0.3, 0.2, 0.1), []
    for i in range(96):
        init = ("he", "normal")[i % 2]
        pair = [rates[i // 2 % 4], rates[i // 8 % 4]]
        acc = 0.88 - 0.03 * (init == "normal") + rng.normal(0, 0.01)
        records += runs([acc], seeds=(i,), initializer=init, dropout=pair, hidden=[1024, 256])
    factors = ["dropout", "initializer", "hidden"]
    assert len({factor_value(r, "dropout") for r in records}) == 16
    ranked = spreads(records, factors)
    assert set(ranked) == {"initializer", "dropout 1", "dropout 2"}  # "hidden" never varies
    assert list(ranked)[0] == "initializer"
    spread = claim(kind="factor_spread", subject="initializer", versus=())
    row = verdict_of(spread, {}, {"x": (records, factors)})
    next_one = max(ranked["dropout 1"], ranked["dropout 2"])
    assert row["effect"] == pytest.approx(ranked["initializer"] - next_one)
    assert row["verdict"] == "supported"
    # a claim about a per-layer factor is its largest layer against the rest
    of_dropout = claim(kind="factor_spread", subject="dropout", versus=())
    assert verdict_of(of_dropout, {}, {"x": (records, factors)})["verdict"] == "reversed"
    assert list(factor_table(records, factors)["factor"]) == list(ranked)


def test_a_factor_level_is_tested_against_the_other_values():
    grids = {"x": (grid(), ["initializer"])}
    worse = claim(kind="factor_level", subject="initializer=normal", direction="worse", versus=())
    row = verdict_of(worse, {}, grids)
    assert row["verdict"] == "supported" and row["effect"] > 9 and row["p"] < 0.05
    assert "4 vs 8 runs" in row["comparison"]
    better = claim(kind="factor_level", subject="initializer=normal", versus=())
    assert verdict_of(better, {}, grids)["verdict"] == "reversed"


def test_a_factor_that_matters_is_supported_and_one_that_does_not_is_not_resolved():
    records = grid()
    grids = {"x": (records, ["initializer", "lr", "bn"])}
    init = verdict_of(claim(kind="factor_matters", subject="initializer", versus=()), {}, grids)
    assert init["verdict"] == "supported" and init["p"] < 0.05
    assert init["effect"] == pytest.approx(spreads(records, ["initializer"])["initializer"])
    assert init["ci_low"] <= init["effect"] <= init["ci_high"]
    assert "3 values (4, 4, 4 runs)" in init["comparison"]
    # batch norm moves accuracy by 0.1 points against noise of 0.1-0.2: nothing to claim
    bn = verdict_of(claim(kind="factor_matters", subject="bn", versus=()), {}, grids)
    assert bn["verdict"] == "not resolved" and bn["p"] >= 0.05
    lone = grids["x"][0][:9]  # one run at the third initializer
    few = {"x": (lone, ["initializer"])}
    matters = claim(kind="factor_matters", subject="initializer", versus=())
    assert verdict_of(matters, {}, few)["verdict"] == "too few runs"


def test_every_claim_of_the_csv_is_judged_without_runs():
    frame = judge(read_claims(CLAIMS_CSV, STUDIES), {})
    assert set(frame["verdict"]) == {"not run", "untestable"}
    assert frame.loc[frame["verdict"] == "untestable", "comparison"].str.len().gt(0).all()


def test_the_markdown_table_rounds_and_explains_its_verdicts():
    assert points(1.23456) == "+1.23" and points(math.nan) == ""
    assert p_value(0.012345) == "0.012" and p_value(0.5) == "0.5" and p_value(math.nan) == ""
    frame = pd.DataFrame(
        [
            {
                "study": "x",
                "section": "S",
                "claim": "a beats b",
                "comparison": "row a − row b",
                "effect": 2.0,
                "ci_low": 1.5,
                "ci_high": 2.5,
                "p": 0.0001234,
                "n": 5,
                "verdict": "supported",
            },
        ]
    )
    text = claims_markdown(frame)
    assert "| +2.00 " in text and "[+1.50, +2.50]" in text and "0.00012" in text
    assert "**supported**" in text and text.rstrip().endswith(LEGEND)
    for verdict in (
        "supported",
        "reversed",
        "not resolved",
        "too few seeds",
        "too few runs",
        "not run",
    ):
        assert f"**{verdict}**" in LEGEND


def test_a_constant_difference_over_seeds_counts_as_significant():
    tables = {"t": {"a": runs([0.9] * 5), "b": runs([0.89] * 5)}}
    row = verdict_of(claim(), tables)
    assert row["verdict"] == "supported" and row["p"] == 0 and row["ci_low"] == row["effect"]
    same = {"t": {"a": runs([0.9] * 5), "b": runs([0.9] * 5)}}
    assert verdict_of(claim(), same)["verdict"] == "not resolved"


def test_the_records_of_a_reproduced_study_are_what_judge_reads(tmp_path):
    def trainer(family, run, data):
        score = {0.005: 0.9, 0.01: 0.8}.get(run.train.learning_rate, 0.5) + run.train.seed / 1000
        score += 0.05 if run.model.hidden == (256, 128, 64) else 0.0
        return RunRecord(
            run.run_id, family.name, run.to_dict(), run.train.seed, test_accuracy=score
        )

    store = RunStore(tmp_path / "runs.jsonl")
    results = reproduce(
        STUDIES["konycheva"],
        DENSE,
        store,
        RerunOptions(seeds=[1, 2, 3], load=lambda d: None, trainer=trainer),
    )
    claims = [c for c in read_claims(CLAIMS_CSV, STUDIES) if c.study == "konycheva"]
    frame = judge(claims, {"konycheva": {r.spec.name: r.records for r in results}})
    verdicts = dict(zip(frame["claim"], frame["verdict"], strict=True))
    assert verdicts["three hidden layers (T4) is the best topology"] == "supported"
    assert verdicts["lr 0.005 is the best rate for Adam"] == "supported"
    # the optimizers and activations tie in this trainer: nothing to resolve
    assert verdicts["Adam is the best optimizer at lr 0.01"] == "not resolved"
    assert verdicts["ReLU is the best activation"] == "not resolved"
    assert set(frame["n"]) == {3}
