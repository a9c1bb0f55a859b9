"""A dense run trained by a plain PyTorch loop: the same config, seeds and arrays as
keras-fcn's Keras training, and the same :class:`~keras_fcn.record.RunRecord`.

It is how the Keras port is checked against PyTorch itself: the studies written in PyTorch
are re-run in Keras, and where ours differ from a paper, the same rows trained here tell
whether the difference is the port's or the paper's.

What it mirrors, piece by piece:

- the network of :func:`keras_fcn.model.build_dense`: Flatten, input Dropout, then per
  hidden layer Linear -> BatchNorm1d -> activation -> Dropout, and a Linear to 10 logits;
- the initializers as ``torch.nn.init`` draws them with its defaults (``pytorch``: what
  ``nn.Linear`` draws itself; ``default``: Keras's own, Glorot uniform), the biases and batch
  normalization of the config's ``defaults`` (PyTorch's, or Keras's: zero biases, momentum
  0.01 in PyTorch's convention, epsilon 1e-3);
- L2 as Keras's regularizer, which adds ``l2 * sum(w**2)`` to the loss: weight decay
  ``2 * l2`` on the Linear weights, and that term in the recorded losses, as Keras records it;
- the optimizers with ``torch.optim``'s constants (Keras's where ``defaults=keras``, as far
  as ``torch.optim`` takes them), the cosine schedule per epoch
  (:func:`keras_fcn.outcome.cosine_learning_rate`);
- each epoch shuffled, its loss and accuracy the batch means weighted by batch size, then
  the validation split; early stopping as Keras's ``EarlyStopping(monitor="val_accuracy",
  restore_best_weights=True)`` (:class:`EarlyStopping`); a non-finite loss stops training and
  the run is tested on the weights of its last finite epoch, as :func:`keras_fcn.train.train_model`
  does.

It sits beside :mod:`keras_fcn.train`, its Keras peer, with the same trainer signature
(``run_study``'s ``trainer``), below the studies that use it and the benchmark that reuses
its network. PyTorch is optional (``pip install -e .[bench]``): importing this module
without it raises :class:`~keras_fcn.errors.KerasFcnError` with that instruction.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from typing import Any

import numpy as np

from keras_fcn.config import DenseConfig
from keras_fcn.errors import ConfigError, KerasFcnError
from keras_fcn.idx import N_CLASSES

INSTALL_HINT = (
    "PyTorch is not installed: the PyTorch loop needs it. Install the CPU build with "
    "`pip install -e .[bench]` (see docs/benchmark.md)"
)

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - depends on the environment
    raise KerasFcnError(INSTALL_HINT) from None

from keras_fcn.data import Dataset  # noqa: E402 (after the check that says how to install)
from keras_fcn.family import Family, RunConfig  # noqa: E402
from keras_fcn.outcome import (  # noqa: E402 (the record, made as a Keras run's is)
    cosine_learning_rate,
    cross_entropy,
    tested_record,
)
from keras_fcn.record import RunRecord, library_versions  # noqa: E402

FRAMEWORK = "pytorch"
"""The ``framework`` of the records this loop writes."""

INPUTS = 28 * 28

ACTIVATIONS = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "leaky_relu": functools.partial(nn.LeakyReLU, 0.01),
    "elu": nn.ELU,
    "hard_sigmoid": nn.Hardsigmoid,  # relu6(x + 3) / 6, as Keras 3 defines it
}

INITIALIZERS = {
    "default": nn.init.xavier_uniform_,  # Keras's own default, Glorot uniform
    "xavier_uniform": nn.init.xavier_uniform_,
    "xavier_normal": nn.init.xavier_normal_,
    "kaiming_uniform": nn.init.kaiming_uniform_,
    "kaiming_normal": nn.init.kaiming_normal_,
    "random_normal": functools.partial(nn.init.normal_, std=0.05),
    "standard_normal": nn.init.normal_,
    "random_normal_0.1": functools.partial(nn.init.normal_, std=0.1),
}
"""Weight initializers by name; ``pytorch`` keeps what ``nn.Linear`` drew."""

BATCH_NORM = {"pytorch": {}, "keras": {"momentum": 0.01, "eps": 1e-3}}
"""``BatchNorm1d``'s arguments under each framework's defaults (PyTorch's momentum is the
weight of the new batch, Keras's that of the old average: Keras's 0.99 is 0.01 here)."""

OPTIMIZER_CONSTANTS = {
    "pytorch": {},
    # Keras's own; Keras adds RMSprop's epsilon under the root, torch.optim over it
    "keras": {"adam": {"eps": 1e-7}, "rmsprop": {"alpha": 0.9, "eps": 1e-7}},
}


def seed(value: int) -> None:
    """Seed PyTorch's generator: the initial weights, dropout and every epoch's order."""
    torch.manual_seed(value)


def use_threads(threads: int) -> None:
    """Compute with ``threads`` threads. On a CPU shared with other work, one thread trained
    these small networks over ten times faster than PyTorch's default of one per core, whose
    threads wait on each other while another process holds a core."""
    torch.set_num_threads(threads)


def linear(inputs: int, units: int, config: DenseConfig) -> nn.Linear:
    """A Linear layer initialized as ``config`` says (weights by ``initializer``, biases
    by ``defaults``)."""
    layer = nn.Linear(inputs, units)
    if config.initializer != "pytorch":
        INITIALIZERS[config.initializer](layer.weight)
    if config.defaults == "keras":
        nn.init.zeros_(layer.bias)
    return layer


def dense_network(config: DenseConfig) -> nn.Sequential:
    """The network of :func:`keras_fcn.model.build_dense` for ``config``, in PyTorch."""
    layers: list[nn.Module] = [nn.Flatten()]
    if config.input_dropout > 0:
        layers.append(nn.Dropout(config.input_dropout))
    width = INPUTS
    for units, rate in zip(config.hidden, config.dropout_rates(), strict=True):
        layers.append(linear(width, units, config))
        if config.batch_norm:
            layers.append(nn.BatchNorm1d(units, **BATCH_NORM[config.defaults]))
        layers.append(ACTIVATIONS[config.activation]())
        if rate > 0:
            layers.append(nn.Dropout(rate))
        width = units
    layers.append(linear(width, N_CLASSES, config))
    return nn.Sequential(*layers)


def count_params(model: nn.Module) -> int:
    """Weights and batch normalization's running statistics, as Keras's ``count_params``."""
    stats = sum(
        m.running_mean.numel() + m.running_var.numel()
        for m in model.modules()
        if isinstance(m, nn.BatchNorm1d)
    )
    return sum(p.numel() for p in model.parameters()) + stats


def decayed_weights(model: nn.Module) -> list[nn.Parameter]:
    """The weights Keras's L2 regularizer covers: every Linear layer's, not its bias."""
    return [m.weight for m in model.modules() if isinstance(m, nn.Linear)]


def parameter_groups(model: nn.Module, l2: float) -> list[dict[str, Any]]:
    """``model``'s parameters for an optimizer, with Keras's ``l2`` as weight decay ``2 * l2``
    on the Linear weights (the gradient of ``l2 * sum(w**2)``) and none elsewhere."""
    decayed = decayed_weights(model) if l2 else []
    ids = {id(p) for p in decayed}
    groups: list[dict[str, Any]] = [
        {"params": [p for p in model.parameters() if id(p) not in ids], "weight_decay": 0.0}
    ]
    if decayed:
        groups.append({"params": decayed, "weight_decay": 2 * l2})
    return groups


def make_optimizer(model: nn.Module, run: RunConfig) -> torch.optim.Optimizer:
    """``run``'s optimizer over ``model`` with the constants of its ``defaults``.

    PyTorch's Adam takes no momentum; under Keras's defaults ``momentum`` > 0 is Adam's
    first beta, as :func:`keras_fcn.compiled.make_optimizer` sets it.
    """
    train, defaults = run.train, run.model.defaults
    groups = parameter_groups(model, run.model.l2)
    constants = dict(OPTIMIZER_CONSTANTS[defaults].get(train.optimizer, {}))
    if train.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=train.learning_rate, momentum=train.momentum)
    if train.optimizer == "adam":
        if defaults == "keras" and train.momentum > 0:
            constants["betas"] = (train.momentum, 0.999)
        return torch.optim.Adam(groups, lr=train.learning_rate, **constants)
    return torch.optim.RMSprop(groups, lr=train.learning_rate, momentum=train.momentum, **constants)


class EarlyStopping:
    """Keras's ``EarlyStopping(monitor="val_accuracy", mode="max", patience=...,
    restore_best_weights=True)`` (:func:`keras_fcn.train.stopping_callbacks`), rule for rule.

    The first epoch's state is kept; a strictly higher accuracy is an improvement and keeps
    its state; training stops once ``patience`` epochs in a row brought none (never after
    the first epoch); the best state is restored at the end whether or not training stopped
    early, as Keras 3 restores it.

    Attributes:
        best_: the best accuracy seen (``None`` before the first epoch).
        best_epoch_: its epoch, from 0.
        state_: the state kept for it.
    """

    def __init__(self, patience: int) -> None:
        self.patience = patience
        self.best_: float | None = None
        self.best_epoch_ = 0
        self.state_: Any = None
        self._wait = 0

    def update(self, epoch: int, accuracy: float, state: Any) -> bool:
        """Record epoch ``epoch``'s accuracy (``state()`` gives its state); whether to stop."""
        if self.state_ is None:
            self.state_, self.best_epoch_ = state(), epoch
        self._wait += 1
        if self.best_ is None or accuracy > self.best_:
            self.best_, self.best_epoch_, self.state_ = accuracy, epoch, state()
            self._wait = 0
            return False
        return self._wait >= self.patience and epoch > 0


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        torch.from_numpy(np.asarray(y, dtype=np.int64)),
    )


def _penalty(model: nn.Module, l2: float) -> float:
    """Keras's L2 term of the loss, ``l2 * sum(w**2)`` over the Linear weights."""
    if not l2:
        return 0.0
    with torch.no_grad():
        return l2 * float(sum((w * w).sum() for w in decayed_weights(model)))


def train_epoch(
    model: nn.Module, optimizer: torch.optim.Optimizer, run: RunConfig, x, y
) -> tuple[float, float]:
    """One epoch over ``(x, y)`` in a fresh random order; its loss and accuracy (batch means
    weighted by batch size, the loss with the L2 term). A batch whose loss is not finite
    ends the epoch, whose loss is then NaN (Keras's ``TerminateOnNaN``)."""
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(len(y))
    total, correct, seen = 0.0, 0, 0
    for first in range(0, len(y), run.train.batch_size):
        batch = order[first : first + run.train.batch_size]
        optimizer.zero_grad(set_to_none=True)
        logits = model(x[batch])
        loss = loss_fn(logits, y[batch])
        value = loss.item() + _penalty(model, run.model.l2)
        seen += len(batch)
        correct += int((logits.argmax(1) == y[batch]).sum())
        if not math.isfinite(value):
            return math.nan, correct / seen
        total += value * len(batch)
        loss.backward()
        optimizer.step()
    return total / seen, correct / seen


def predict(model: nn.Module, x: torch.Tensor, batch_size: int) -> np.ndarray:
    """The logits of ``x`` in evaluation mode, ``batch_size`` images at a time."""
    model.eval()
    with torch.no_grad():
        parts = [model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    return torch.cat(parts).numpy() if parts else np.zeros((0, N_CLASSES), np.float32)


def evaluate(model: nn.Module, run: RunConfig, x, y) -> tuple[float, float]:
    """Loss (with the L2 term, as Keras's ``val_loss``) and accuracy on ``(x, y)``."""
    logits = predict(model, x, run.train.eval_batch_size)
    labels = y.numpy()
    accuracy = float(np.mean(logits.argmax(1) == labels))
    loss = cross_entropy(logits, labels) if np.isfinite(logits).all() else math.nan
    return loss + _penalty(model, run.model.l2), accuracy


def fit(
    model: nn.Module, run: RunConfig, data: Dataset
) -> tuple[dict[str, list[float]], int | None]:
    """Train ``model`` as ``run`` says on ``data``; its history, and the epoch whose
    weights it was left with after a divergence (0: the initial ones; ``None``: no
    divergence). Under early stopping it is left with its best epoch's weights."""
    optimizer = make_optimizer(model, run)
    x, y = _tensors(data.x_train, data.y_train)
    x_val, y_val = _tensors(data.x_val, data.y_val)
    validate, train = len(y_val) > 0, run.train
    rate = cosine_learning_rate(train.learning_rate, train.epochs)
    stopper = EarlyStopping(train.patience) if train.patience and validate else None
    keys = ("loss", "accuracy", "val_loss", "val_accuracy") if validate else ("loss", "accuracy")
    history: dict[str, list[float]] = {k: [] for k in keys}
    finite = (copy.deepcopy(model.state_dict()), 0)
    for epoch in range(train.epochs):
        if train.lr_schedule == "cosine":
            for group in optimizer.param_groups:
                group["lr"] = rate(epoch)
        results = train_epoch(model, optimizer, run, x, y)
        if validate:
            results += evaluate(model, run, x_val, y_val)
        for key, value in zip(keys, results, strict=True):
            history[key].append(float(value))
        if not math.isfinite(results[0]):
            break
        if all(torch.isfinite(v).all() for v in model.state_dict().values()):
            finite = (copy.deepcopy(model.state_dict()), epoch + 1)
        state = functools.partial(copy.deepcopy, model.state_dict())
        if stopper is not None and stopper.update(epoch, results[3], state):
            break
    if stopper is not None and stopper.state_ is not None:
        model.load_state_dict(stopper.state_)
    diverged = not all(math.isfinite(v) for v in history["loss"])
    if diverged:
        model.load_state_dict(finite[0])
    return history, finite[1] if diverged else None


def check_run(family: Family, run: RunConfig) -> None:
    """Refuse what the loop does not train: another family, bfloat16 compute, or a setting
    it does not implement (label smoothing, weight decay, augmentation)."""
    if not isinstance(run.model, DenseConfig):
        raise ConfigError(
            f"the PyTorch loop trains the dense family only, not {family.name!r}: "
            "choose a study of dense networks"
        )
    if run.train.precision == "mixed_bfloat16":
        raise ConfigError(
            "precision='mixed_bfloat16': the PyTorch loop computes in float32; "
            "set precision=float32"
        )
    values = run.values()
    for name in ("label_smoothing", "weight_decay", "translate", "rotate"):
        if values[name]:
            raise ConfigError(
                f"{name}={values[name]}: the PyTorch loop does not implement it; set {name}=0"
            )


def train_record(family: Family, run: RunConfig, data: Dataset, *, command: str = "") -> RunRecord:
    """Train ``run`` on ``data`` with the plain PyTorch loop; its record.

    Args:
        family: the dense family (its name goes into the record).
        run: the configs; ``run.train.seed`` seeds PyTorch's generator.
        data: the dataset as :func:`keras_fcn.train.load_dataset` loads ``run.data``.
        command: the line that trains the run again, for the record.

    Returns:
        A record like a Keras run's, with ``framework="pytorch"`` and PyTorch's version.
    """
    check_run(family, run)
    start = time.perf_counter()
    seed(run.train.seed)
    model = dense_network(run.model)
    history, kept = fit(model, run, data)
    fit_time = time.perf_counter() - start
    predict_start = time.perf_counter()
    x_test, _ = _tensors(data.x_test, data.y_test)
    logits = predict(model, x_test, run.train.eval_batch_size)
    predict_time = time.perf_counter() - predict_start
    record = tested_record(
        family,
        run,
        history,
        logits,
        data.y_test,
        kept,
        params=count_params(model),
        precision="float32",
        threads=torch.get_num_threads(),
        versions=versions(),
        command=command,
        framework=FRAMEWORK,
    )
    record.fit_time_s, record.predict_time_s = round(fit_time, 3), round(predict_time, 3)
    record.wall_time_s = round(time.perf_counter() - start, 3)
    return record


def versions() -> dict[str, str]:
    """The libraries of a record, PyTorch's version and threads among them."""
    return {
        **library_versions(),
        "torch": torch.__version__,
        "torch_threads": str(torch.get_num_threads()),
    }
