from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.protocol import Protocol, TableSpec, read_published, reproduce, verdict
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.seed_studies import DENSE_PROTOCOLS, KONYCHEVA

PUBLISHED = Path(__file__).parent.parent / "experiments" / "published"


@pytest.mark.parametrize("name", sorted(DENSE_PROTOCOLS))
def test_every_study_builds_its_runs_without_training(name, tmp_path):
    protocol = DENSE_PROTOCOLS[name]
    results = reproduce(protocol, DENSE, PUBLISHED, RunStore(tmp_path / "r.jsonl"), seeds=[1, 2],
                        load=lambda d: pytest.fail("a dry run loads no data"), dry_run=True)  # fmt: skip
    assert [r.spec.name for r in results] == [t.name for t in protocol.tables]
    runs = [run for r in results for _, run in r.rows if run is not None]
    assert runs, "every study has runs"
    published_rows = read_published(PUBLISHED / protocol.published)
    assert {r.table for r in published_rows} == {t.name for t in protocol.tables}


def test_published_values_are_fractions_with_a_metric():
    for path in PUBLISHED.glob("*.csv"):
        frame = pd.read_csv(path)
        assert frame["value"].between(0, 1).all(), path.name
        assert set(frame["metric"]) <= {"test_accuracy", "val_accuracy"}, path.name


def test_chenab_tables_hold_the_published_numbers():
    rows = {(r.table, r.row): r for r in read_published(PUBLISHED / "chenab.csv")}
    adam = rows[("optimizer_lr", "4")]
    assert adam.settings == {"optimizer": "adam", "learning_rate": "0.001"}
    assert adam.values["test_accuracy"][0] == pytest.approx(0.8911)
    assert rows[("baseline", "1")].values["test_accuracy"][0] == pytest.approx(0.8568)


def _trainer_by_lr(calls):
    def trainer(family, run, data):
        calls.append(run)
        score = {0.005: 0.9, 0.01: 0.8}.get(run.train.learning_rate, 0.5)
        if run.model.hidden == (256, 128, 64):
            score += 0.05
        return RunRecord(run.run_id, family.name, run.to_dict(), run.train.seed,
                         test_accuracy=score, best_val_accuracy=score)  # fmt: skip

    return trainer


def test_sequential_study_carries_the_best_choice_on_validation(tmp_path):
    calls = []
    results = reproduce(KONYCHEVA, DENSE, PUBLISHED, RunStore(tmp_path / "r.jsonl"), seeds=[1],
                        load=lambda d: None, trainer=_trainer_by_lr(calls))  # fmt: skip
    by_name = {r.spec.name: r for r in results}
    assert by_name["optimizer"].carried == {"hidden": (256, 128, 64)}
    assert by_name["activation"].carried["learning_rate"] == 0.005
    final = [run for _, run in by_name["final"].rows][0]
    assert final.model.hidden == (256, 128, 64) and final.train.learning_rate == 0.005
    assert final.train.batch_size == 64 and final.train.patience == 3 and final.data.standardize
    # runs shared between tables (the final run is the best activation's) are trained once
    assert len(calls) == len({c.run_id for c in calls})
    comparison = by_name["topology"].comparison
    assert list(comparison.columns[:4]) == ["table", "row", "dataset", "setting"]
    assert comparison.loc[comparison["row"] == "T4", "ours"].item() == pytest.approx(0.85)


def test_only_runs_one_table_and_unknown_tables_are_rejected(tmp_path):
    calls = []
    reproduce(KONYCHEVA, DENSE, PUBLISHED, RunStore(tmp_path / "r.jsonl"), seeds=[1], load=lambda d: None,
              trainer=_trainer_by_lr(calls), only=["learning_rate"])  # fmt: skip
    assert {c.train.learning_rate for c in calls} == {0.001, 0.005, 0.01, 0.05, 0.1}
    # without records of the earlier tables, the published choice (T4, Adam) is carried
    assert {c.model.hidden for c in calls} == {(256, 128, 64)} and {
        c.train.optimizer for c in calls
    } == {"adam"}
    with pytest.raises(ConfigError, match="has no table 'nope'; its tables: topology"):
        reproduce(
            KONYCHEVA,
            DENSE,
            PUBLISHED,
            RunStore(tmp_path / "r.jsonl"),
            seeds=[1],
            load=lambda d: None,
            only=["nope"],
        )


def test_verdicts():
    assert verdict(0.85, 0.851, 0.002, 3, 0) == "within seed spread"
    assert verdict(0.85, 0.87, 0.002, 3, 0) == "ours higher"
    assert verdict(0.85, 0.80, 0.002, 3, 0) == "ours lower"
    assert verdict(0.19, float("nan"), float("nan"), 0, 3) == "diverged"


def test_a_protocol_with_a_blank_table_still_reports(tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_text("study,table,row,dataset,metric,value,std,source_unit,note,optimizer\n"
                   "x,t,1,fashion_mnist,test_accuracy,0.5,,percent,,adam\n")  # fmt: skip
    protocol = Protocol("x", "test", "dense", "x.csv", {}, (TableSpec("t", "T"),))
    calls = []
    [result] = reproduce(protocol, DENSE, tmp_path, RunStore(tmp_path / "r.jsonl"), seeds=[1, 2],
                         load=lambda d: None, trainer=_trainer_by_lr(calls))  # fmt: skip
    assert len(calls) == 2 and result.comparison["n"].item() == 2
    assert result.comparison["verdict"].item() == "ours higher"  # 0.5 published, ours 0.8 +- 0
