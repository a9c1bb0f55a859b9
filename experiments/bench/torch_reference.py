"""Plain PyTorch reference loops for the benchmark: the same networks, trained as a PyTorch
user would write it.

The data stay in memory as tensors; each epoch draws one random permutation and slices it
into batches (the fastest plain loop: no ``DataLoader`` collation per image). The networks
mirror the default configs of the two families: the dense default (784-512-256-10, ReLU,
SGD) and the report's LeNet-5 (6@5x5 same, 2x2 average pooling, 16@5x5, 2x2 average
pooling, 120@5x5, 84, 10; Adam; L2 1e-5 on the dense layers, as Keras's ``L2`` regularizer
adds ``l2 * sum(w**2)`` to the loss, i.e. weight decay ``2 * l2`` on the gradient).

With ``autocast``, the forward pass and the loss run under ``torch.autocast`` in bfloat16
(PyTorch's mixed precision on the CPU: float32 weights, bfloat16 matrix multiplications and
convolutions), the peer of keras-fcn's ``precision=mixed_bfloat16``.

PyTorch is optional (``pip install -e .[bench]``; ``make bench`` installs its CPU build):
importing this module without it raises :class:`~keras_fcn.errors.KerasFcnError` with that
instruction.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from keras_fcn.config import DenseConfig
from keras_fcn.data import Dataset
from keras_fcn.errors import KerasFcnError

INSTALL_HINT = (
    "PyTorch is not installed: the reference side of the benchmark needs it. "
    "Install the CPU build with `pip install -e .[bench]` (see docs/benchmark.md)"
)

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - depends on the environment
    raise KerasFcnError(INSTALL_HINT) from None

from keras_fcn import pytorch_loop  # noqa: E402 (after the check that says how to install)

seed = pytorch_loop.seed
"""Seed PyTorch's generator: the initial weights and every epoch's order."""


def keras_initialization(model: nn.Module) -> nn.Module:
    """Glorot-uniform weights and zero biases, Keras's defaults, so both sides train the same
    network (PyTorch's own default learns more slowly with SGD at 0.01)."""
    for layer in model.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def dense_network(hidden: tuple[int, ...]) -> nn.Module:
    """``784 -> hidden... -> 10`` with ReLU, initialized as Keras does (the PyTorch loop's
    network, :func:`keras_fcn.pytorch_loop.dense_network`, with Keras's defaults)."""
    return pytorch_loop.dense_network(DenseConfig(hidden=hidden, initializer="default"))


def lenet5() -> nn.Module:
    """The report's LeNet-5 (61,706 parameters, like ``cnn.model.build_lenet5()``)."""
    network = nn.Sequential(
        nn.Unflatten(1, (1, 28)),
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(16, 120, 5),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )
    return keras_initialization(network)


def make_optimizer(
    model: nn.Module, name: str, learning_rate: float, momentum: float = 0.0, l2: float = 0.0
) -> torch.optim.Optimizer:
    """SGD or Adam over ``model``; ``l2`` as Keras's regularizer on the ``Linear`` weights."""
    groups = pytorch_loop.parameter_groups(model, l2)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=learning_rate, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(groups, lr=learning_rate)
    raise KerasFcnError(f"the PyTorch reference has no optimizer {name!r}; use sgd or adam")


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: Dataset,
    *,
    epochs: int,
    batch_size: int,
    autocast: bool = False,
) -> tuple[list[float], float]:
    """Train for ``epochs`` on ``data``'s training split and return each epoch's seconds and
    the final accuracy on its test split; ``autocast``: the forward passes in bfloat16 (see
    the module's docstring)."""
    x = torch.from_numpy(np.ascontiguousarray(data.x_train, dtype=np.float32))
    y = torch.from_numpy(np.asarray(data.y_train, dtype=np.int64))
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(y))
        for first in range(0, len(y), batch_size):
            batch = order[first : first + batch_size]
            optimizer.zero_grad(set_to_none=True)
            with compute(autocast):
                loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    model.eval()
    x_test = data.x_test
    with torch.no_grad(), compute(autocast):
        logits = torch.cat(
            [model(torch.from_numpy(x_test[i : i + 1000])) for i in range(0, len(x_test), 1000)]
        )
    accuracy = float((logits.float().argmax(1).numpy() == data.y_test).mean())
    return times, accuracy


def compute(autocast: bool) -> contextlib.AbstractContextManager:
    """bfloat16 autocast on the CPU, or nothing."""
    if autocast:
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def versions() -> dict[str, str]:
    """PyTorch's version and its threads."""
    return {"torch": torch.__version__, "torch_threads": str(torch.get_num_threads())}
