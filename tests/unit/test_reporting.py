"""The report, the README's table and the docs pages, built from synthetic run records in a
temporary folder."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import report as report_command
from experiments._cli import run_main
from experiments.reporting import glance, readme
from experiments.reporting.config_page import configs_page, field_docs
from experiments.reporting.document import write_report
from keras_fcn import registry
from keras_fcn.data import Dataset
from keras_fcn.family import DENSE
from keras_fcn.identity import SCHEMA
from keras_fcn.record import RunRecord, RunStore, encode_predictions
from keras_fcn.replication import STUDIES_DIR
from keras_fcn.reporting.confusion import format_confusion, most_confused
from keras_fcn.reporting.tables import unpadded_markdown
from tests.helpers import ROOT

PUBLISHED = STUDIES_DIR
DEFAULTS = {name: f.run_config().to_dict() for name, f in registry.families().items()}
N_TEST = 200


def _dataset(name: str) -> Dataset:
    rng = np.random.default_rng(0)
    y = np.arange(N_TEST) % 10
    x = rng.random((N_TEST, 28, 28), dtype=np.float32)
    return Dataset(
        name, x, y, x[:50], y[:50], x, y, tuple(f"class{i}" for i in range(10)), "synthetic"
    )


def _record(
    family: str,
    seed: int,
    accuracy: float,
    val: float,
    dataset: str = "fashion_mnist",
    lr: float = 0.01,
) -> RunRecord:
    run = DENSE.run_config({"seed": seed, "dataset": dataset, "learning_rate": lr})
    y = np.arange(N_TEST) % 10
    wrong = int(round((1 - accuracy) * N_TEST))
    predictions = y.copy()
    predictions[:wrong] = (y[:wrong] + 1) % 10  # each mistake: class k taken for k + 1
    cm = np.zeros((10, 10), int)
    np.add.at(cm, (y, predictions), 1)
    return RunRecord(
        run.run_id + family,
        family,
        run.to_dict(),
        seed,
        test_accuracy=float(np.mean(predictions == y)),
        best_val_accuracy=val,
        confusion_matrix=cm.tolist(),
        test_predictions=encode_predictions(predictions),
        history={"loss": [1.0, 0.5], "val_accuracy": [0.5, val]},
        params=1000,
        fit_time_s=3.0,
    )


@pytest.fixture
def results(tmp_path) -> Path:
    store = RunStore(tmp_path / "results" / "fashion_dense" / "runs.jsonl")
    for seed in (1, 2, 3):
        store.append(_record("dense", seed, 0.90, 0.89))
        store.append(
            _record("dense", seed, 0.70, 0.95, lr=0.1)
        )  # best on validation, worse on test
    baseline = RunStore(tmp_path / "results" / "baselines" / "runs.jsonl")
    baseline.append(_record("knn", 0, 0.80, 0.80))
    return tmp_path / "results"


def test_report_tables_and_figures_come_from_the_records(results, tmp_path):
    path = write_report(results, tmp_path / "out", PUBLISHED, DEFAULTS, load=_dataset)
    text = path.read_text()
    best = text.split("## The best config of each family")[1].split("##")[0]
    dense_row = next(line for line in best.splitlines() if "| dense" in line)
    assert "learning_rate=0.1" in dense_row and "70.00 ± 0.00" in dense_row  # chosen on validation
    assert "90.19 (chenab final)" in dense_row
    assert re.search(r"\| fashion_mnist \| knn .*80\.00", best)
    at_a_glance = text.split("## Results at a glance")[1].split("##")[0]
    assert re.search(
        r"\| dense default: test accuracy \(seeds 1, 2, 3\) +\| fashion_mnist +\| 90\.00 ± 0\.00 %",
        at_a_glance,
    )
    assert "`python -m experiments.fashion_dense --set learning_rate=0.1 --seed S`" in at_a_glance
    assert re.search(
        r"\| class5\s+\| class6\s+\|\s+6 \|", text
    )  # most confused pairs of the 70 % model
    assert "### Are the differences real?" in text and "| dense | knn |" in text
    for name in re.findall(r"\]\((figures/[^)]+)\)", text):
        assert (tmp_path / "out" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert "Not run yet" in text and "experiments.reproduce chenab" in text  # no study was re-run


def test_most_confused_pairs_are_the_largest_off_diagonal_cells():
    cm = np.eye(3, dtype=int) * 10
    cm[0, 2], cm[1, 0], cm[2, 1] = 7, 3, 5
    pairs = most_confused(cm, ["a", "b", "c"], n=2)
    assert list(zip(pairs["true"], pairs["predicted"], pairs["count"], strict=True)) == [
        ("a", "c", 7),
        ("c", "b", 5),
    ]


def test_report_with_no_results_lists_the_commands_and_exits_zero(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        run_main(
            report_command.main,
            [
                "--records",
                "none",
                "--results",
                str(tmp_path / "none"),
                "--out",
                str(tmp_path / "r"),
            ],
        )
    assert info.value.code == 0
    text = (tmp_path / "r" / "report.md").read_text()
    assert text.count("Not run yet") >= 3 and "python -m experiments.fashion_dense" in text


def test_readme_table_is_built_from_records(tmp_path, capsys):
    store = RunStore(tmp_path / "fashion_dense" / "runs.jsonl")
    base = DENSE.run_config()
    store.append(RunRecord(base.run_id, "dense", base.to_dict(), 42, test_accuracy=0.8482))
    with pytest.raises(SystemExit):
        run_main(report_command.main, ["--records", "none", "--results", str(tmp_path), "--readme"])
    out = capsys.readouterr().out
    assert (
        "| dense default: test accuracy (seed 42) | fashion_mnist | 84.82 % | `python -m experiments.fashion_dense` |"
        in out
    )


def test_glance_commands_name_the_data_settings_that_differ_from_the_family_default(tmp_path):
    """Runs on [0, 1] inputs, made before the dense family standardized by default, keep a
    command that repeats them; a search's command is not given what it chose itself."""
    raw = DENSE.run_config({"standardize": "false", "label_smoothing": "0.1"})
    RunStore(tmp_path / "fashion_dense" / "runs.jsonl").append(
        RunRecord(raw.run_id, "dense", raw.to_dict(), 42, test_accuracy=0.8467)
    )
    search = tmp_path / "tune" / "dense-fashion_mnist-random"
    command = "python -m experiments.tune --family dense --tuner random --set optimizer=adam"
    search.mkdir(parents=True)
    (search / "summary.json").write_text(
        json.dumps(
            {
                "family": "dense",
                "dataset": "fashion_mnist",
                "tuner": "random",
                "trials": 4,
                "failed": 0,
                "total_epochs": 8,
                "trial_hours": 0.01,
                "machine": "Some CPU, 2 cores",
                "best": "hidden=512-256, label_smoothing=0.1",
                "command": command,
                "final_run_ids": [raw.run_id],
                "schema": SCHEMA,
            }
        )
    )
    stale = raw.with_settings({"hidden": "64"})  # the final run of an earlier best, left beside
    RunStore(search / "final_runs.jsonl").append(
        RunRecord(stale.run_id, "dense", stale.to_dict(), 42, test_accuracy=0.5)
    )
    RunStore(search / "final_runs.jsonl").append(
        RunRecord(raw.run_id, "dense", raw.to_dict(), 42, test_accuracy=0.8811)
    )
    assert _write_docs(tmp_path, tmp_path / "docs") == 0
    page = (tmp_path / "docs" / "results.md").read_text()
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in _table(page, "## At a glance")
    ]
    assert [
        "dense label_smoothing=0.1, standardize=false: test accuracy (seed 42)",
        "fashion_mnist",
        "84.67 %",
        "`python -m experiments.fashion_dense --set label_smoothing=0.1 --set standardize=false`",
    ] in rows
    assert ["88.11 %", f"`{command} --set standardize=false`"] in [r[2:] for r in rows]
    assert any("0.01 h of trials on Some CPU, 2 cores)" in r[0] for r in rows)


def test_printed_confusion_matrix_names_each_class_once():
    matrix = [[5, 1, 0], [0, 6, 0], [2, 0, 3]]
    fashion = format_confusion(matrix, ["T-shirt/top", "Trouser", "Pullover"]).splitlines()
    assert fashion[2].split() == ["0", "T-shirt/top", "5", "1", "0"]
    digits = format_confusion(matrix, ["0", "1", "2"]).splitlines()
    assert digits[1].split() == ["true", "0", "1", "2"]
    assert [line.split() for line in digits[2:]] == [
        ["0", "5", "1", "0"],
        ["1", "0", "6", "0"],
        ["2", "2", "0", "3"],
    ]


def _table(text: str, heading: str) -> list[str]:
    """The lines of the first Markdown table after ``heading``."""
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def _study(results: Path, name: str) -> Path:
    """A re-run Chenab study's folder holding records of its baseline row, seeds 42-44 (the
    report rebuilds its tables from them)."""
    from keras_fcn.replication import RerunOptions, get_study, reproduce

    folder = results / "reproduce" / name
    store = RunStore(folder / "runs.jsonl")
    tables = reproduce(
        get_study("chenab"), DENSE, store, RerunOptions(seeds=[42], load=None, dry_run=True)
    )
    base = tables[0].rows[0][1]
    for seed in (42, 43, 44):
        run = base.with_settings({"seed": seed})
        record = _record("dense", seed, 0.85, 0.86)
        store.append(dataclasses.replace(record, run_id=run.run_id, config=run.to_dict()))
    (folder / "side_by_side.md").write_text("written by the study, rebuilt by the report\n")
    return folder


def test_readme_report_and_results_page_show_the_same_table_at_a_glance(results, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_main(report_command.main, ["--records", "none", "--results", str(results), "--readme"])
    readme = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert _write_docs(results, tmp_path / "docs") == 0
    page = (tmp_path / "docs" / "results.md").read_text()
    report = write_report(results, tmp_path / "out", PUBLISHED, DEFAULTS).read_text()
    expected = glance.to_markdown(glance.glance_table(results, DEFAULTS)).splitlines()
    assert len(expected) == 2 + 2 + 1  # header, rule, two dense configs, the baseline
    # the README leaves the config set by hand (learning_rate=0.1) to the page
    assert readme == [line for line in expected if "learning_rate=0.1" not in line]
    assert len(readme) == len(expected) - 1
    assert _table(page, "## At a glance") == expected
    assert _table(report, "## Results at a glance") == expected


def _write_docs(results: Path, out: Path, *more: str) -> int:
    """``python -m experiments.report --docs`` on ``results`` alone; its exit code."""
    argv = ["--records", "none", "--results", str(results), "--docs", "--out", str(out), *more]
    with pytest.raises(SystemExit) as info:
        run_main(report_command.main, argv)
    return info.value.code


def test_results_page_is_written_from_the_records(results, tmp_path):
    _study(results, "chenab")
    _study(results, "chenab-quick")  # a quick re-run saw little data: left off the page
    assert _write_docs(results, tmp_path / "docs") == 0
    index = (tmp_path / "docs" / "results.md").read_text()
    assert "[chenab](studies/chenab.md), over three seeds" in index
    assert "chenab-quick" not in index.lower()
    assert sorted(p.name for p in (tmp_path / "docs" / "studies").iterdir()) == ["chenab.md"]
    page = (tmp_path / "docs" / "studies" / "chenab.md").read_text()
    assert page.count("# The Chenab study, re-run over three seeds") == 1
    assert "`python -m experiments.reproduce chenab --seeds 3`" in page
    assert "over seeds 42, 43 and 44;" in page
    assert "written by the study" not in page
    baseline = next(line for line in page.splitlines() if line.startswith("| baseline "))
    assert " 85.68 | 85.00 ± 0.00 |" in baseline  # published, ours
    assert str(tmp_path) not in page  # paths as the commands print them, not this machine's
    assert (tmp_path / "docs" / "configs.md").read_text() == configs_page(registry.families())


def test_a_study_in_the_readme_is_its_key_rows_and_its_verdicts_counted(tmp_path):
    comparison = pd.DataFrame(
        {
            "table": ["start", "start", "middle", "final"],
            "row": ["1", "2", "1", "1"],
            "dataset": "fashion_mnist",
            "metric": ["val_accuracy", "val_accuracy", "test_accuracy", "test_accuracy"],
            "published": [0.88, 0.87, 0.86, 0.90],  # fractions, as in the study's CSV
            "published_std": [0.001, np.nan, np.nan, np.nan],
            "ours": [0.875, 0.86, 0.861, 0.89],
            "ours_std": [0.002, 0.002, 0.001, 0.003],
            "n": 3,
            "verdict": ["ours lower", "ours lower", "within seed spread", "ours lower"],
        }
    )
    comparison.to_csv(tmp_path / "comparison.csv", index=False)
    table = readme.study_table(comparison).splitlines()
    # the first row of the first table, on the metric it was published on, and the final one
    assert [line.split("|")[1].strip() for line in table[2:]] == ["start 1 (validation)", "final 1"]
    assert "| 88.00 ± 0.10 " in table[2] and "| 89.00 ± 0.30 " in table[3]
    assert readme.tally(tmp_path) == "Published rows: 1 within seed spread, 3 ours lower."
    claims = pd.DataFrame({"verdict": ["untestable", "supported", "reversed", "supported"]})
    claims.to_csv(tmp_path / "claims.csv", index=False)
    assert readme.tally(tmp_path).endswith(" Claims: 2 supported, 1 reversed, 1 untestable.")


def test_results_page_without_records_says_what_to_run(tmp_path):
    from experiments.reporting.pages import results_page

    page = results_page(tmp_path / "none", DEFAULTS)
    assert glance.NO_RESULTS in page and "## The report" in page and "study, re-run" not in page


def test_committed_configs_page_is_what_the_generator_writes():
    """docs/configs.md is generated: regenerate it with `python -m experiments.report --docs`."""
    assert (ROOT / "docs" / "configs.md").read_text() == configs_page(registry.families())


def test_every_config_field_is_documented_on_the_configs_page():
    page = configs_page(registry.families())
    for family in registry.families().values():
        for cls in family.fields():
            docs = field_docs(cls)
            for name in (f.name for f in dataclasses.fields(cls)):
                assert docs.get(name), f"{cls.__name__}.{name} has no entry in its Attributes"
                assert f"| `{name}` |" in page.split(f"## {cls.__name__}\n")[1]
    # each family's own defaults: LeNet-5 trains with Adam, the dense family standardizes
    assert "| `optimizer` | `str` | `sgd` | `sgd` | `adam` |" in page
    assert "| `standardize` | `bool` | `false` | `true` | `false` |" in page


def test_field_docs_read_continuation_lines_and_metadata():
    @dataclasses.dataclass(frozen=True)
    class Example:
        """An example.

        Attributes:
            first: one line
                and its continuation.
            second: replaced by the metadata.
        """

        first: int = 1
        second: int = dataclasses.field(default=2, metadata={"doc": "from the metadata."})

    assert field_docs(Example) == {
        "first": "one line and its continuation.",
        "second": "from the metadata.",
    }


def test_docs_with_a_missing_readme_exit_in_one_line_before_writing(tmp_path, capsys):
    out = tmp_path / "docs"
    assert _write_docs(tmp_path, out, "--readme-file", str(tmp_path / "nope.md")) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "nope.md: no such file" in line
    assert not out.exists()


def test_an_unpadded_table_keeps_each_row_as_long_as_its_own_cells():
    frame = pd.DataFrame({"result": ["short", "a|b"], "command": ["x", "y" * 300]})
    lines = unpadded_markdown(frame).splitlines()
    assert lines[:2] == ["| result | command |", "|:---|:---|"]
    assert lines[2] == "| short | x |"  # the long command of the next row widens nothing here
    assert lines[3] == "| a\\|b | " + "y" * 300 + " |"


def test_a_run_on_another_dataset_than_the_default_names_it_in_its_command(tmp_path):
    store = RunStore(tmp_path / "fashion_dense" / "runs.jsonl")
    store.append(_record("dense", 42, 0.98, 0.98, dataset="mnist"))
    store.append(_record("dense", 42, 0.88, 0.88))
    rows = {r["dataset"]: r["command"] for r in glance.single_run_rows(tmp_path, DEFAULTS)}
    assert rows["mnist"] == "python -m experiments.fashion_dense --dataset mnist"
    assert rows["fashion_mnist"] == "python -m experiments.fashion_dense"


def test_the_readme_shows_the_best_search_of_each_family_and_dataset_and_the_best_baseline():
    rows = [
        (
            "dense default: test accuracy",
            "mnist",
            "98.00 ± 0.10 %",
            "python -m experiments.mnist_dense",
        ),
        ("tuned dense (grid, 8 trials)", "mnist", "98.59 ± 0.03 %", "python -m experiments.tune a"),
        ("tuned dense (grid, 4 trials)", "mnist", "98.72 ± 0.02 %", "python -m experiments.tune b"),
        (
            "tuned dense (grid, 8 trials)",
            "fashion_mnist",
            "90.79 ± 0.25 %",
            "python -m experiments.tune c",
        ),
        (
            "tuned lenet (random, 9 trials)",
            "mnist",
            "98.90 ± 0.05 %",
            "python -m experiments.tune d",
        ),
        ("knn (k=3)", "mnist", "97.05 %", "python -m experiments.baselines --dataset both"),
        (
            "svd_projection (C=10)",
            "mnist",
            "98.63 %",
            "python -m experiments.baselines --dataset both",
        ),
    ]
    table = pd.DataFrame(rows, columns=["result", "dataset", "value", "command"])
    shown = readme.glance_rows(table)["value"].tolist()
    assert shown == [
        "98.00 ± 0.10 %",
        "98.72 ± 0.02 %",
        "90.79 ± 0.25 %",
        "98.90 ± 0.05 %",
        "98.63 %",
    ]


def test_the_readme_shows_each_familys_defaults_once_whatever_their_compute_settings():
    dense = "python -m experiments.fashion_dense"
    cnn = "python -m experiments.fashion_cnn"
    rows = [  # (value, command, dataset)
        ("86.27", f"{dense} --set loop=fit --seed S", "fashion_mnist"),
        ("86.30", f"{dense} --set precision=float32 --set loop=fit --seed S", "fashion_mnist"),
        ("86.28", f"{dense} --seed S", "fashion_mnist"),  # the default: shown
        # configs set by hand: on the results page only
        ("98.55", f"{dense} --dataset mnist --set hidden=1024 --set loop=fit", "mnist"),
        ("88.00", f"{dense} --set hidden=1024 --set loop=fit", "fashion_mnist"),
        ("90.11", f"{cnn} --set jit_compile=auto --set loop=fit --seed S", "fashion_mnist"),
        ("90.33", f"{cnn} --set jit_compile=auto --seed S", "fashion_mnist"),  # the fewest
        ("88.89", "python -m experiments.baselines --dataset both", "fashion_mnist"),
    ]
    table = pd.DataFrame(
        [(f"r{i}", dataset, value, command) for i, (value, command, dataset) in enumerate(rows)],
        columns=["result", "dataset", "value", "command"],
    )
    shown = readme.glance_rows(table)["value"].tolist()
    assert shown == ["86.28", "90.33", "88.89"]


def test_a_field_added_since_a_record_was_made_shows_at_its_earlier_value():
    from experiments.reporting.glance import changed_settings
    from keras_fcn.family import DENSE
    from keras_fcn.record import RunRecord

    run = DENSE.run_config({"loop": "fit"})
    written = RunRecord(run.run_id, "dense", run.to_dict(), 42).to_dict()
    del written["schema"], written["config"]["train"]["loop"]  # before loop was a setting
    record = RunRecord.from_dict(written)  # read as the current schema: it trained by fit
    assert changed_settings(record, DENSE.run_config().to_dict()) == {"loop": "fit"}
    record.config["train"]["loop"] = "epoch"
    assert changed_settings(record, DENSE.run_config().to_dict()) == {}


def test_the_readme_leaves_a_searchs_chosen_values_to_the_results_page():
    tune = "python -m experiments.tune --max-epochs 60"
    result = "tuned dense (hyperband, 90 trials): test accuracy over 3 final seeds"
    table = pd.DataFrame(
        [(f"{result}; hidden=1024-256, dropout=0.0648", "mnist", "98.90 ± 0.05 %", tune)],
        columns=["result", "dataset", "value", "command"],
    )
    assert readme.glance_rows(table)["result"].tolist() == [result]
    assert table["result"][0].endswith("dropout=0.0648")  # the full table keeps them
