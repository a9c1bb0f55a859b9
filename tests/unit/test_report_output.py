"""What the report shows: no figure without data, no matplotlib warning, and a best config
that gives its number again."""

from __future__ import annotations

import io
import types
import warnings

import pytest

from experiments.reporting.best import Best, best_table, reproducing_line
from keras_fcn.family import DENSE
from keras_fcn.record import RunRecord
from keras_fcn.reporting.figures import has_curves, plot_learning_curves
from keras_fcn.reporting.studies import _save_curves

HISTORY = {"loss": [1.0, 0.6, 0.4], "val_accuracy": [0.5, 0.7, 0.8]}


def _record(family="dense", seed=42, history=None, command="", config=None) -> RunRecord:
    config = config or DENSE.run_config({"seed": seed}).to_dict()
    return RunRecord(
        f"{family}-{seed}",
        family,
        config,
        seed,
        test_accuracy=0.8,
        best_val_accuracy=0.8,
        history=history or {},
        command=command,
    )


def _saved_without_warnings(fig) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any matplotlib warning fails the test
        fig.savefig(io.BytesIO(), format="png", dpi=40)


def test_curves_of_a_whole_config_as_label_draw_without_warnings():
    label = "final: " + " ".join(f"field_{i}=value_{i}" for i in range(30))
    fig = plot_learning_curves({label: [_record(history=HISTORY)]}, title="a table")
    _saved_without_warnings(fig)
    assert len(fig.axes[1].get_lines()) == 1


def test_a_table_of_many_rows_draws_without_warnings():
    """Hippe's Table 1: 16 rows, each labelled with its settings."""
    labels = [f"{i}: " + " ".join(f"setting_{k}=value" for k in range(8)) for i in range(16)]
    fig = plot_learning_curves({label: [_record(history=HISTORY)] for label in labels})
    _saved_without_warnings(fig)
    assert len(fig.legends[0].get_texts()) == 16


def test_rows_without_curves_get_no_legend_entry_and_no_warning():
    fig = plot_learning_curves({"knn": [_record("knn")], "dense": [_record(history=HISTORY)]})
    _saved_without_warnings(fig)
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["dense"]
    assert not has_curves([_record("knn")]) and has_curves([_record(history=HISTORY)])


def _table(name: str, records: dict) -> types.SimpleNamespace:
    spec = types.SimpleNamespace(name=name, title=f"the {name} table")
    return types.SimpleNamespace(spec=spec, records=records, labels={})


def test_a_table_without_curves_has_no_figure(tmp_path):
    stale = tmp_path / "curves_knn.png"
    stale.write_bytes(b"an earlier, blank figure")
    _save_curves("chenab", _table("knn", {"knn-5": [_record("knn")]}), tmp_path)
    assert not stale.exists()
    _save_curves("chenab", _table("final", {"adam": [_record(history=HISTORY)]}), tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["curves_final.png"]


def test_the_best_config_is_the_command_that_trains_it_with_every_setting():
    run = DENSE.run_config(
        {"seed": 43, "lr_schedule": "cosine", "precision": "float32", "learning_rate": 0.001}
    )
    record = _record(seed=43, command=DENSE.command_for(run), config=run.to_dict())
    line = reproducing_line(record)
    assert line.startswith("`python -m experiments.fashion_dense --seed S --set ")
    # the settings the table used to leave out
    assert "--set lr_schedule=cosine" in line and "--set precision=float32" in line
    rebuilt = DENSE.run_config(
        dict(p.split("=", 1) for p in line.strip("`").split(" --set ")[1:]) | {"seed": 43}
    )
    assert rebuilt.run_id == run.run_id


def test_a_record_without_a_command_shows_every_setting():
    config = {
        "model": {"n_neighbors": 5, "weights": "uniform"},
        "data": {"dataset": "mnist", "validation": 0.1, "train_limit": None},
        "search_id": "abc",
    }
    line = reproducing_line(_record("knn-5", seed=0, config=config))
    assert line == "n_neighbors=5, weights=uniform, dataset=mnist, validation=0.1, train_limit=none"


@pytest.mark.parametrize("with_command", [True, False])
def test_the_best_table_prints_that_line(with_command):
    run = DENSE.run_config({"lr_schedule": "cosine"})
    record = _record(command=DENSE.command_for(run) if with_command else "", config=run.to_dict())
    summary = {"test_mean": 0.8, "test_std": 0.0, "n": 1}
    table = best_table([Best("dense", "fashion_mnist", [record], summary)], {})
    (cell,) = table.filter(like="best config").iloc[0]
    assert cell == reproducing_line(record) and "lr_schedule" in cell
