"""Tuners at one budget of epochs: the oracle's budget and the comparison's arithmetic."""

from __future__ import annotations

import dataclasses
import json
import math
import types

import keras
import numpy as np
import pandas as pd
import pytest

from keras_fcn import tuning
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.space import Param, Space
from keras_fcn.tuning.compare import best_within, budget_curve, comparison_table

SPACE = Space((Param("learning_rate", (0.001, 0.01, 0.1), 0.001),))


class ShortTrials(tuning.FamilyHyperModel):
    """Trains nothing: every trial 'trains' three epochs."""

    def fit(self, hp, model, *args, **kwargs):
        history = keras.callbacks.History()
        rate = self.run_config(hp).train.learning_rate
        history.history = {"loss": [1.0] * 3, "val_loss": [1.0] * 3, "val_accuracy": [rate] * 3}
        return history


@pytest.mark.parametrize("tuner", ["random", "bayesian"])
def test_a_budget_of_epochs_stops_random_and_bayesian_search(tmp_path, tuner):
    hypermodel = ShortTrials(DENSE, DENSE.run_config({"hidden": (4,), "epochs": 3}), SPACE)
    options = tuning.SearchOptions(tuner=tuner, trials=50, epoch_budget=7)
    searcher = tuning.make_tuner(hypermodel, tmp_path, options, project_name="p")
    x, y = np.zeros((8, 28, 28), "float32"), np.zeros(8, "int64")
    searcher.search(x, y, validation_data=(x, y), verbose=0)
    # 3 + 3 epochs leave the budget unspent: a third trial starts and ends at 9
    assert len(searcher.oracle.trials) == 3


def test_a_budget_is_part_of_a_search_and_cannot_be_negative():
    base = DENSE.run_config()
    options = tuning.SearchOptions("random", max_epochs=3, trials=5, executions=1, seed=1)
    plain = tuning.search_identity(options, base, SPACE)
    with_budget = dataclasses.replace(options, epoch_budget=30)
    budget = tuning.search_identity(with_budget, base, SPACE)
    assert "epoch_budget" not in plain["tuner_settings"]
    assert tuning.search_key(plain) != tuning.search_key(budget)
    with pytest.raises(ConfigError, match="epoch_budget=-1"):
        tuning.SearchOptions(epoch_budget=-1)


def _trials(epochs, values):
    ids = [f"{i:02d}" for i in range(len(epochs))]
    return pd.DataFrame({"trial_id": ids, "epochs_trained": epochs, "val_accuracy": values})


def test_the_budget_curve_counts_epochs_in_trial_order_and_keeps_the_best_so_far():
    trials = _trials([2, 4, None, 3], [0.5, 0.4, None, 0.7]).iloc[[3, 0, 2, 1]]
    curve = budget_curve(trials)
    assert curve["epochs"].tolist() == [2, 6, 6, 9]
    assert curve["best"].tolist() == [0.5, 0.5, 0.5, 0.7]
    assert best_within(curve, 8) == 0.5 and best_within(curve, 9) == 0.7
    assert math.isnan(best_within(curve, 1))


def test_the_table_compares_tuners_at_each_quarter_of_each_seeds_budget():
    curves = pd.concat(
        [
            budget_curve(_trials([4, 4], [0.80, 0.90])).assign(tuner="hyperband", seed=1),
            budget_curve(_trials([4, 4], [0.84, 0.86])).assign(tuner="hyperband", seed=2),
            budget_curve(_trials([2, 6], [0.70, 0.95])).assign(tuner="random", seed=1),
            budget_curve(_trials([8], [0.90])).assign(tuner="random", seed=2),
        ]
    )
    result = types.SimpleNamespace(
        trials=pd.DataFrame({"wall_time_s": [1800.0, 1800.0]}),
        final_records=[types.SimpleNamespace(test_accuracy=0.9)],
    )
    searches = {(t, s): result for t in ("hyperband", "random") for s in (1, 2)}
    table = comparison_table(curves, {1: 8, 2: 8}, searches).set_index("tuner")
    assert table.loc["hyperband", "best val % at 50% of the budget"] == "82.00 ± 2.83"
    assert table.loc["random", "best val % at 50% of the budget"] == "70.00"  # seed 2: none yet
    assert table.loc["random", "best val % at 100% of the budget"] == "92.50 ± 3.54"
    assert table.loc["random", "hours of trials"] == "1.00 ± 0.00"


def test_every_tuner_trains_its_trials_up_to_max_epochs(tmp_path):
    # a space that searches epochs: random search must not get trials longer than
    # Hyperband's, or one trial spends the budget alone
    space = Space((*SPACE.params, Param("epochs", (3, 4), 3)))
    tiny = {"hidden": (4,), "train_limit": 200, "validation": 100, "test_limit": 100}
    comparison = tuning.compare_tuners(
        DENSE,
        space,
        base=DENSE.run_config({**tiny, "epochs": 2, "jit_compile": "off"}),
        options=tuning.SearchOptions(max_epochs=2, final_seeds=1, out=str(tmp_path)),
        seeds=1,
    )
    for tuner in ("random", "bayesian"):
        search = comparison.searches[tuner, 42]
        assert "epochs" not in search.trials.columns
        assert search.trials["epochs_trained"].max() <= 2
        assert {r.config["train"]["epochs"] for r in search.final_records} == {2}
    # Bayesian search leaves its random start within the budget (KerasTuner's default
    # start, three trials per dimension, would outlast it)
    bayesian = json.loads((comparison.searches["bayesian", 42].folder / "search.json").read_text())
    assert bayesian["tuner_settings"]["initial_points"] == 2


def test_bayesian_search_takes_its_random_start_from_the_options(tmp_path):
    hypermodel = ShortTrials(DENSE, DENSE.run_config({"hidden": (4,), "epochs": 3}), SPACE)
    options = tuning.SearchOptions(tuner="bayesian", initial_points=4)
    searcher = tuning.make_tuner(hypermodel, tmp_path, options, project_name="p")
    assert searcher.oracle.num_initial_points == 4
    base = DENSE.run_config()
    ids = {
        tuning.search_key(tuning.search_identity(dataclasses.replace(options, **c), base, SPACE))
        for c in (
            {},
            {"initial_points": 0},
            {"tuner": "random"},
            {"tuner": "random", "initial_points": 0},
        )
    }
    assert len(ids) == 3  # a random search ignores it
    assert tuning.compare.initial_points(tuning.SearchOptions(max_epochs=9), 66) == 2
    assert tuning.compare.initial_points(tuning.SearchOptions(max_epochs=9), 300) == 11
    with pytest.raises(ConfigError, match="initial_points=-1"):
        tuning.SearchOptions(initial_points=-1)
