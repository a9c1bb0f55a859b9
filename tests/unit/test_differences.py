"""Where a study differs from its published rows, and the cause its checks found."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd

from keras_fcn.record import RunRecord
from keras_fcn.replication.variants import Variant, VariantRow
from keras_fcn.reporting.differences import differences, differences_markdown


def _line(row: str, published: float, ours: float, verdict: str) -> dict:
    return {
        "table": "t", "row": row, "metric": "test_accuracy", "published": published,
        "published_std": math.nan, "ours": ours, "difference": ours - published,
        "verdict": verdict,
    }  # fmt: skip


def _records(*accuracies: float) -> tuple[RunRecord, ...]:
    return tuple(
        dataclasses.replace(
            RunRecord(f"r{i}", "dense", {}, i), test_accuracy=a, best_val_accuracy=a
        )
        for i, a in enumerate(accuracies)
    )


def test_each_row_outside_the_spread_gets_the_cause_its_checks_found():
    comparison = pd.DataFrame(
        [
            _line("1", 0.84, 0.84, "within seed spread"),
            _line("2", 0.80, 0.60, "ours lower"),  # a variant closes it
            _line("3", 0.90, 0.88, "ours lower"),  # PyTorch lands with ours
            _line("4", 0.90, 0.85, "ours lower"),  # nothing was run on it
        ]
    )
    reading = Variant("other_reading", "read another way", {}, (("t", "2"),))
    variants = [VariantRow(reading, "t", "2", (), _records(0.6, 0.6), _records(0.8, 0.802))]
    crosscheck = pd.DataFrame(
        [{"table": "t", "row": "3", "metric": "test_accuracy", "pytorch": 0.881, "pytorch_n": 3,
          "reading": "PyTorch and ours agree, both differ from the paper: the paper's difference"}]
    )  # fmt: skip
    table = differences(comparison, variants, crosscheck)
    assert list(table["row"]) == ["t 2", "t 3", "t 4"]
    causes = dict(zip(table["row"], table["what was tested, and what it says"], strict=True))
    assert causes["t 2"].startswith("closed by other_reading gives 80.10")
    assert causes["t 3"].startswith("the study's: a plain PyTorch loop gives 88.10")
    assert causes["t 4"] == "not isolated: no check was run on this row"
    assert "| t 2   | test     | -20.00" in differences_markdown(table)


def test_a_check_that_does_not_close_the_gap_says_so():
    comparison = pd.DataFrame([_line("2", 0.80, 0.60, "ours lower")])
    reading = Variant("other_reading", "read another way", {}, (("t", "2"),))
    variants = [VariantRow(reading, "t", "2", (), _records(0.6), _records(0.61, 0.62))]
    [cause] = differences(comparison, variants)["what was tested, and what it says"]
    assert "does not close it" in cause and cause.endswith("not isolated: no check closes the gap")
    within = differences(pd.DataFrame([_line("1", 0.8, 0.8, "within seed spread")]))
    assert differences_markdown(within).startswith("Every published row lies within")


def test_a_check_of_one_row_serves_the_rows_of_other_tables_that_train_the_same_run():
    comparison = pd.DataFrame([_line("1", 0.86, 0.85, "ours lower")])
    comparison = pd.concat([comparison, comparison.assign(table="u")], ignore_index=True)
    crosscheck = pd.DataFrame(
        [{"table": "t", "row": "1", "metric": "test_accuracy", "pytorch": 0.85, "pytorch_n": 3,
          "reading": "PyTorch and ours agree, both differ from the paper: the paper's difference"}]
    )  # fmt: skip
    same = {("t", "1"): "run-a", ("u", "1"): "run-a"}
    causes = list(
        differences(comparison, (), crosscheck, same)["what was tested, and what it says"]
    )
    assert all(cause.startswith("the study's: a plain PyTorch loop") for cause in causes)
    alone = differences(comparison, (), crosscheck)["what was tested, and what it says"]
    assert list(alone)[1] == "not isolated: no check was run on this row"
