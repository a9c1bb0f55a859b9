from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix

from keras_fcn.data import Dataset
from keras_fcn.family import DENSE
from keras_fcn.outcome import cross_entropy
from keras_fcn.train import train_model, train_record

FAST = {"epochs": 3, "batch_size": 128, "hidden": (64,)}
# SGD with momentum at a learning rate of 1e6 takes this network to NaN within a few batches
# float32 whatever the CPU: the diverging runs' test predictions are checked against a model
# rebuilt here from their weights, in float32 (in bfloat16 near-ties of the initial weights'
# logits on the synthetic data went the other way for 2 of 300 images)
DIVERGES = {
    "optimizer": "sgd",
    "momentum": 0.9,
    "batch_size": 32,
    "hidden": (64, 64),
    "precision": "float32",
}


def test_short_training_beats_seventy_percent(fashion_small):
    run = DENSE.run_config({**FAST, "optimizer": "adam", "learning_rate": 0.002})
    trained = train_model(DENSE, run, fashion_small)
    record, model = trained.record, trained.model
    assert record.status == "ok"
    assert record.test_accuracy > 0.70
    assert record.epochs_run == 3 and len(record.history["val_accuracy"]) == 3
    # the recorded predictions are the trained model's, image by image, and the metrics theirs
    logits = model.predict(fashion_small.x_test, verbose=0)
    np.testing.assert_array_equal(record.predictions(), np.argmax(logits, axis=1))
    cm = np.array(record.confusion_matrix)
    np.testing.assert_array_equal(
        cm, confusion_matrix(fashion_small.y_test, record.predictions(), labels=range(10))
    )
    assert record.test_accuracy == np.mean(record.predictions() == fashion_small.y_test)
    assert record.test_loss == pytest.approx(cross_entropy(logits, fashion_small.y_test))
    assert record.versions["keras"] and record.versions["tensorflow"]
    assert record.config["train"]["seed"] == record.seed == 42


def test_same_seed_gives_identical_histories_and_another_seed_does_not(fashion_small):
    settings = {**FAST, "epochs": 2, "dropout": 0.2}
    a = train_record(DENSE, DENSE.run_config(settings), fashion_small)
    b = train_record(DENSE, DENSE.run_config(settings), fashion_small)
    c = train_record(DENSE, DENSE.run_config({**settings, "seed": 7}), fashion_small)
    assert a.history == b.history and a.test_predictions == b.test_predictions
    assert a.history != c.history
    assert a.run_id == b.run_id != c.run_id


def _slice(data: Dataset, n_train: int = 600, n_test: int = 300) -> Dataset:
    return dataclasses.replace(
        data,
        x_train=data.x_train[:n_train],
        y_train=data.y_train[:n_train],
        x_val=data.x_val[:200],
        y_val=data.y_val[:200],
        x_test=data.x_test[:n_test],
        y_test=data.y_test[:n_test],
    )


def _predict_with(run, weights, x) -> np.ndarray:
    keras.backend.clear_session()
    model = DENSE.build(run.model)
    model.set_weights(weights)
    return np.argmax(model.predict(x, verbose=0), axis=1)


class _WeightsAfterEachEpoch(keras.callbacks.Callback):
    """The weights at the start of training and after every epoch, as the test saw them."""

    def on_train_begin(self, logs=None):
        self.seen = [self.model.get_weights()]

    def on_epoch_end(self, epoch, logs=None):
        self.seen.append(self.model.get_weights())


def _assert_real_test_metrics(record, data, expected):
    """The record's test metrics are those of the predictions ``expected``, all finite."""
    np.testing.assert_array_equal(record.predictions(), expected)
    cm = np.array(record.confusion_matrix)
    assert cm.sum() == len(data.y_test)
    np.testing.assert_array_equal(cm, confusion_matrix(data.y_test, expected, labels=range(10)))
    assert record.test_accuracy == np.mean(expected == data.y_test)
    assert record.test_loss is not None and np.isfinite(record.test_loss)


def test_run_diverging_in_its_first_epoch_is_tested_on_its_initial_weights(fashion_small):
    data = _slice(fashion_small)
    run = DENSE.run_config({**DIVERGES, "learning_rate": 1e6, "epochs": 3})
    weights = _WeightsAfterEachEpoch()
    record = train_record(DENSE, run, data, callbacks=[weights])
    assert record.status == "diverged" and record.epochs_run == 1
    assert not np.isfinite(record.history["loss"][0])
    assert not all(np.isfinite(w).all() for w in weights.seen[-1])  # nothing to test there
    assert record.note.startswith(
        "loss became non-finite in epoch 1; training stopped; test metrics from the initial weights"
    )
    _assert_real_test_metrics(record, data, _predict_with(run, weights.seen[0], data.x_test))


def test_run_diverging_later_is_tested_on_its_last_epoch_with_a_finite_loss(fashion_small):
    data = _slice(fashion_small)
    run = DENSE.run_config({**DIVERGES, "learning_rate": 0.01, "epochs": 5})
    # a sane rate for two epochs, then one that blows the weights up in the third
    blow_up = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 if epoch < 2 else 1e6)
    weights = _WeightsAfterEachEpoch()
    trained = train_model(DENSE, run, data, callbacks=[blow_up, weights])
    record, model = trained.record, trained.model
    assert record.status == "diverged" and record.epochs_run == 3
    assert np.isfinite(record.history["loss"][:2]).all()
    assert record.note.startswith(
        "loss became non-finite in epoch 3; training stopped; "
        "test metrics from the weights after epoch 2, the last with a finite loss"
    )
    after_two = weights.seen[2]
    _assert_real_test_metrics(record, data, _predict_with(run, after_two, data.x_test))
    # the model handed back is that state too, not the diverged one
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), after_two, strict=True))


def _overflowing_dense(config) -> keras.Model:
    """The dense network with its logits multiplied by infinity: never finite, whatever the weights."""
    return keras.Sequential([DENSE.build(config), keras.layers.Rescaling(float("inf"))])


def test_logits_never_finite_leave_the_record_without_predictions(fashion_small):
    family = dataclasses.replace(DENSE, name="overflow", build=_overflowing_dense)
    data = _slice(fashion_small)
    record = train_record(family, family.run_config({**FAST, "epochs": 2}), data)
    assert record.status == "diverged"
    assert "non-finite in epoch 1" in record.note and "from the initial weights" in record.note
    assert "test logits are not finite: no test predictions recorded" in record.note
    assert record.test_predictions == "" and record.predictions().size == 0
    assert record.confusion_matrix == []
    assert record.test_accuracy is None and record.test_loss is None


def test_early_stopping_restores_the_best_epoch(fashion_small):
    run = DENSE.run_config(
        {**FAST, "epochs": 30, "patience": 1, "optimizer": "adam", "learning_rate": 0.05}
    )
    record = train_record(DENSE, run, fashion_small)
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

    train_record(DENSE, DENSE.run_config({**FAST, "epochs": 1}), fashion_small)
    one_run = traced()
    assert one_run > 0  # TensorFlow keeps one per traced training step
    train_record(DENSE, DENSE.run_config({**FAST, "epochs": 1}), fashion_small)
    assert traced() == one_run  # the first run's were dropped when the second started
    assert release_traced_steps() == one_run
    assert traced() == 0


def test_objects_alive_before_a_run_are_left_out_of_garbage_collection(fashion_small):
    import gc

    train_record(DENSE, DENSE.run_config({**FAST, "epochs": 1}), fashion_small)
    assert gc.get_freeze_count() > 0  # the libraries' objects: collections skip them


def test_cosine_schedule_lowers_the_rate_each_epoch_and_constant_keeps_it(fashion_small):
    from keras_fcn.outcome import cosine_learning_rate

    settings = {**FAST, "epochs": 4, "optimizer": "adam", "learning_rate": 0.002}
    cosine = train_record(
        DENSE, DENSE.run_config({**settings, "lr_schedule": "cosine"}), fashion_small
    )
    rates = cosine.history["learning_rate"]
    assert rates == pytest.approx(
        [
            0.002,
            0.002 * 0.5 * (1 + np.cos(np.pi / 4)),
            0.001,
            0.002 * 0.5 * (1 + np.cos(3 * np.pi / 4)),
        ],
        rel=1e-5,
    )
    assert cosine_learning_rate(0.1, 10)(10) == pytest.approx(0.0, abs=1e-12)
    constant = train_record(DENSE, DENSE.run_config(settings), fashion_small)
    assert "learning_rate" not in constant.history  # no schedule, nothing logged
    assert constant.history["loss"] != cosine.history["loss"]
