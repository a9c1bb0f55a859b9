"""What the CPU can do, read at run time, and how a network computes on it: the precision
chosen from it, and whether TensorFlow fuses its products with their bias and activation."""

from __future__ import annotations

import contextlib
import functools
import os
import platform
from typing import Any

from keras_fcn.errors import ConfigError

FUSION_VAR = "KERAS_FCN_TF_FUSION"
"""``on`` or ``off`` overrides :func:`fuse_ops`'s choice (``auto``, the default)."""

# instructions that make bfloat16 matrix products fast on a CPU (oneDNN uses them)
BF16_FLAGS = ("avx512_bf16", "amx_bf16")
# the instruction sets that decide float32 and bfloat16 matrix-product speed, printed beside
# a speed figure, in the spelling of Linux's /proc/cpuinfo (x86)
SPEED_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


def read_cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The instruction-set flags of the first CPU listed in ``path`` (empty if unreadable)."""
    try:
        with open(path) as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


@functools.cache
def cpu_flags() -> frozenset[str]:
    """This machine's CPU flags (read once per process)."""
    return read_cpu_flags()


def cpu_model(path: str = "/proc/cpuinfo") -> str:
    """The CPU's model name, or the platform's processor string."""
    try:
        with open(path) as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def tensorflow_threads() -> int:
    """The threads of TensorFlow's intra-op pool: the setting, or the cores this process may
    use when it is left to TensorFlow (0)."""
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads() or len(os.sched_getaffinity(0))


def keras_backend() -> str:
    """The backend Keras runs on, as Keras decides it (``KERAS_BACKEND``, then
    ``~/.keras/keras.json``, then TensorFlow), read without importing Keras."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    return _configured_backend(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")))


@functools.lru_cache
def _configured_backend(home: str) -> str:
    import json

    try:
        with open(os.path.join(home, "keras.json")) as f:
            return json.load(f).get("backend", "tensorflow")
    except (OSError, ValueError):
        return "tensorflow"


def machine_line() -> str:
    """The CPU's model and the cores this process may use, e.g. ``AMD EPYC, 2 cores``."""
    return f"{cpu_model() or 'unknown CPU'}, {len(os.sched_getaffinity(0))} cores"


SMALL_BATCH = 32
"""The largest batch that :func:`small_batch_path` trains in float32 with XLA."""


def small_batch_path(batch_size: int | None, flags: frozenset[str] | None = None) -> bool:
    """Whether a run of ``batch_size`` computes in float32 with XLA where its settings say
    ``auto`` (``precision``; ``jit_compile``, for a model without dropout).

    At batches of :data:`SMALL_BATCH` or less a step is short and its fixed work weighs most:
    on a CPU with ``avx512_bf16`` and no AMX, float32 with XLA measured faster there than
    bfloat16 without XLA, in the search case and in the dense network's steps (the figures:
    docs/benchmark.md, "The small-batch path"). Other CPUs were not measured at these
    batches, so they keep the other rules.
    """
    if batch_size is None or batch_size > SMALL_BATCH:
        return False
    flags = cpu_flags() if flags is None else flags
    return "avx512_bf16" in flags and "amx_bf16" not in flags


def resolve_precision(
    precision: str, flags: frozenset[str] | None = None, batch_size: int | None = None
) -> tuple[str, str]:
    """The Keras dtype policy a run of ``batch_size`` uses for ``precision``, and why.

    ``auto`` is ``mixed_bfloat16`` (bfloat16 compute, float32 weights) on a CPU that has
    bfloat16 instructions (:data:`BF16_FLAGS`), ``float32`` elsewhere and on the small-batch
    path (:func:`small_batch_path`); any other value is used as it is.
    """
    if precision != "auto":
        return precision, f"precision={precision}"
    flags = cpu_flags() if flags is None else flags
    if small_batch_path(batch_size, flags):
        return "float32", f"auto: batch {batch_size} on a CPU with avx512_bf16 and no AMX"
    found = [flag for flag in BF16_FLAGS if flag in flags]
    if found:
        return "mixed_bfloat16", f"auto: the CPU has {', '.join(found)}"
    return "float32", f"auto: the CPU has none of {', '.join(BF16_FLAGS)}"


def fusion_setting() -> str:
    """``KERAS_FCN_TF_FUSION``: ``on``, ``off`` or ``auto`` (unset); any other value is a
    ``ConfigError`` (every command checks it before it starts)."""
    setting = os.environ.get(FUSION_VAR, "auto").strip().lower() or "auto"
    if setting not in ("on", "off", "auto"):
        raise ConfigError(f"{FUSION_VAR}={setting!r}: use on, off or auto (the default)")
    return setting


def fuse_ops(
    compute_dtype: str, convolutional: bool = False, flags: frozenset[str] | None = None
) -> tuple[bool, str]:
    """Whether TensorFlow should fuse each product with its bias and activation, and why.

    TensorFlow's graph rewriter (Grappler's ``remapping``) turns a ``MatMul``, its bias and
    its ReLU into one oneDNN inner product. Given plain weight layouts, oneDNN runs that
    inner product with a kernel that does not use AMX tiles, where an unfused bfloat16
    ``MatMul`` does (``ONEDNN_VERBOSE=1`` names the kernels). On a CPU with ``amx_bf16``
    the dense network's bfloat16 step is therefore faster unfused (docs/benchmark.md).
    Elsewhere, in float32, and for a ``convolutional`` network (whose fused convolutions
    use AMX: LeNet-5 in bfloat16 was faster fused) the fusion is kept.
    ``KERAS_FCN_TF_FUSION=on`` or ``off`` decides instead.
    """
    setting = fusion_setting()
    if setting != "auto":
        return setting == "on", f"{FUSION_VAR}={setting}"
    flags = cpu_flags() if flags is None else flags
    if compute_dtype == "bfloat16" and "amx_bf16" in flags and not convolutional:
        return False, "bfloat16 dense layers on a CPU with amx_bf16: unfused products use AMX"
    return True, "TensorFlow's default"


def precision_used(precision: str, batch_size: int | None = None) -> str:
    """What a run record says of its precision: the policy used, and why (``auto``)."""
    policy, why = resolve_precision(precision, batch_size=batch_size)
    return policy if precision != "auto" else f"{policy} ({why})"


def all_layers(model: Any) -> list[Any]:
    """Every layer of ``model``, those of nested models included."""
    layers = []
    for layer in model.layers:
        layers.append(layer)
        if hasattr(layer, "layers"):
            layers.extend(all_layers(layer))
    return layers


def fusion_of(model: Any) -> tuple[bool, str]:
    """Whether TensorFlow fuses ``model``'s products with their bias and activation, and why
    (:func:`fuse_ops` for its compute dtype and layers); other backends
    are left as they are."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return True, "not TensorFlow"
    convolutional = any(isinstance(layer, keras.layers.Conv2D) for layer in all_layers(model))
    return fuse_ops(model.compute_dtype, convolutional)


def precision_note(precision: str, model: Any, batch_size: int | None = None) -> str:
    """What a record says of how ``model`` computed at ``batch_size``: its precision and why
    (:func:`precision_used`), and where TensorFlow left its products
    unfused (:func:`fusion_of`)."""
    used = precision_used(precision, batch_size)
    fuse, why = fusion_of(model)
    if not fuse:
        used += f"; products unfused ({why})"
    return used


@contextlib.contextmanager
def tensorflow_fusion(fuse: bool):
    """Within it, TensorFlow fuses products with their bias and activation if ``fuse``
    (its default; :func:`fusion_of` says when not to).

    The setting is Grappler's ``remapping`` option, read by every ``tf.function`` call: a
    function called inside is optimized without the fusion, one called after with it again.
    """
    if fuse:
        yield
        return
    import tensorflow as tf

    before = tf.config.optimizer.get_experimental_options().get("remapping", True)
    tf.config.optimizer.set_experimental_options({"remapping": False})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"remapping": before})
