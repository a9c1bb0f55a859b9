"""Published studies: their CSVs, their protocols re-run table by table, and the registry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from experiments import reproduce as reproduce_command
from experiments._cli import run_main
from keras_fcn import registry
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.replication import (
    ENV_VAR,
    STUDIES_DIR,
    Protocol,
    RerunOptions,
    TableSpec,
    all_studies,
    get_study,
    read_published,
    reproduce,
    verdict,
)
from keras_fcn.replication.comparison import comparison_rows
from keras_fcn.reporting.studies import procedure_markdown
from keras_fcn.reporting.tables import format_side_by_side
from tests.helpers import ROOT

EXAMPLE = Path(__file__).resolve().parents[1] / "example_study"
KONYCHEVA = get_study("konycheva")


@pytest.mark.parametrize("name", sorted(all_studies()))
def test_every_study_builds_its_runs_without_training(name, tmp_path):
    protocol = get_study(name)
    results = reproduce(
        protocol,
        registry.get_family(protocol.family),
        RunStore(tmp_path / "r.jsonl"),
        RerunOptions(
            seeds=[1, 2], load=lambda d: pytest.fail("a dry run loads no data"), dry_run=True
        ),
    )
    assert [r.spec.name for r in results] == [t.name for t in protocol.tables]
    runs = [run for r in results for _, run in r.rows if run is not None]
    assert runs, "every study has runs"
    published_rows = read_published(protocol.path(protocol.published))
    assert {r.table for r in published_rows} == {t.name for t in protocol.tables}


def test_published_values_are_fractions_with_a_metric():
    paths = sorted(p for p in STUDIES_DIR.glob("*.csv") if p.name != "claims.csv")
    assert len(paths) == len(all_studies())
    for path in paths:
        frame = pd.read_csv(path)
        assert frame["value"].between(0, 1).all(), path.name
        assert set(frame["metric"]) <= {"test_accuracy", "val_accuracy"}, path.name


def test_chenab_tables_hold_the_published_numbers():
    rows = {(r.table, r.row): r for r in read_published(STUDIES_DIR / "chenab.csv")}
    adam = rows[("optimizer_lr", "4")]
    assert adam.settings == {"optimizer": "adam", "learning_rate": "0.001"}
    assert adam.values["test_accuracy"][0] == pytest.approx(0.8911)
    assert rows[("baseline", "1")].values["test_accuracy"][0] == pytest.approx(0.8568)


def _no_data(data_config):
    return None


def _trainer_by_lr(calls):
    def trainer(family, run, data):
        calls.append(run)
        score = {0.005: 0.9, 0.01: 0.8}.get(run.train.learning_rate, 0.5)
        if run.model.hidden == (256, 128, 64):
            score += 0.05
        return RunRecord(
            run.run_id,
            family.name,
            run.to_dict(),
            run.train.seed,
            test_accuracy=score,
            best_val_accuracy=score,
        )

    return trainer


def test_sequential_study_carries_the_best_choice_on_validation(tmp_path):
    calls = []
    store = RunStore(tmp_path / "r.jsonl")
    trainer = _trainer_by_lr(calls)
    results = reproduce(
        KONYCHEVA,
        DENSE,
        store,
        RerunOptions(seeds=[1], load=_no_data, trainer=trainer),
        carry_from="validation",
    )
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


def test_published_rows_train_at_the_studys_choices_and_the_procedure_beside_them(tmp_path):
    def trainer(family, run, data):  # T5 best on validation, SGD better than Adam
        score = 0.9 if run.model.hidden == (1024, 512) else 0.8
        score += 0.05 if run.train.optimizer == "sgd" else 0.0
        record = RunRecord(run.run_id, family.name, run.to_dict(), run.train.seed)
        return dataclasses.replace(record, test_accuracy=score, best_val_accuracy=score)

    store = RunStore(tmp_path / "r.jsonl")
    views = {
        carry: reproduce(
            KONYCHEVA,
            DENSE,
            store,
            RerunOptions(seeds=[1], load=_no_data, trainer=trainer),
            carry_from=carry,
        )
        for carry in ("published", "validation")
    }
    published = {r.spec.name: r for r in views["published"]}
    # the study's own path: T4, then Adam at 0.01, then lr 0.005, whatever our runs say
    assert published["optimizer"].carried == {"hidden": (256, 128, 64)}
    assert published["learning_rate"].carried["optimizer"] == "adam"
    final = [run for _, run in published["final"].rows][0]
    assert (final.model.hidden, final.train.optimizer, final.train.learning_rate) == (
        (256, 128, 64),
        "adam",
        0.005,
    )
    procedure = {r.spec.name: r for r in views["validation"]}
    ours = [run for _, run in procedure["final"].rows][0]
    assert (ours.model.hidden, ours.train.optimizer) == ((1024, 512), "sgd")
    text = procedure_markdown(views["published"], views["validation"])
    lines = [line for line in text.splitlines() if line.startswith("| topology")]
    assert "hidden=256-128-64" in lines[0] and "hidden=1024-512" in lines[0] and "| no" in lines[0]
    assert "the study's choices" in text and "ours on validation" in text
    with pytest.raises(ValueError, match="carry_from='test'"):
        reproduce(
            KONYCHEVA, DENSE, store, RerunOptions(seeds=[1], load=_no_data), carry_from="test"
        )


def test_only_runs_one_table_and_unknown_tables_are_rejected(tmp_path):
    calls = []
    store = RunStore(tmp_path / "r.jsonl")
    trainer = _trainer_by_lr(calls)
    reproduce(
        KONYCHEVA,
        DENSE,
        store,
        RerunOptions(seeds=[1], load=_no_data, trainer=trainer, only=["learning_rate"]),
    )
    assert {c.train.learning_rate for c in calls} == {0.001, 0.005, 0.01, 0.05, 0.1}
    # without records of the earlier tables, the published choice (T4, Adam) is carried
    assert {c.model.hidden for c in calls} == {(256, 128, 64)}
    assert {c.train.optimizer for c in calls} == {"adam"}
    with pytest.raises(ConfigError, match="has no table 'nope'; its tables: topology"):
        reproduce(KONYCHEVA, DENSE, store, RerunOptions(seeds=[1], load=_no_data, only=["nope"]))


def test_resumed_records_count_as_done_and_are_not_trained_again(tmp_path):
    # records held outside the store (a study's committed ones) are not retrained, and the
    # tables read them as the study's own; the store gets no copy of them
    calls = []
    options = RerunOptions(seeds=[1, 2], load=_no_data, only=["learning_rate"])
    trainer = _trainer_by_lr(calls)
    first = reproduce(
        KONYCHEVA,
        DENSE,
        RunStore(tmp_path / "a.jsonl"),
        dataclasses.replace(options, trainer=trainer),
    )
    trained = len(calls)
    assert trained == 10  # five rates, two seeds
    resumed = RunStore(tmp_path / "a.jsonl").records()[:6]
    store = RunStore(tmp_path / "b.jsonl")
    again = reproduce(
        KONYCHEVA, DENSE, store, dataclasses.replace(options, trainer=trainer, resumed=resumed)
    )
    assert len(calls) == trained + 4  # only the four runs not resumed
    assert {r.run_id for r in store} == {c.run_id for c in calls[trained:]}
    by_name = {r.spec.name: r for r in again}
    assert (
        by_name["learning_rate"].records == {r.spec.name: r for r in first}["learning_rate"].records
    )


def test_verdicts():
    assert verdict(0.85, 0.851, 0.002, 3, 0) == "within seed spread"
    assert verdict(0.85, 0.87, 0.002, 3, 0) == "ours higher"
    assert verdict(0.85, 0.80, 0.002, 3, 0) == "ours lower"
    assert verdict(0.19, float("nan"), float("nan"), 0, 3) == "diverged"


def test_a_row_verdict_combines_our_spread_with_the_published_one():
    # Lybbert ID 111: 0.76 points under a published 89.67 +- 2.22, ours 88.91 +- 0.11
    assert verdict(0.8967, 0.8891, 0.0011, 3, 0) == "ours lower"
    assert verdict(0.8967, 0.8891, 0.0011, 3, 0, 0.0222) == "within seed spread"
    # the bound is 2 sqrt(0.003^2 + 0.004^2) = 1 point
    assert verdict(0.85, 0.8599, 0.003, 3, 0, 0.004) == "within seed spread"
    assert verdict(0.85, 0.8601, 0.003, 3, 0, 0.004) == "ours higher"
    assert verdict(0.85, 0.8399, 0.003, 3, 0, 0.004) == "ours lower"
    # one run of ours has no spread: the published one alone
    assert verdict(0.85, 0.845, float("nan"), 1, 0, 0.003) == "within seed spread"


def test_a_protocol_with_a_blank_table_still_reports(tmp_path):
    (tmp_path / "x.csv").write_text(
        "study,table,row,dataset,metric,value,std,source_unit,note,optimizer\n"
        "x,t,1,fashion_mnist,test_accuracy,0.5,,percent,,adam\n"
    )
    protocol = Protocol("x", "test", "dense", "x.csv", {}, (TableSpec("t", "T"),), folder=tmp_path)
    calls = []
    store = RunStore(tmp_path / "r.jsonl")
    [result] = reproduce(
        protocol,
        DENSE,
        store,
        RerunOptions(seeds=[1, 2], load=_no_data, trainer=_trainer_by_lr(calls)),
    )
    assert len(calls) == 2 and result.comparison["n"].item() == 2
    assert result.comparison["verdict"].item() == "ours higher"  # 0.5 published, ours 0.8 +- 0


def test_a_protocol_outside_the_registry_has_no_csv_to_read(tmp_path):
    protocol = Protocol("x", "test", "dense", "x.csv", {}, (TableSpec("t", "T"),))
    with pytest.raises(ConfigError, match="study 'x' has no folder"):
        reproduce(
            protocol, DENSE, RunStore(tmp_path / "r.jsonl"), RerunOptions(seeds=[1], load=None)
        )


# the registry


def test_the_registry_finds_every_study_module_with_its_folder():
    studies = all_studies()
    assert list(studies) == ["chenab", "dense-l2", "hippe", "konycheva", "lenet", "lybbert"]
    assert all(p.folder == STUDIES_DIR for p in studies.values())
    assert {p.grid for p in studies.values()} == {None, "lybbert.toml"}
    with pytest.raises(ConfigError, match="unknown study 'toy'; choose one of chenab, dense-l2"):
        get_study("toy")


def test_an_extra_folder_adds_its_studies_by_argument_or_environment(monkeypatch):
    assert get_study("toy", folders=[EXAMPLE]).folder == EXAMPLE
    monkeypatch.setenv(ENV_VAR, str(EXAMPLE))
    assert list(all_studies())[-1] == "toy"


def _module(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(text)
    return folder


TOY = (EXAMPLE / "toy.py").read_text()


@pytest.mark.parametrize(
    ("text", "csv", "message"),
    [
        ("X = 1\n", False, r"study module .*bad\.py declares no PROTOCOL"),
        (TOY, False, "study 'toy': no toy.csv in"),
        (TOY.replace('name="toy"', 'name="chenab"'), True, "two studies are named 'chenab'"),
    ],
)
def test_a_malformed_study_folder_is_one_error(tmp_path, text, csv, message):
    folder = _module(tmp_path / "studies", "bad", text)
    if csv:
        (folder / "toy.csv").write_text((EXAMPLE / "toy.csv").read_text())
    with pytest.raises(ConfigError, match=message):
        all_studies([folder])


def test_a_missing_study_folder_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="no folder of study modules at"):
        all_studies()


# the example study of docs/published-studies.md, end to end through the command


def test_the_example_study_is_shown_in_full_in_the_docs():
    docs = (ROOT / "docs" / "published-studies.md").read_text()
    assert (EXAMPLE / "toy.py").read_text() in docs
    assert (EXAMPLE / "toy.csv").read_text() in docs


def test_the_example_study_runs_end_to_end_through_the_command(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(EXAMPLE))
    tiny = ["train_limit=500", "test_limit=300", "validation=500", "epochs=1", "jit_compile=off"]
    argv = ["toy", "--quick", "--seeds", "1", "--out", str(tmp_path)]
    argv += [a for setting in tiny for a in ("--set", setting)]
    argv += ["--baselines", str(tmp_path / "none.jsonl")]
    with pytest.raises(SystemExit) as info:
        run_main(reproduce_command.main, argv)
    out = capsys.readouterr()
    assert info.value.code == 0, out.err[-2000:]
    assert "toy: A made-up report" in out.out and "86.1" in out.out
    folder = tmp_path / "toy-quick"
    assert len((folder / "runs.jsonl").read_text().splitlines()) == 3
    comparison = pd.read_csv(folder / "comparison.csv")
    assert list(comparison["table"]) == ["optimizer", "optimizer", "dropout"]
    assert comparison["n"].tolist() == [1, 1, 1]
    assert (folder / "curves_dropout.png").exists()


def test_variants_retrain_rows_with_a_setting_read_another_way(tmp_path):
    from keras_fcn.replication import reproduce_views
    from keras_fcn.replication.variants import Variant, variants_markdown
    from keras_fcn.study import with_seeds

    calls = []
    keras = Variant("keras", "Keras's defaults", {"defaults": "keras"}, (("topology", "T4"),))
    fit = Variant("fit", "and fit", {"defaults": "keras", "loop": "fit"}, (("topology", "T4"),),
                  versus="keras")  # fmt: skip
    protocol = dataclasses.replace(KONYCHEVA, variants=(keras, fit))
    store = RunStore(tmp_path / "r.jsonl")
    views = reproduce_views(
        protocol,
        DENSE,
        store,
        RerunOptions(seeds=[1, 2], load=_no_data, trainer=_trainer_by_lr(calls), only=["topology"]),
    )
    variant_calls = [c for c in calls if c.model.defaults == "keras"]
    assert len(variant_calls) == 4 and {c.model.hidden for c in variant_calls} == {(256, 128, 64)}
    assert {c.train.loop for c in variant_calls} == {"epoch", "fit"}
    by_name = {item.variant.name: item for item in views.variants}
    assert [r.seed for r in by_name["keras"].base] == [1, 2]  # the row as the study reads it
    assert by_name["keras"].base[0].config["model"]["defaults"] == "pytorch"
    assert by_name["fit"].base == by_name["keras"].records  # compared with the other variant
    text = variants_markdown(views.variants)
    assert (
        "| keras     | topology T4 | ours" in text and "| fit       | topology T4 | keras" in text
    )
    again = reproduce_views(
        protocol,
        DENSE,
        store,
        RerunOptions(seeds=[1, 2], load=_no_data, dry_run=True, only=["topology"]),
    )
    assert len(again.variants[1].records) == 2  # read back from the store, nothing trained
    planned = {run.run_id for run in again.planned_runs([1, 2])}
    assert {c.run_id for c in variant_calls} <= planned
    topology = [run for _, run in again.published[0].rows]
    assert {run.run_id for run in with_seeds(topology, [1, 2])} <= planned


def test_hippe_table_1_is_compared_on_test_with_our_validation_beside():
    # its caption says validation; its text calls the same figures testing accuracies twice
    protocol = all_studies()["hippe"]
    table1 = [r for r in read_published(protocol.path(protocol.published)) if r.table == "table1"]
    assert len(table1) == 16 and all(set(r.values) == {"test_accuracy"} for r in table1)
    spec = protocol.table("table1")
    records = [
        RunRecord(f"r{s}", "dense", {}, s, best_val_accuracy=0.88 + s / 1000, test_accuracy=acc)
        for s, acc in ((1, 0.87), (2, 0.88))
    ]
    (line,) = comparison_rows(spec, table1[0], "base", records)
    assert line["metric"] == "test_accuracy" and line["ours"] == pytest.approx(0.875)
    assert line["ours_val"] == pytest.approx(0.8815)
    shown = format_side_by_side(pd.DataFrame([line]))
    assert shown["ours %"].item() == "87.50 ± 0.71" and shown["ours val %"].item() == "88.15 ± 0.07"
    # a table that does not ask for it shows no validation column
    plain = comparison_rows(protocol.table("final"), table1[0], "base", records)
    assert "ours val %" not in format_side_by_side(pd.DataFrame(plain))


def test_another_reading_of_a_classical_baseline_is_a_row_of_its_own(tmp_path):
    from keras_fcn.replication import get_study

    protocol = get_study("hippe")
    assert protocol.table("svd").also == ("svd_projection",)

    def baseline(name, accuracy):
        config = {"data": {"dataset": "fashion_mnist", "train_limit": None}}
        record = RunRecord(f"{name}-run", name, config, 0)
        return dataclasses.replace(record, test_accuracy=accuracy)

    results = reproduce(
        protocol,
        DENSE,
        RunStore(tmp_path / "r.jsonl"),
        RerunOptions(
            seeds=[1],
            load=_no_data,
            dry_run=True,
            only=["svd"],
            baseline_records=[baseline("nearest_subspace", 0.80), baseline("svd_projection", 0.89)],
        ),
    )
    table = {r.spec.name: r.comparison for r in results}["svd"]
    assert list(table["row"]) == ["1", "1 (svd_projection)"]
    assert list(table["ours"]) == [pytest.approx(0.80), pytest.approx(0.89)]
    assert list(table["published"]) == [pytest.approx(0.9128)] * 2
