"""The transfer to MNIST: the configuration chosen on Fashion-MNIST, retrained unchanged."""

from __future__ import annotations

import pandas as pd
import pytest

from experiments.reporting.best import best_per_family
from experiments.reporting.transfer import on_mnist, transfer_table
from keras_fcn.commands import Command
from keras_fcn.family import DENSE
from keras_fcn.record import RunRecord, RunStore


def record(seed, dataset, lr, test, val=None):
    run = DENSE.run_config({"seed": seed, "dataset": dataset, "learning_rate": lr})
    return RunRecord(
        run.run_id, "dense", run.to_dict(), seed, test_accuracy=test, best_val_accuracy=val or test
    )


def test_the_chosen_config_is_found_on_mnist_or_its_line_is_given(tmp_path):
    chosen = [record(s, "fashion_mnist", 0.1, 0.88, 0.90) for s in (42, 43)]
    other = [record(s, "fashion_mnist", 0.01, 0.89, 0.85) for s in (42, 43)]
    on_other = [record(42, "mnist", 0.01, 0.97)]
    records = chosen + other + on_other
    bests = best_per_family(records)
    table = transfer_table(
        tmp_path, bests, records, lambda r: Command("train", (r.config["data"]["dataset"],))
    )
    (row,) = table.to_dict("records")
    assert row["Fashion-MNIST test"] == "88.00 ± 0.00 %"  # chosen on validation, not test
    assert row["MNIST test, unchanged"] == "not run: `python -m train mnist --seed S`"
    records.append(record(44, "mnist", 0.1, 0.98))
    table = transfer_table(tmp_path, best_per_family(records), records, str)
    assert table.iloc[0]["MNIST test, unchanged"] == "98.00 %"
    assert chosen[0].config["data"]["dataset"] == "fashion_mnist"  # on_mnist copies
    assert on_mnist(chosen[0]).config["data"]["dataset"] == "mnist"


def test_a_study_that_retrained_its_final_config_on_mnist_is_shown_with_the_published(tmp_path):
    folder = tmp_path / "reproduce" / "toy"
    folder.mkdir(parents=True)
    (folder / "side_by_side.md").write_text("table\n")
    lines = [
        ("final", "fashion_mnist", 0.9011, None, 0.895, 0.002, 3),
        ("mnist_final", "mnist", 0.9818, 0.0001, None, None, 0),
    ]
    pd.DataFrame(
        [
            dict(
                zip(
                    ["table", "dataset", "published", "published_std", "ours", "ours_std", "n"],
                    line,
                    strict=True,
                )
            )
            | {"metric": "test_accuracy"}
            for line in lines
        ]
    ).to_csv(folder / "comparison.csv", index=False)
    (row,) = transfer_table(tmp_path, [], [], str).to_dict("records")
    assert row["Fashion-MNIST test"] == "89.50 ± 0.20 % (3 seeds)"
    assert row["MNIST test, unchanged"] == "not run"
    assert row["published"] == "90.11 → 98.18 ± 0.01 %"


def test_report_run_missing_lists_default_runs_and_mnist_twins_once(tmp_path):
    from experiments.report import missing_lines
    from keras_fcn.record import RunStore

    store = RunStore(tmp_path / "fashion_dense" / "runs.jsonl")
    chosen = record(43, "fashion_mnist", 0.1, 0.88, 0.90)
    store.append(chosen)
    lines = missing_lines(tmp_path)
    twin = "python -m experiments.fashion_dense --dataset mnist --seed 43 --set learning_rate=0.1"
    assert lines == [
        "python -m experiments.fashion_dense --seed 42",
        "python -m experiments.fashion_cnn --seed 42",
        twin,
    ]
    store.append(record(43, "mnist", 0.1, 0.98))
    store.append(record(42, "fashion_mnist", 0.01, 0.80, 0.80))  # the default run
    assert missing_lines(tmp_path) == ["python -m experiments.fashion_cnn --seed 42"]
    # the best of a classical baseline has no MNIST twin to train here
    knn = RunRecord("k", "knn", {"data": {"dataset": "fashion_mnist"}}, 0, test_accuracy=0.85)
    knn.best_val_accuracy = 0.86  # chosen on validation, as experiments.baselines records it
    RunStore(tmp_path / "baselines" / "runs.jsonl").append(knn)
    assert missing_lines(tmp_path) == ["python -m experiments.fashion_cnn --seed 42"]


def test_records_of_no_network_family_have_no_transfer_row(tmp_path):
    knn = RunRecord("k", "knn", {"data": {"dataset": "fashion_mnist"}}, 0, test_accuracy=0.85)
    records = [knn, record(42, "fashion_mnist", 0.1, 0.88)]
    table = transfer_table(
        tmp_path,
        best_per_family(records),
        records,
        lambda r: None if r.family == "knn" else Command("x"),
    )
    assert list(table["chosen on Fashion-MNIST"]) == ["dense: best mean validation accuracy"]


def test_report_run_missing_trains_each_missing_run_in_this_process(tmp_path, monkeypatch):
    import experiments.report as report_command
    import keras_fcn.single
    from experiments._cli import run_main

    trained = []

    def fake_train(family, run, *, out, data_dir=None, verbose=2):
        trained.append((family.name, run.data.dataset, run.train.seed, str(out)))

    monkeypatch.setattr(keras_fcn.single, "run_and_report", fake_train)
    monkeypatch.setattr("subprocess.run", lambda *a, **k: pytest.fail("a subprocess was started"))
    RunStore(tmp_path / "fashion_dense" / "runs.jsonl").append(
        record(43, "fashion_mnist", 0.1, 0.88, 0.90)
    )
    args = ["--records", "none", "--results", str(tmp_path), "--run-missing", "--readme"]
    with pytest.raises(SystemExit):
        run_main(report_command.main, args)
    assert trained == [
        ("dense", "fashion_mnist", 42, str(tmp_path / "fashion_dense")),
        ("lenet", "fashion_mnist", 42, str(tmp_path / "fashion_cnn")),
        ("dense", "mnist", 43, str(tmp_path / "fashion_dense")),
    ]


def test_one_lucky_seed_is_not_the_best_config_beside_a_mean_over_three():
    lucky = [record(42, "fashion_mnist", 0.1, 0.92, 0.95)]
    steady = [record(s, "fashion_mnist", 0.01, 0.90, 0.91) for s in (42, 43, 44)]
    (best,) = best_per_family(lucky + steady)
    assert [r.seed for r in best.records] == [42, 43, 44]
    (best,) = best_per_family(lucky + steady[:2])  # none over three: the most seeds win
    assert [r.seed for r in best.records] == [42, 43]
