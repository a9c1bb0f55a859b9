"""The tuner: search logic with training stubbed out, then real searches on tiny data."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from experiments import tune
from experiments._cli import run_main
from keras_fcn import tuning
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.space import Param, Space
from keras_fcn.tuning import hypermodel as hypermodel_module
from keras_fcn.tuning import summary as search_summary
from keras_fcn.tuning import trials as trial_table

SPACE = Space(
    (
        Param("learning_rate", (0.001, 0.01), 0.001),
        Param("activation", ("relu", "tanh", "elu"), "relu"),
    )
)


class StubHyperModel(tuning.FamilyHyperModel):
    """Builds the real (tiny) model but trains nothing: the score is a function of the settings."""

    diverge_on = "elu"

    def fit(self, hp, model, *args, **kwargs):
        run = self.run_config(hp)
        history = keras.callbacks.History()
        score = (
            0.5 + 10 * run.train.learning_rate + (0.1 if run.model.activation == "tanh" else 0.0)
        )
        score += 0.01 * (keras.random.uniform(()).numpy() > 0.5)  # depends on the execution's seed
        loss = float("nan") if run.model.activation == self.diverge_on else 0.5
        history.history = {
            "loss": [1.0, loss],
            "val_loss": [1.0, 0.9],
            "val_accuracy": [0.1, score],
        }
        return history


def _tuner(tmp_path, name="grid", executions=1):
    hypermodel = StubHyperModel(
        DENSE, DENSE.run_config({"hidden": (4,), "epochs": 2}), SPACE, use_ranges=name != "grid"
    )
    options = tuning.SearchOptions(tuner=name, executions=executions, trials=3)
    return tuning.make_tuner(hypermodel, tmp_path, options, project_name="p")


def _search(tuner):
    x, y = np.zeros((8, 28, 28), "float32"), np.zeros(8, "int64")
    tuner.search(x, y, validation_data=(x, y), verbose=0)


def test_grid_runs_the_spaces_grid_in_its_order_and_records_divergence(tmp_path):
    tuner = _tuner(tmp_path)
    _search(tuner)
    table = trial_table.trials_frame(tuner, SPACE)
    assert list(zip(table["learning_rate"], table["activation"], strict=True)) == [
        (s["learning_rate"], s["activation"]) for s in SPACE.grid()
    ]
    failed = table[table["activation"] == "elu"]
    assert (failed["status"] == "FAILED").all() and failed["message"].str.contains("diverged").all()
    assert (table[table["activation"] != "elu"]["status"] == "COMPLETED").all()
    assert trial_table.best_point(tuner, SPACE) == {"learning_rate": 0.01, "activation": "tanh"}


def test_every_execution_is_kept(tmp_path):
    tuner = _tuner(tmp_path, "random", executions=3)  # 3 trials: the grid would run 6
    _search(tuner)
    table = trial_table.trials_frame(tuner, SPACE)
    row = table[table["status"] == "COMPLETED"].iloc[0]
    values = [float(v) for v in row["executions"].split(", ")]
    assert len(values) == 3
    assert row["val_accuracy"] == pytest.approx(np.mean(values))
    assert row["val_accuracy_std"] == pytest.approx(np.std(values, ddof=1))
    assert (tmp_path / "p" / f"trial_{row['trial_id']}" / "histories.json").exists()


def test_grid_resumes_with_only_the_missing_settings(tmp_path):
    tuner = _tuner(tmp_path)
    tuner.oracle.max_trials = 2  # stop early, as a killed search would
    _search(tuner)
    assert len(tuner.oracle.trials) == 2
    resumed = _tuner(tmp_path)
    _search(resumed)
    table = trial_table.trials_frame(resumed, SPACE)
    assert len(table) == SPACE.size() == len(table.drop_duplicates(["learning_rate", "activation"]))


def test_a_chief_killed_just_after_handing_out_a_trial_takes_its_report_after_a_restart(tmp_path):
    chief = _tuner(tmp_path)
    chief.save()  # as a chief's search does before it serves its workers
    handed_out = chief.oracle.create_trial("worker0")  # then the chief is killed
    restarted = _tuner(tmp_path).oracle
    assert handed_out.trial_id in restarted.trials
    handed_out.status = "FAILED"  # the worker, still training it, reports it to the new chief
    restarted.end_trial(handed_out)
    assert restarted.end_order == [handed_out.trial_id]


def test_edges_and_empty_spaces():
    assert search_summary.edge_warnings(Space((Param("lr", (0.1, 0.2, 0.3), 0.2),)), {"lr": 0.3})
    assert not search_summary.edge_warnings(
        Space((Param("lr", (0.1, 0.2, 0.3), 0.2),)), {"lr": 0.2}
    )
    with pytest.raises(ConfigError, match="search space is empty"):
        tuning.space_for("random", Space((Param("lr", (0.1,), 0.1),)))
    assert "epochs" not in tuning.space_for("hyperband", DENSE.space).names


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--tuner", "annealing"],
            "error: unknown tuner 'annealing'; choose one of hyperband, random, bayesian, grid",
        ),
        (
            ["--search", "learning_rate", "--fix", "learning_rate=0.01"],
            "error: the search space is empty",
        ),
        (
            ["--fix", "optimizer=adam", "--only", "optimizer=sgd,adam"],
            "error: parameter 'optimizer' is both fixed and restricted",
        ),
        (["--only", "learning_rate=-1"], "error: learning_rate=-1.0 is outside the space"),
        (["--family", "rnn"], "error: unknown family 'rnn'; choose one of dense"),
        (["--tuner", "grid"], "error: the grid has"),
        (
            ["--fix", "learning_rate=0.001,0.01"],
            "error: --fix learning_rate=0.001,0.01: --fix takes one value; use --only",
        ),
    ],
)
def test_bad_tuning_input_is_one_line(argv, message, capsys, tmp_path, monkeypatch):
    from keras_fcn import train

    def load_dataset(*args, **kwargs):
        raise AssertionError("the arguments were accepted: the search would train")

    monkeypatch.setattr(train, "load_dataset", load_dataset)
    with pytest.raises(SystemExit) as info:
        run_main(tune.main, [*argv, "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.startswith(message) and err.count("\n") == 1
    assert not list(tmp_path.iterdir()), "nothing is written before the arguments are valid"


def test_unusable_out_is_one_line_before_the_data_are_loaded(tmp_path, capsys, monkeypatch):
    from keras_fcn import train

    def load_dataset(*args, **kwargs):
        raise AssertionError("the data were loaded before --out was checked")

    monkeypatch.setattr(train, "load_dataset", load_dataset)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(SystemExit) as info:
        run_main(tune.main, ["--tuner", "random", "--out", str(blocker / "tune")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: cannot write results to {blocker / 'tune'}/dense-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_each_trial_trains_with_its_own_learning_rate_schedule(monkeypatch):
    import keras_tuner as kt

    space = Space((Param("lr_schedule", ("constant", "cosine"), "constant"),))
    hypermodel = tuning.FamilyHyperModel(DENSE, DENSE.run_config({"epochs": 4}), space)
    hypermodel.execution_seed = 43
    calls = []

    def fit_model(model, train, x, y, **kwargs):
        calls.append((train, x, y, kwargs))
        return kwargs["callbacks"]

    monkeypatch.setattr(hypermodel_module, "fit_model", fit_model)
    for schedule, expected in (("constant", 0), ("cosine", 1)):
        hp = kt.HyperParameters()
        hp.Fixed("lr_schedule", schedule)
        callbacks = hypermodel.fit(
            hp,
            None,
            "x",
            "y",
            callbacks=[keras.callbacks.TerminateOnNaN()],
            epochs=3,
            initial_epoch=2,
        )
        schedulers = [c for c in callbacks if isinstance(c, keras.callbacks.LearningRateScheduler)]
        assert len(schedulers) == expected and len(callbacks) == 1 + expected
    # the trial's run, the search's arrays, Hyperband's epochs and the execution's seed
    train, x, y, kwargs = calls[-1]
    assert train.lr_schedule == "cosine" and (x, y) == ("x", "y")
    assert kwargs["initial_epoch"] == 2 and train.seed == 43 and train.epochs == 3
    # the schedule follows the trial's run (4 epochs), not Hyperband's round
    assert schedulers[0].schedule(2) == pytest.approx(0.01 * 0.5)  # half-way down from 0.01


def test_a_trial_line_says_where_a_continued_hyperband_trial_started():
    import keras_tuner as kt

    space = Space((Param("learning_rate", values=(0.1, 0.01)),))
    hp = kt.HyperParameters()
    hp.Choice("learning_rate", [0.1, 0.01])
    hp.Fixed("tuner/initial_epoch", 10)
    trial = kt.engine.trial.Trial(hp, trial_id="0051", status="COMPLETED")
    result = {"val_accuracy": 0.9386, "epochs_trained": 20, "wall_time_s": 401.7}
    line = trial_table.trial_line(space, trial, result)
    assert line.startswith("trial 0051: val_accuracy 0.9386, epochs 11-30, 401.7 s;")
    hp.values["tuner/initial_epoch"] = 0
    assert ", 20 epochs, 401.7 s;" in trial_table.trial_line(space, trial, result)


def test_the_trials_close_to_the_best_are_counted_against_the_final_seeds_spread():
    table = pd.DataFrame(
        {
            "status": ["COMPLETED", "COMPLETED", "COMPLETED", "FAILED", "COMPLETED"],
            "val_accuracy": [0.940, 0.938, 0.930, None, 0.9395],
        }
    )
    # std of (0.938, 0.940, 0.942) is 0.002: the margin is 0.4 points
    line = search_summary.rivals_line(table, [0.938, 0.940, 0.942])
    assert line.startswith("2 other trials lie within 0.40 points of the best")
    tight = search_summary.rivals_line(table, [0.9400, 0.9401, 0.9402])  # margin 0.02 points
    assert tight.startswith("no other trial lies within 0.02 points")
    assert search_summary.rivals_line(table, [0.94]) == ""  # one seed: no spread to judge by
    assert search_summary.rivals_line(table, [0.94, None]) == ""  # a run without validation
