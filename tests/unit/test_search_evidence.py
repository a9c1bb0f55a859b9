"""What the archive keeps of a finished search, and the page that shows it: the table of
trials, the best trials' curves (a Hyperband trial continuing an earlier one drawn from its
first epoch) and the figures."""

from __future__ import annotations

import gzip
import json

import pandas as pd

from experiments.reporting import archive
from experiments.reporting.searches import searches_page
from keras_fcn import layout
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.tuning.summary import plot_best_curves, trial_curve

# trial 0002 continues 0000 from epoch 2: its curve starts with 0000's two epochs
TRIALS = pd.DataFrame(
    {
        "trial_id": ["0000", "0001", "0002"],
        "status": ["COMPLETED", "COMPLETED", "COMPLETED"],
        "dropout": [0.1, 0.4, 0.1],
        "tuner/initial_epoch": [0, 0, 2],
        "tuner/trial_id": [None, None, "0000"],
        "val_accuracy": [0.80, 0.70, 0.85],
        "epochs_trained": [2, 2, 4],
        "wall_time_s": [1.0, 1.0, 2.0],
    }
)
CURVES = {"0000": [0.75, 0.80], "0001": [0.60, 0.70], "0002": [0.82, 0.85]}


def _search(root, name="dense-fashion_mnist-hyperband-abc"):
    folder = root / "tune" / name
    for trial_id, curve in CURVES.items():
        trial = folder / layout.TUNER_PROJECT / f"trial_{trial_id}"
        trial.mkdir(parents=True)
        (trial / "histories.json").write_text(json.dumps([{"val_accuracy": curve}]))
    TRIALS.to_csv(folder / layout.TRIALS, index=False)
    (folder / layout.ALONG_EACH).write_bytes(b"png of each")
    final = RunRecord(
        run_id="f1", family="dense", config={"data": {"dataset": "fashion_mnist"}}, seed=42
    )
    final.test_accuracy, final.best_val_accuracy = 0.84, 0.85
    RunStore(folder / layout.FINAL_RUNS).append(final)
    summary = {
        "family": "dense",
        "dataset": "fashion_mnist",
        "tuner": "hyperband",
        "trials": 3,
        "failed": 0,
        "total_epochs": 6,
        "trial_hours": 0.001,
        "best": "dropout=0.1",
        "command": "python -m experiments.tune --max-epochs 4 --out /home/someone/results",
        "final_run_ids": ["f1"],
        "schema": 2,
    }
    (folder / layout.SEARCH_SUMMARY).write_text(json.dumps(summary))
    return folder


def test_a_continued_trial_is_drawn_from_its_first_epoch(tmp_path):
    project = _search(tmp_path) / layout.TUNER_PROJECT
    assert trial_curve(project, TRIALS, "0002") == [0.75, 0.80, 0.82, 0.85]
    assert trial_curve(project, TRIALS, "0001") == [0.60, 0.70]
    figure = plot_best_curves(project, TRIALS, n=5)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    # 0000 is the start of 0002's curve: not drawn again
    assert labels == ["trial 0002: 0.8500", "trial 0001: 0.7000"]


def test_trials_of_any_id_width_are_drawn(tmp_path):
    # a grid numbers its trials 0, 1, ...; a random search of 999 trials 000, 001, ...; a
    # trial table read back from CSV holds them as numbers
    for width in (1, 3):
        project = tmp_path / f"w{width}"
        for number, curve in enumerate([[0.5, 0.6], [0.7, 0.9]]):
            trial = project / f"trial_{number:0{width}d}"
            trial.mkdir(parents=True)
            (trial / "histories.json").write_text(json.dumps([{"val_accuracy": curve}]))
        table = pd.DataFrame(
            {
                "trial_id": [0, 1],
                "status": ["COMPLETED", "COMPLETED"],
                "val_accuracy": [0.6, 0.9],
            }
        )
        assert trial_curve(project, table, "1") == [0.7, 0.9]
        figure = plot_best_curves(project, table)
        labels = [line.get_label() for line in figure.axes[0].get_lines()]
        assert labels == ["trial 1: 0.9000", "trial 0: 0.6000"]


def test_the_archive_keeps_the_trials_and_figures_of_a_search(tmp_path):
    search = _search(tmp_path / "results")
    arch = tmp_path / "docs" / "records"
    changed = archive.save(tmp_path / "results", arch)
    target = arch / "tune" / search.name
    assert (search / layout.BEST_CURVES).exists()  # drawn for a search that had none
    for name in (layout.SEARCH_SUMMARY, "trials.csv.gz", layout.ALONG_EACH, layout.BEST_CURVES):
        assert target / name in changed
    assert (
        gzip.decompress((target / "trials.csv.gz").read_bytes())
        == (search / layout.TRIALS).read_bytes()
    )
    assert archive.save(tmp_path / "results", arch) == []  # the same bytes: nothing rewritten
    # the committed summary names no folder of the machine that ran the search
    kept = json.loads((target / layout.SEARCH_SUMMARY).read_text())
    assert kept["command"] == "python -m experiments.tune --max-epochs 4"
    merged = archive.assemble(arch, None, tmp_path / "merged")
    table = pd.read_csv(merged / "tune" / search.name / layout.TRIALS, dtype={"trial_id": str})
    assert table["trial_id"].tolist() == ["0000", "0001", "0002"]


def test_the_searches_page_shows_the_result_the_best_trials_and_the_figures(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the archive's figures are looked for under docs/records
    search = _search(tmp_path / "results")
    archive.save(tmp_path / "results", layout.ARCHIVE)
    page = searches_page(tmp_path / "results", {})
    assert "## dense on fashion_mnist: hyperband, 3 trials" in page
    assert "`python -m experiments.tune --max-epochs 4`" in page
    assert "over 1 final seeds: **84.00 %** (validation 85.00 %)" in page
    rows = [line for line in page.splitlines() if line.startswith("| 000")]
    assert [row.split("|")[1].strip() for row in rows] == ["0002", "0000", "0001"]  # best first
    assert f"![along each](records/tune/{search.name}/along_each.png)" in page
    assert f"![best trials](records/tune/{search.name}/best_trials.png)" in page
    empty = searches_page(tmp_path / "nothing", {})
    assert "No search finished yet" in empty


def test_a_tuner_comparison_is_kept_and_shown_once_with_its_searches(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    member = _search(results, "dense-fashion_mnist-random-def")
    alone = _search(results, "dense-fashion_mnist-hyperband-abc")
    folder = results / "tune" / "tuners-dense-fashion_mnist-hyperband-xyz"
    folder.mkdir()
    record = {
        "command": "python -m experiments.tune --compare-tuners 1 --max-epochs 9 --out /x",
        "budgets": {"42": 69},
        "searches": {"random": [member.name]},
    }
    (folder / layout.TUNER_COMPARISON).write_text(json.dumps(record))
    pd.DataFrame({"tuner": ["random"], "final test %": ["88.00"]}).to_csv(
        folder / "comparison.csv", index=False
    )
    (folder / "comparison.png").write_bytes(b"png")
    assert layout.searches(results, compared=False) == [alone]
    archive.save(results, layout.ARCHIVE)
    kept = layout.ARCHIVE / "tune" / folder.name
    assert json.loads((kept / layout.TUNER_COMPARISON).read_text()) == record
    merged = archive.assemble(layout.ARCHIVE, None, tmp_path / "merged")
    page = searches_page(merged, {})
    assert page.count("\n## ") == 2  # the lone search, then the comparison
    assert "## Which tuner: Hyperband, random and Bayesian at one budget" in page
    assert "`python -m experiments.tune --compare-tuners 1 --max-epochs 9`" in page
    assert "69 (seed 42)" in page and "| random | 88.00 |" in page
    assert f"![tuners](records/tune/{folder.name}/comparison.png)" in page
    assert f"Its searches (each in `docs/records/tune`): `{member.name}`." in page


def test_a_searchs_command_names_what_changed_since_but_not_what_it_chose():
    from experiments.reporting.glance import search_command
    from keras_fcn.family import DENSE
    from keras_fcn.record import RunRecord

    run = DENSE.run_config({"loop": "fit", "label_smoothing": "0.1", "hidden": "512"})
    final = RunRecord(run.run_id, "dense", run.to_dict(), 42, test_accuracy=0.9)
    summary = {
        "family": "dense",
        "best": "hidden=512, label_smoothing=0.1",
        "command": "python -m experiments.tune --search hidden,label_smoothing --out /x",
    }
    line = search_command(summary, [final], {"dense": DENSE.run_config().to_dict()}).render()
    assert line == "python -m experiments.tune --search hidden,label_smoothing --set loop=fit"
