"""What the machine can do at a network's shapes, and how much of it a case achieves.

A network's training costs, per image, the multiply-adds of its dense and convolution
layers three times over: once forward (``x @ w``) and twice backward (the gradients of the
inputs, ``dy @ w.T``, and of the weights, ``x.T @ dy``); two FLOPs each. :func:`gemm_shapes`
writes each layer as the matrix multiplication ``(m, k) @ (k, n)`` it amounts to (a
convolution as its im2col product: ``m`` = batch x output positions, ``k`` = kernel
height x width x input channels, ``n`` = filters), and :func:`training_flops` counts them.
Bias additions, activations, pooling, the loss and the optimizer's update are left out:
they are a few per cent of the multiply-adds of these networks.

The limit is those same multiplications, forward and backward, timed in float32 and in
bfloat16 with TensorFlow (:func:`matmul_gflops`) and, where it is installed, with PyTorch
(:func:`torch_matmul_gflops`): the two libraries call different matrix-multiply kernels,
and on some CPUs one is much faster than the other in a dtype, so the machine's limit is
the faster of the two. A case's GFLOP/s are its FLOPs per image times its images per
second, and its fraction of the limit says how much of what the machine's matrix
multiplications reach at these shapes the whole training step reaches.

:func:`cpu_flags` reads the CPU's instruction-set flags that decide those speeds.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from keras_fcn import hardware

DTYPES = ("float32", "bfloat16")

LIBRARIES = ("tensorflow", "pytorch")
"""The libraries whose matrix multiplications are timed (PyTorch where it is installed)."""

Shape = tuple[int, int, int]


def gemm_shapes(model: Any, batch: int) -> list[Shape]:
    """The ``(m, k, n)`` matrix multiplication of each dense and 2-D convolution layer of
    the Keras ``model`` on a batch of ``batch`` images."""
    shapes = []
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        *window, n = tuple(int(d) for d in kernel.shape)
        positions = math.prod(int(d) for d in layer.output.shape[1:-1])
        shapes.append((batch * positions, math.prod(window), n))
    return shapes


def training_flops(shapes: Sequence[Shape]) -> int:
    """FLOPs of one training step's matrix multiplications: 3 products of 2 x m x k x n."""
    return sum(6 * m * k * n for m, k, n in shapes)


def flops_per_image(model: Any, batch: int) -> float:
    """The training FLOPs per image of the Keras ``model`` (see the module's docstring)."""
    return training_flops(gemm_shapes(model, batch)) / batch


def best_seconds(call: Callable[[], Any], *, budget_s: float, timings: int = 5) -> float:
    """The fastest of ``timings`` timings of ``call``, each of enough calls to last about
    ``budget_s / timings`` seconds (after one untimed call), per call."""
    call()
    start = time.perf_counter()
    call()
    once = max(time.perf_counter() - start, 1e-6)
    calls = max(1, round(budget_s / timings / once))
    best = math.inf
    for _ in range(timings):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def matmul_gflops(shapes: Sequence[Shape], dtype: str, *, budget_s: float = 2.0) -> float:
    """GFLOP/s of TensorFlow's matrix multiplications of ``shapes`` in ``dtype``: each
    shape's forward and two backward products, in one compiled function, at their best."""
    import tensorflow as tf

    rng = tf.random.Generator.from_seed(0)
    operands = [
        tuple(tf.cast(rng.normal(size), dtype) for size in ((m, k), (k, n), (m, n)))
        for m, k, n in shapes
    ]

    @tf.function(jit_compile=False)
    def products() -> tf.Tensor:
        corners = []
        for x, w, dy in operands:
            corners.append(tf.linalg.matmul(x, w)[0, 0])
            corners.append(tf.linalg.matmul(dy, w, transpose_b=True)[0, 0])
            corners.append(tf.linalg.matmul(x, dy, transpose_a=True)[0, 0])
        return tf.add_n([tf.cast(c, tf.float32) for c in corners])

    seconds = best_seconds(lambda: products().numpy(), budget_s=budget_s)
    return training_flops(shapes) / seconds / 1e9


def torch_matmul_gflops(shapes: Sequence[Shape], dtype: str, *, budget_s: float = 2.0) -> float:
    """GFLOP/s of PyTorch's matrix multiplications of ``shapes`` in ``dtype``, timed as
    :func:`matmul_gflops` times TensorFlow's."""
    import torch

    generator = torch.Generator().manual_seed(0)
    operands = [
        tuple(
            torch.randn(size, generator=generator).to(getattr(torch, dtype))
            for size in ((m, k), (k, n), (m, n))
        )
        for m, k, n in shapes
    ]

    def products() -> float:
        with torch.no_grad():
            corners = []
            for x, w, dy in operands:
                corners.append((x @ w)[0, 0])
                corners.append((dy @ w.T)[0, 0])
                corners.append((x.T @ dy)[0, 0])
            return float(torch.stack(corners).float().sum())

    seconds = best_seconds(products, budget_s=budget_s)
    return training_flops(shapes) / seconds / 1e9


TIMERS = {"tensorflow": matmul_gflops, "pytorch": torch_matmul_gflops}


def installed_libraries() -> list[str]:
    """Those of :data:`LIBRARIES` that import here."""
    modules = {"tensorflow": "tensorflow", "pytorch": "torch"}
    found = []
    for library in LIBRARIES:
        try:
            importlib.import_module(modules[library])
        except ImportError:
            continue
        found.append(library)
    return found


def network_limits(
    model: Any, batch: int, *, budget_s: float = 2.0, libraries: Sequence[str] | None = None
) -> dict[str, Any]:
    """The FLOPs per image of the Keras ``model`` at ``batch`` and the GFLOP/s of its
    matrix multiplications in each of :data:`DTYPES`: ``by_library`` as each of
    ``libraries`` (those installed, by default) reaches them, ``gflops`` the faster."""
    shapes = gemm_shapes(model, batch)
    by_library = {
        library: {dtype: TIMERS[library](shapes, dtype, budget_s=budget_s) for dtype in DTYPES}
        for library in (installed_libraries() if libraries is None else libraries)
    }
    return {
        "batch": batch,
        "shapes": [list(shape) for shape in shapes],
        "flops_per_image": training_flops(shapes) / batch,
        "gflops": {dtype: max(g[dtype] for g in by_library.values()) for dtype in DTYPES},
        "by_library": by_library,
    }


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> dict[str, Any]:
    """The CPU's model name and which of :data:`keras_fcn.hardware.SPEED_FLAGS` it has, read
    now from ``cpuinfo``; empty lists where the file cannot be read (not Linux)."""
    if not Path(cpuinfo).is_file():
        return {"model": "", "present": [], "absent": [], "read": False}
    flags = hardware.read_cpu_flags(str(cpuinfo))
    return {
        "model": hardware.cpu_model(str(cpuinfo)),
        "present": [f for f in hardware.SPEED_FLAGS if f in flags],
        "absent": [f for f in hardware.SPEED_FLAGS if f not in flags],
        "read": True,
    }
