import keras
import numpy as np
import pytest

from keras_fcn import loop
from keras_fcn.family import DENSE
from keras_fcn.train import build_compiled


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.normal(size=(n, 28, 28)).astype("float32") * 0.3
    x[np.arange(n), y, :] += 1.0  # a learnable signal: the class's row is brighter
    return x, y


def _model(settings: dict) -> keras.Model:
    keras.utils.set_random_seed(3)
    return build_compiled(DENSE, DENSE.run_config(settings))


def test_one_batch_per_epoch_gives_what_keras_fit_gives():
    """With the whole set as one batch the order does not matter: both loops must compute
    the same losses, accuracies, L2 term and weights."""
    settings = {"hidden": (32, 16), "l2": 1e-3, "optimizer": "adam", "learning_rate": 0.01}
    x, y = _data(256)
    validation = _data(64, seed=1)
    ours, theirs = _model(settings), _model(settings)
    assert all(
        np.array_equal(a, b) for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True)
    )
    kwargs = {"batch_size": 256, "epochs": 3, "validation_data": validation}
    mine = loop.fit(ours, x, y, validation_batch_size=64, **kwargs).history
    keras_history = theirs.fit(x, y, shuffle=False, verbose=0, **kwargs).history
    assert set(mine) == set(keras_history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key in mine:
        assert mine[key] == pytest.approx(keras_history[key], rel=1e-4), key
    assert mine["loss"][2] < mine["loss"][0]
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_an_epoch_takes_as_many_steps_as_batches_it_needs():
    x, y = _data(100)
    model = _model({"hidden": (8,)})
    seen = []

    class Spy(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(int(model.optimizer.iterations.numpy()))

    np.random.seed(0)
    history = loop.fit(model, x, y, batch_size=32, epochs=2, callbacks=[Spy()]).history
    assert seen == [4, 8]  # ceil(100 / 32) steps per epoch
    assert len(history["loss"]) == 2 and "val_loss" not in history


def test_a_diverging_run_stops_within_check_every_steps():
    x, y = _data(512)
    model = _model({"hidden": (32,), "optimizer": "sgd", "learning_rate": 1e6, "momentum": 0.9})
    history = loop.fit(
        model, x, y, batch_size=8, epochs=5, check_every=4,
        callbacks=[keras.callbacks.TerminateOnNaN()],
    ).history  # fmt: skip
    assert len(history["loss"]) == 1 and not np.isfinite(history["loss"][0])
    assert model.optimizer.iterations.numpy() < 64  # stopped long before the 64 steps of an epoch


def test_early_stopping_and_schedules_work_through_the_loop():
    x, y = _data(256)
    model = _model({"hidden": (16,), "optimizer": "adam", "learning_rate": 0.05})
    stop = keras.callbacks.EarlyStopping(
        "val_accuracy", patience=1, mode="max", restore_best_weights=True
    )
    rate = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.05 / (epoch + 1))
    history = loop.fit(
        model, x, y, batch_size=64, epochs=30, validation_data=_data(64, 1),
        callbacks=[stop, rate],
    ).history  # fmt: skip
    assert len(history["loss"]) < 30  # stopped early
    assert history["learning_rate"][:2] == pytest.approx([0.05, 0.025])
