from __future__ import annotations

import numpy as np
import pytest

from keras_fcn.family import DENSE
from keras_fcn.train import cross_entropy, train_run

FAST = {"epochs": 3, "batch_size": 128, "hidden": (64,)}


def test_short_real_training_beats_seventy_percent(fashion_small):
    run = DENSE.run_config({**FAST, "optimizer": "adam", "learning_rate": 0.002})
    record = train_run(DENSE, run, fashion_small)
    assert record.status == "ok"
    assert record.test_accuracy > 0.70
    assert record.epochs_run == 3 and len(record.history["val_accuracy"]) == 3
    cm = np.array(record.confusion_matrix)
    assert cm.shape == (10, 10) and cm.sum() == len(fashion_small.y_test)
    assert np.trace(cm) / cm.sum() == pytest.approx(record.test_accuracy)
    assert (
        record.predictions() == np.argmax(cm, axis=1)[fashion_small.y_test]
    ).mean() > 0  # decoded
    assert len(record.test_predictions) == len(fashion_small.y_test)
    assert record.versions["keras"] and record.versions["tensorflow"]
    assert record.config["train"]["seed"] == record.seed == 42


def test_same_seed_gives_identical_histories_and_another_seed_does_not(fashion_small):
    settings = {**FAST, "epochs": 2, "dropout": 0.2}
    a = train_run(DENSE, DENSE.run_config(settings), fashion_small)
    b = train_run(DENSE, DENSE.run_config(settings), fashion_small)
    c = train_run(DENSE, DENSE.run_config({**settings, "seed": 7}), fashion_small)
    assert a.history == b.history and a.test_predictions == b.test_predictions
    assert a.history != c.history
    assert a.run_id == b.run_id != c.run_id


def test_diverging_run_is_recorded_not_raised(fashion_small):
    run = DENSE.run_config({**FAST, "learning_rate": 1e6, "momentum": 0.9, "epochs": 5})
    record = train_run(DENSE, run, fashion_small)
    assert record.status == "diverged"
    assert "non-finite in epoch" in record.note
    assert record.epochs_run < 5
    assert 0.0 <= record.test_accuracy <= 1.0
    assert record.test_loss is None


def test_early_stopping_restores_the_best_epoch(fashion_small):
    run = DENSE.run_config(
        {**FAST, "epochs": 30, "patience": 1, "optimizer": "adam", "learning_rate": 0.05}
    )
    record = train_run(DENSE, run, fashion_small)
    assert record.epochs_run < 30
    assert record.best_epoch == record.epochs_run - 1  # stopped one epoch after the best


def test_cross_entropy_matches_the_textbook_value():
    logits = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]))
    assert cross_entropy(logits, np.array([0, 1])) == pytest.approx(
        -(np.log(0.5) + np.log(0.8)) / 2
    )


def test_traced_steps_of_finished_runs_are_released(fashion_small):
    from tensorflow.python.framework import ops

    from keras_fcn.train import release_traced_steps

    def traced() -> int:
        return sum(name.startswith("CustomGradient-") for name in ops._gradient_registry._registry)

    train_run(DENSE, DENSE.run_config({**FAST, "epochs": 1}), fashion_small)
    one_run = traced()
    assert one_run > 0  # TensorFlow keeps one per traced training step
    train_run(DENSE, DENSE.run_config({**FAST, "epochs": 1}), fashion_small)
    assert traced() == one_run  # the first run's were dropped when the second started
    assert release_traced_steps() == one_run
    assert traced() == 0


def test_cosine_schedule_lowers_the_rate_each_epoch_and_constant_keeps_it(fashion_small):
    from keras_fcn.train import cosine_learning_rate

    settings = {**FAST, "epochs": 4, "optimizer": "adam", "learning_rate": 0.002}
    cosine = train_run(
        DENSE, DENSE.run_config({**settings, "lr_schedule": "cosine"}), fashion_small
    )
    rates = cosine.history["learning_rate"]
    assert rates == pytest.approx([0.002, 0.002 * 0.5 * (1 + np.cos(np.pi / 4)), 0.001,
                                   0.002 * 0.5 * (1 + np.cos(3 * np.pi / 4))], rel=1e-5)  # fmt: skip
    assert cosine_learning_rate(0.1, 10)(10) == pytest.approx(0.0, abs=1e-12)
    constant = train_run(DENSE, DENSE.run_config(settings), fashion_small)
    assert "learning_rate" not in constant.history  # no schedule, nothing logged
    assert constant.history["loss"] != cosine.history["loss"]
