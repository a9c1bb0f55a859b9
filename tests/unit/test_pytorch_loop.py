"""The plain PyTorch loop (keras_fcn.pytorch_loop) on the synthetic data: the same network,
rules and record as keras-fcn's Keras training. Needs PyTorch: ``make test-bench``."""

from __future__ import annotations

import copy
import math

import keras
import numpy as np
import pytest

from keras_fcn.config import DenseConfig
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE
from keras_fcn.model import build_dense
from keras_fcn.outcome import cosine_learning_rate
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.train import train_record

pytestmark = pytest.mark.bench


@pytest.fixture
def loop():
    """The module, imported in the test: the default tier collects this file without PyTorch."""
    from keras_fcn import pytorch_loop

    return pytorch_loop


FAST = {"hidden": (64,), "epochs": 2, "batch_size": 128, "defaults": "pytorch"}


@pytest.mark.parametrize(
    "config",
    [
        DenseConfig(),
        DenseConfig(hidden=(40, 30), batch_norm=True, dropout=(0.1, 0.3), input_dropout=0.2),
        DenseConfig(hidden=(20,), activation="leaky_relu", batch_norm=True, defaults="pytorch"),
    ],
)
def test_the_network_is_keras_fcns_layer_for_layer(config, loop):
    nn = loop.nn
    network = loop.dense_network(config)
    assert loop.count_params(network) == build_dense(config).count_params()
    keras_kinds = {
        keras.layers.Flatten: nn.Flatten,
        keras.layers.Dropout: nn.Dropout,
        keras.layers.Dense: nn.Linear,
        keras.layers.BatchNormalization: nn.BatchNorm1d,
    }
    expected = []
    for layer in build_dense(config).layers[1:]:
        kind = keras_kinds.get(type(layer))
        expected.append(kind.__name__ if kind else "activation")
    ours = [type(m).__name__ if type(m) in keras_kinds.values() else "activation" for m in network]
    assert ours == expected


def _first_linear(loop, config: DenseConfig) -> tuple[np.ndarray, np.ndarray]:
    """The weights and biases of the first Linear layer of ``config``'s network."""
    loop.seed(0)
    layer = next(m for m in loop.dense_network(config) if isinstance(m, loop.nn.Linear))
    return layer.weight.detach().numpy(), layer.bias.detach().numpy()


def test_initializers_draw_as_torch_nn_init_and_biases_follow_the_defaults(loop):
    bound = 1 / math.sqrt(784)  # nn.Linear's own, on 784 inputs
    weights, biases = _first_linear(
        loop, DenseConfig(hidden=(300,), initializer="pytorch", defaults="pytorch")
    )
    assert np.abs(weights).max() <= bound < 1.05 * np.abs(weights).max()
    assert 0 < np.abs(biases).max() <= bound
    weights, biases = _first_linear(loop, DenseConfig(hidden=(300,), initializer="kaiming_uniform"))
    assert np.abs(weights).max() == pytest.approx(math.sqrt(6 / 784), rel=0.02)
    assert not biases.any()  # Keras's defaults: zero biases
    for name, std in (
        ("standard_normal", 1.0),
        ("random_normal", 0.05),
        ("random_normal_0.1", 0.1),
    ):
        weights, _ = _first_linear(loop, DenseConfig(hidden=(300,), initializer=name))
        assert weights.std() == pytest.approx(std, rel=0.02)


def test_batch_norm_takes_each_frameworks_constants(loop):
    def norm(defaults):
        network = loop.dense_network(DenseConfig(hidden=(8,), batch_norm=True, defaults=defaults))
        return next(m for m in network if isinstance(m, loop.nn.BatchNorm1d))

    assert (norm("pytorch").momentum, norm("pytorch").eps) == (0.1, 1e-5)
    assert (norm("keras").momentum, norm("keras").eps) == (0.01, 1e-3)


def test_optimizers_take_torch_constants_and_l2_decays_the_linear_weights_only(loop):
    def optimizer(**settings):
        run = DENSE.run_config({"hidden": (8,), "batch_norm": True, **settings})
        return loop.make_optimizer(loop.dense_network(run.model), run)

    adam = optimizer(optimizer="adam", momentum=0.5, defaults="pytorch")
    assert adam.defaults["eps"] == 1e-8 and adam.defaults["betas"] == (0.9, 0.999)
    assert optimizer(optimizer="adam", momentum=0.5).defaults["betas"] == (0.5, 0.999)
    rmsprop = optimizer(optimizer="rmsprop", momentum=0.9, defaults="pytorch")
    assert (rmsprop.defaults["alpha"], rmsprop.defaults["momentum"]) == (0.99, 0.9)
    assert optimizer(optimizer="rmsprop").defaults["alpha"] == 0.9
    sgd = optimizer(optimizer="sgd", momentum=0.9, l2=1e-3, learning_rate=0.05)
    free, decayed = sgd.param_groups
    assert sgd.defaults["momentum"] == 0.9 and free["lr"] == 0.05
    assert decayed["weight_decay"] == pytest.approx(2e-3) and free["weight_decay"] == 0
    assert [tuple(p.shape) for p in decayed["params"]] == [(8, 784), (10, 8)]


class _Weights:
    """A model for Keras's EarlyStopping: its weights are the epoch they were taken at."""

    def __init__(self):
        self.epoch, self.stop_training, self.restored = 0, False, None

    def get_weights(self):
        return [self.epoch]

    def set_weights(self, weights):
        self.restored = weights[0]


@pytest.mark.parametrize(
    "accuracies",
    [[0.5, 0.6, 0.6, 0.55, 0.7], [0.5, 0.4, 0.3, 0.2], [0.1, 0.2, 0.3, 0.4], [0.3, 0.3, 0.3]],
)
@pytest.mark.parametrize("patience", [1, 2])
def test_early_stopping_follows_keras_early_stopping(accuracies, patience, loop):
    model = _Weights()
    theirs = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", patience=patience, mode="max", restore_best_weights=True
    )
    theirs.set_model(model)
    theirs.on_train_begin()
    for epoch, accuracy in enumerate(accuracies):
        model.epoch = epoch
        theirs.on_epoch_end(epoch, {"val_accuracy": accuracy})
        if model.stop_training:
            break
    theirs.on_train_end()
    ours, stopped = loop.EarlyStopping(patience), None
    for epoch, accuracy in enumerate(accuracies):
        if ours.update(epoch, accuracy, lambda epoch=epoch: epoch):
            stopped = epoch
            break
    assert stopped == (model.epoch if model.stop_training else None)
    assert ours.state_ == model.restored


def test_a_run_gives_a_record_like_a_keras_runs(fashion_small, tmp_path, loop):
    run = DENSE.run_config({**FAST, "epochs": 3, "optimizer": "adam", "learning_rate": 0.002})
    record = loop.train_record(DENSE, run, fashion_small, command="the line")
    assert record.run_id == run.run_id and record.framework == "pytorch"
    # it learns as the same run does in Keras
    keras_record = train_record(DENSE, run, fashion_small)
    assert record.status == "ok" and record.test_accuracy > 0.7
    assert abs(record.test_accuracy - keras_record.test_accuracy) < 0.05
    assert record.epochs_run == 3
    assert {k: len(v) for k, v in record.history.items()} == dict.fromkeys(
        ("loss", "accuracy", "val_loss", "val_accuracy"), 3
    )
    assert record.best_val_accuracy == max(record.history["val_accuracy"])
    assert np.array(record.confusion_matrix).sum() == len(fashion_small.y_test)
    assert record.test_accuracy == np.mean(record.predictions() == fashion_small.y_test)
    assert record.params == build_dense(run.model).count_params()
    assert record.versions["torch"] and record.command == "the line"
    store = RunStore(tmp_path / "pytorch_runs.jsonl")
    store.append(record)
    assert store.records()[0] == record
    assert RunRecord.from_dict(record.to_dict()).framework == "pytorch"


def test_same_seed_gives_the_same_run_and_another_seed_does_not(fashion_small, loop):
    settings = {**FAST, "epochs": 1, "dropout": 0.2}
    a = loop.train_record(DENSE, DENSE.run_config(settings), fashion_small)
    b = loop.train_record(DENSE, DENSE.run_config(settings), fashion_small)
    c = loop.train_record(DENSE, DENSE.run_config({**settings, "seed": 7}), fashion_small)
    assert a.history == b.history and a.test_predictions == b.test_predictions
    assert a.history != c.history


def test_early_stopping_leaves_the_best_epochs_weights(fashion_small, monkeypatch, loop):
    scripted, states = iter([0.5, 0.7, 0.6, 0.6, 0.9]), []

    def evaluate(model, run, x, y):
        states.append(copy.deepcopy(model.state_dict()))
        return 1.0, next(scripted)

    monkeypatch.setattr(loop, "evaluate", evaluate)
    run = DENSE.run_config({**FAST, "epochs": 5, "patience": 2})
    loop.seed(0)
    model = loop.dense_network(run.model)
    history, kept = loop.fit(model, run, fashion_small)
    assert history["val_accuracy"] == [0.5, 0.7, 0.6, 0.6] and kept is None
    for name, value in model.state_dict().items():
        loop.torch.testing.assert_close(value, states[1][name])


def test_the_learning_rate_follows_the_cosine_schedule_per_epoch(fashion_small, monkeypatch, loop):
    rates = []
    train_epoch = loop.train_epoch

    def spy(model, optimizer, run, x, y):
        rates.append(optimizer.param_groups[0]["lr"])
        return train_epoch(model, optimizer, run, x, y)

    monkeypatch.setattr(loop, "train_epoch", spy)
    run = DENSE.run_config({**FAST, "epochs": 3, "lr_schedule": "cosine", "learning_rate": 0.1})
    loop.fit(loop.dense_network(run.model), run, fashion_small)
    assert rates == pytest.approx([cosine_learning_rate(0.1, 3)(e) for e in range(3)])


def test_recorded_losses_carry_kerass_l2_term(fashion_small, loop):
    x, y = loop._tensors(fashion_small.x_val, fashion_small.y_val)
    plain = DENSE.run_config({**FAST, "l2": 0.0})
    model = loop.dense_network(plain.model)
    penalty = 0.01 * sum(
        float((m.weight.detach() ** 2).sum()) for m in model if isinstance(m, loop.nn.Linear)
    )
    with_l2 = loop.evaluate(model, plain.with_settings({"l2": 0.01}), x, y)[0]
    assert with_l2 - loop.evaluate(model, plain, x, y)[0] == pytest.approx(penalty, rel=1e-5)


def test_a_diverging_run_is_recorded_and_tested_on_its_last_finite_weights(fashion_small, loop):
    # as keras_fcn.train's test: SGD with momentum at 1e6 reaches NaN within a few batches
    settings = {"momentum": 0.9, "batch_size": 32, "hidden": (64, 64), "learning_rate": 1e6}
    run = DENSE.run_config({**FAST, **settings})
    record = loop.train_record(DENSE, run, fashion_small)
    assert record.status == "diverged" and not math.isfinite(record.history["loss"][-1])
    assert "loss became non-finite in epoch 1" in record.note
    assert record.test_accuracy is not None  # the initial weights, finite


def test_only_dense_runs_in_float32_are_trained(loop):
    with pytest.raises(ConfigError, match="mixed_bfloat16"):
        loop.check_run(DENSE, DENSE.run_config({"precision": "mixed_bfloat16"}))
    from cnn.family import LENET

    with pytest.raises(ConfigError, match="dense family only"):
        loop.check_run(LENET, LENET.run_config())


def test_the_command_trains_the_checked_rows_once_and_prints_them(tmp_path, capsys):
    from experiments import reproduce

    flags = ["chenab", "--pytorch", "--quick", "--seeds", "1", "--out", str(tmp_path)]
    reproduce.main([*flags, "--threads-per-run", "1"])
    store = RunStore(tmp_path / "chenab-quick" / "pytorch_runs.jsonl")
    records = store.records()
    assert len(records) == 3  # baseline, final, final on MNIST
    assert {r.framework for r in records} == {"pytorch"}
    assert {r.versions["torch_threads"] for r in records} == {"1"}
    assert records[0].command.startswith("python -m experiments.reproduce chenab --pytorch")
    assert "| mnist_final |" in capsys.readouterr().out
    reproduce.main(flags)
    assert len(store.records()) == 3  # resumed: nothing trained again


@pytest.mark.parametrize("field", ["label_smoothing", "weight_decay", "translate", "rotate"])
def test_the_pytorch_loop_refuses_what_it_does_not_implement(loop, field):
    run = DENSE.run_config({field: 0.1, "precision": "float32"})
    with pytest.raises(ConfigError, match=f"{field}=0.1: the PyTorch loop does not implement"):
        loop.check_run(DENSE, run)
