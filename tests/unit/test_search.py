"""A whole search from Python (:func:`keras_fcn.tuning.run_search`) on tiny synthetic data:
interrupted, resumed by the same call, quiet, and lean on disk; and the trial table's cells."""

from __future__ import annotations

import json
import warnings

import keras
import numpy as np
import pytest

from keras_fcn import tuning
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.hardware import machine_line
from keras_fcn.record import RunStore
from keras_fcn.space import Param, Space
from keras_fcn.tuning import summary as search_summary
from keras_fcn.tuning import trials as trial_table
from tests.helpers import SPACES
from tests.unit.test_tuning import StubHyperModel

GRID = Space(
    (
        Param("learning_rate", (0.001, 0.01), 0.001),
        Param("activation", ("relu", "tanh"), "relu"),
    )
)
TINY = {
    "hidden": (8,),
    "train_limit": 300,
    "validation": 200,
    "test_limit": 200,
    "epochs": 1,
    "jit_compile": "off",
}


class CountTrainings(keras.callbacks.Callback):
    """Counts the trainings that start; with ``stop_at``, stops the search (as Ctrl-C does)
    when that many have started."""

    def __init__(self, stop_at: int | None = None) -> None:
        super().__init__()
        self.started, self.stop_at = 0, stop_at

    def __deepcopy__(self, memo: dict) -> CountTrainings:  # KerasTuner copies callbacks
        return self

    def on_train_begin(self, logs=None) -> None:
        self.started += 1
        if self.started == self.stop_at:
            raise KeyboardInterrupt


def _search(tmp_path, *callbacks, space=GRID, **settings):
    """A grid search of ``space`` on tiny data (one epoch, two final seeds unless told)."""
    options = {"max_epochs": 1, "final_seeds": 2, **settings}
    return tuning.run_search(
        DENSE,
        space,
        base=DENSE.run_config(TINY),
        tuner="grid",
        out=tmp_path,
        callbacks=callbacks,
        **options,
    )


def test_a_search_from_python_resumes_where_it_was_interrupted(tmp_path, capsys):
    with pytest.raises(KeyboardInterrupt):
        _search(tmp_path, CountTrainings(stop_at=3))  # two trials done, the third running
    [folder] = tmp_path.iterdir()
    assert not (folder / "summary.json").exists()
    first = capsys.readouterr().out
    assert first.startswith(f"a new search in {folder}")
    assert [line.split(":")[0] for line in first.splitlines()[1:]] == ["trial 0", "trial 1"]

    counted = CountTrainings()
    result = _search(tmp_path, counted)
    printed = capsys.readouterr().out
    assert printed.startswith(f"resuming the search in {folder} (3 trials on disk)")
    # the two finished trials are kept; the interrupted one runs again, under its own id
    assert counted.started == 2
    assert [line.split(":")[0] for line in printed.splitlines()[1:3]] == ["trial 2", "trial 3"]
    assert "Epoch" not in printed and "Search: " not in printed  # quiet by default
    assert list(result.trials["trial_id"]) == ["0", "1", "2", "3"]
    assert set(result.trials["status"]) == {"COMPLETED"}
    assert len({(r.learning_rate, r.activation) for r in result.trials.itertuples()}) == 4

    summary = json.loads((folder / "summary.json").read_text())
    assert summary == result.summary and summary["trials"] == 4
    assert summary["machine"] == machine_line()  # where its hours were spent
    finals = [r.run_id for r in RunStore(folder / "final_runs.jsonl")]
    assert finals == summary["final_run_ids"] == [r.run_id for r in result.final_records]
    assert result.best == trial_table.decode(GRID, result.best) and result.best_record.seed in (
        42,
        43,
    )
    # lean: the best model once, no other final model, no trial checkpoints
    assert (folder / "best_model.keras").exists() and not (folder / "final_models").exists()
    assert not list((folder / "search").glob("trial_*/checkpoint*"))
    saved = tuning.closing_text(result).splitlines()[-1]
    for name in ("best_model.keras", "search/", "trials.csv", "summary.json", "final_runs.jsonl"):
        assert f" {name} " in saved
    for name in ("along_each.png", "best_trials.png"):  # the figures the archive keeps
        assert (folder / name).stat().st_size > 1000


def test_the_final_runs_train_the_epochs_their_trial_did(tmp_path):
    # a grid over epochs: the chosen setting is retrained as it was chosen, not for
    # max_epochs (only Hyperband's trials all run to max_epochs)
    space = Space((Param("epochs", (1, 2), 1),))
    result = _search(tmp_path, space=space, max_epochs=3, final_seeds=1)
    trained = [r.config["train"]["epochs"] for r in result.final_records]
    assert trained == [result.best["epochs"]] and trained[0] in (1, 2)


def test_a_finished_search_called_again_trains_nothing_and_fresh_starts_over(tmp_path, capsys):
    _search(tmp_path, CountTrainings(), keep_models=True)
    [folder] = tmp_path.iterdir()
    assert len(list((folder / "final_models").glob("*.keras"))) == 2
    again = CountTrainings()
    result = _search(tmp_path, again)
    assert again.started == 0 and len(result.final_records) == 2
    fresh = CountTrainings()
    _search(tmp_path, fresh, fresh=True)
    assert fresh.started == 4 and not (folder / "final_models").exists()
    capsys.readouterr()


def test_verbose_brings_back_keras_and_kerastuner_numbering_trials_by_id(tmp_path, capsys):
    hypermodel = StubHyperModel(DENSE, DENSE.run_config({"hidden": (4,), "epochs": 2}), GRID)
    tuner = tuning.make_tuner(hypermodel, tmp_path, tuning.SearchOptions(tuner="grid"))
    x, y = np.zeros((8, 28, 28), "float32"), np.zeros(8, "int64")
    tuner.search(x, y, validation_data=(x, y), verbose=1)
    out = capsys.readouterr().out
    assert "Search: running trial 0\n" in out and "Trial 3 Complete" in out
    assert "Trial 4" not in out  # KerasTuner's own count from 1 is gone


def test_bad_options_are_one_line_errors_naming_the_field(tmp_path):
    with pytest.raises(ConfigError, match="unknown search option 'trails'"):
        tuning.run_search(DENSE, GRID, trails=3, out=tmp_path)
    with pytest.raises(ConfigError, match="final_seeds=0 is too small"):
        tuning.SearchOptions(final_seeds=0)
    assert not list(tmp_path.iterdir())


def test_the_trial_table_holds_integers_and_empty_cells(tmp_path):
    space = DENSE.read_space(SPACES / "dense_depth.toml")
    hypermodel = StubHyperModel(DENSE, DENSE.run_config({"epochs": 2}), space)
    options = tuning.SearchOptions(tuner="random", trials=6, seed=3)
    tuner = tuning.make_tuner(hypermodel, tmp_path, options)
    x, y = np.zeros((8, 28, 28), "float32"), np.zeros(8, "int64")
    tuner.search(x, y, validation_data=(x, y), verbose=0)
    table = trial_table.trials_frame(tuner, space)
    assert len(set(table["depth"])) > 1, "the seed should draw several depths"
    csv, md = trial_table.save_trials(table, tmp_path / "trials")
    for text in (csv.read_text(), md.read_text()):
        assert "nan" not in text.lower() and "<NA>" not in text
    import pandas as pd

    read = pd.read_csv(csv, dtype={"trial_id": str})
    for _, row in read.iterrows():
        for i in range(1, 5):
            assert pd.isna(row[f"units_{i}"]) == (i > row["depth"])
    units = [line.split(",") for line in csv.read_text().splitlines()]
    column = units[0].index("units_1")
    assert all(cell.isdigit() for cell in (r[column] for r in units[1:])), "128, not 128.0"
    assert str(table["units_3"].dtype) == "Int64" and str(table["epochs_trained"].dtype) == "Int64"
    assert read["trial_id"].tolist() == sorted(tuner.oracle.trials)  # "0", as its folder
    # the plots take the missing layers too
    figure = search_summary.plot_along_each(table, space)
    assert len([ax for ax in figure.axes if ax.get_visible()]) == len(space.searched())


def test_hyperband_continues_a_trial_with_its_optimizer_state(tmp_path):
    import keras_tuner as kt

    hypermodel = tuning.FamilyHyperModel(DENSE, DENSE.run_config({"hidden": (4,)}), GRID)
    first = hypermodel.build(kt.HyperParameters())
    x, y = np.zeros((16, 28, 28), "float32"), np.zeros(16, "int64")
    first.fit(x, y, epochs=1, batch_size=8, verbose=0)
    first.save_weights(tmp_path / "checkpoint.weights.h5")
    hp = kt.HyperParameters()
    hp.Fixed("tuner/trial_id", "00")
    later = hypermodel.build(hp)
    later.load_weights(tmp_path / "checkpoint.weights.h5")
    assert int(later.optimizer.iterations) == int(first.optimizer.iterations) == 2


class GaussianProcessNote(keras.callbacks.Callback):
    """Warns as scikit-learn's Gaussian process does when a length scale meets its bound."""

    def __deepcopy__(self, memo: dict) -> GaussianProcessNote:
        return self

    def on_train_begin(self, logs=None) -> None:
        warnings.warn_explicit(
            "length_scale is close to the specified lower bound",
            UserWarning,
            "kernels.py",
            445,
            module="sklearn.gaussian_process.kernels",
        )


@pytest.mark.parametrize("verbose", [False, True])
def test_the_gaussian_processs_notes_show_only_when_verbose(tmp_path, recwarn, verbose):
    _search(tmp_path, GaussianProcessNote(), final_seeds=1, verbose=verbose)
    notes = [w for w in recwarn if "length_scale" in str(w.message)]
    assert bool(notes) == verbose
