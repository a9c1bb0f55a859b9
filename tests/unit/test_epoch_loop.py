"""The epoch loop (``loop=epoch``) records what ``fit`` records, over every example once."""

from __future__ import annotations

import dataclasses
import gc

import keras
import numpy as np
import pytest

from keras_fcn import epoch_loop
from keras_fcn.compiled import build_compiled
from keras_fcn.family import DENSE
from keras_fcn.outcome import cross_entropy
from keras_fcn.train import fit_model, train_record

FAST = {"epochs": 3, "batch_size": 128, "hidden": (64,), "precision": "float32"}


@pytest.mark.parametrize("jit", ["off", "on"])
def test_an_epochs_metrics_are_the_models_own_over_every_example_once(fashion_small, jit):
    # SGD at a rate far below float32's resolution of the weights leaves them unchanged (but
    # for biases moving from 0 by about 1e-30): the
    # epoch's training metrics must then be the initial model's over every training image,
    # the last, smaller batch included, and the validation metrics its own on validation
    data = fashion_small
    assert len(data.y_train) % FAST["batch_size"] and len(data.y_val) % 256
    run = DENSE.run_config({**FAST, "l2": 1e-3, "learning_rate": 1e-30, "jit_compile": jit})
    keras.utils.set_random_seed(1)
    model = build_compiled(DENSE, run)
    before = model.get_weights()
    history = fit_model(
        model, run.train, data.x_train, data.y_train, validation_data=(data.x_val, data.y_val)
    ).history
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-25)
    l2 = float(sum(keras.ops.convert_to_numpy(loss) for loss in model.losses))
    assert l2 > 0  # the loss includes the L2 terms, as fit's does
    for prefix, x, y in (("", data.x_train, data.y_train), ("val_", data.x_val, data.y_val)):
        logits = model.predict(x, verbose=0)
        assert history[f"{prefix}accuracy"] == [np.mean(np.argmax(logits, axis=1) == y)] * 3
        expected = cross_entropy(logits, y) + l2
        assert history[f"{prefix}loss"] == pytest.approx([expected] * 3, rel=1e-5)


def test_both_loops_learn_and_record_the_same_curves(fashion_small):
    records = {
        loop: train_record(
            DENSE, DENSE.run_config({**FAST, "optimizer": "adam", "loop": loop}), fashion_small
        )
        for loop in ("fit", "epoch")
    }
    fit, epoch = records["fit"], records["epoch"]
    assert (
        fit.history.keys()
        == epoch.history.keys()
        == {
            "loss",
            "accuracy",
            "val_loss",
            "val_accuracy",
        }
    )
    for record in (fit, epoch):
        assert record.epochs_run == 3 and record.test_accuracy > 0.7
        assert record.history["loss"][-1] < record.history["loss"][0]
    # a loop draws its own batches: its runs are other runs, with other ids
    assert fit.run_id != epoch.run_id and fit.history != epoch.history


def test_the_batch_order_follows_the_seed_and_the_epoch(fashion_small):
    """Resumed at an epoch (as Hyperband resumes a trial), a run continues in the same order:
    with plain SGD (no optimizer state) and no dropout, epoch 1 trained after a separate
    epoch 0 ends where the run trained in one go does; another seed orders it otherwise."""
    run = DENSE.run_config({**FAST, "optimizer": "sgd", "learning_rate": 0.05})
    data = fashion_small

    def trained(epochs: int, initial: int = 0, weights=None, seed=None) -> list:
        keras.utils.set_random_seed(3)
        model = build_compiled(DENSE, run)
        if weights is not None:
            model.set_weights(weights)
        x, y = data.x_train, data.y_train
        train = dataclasses.replace(run.train, epochs=epochs, seed=seed or run.train.seed)
        fit_model(model, train, x, y, initial_epoch=initial)
        return model.get_weights()

    in_one_go = trained(2)
    resumed = trained(2, initial=1, weights=trained(1))
    for a, b in zip(in_one_go, resumed, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    other = trained(2, seed=run.train.seed + 1)
    assert any(not np.allclose(a, b) for a, b in zip(in_one_go, other, strict=True))


def test_arrays_are_converted_once_and_forgotten_with_them():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.arange(3)
    first = epoch_loop._tensors(x, y)
    assert epoch_loop._tensors(x, y)[0] is first[0]
    assert epoch_loop._tensors(x.copy(), y)[0] is not first[0]
    count = len(epoch_loop._converted)
    del x, first
    gc.collect()
    assert len(epoch_loop._converted) == count - 1


def test_runs_in_one_process_do_not_warn_of_retracing(fashion_small, caplog):
    # TensorFlow warns after five traces of one function's code: each run traces its own
    run = DENSE.run_config({**FAST, "epochs": 1, "hidden": (16,)})
    x, y = fashion_small.x_train[:300], fashion_small.y_train[:300]
    for _ in range(7):
        fit_model(build_compiled(DENSE, run), run.train, x, y, validation_data=(x, y))
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


class _CountedDense(keras.layers.Dense):
    """A dense layer that counts the Python calls of its ``call``: one per trace."""

    calls = 0

    def call(self, inputs):
        type(self).calls += 1
        return super().call(inputs)


def test_each_epoch_function_traces_the_network_once(fashion_small):
    # a trace of the step (forward, gradients, update) is most of a trial's fixed cost: the
    # last, smaller batch must run through the same traced body as the full ones
    run = DENSE.run_config({**FAST, "epochs": 2})
    x, y = fashion_small.x_train[:300], fashion_small.y_train[:300]
    assert len(y) % run.train.batch_size
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), _CountedDense(10)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(True))
    _CountedDense.calls = 0
    history = fit_model(model, run.train, x, y, validation_data=(x[:130], y[:130])).history
    assert len(history["val_loss"]) == 2
    assert _CountedDense.calls == 2  # the training epoch's trace and the validation's


class _Rewrites(keras.callbacks.Callback):
    """TensorFlow's graph rewrite options as each epoch ends."""

    def __init__(self):
        super().__init__()
        self.seen: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        self.seen.append(tf.config.optimizer.get_experimental_options())


@pytest.mark.parametrize("loop", ["epoch", "fit"])
def test_bfloat16_on_an_amx_cpu_trains_unfused_and_the_fusion_returns_after(
    fashion_small, monkeypatch, loop
):
    import tensorflow as tf

    from keras_fcn import hardware

    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512_bf16", "amx_bf16"}))
    x, y = fashion_small.x_train, fashion_small.y_train
    seen = {}
    for precision in ("mixed_bfloat16", "float32"):
        run = DENSE.run_config({**FAST, "precision": precision, "loop": loop})
        keras.utils.set_random_seed(1)
        model = build_compiled(DENSE, run)
        rewrites = _Rewrites()
        history = fit_model(model, run.train, x, y, callbacks=[rewrites]).history
        assert history["loss"][-1] < history["loss"][0]  # it learns either way
        seen[precision] = {options.get("remapping") for options in rewrites.seen}
        assert tf.config.optimizer.get_experimental_options().get("remapping", True)
    assert seen["mixed_bfloat16"] == {False} and False not in seen["float32"]
