"""What the benchmark measures: one :class:`Case` per model, framework and variant."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from keras_fcn import hardware
from keras_fcn.errors import ConfigError

MODELS = ("dense", "lenet")
FRAMEWORKS = ("keras-fcn", "pytorch", "tf-loop")
BFLOAT16 = "mixed_bfloat16"
SMALL_BATCHES = (32, 64)
"""The batches of the Konycheva and dense-l2 protocols and of most tutorials."""


@dataclasses.dataclass(frozen=True)
class Case:
    """One measured configuration.

    Args:
        model: ``dense`` or ``lenet`` (the family's default network and training settings).
        framework: ``keras-fcn``, ``pytorch`` (the plain loop of
            :mod:`experiments.bench.torch_reference`), or ``tf-loop``: keras-fcn's model and
            optimizer stepped by a plain Python loop around a compiled step, as the PyTorch
            loop does (what one call per batch costs).
        settings: ``TrainConfig`` fields changed from the family's defaults; for ``pytorch``
            only ``precision`` (``mixed_bfloat16``: bfloat16 autocast) and the batch size.
        why: what the case shows, for the table.
        env: environment variables of the process that runs the case (TensorFlow's thread
            and kernel settings, read when it starts).
    """

    model: str
    framework: str
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    why: str = ""
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def precision(self) -> str:
        """``bfloat16`` where the case computes in bfloat16 on this machine, else ``float32``
        (keras-fcn's ``precision=auto`` resolved from the CPU's flags)."""
        from keras_fcn.registry import get_family

        train = get_family(self.model).train
        default = train.precision if self.framework == "keras-fcn" else "float32"
        batch = self.settings.get("batch_size", train.batch_size)
        policy, _ = hardware.resolve_precision(
            self.settings.get("precision", default), batch_size=batch
        )
        return "bfloat16" if policy == BFLOAT16 else "float32"

    @property
    def variant(self) -> str:
        if self.framework == "pytorch":
            name = "bfloat16 autocast" if self.precision == "bfloat16" else "reference loop"
            batch = self.settings.get("batch_size")
            return f"{name} batch_size={batch}" if batch else name
        if self.framework == "tf-loop":
            return "model and optimizer, no fit"
        changed = {**self.settings, **self.env}
        return " ".join(f"{k}={v}" for k, v in changed.items()) or "defaults"

    @property
    def name(self) -> str:
        return f"{self.model}/{self.framework}/{self.variant}"


CASES = (
    Case("dense", "pytorch", why="the reference"),
    Case("dense", "pytorch", {"precision": BFLOAT16}, "the reference of bfloat16 compute"),
    Case("dense", "keras-fcn", why="what every command runs (precision=auto)"),
    Case("dense", "keras-fcn", {"precision": "float32"}, "float32, as on a CPU without bfloat16"),
    Case("dense", "keras-fcn", {"loop": "fit"}, "Keras's fit instead of the epoch loop"),
    Case("dense", "keras-fcn", {"jit_compile": "on"}, "XLA, which auto leaves off at this batch"),
    Case(
        "dense",
        "keras-fcn",
        why="one thread between independent ops (TensorFlow's default: one per core)",
        env={"TF_NUM_INTEROP_THREADS": "1"},
    ),
    Case(
        "dense",
        "keras-fcn",
        why="TensorFlow's oneDNN kernels off (on by default on x86)",
        env={"TF_ENABLE_ONEDNN_OPTS": "0"},
    ),
    Case(
        "dense",
        "keras-fcn",
        why="products fused with bias and ReLU wherever (TensorFlow's default)",
        env={"KERAS_FCN_TF_FUSION": "on"},
    ),
    Case("dense", "tf-loop", why="a compiled step called once per batch, as PyTorch steps"),
    *(
        case
        for batch in SMALL_BATCHES
        for case in (
            Case("dense", "pytorch", {"batch_size": batch}, "the reference at a small batch"),
            Case(
                "dense",
                "pytorch",
                {"batch_size": batch, "precision": BFLOAT16},
                "the bfloat16 reference at a small batch",
            ),
            Case("dense", "keras-fcn", {"batch_size": batch}, "the defaults at a small batch"),
            Case(
                "dense",
                "keras-fcn",
                {"batch_size": batch, "precision": BFLOAT16, "jit_compile": "off"},
                "bfloat16 without XLA at a small batch",
            ),
            Case(
                "dense",
                "keras-fcn",
                {"batch_size": batch, "precision": "float32", "jit_compile": "off"},
                "float32 without XLA at a small batch",
            ),
        )
    ),
    Case("lenet", "pytorch", why="the reference"),
    Case("lenet", "keras-fcn", why="what every command runs"),
    Case("lenet", "keras-fcn", {"loop": "fit"}, "Keras's fit instead of the epoch loop"),
    Case("lenet", "keras-fcn", {"jit_compile": "on"}, "XLA, off by default"),
    Case("lenet", "tf-loop", why="a compiled step called once per batch, as PyTorch steps"),
)


def find_case(name: str) -> Case:
    """The case called ``name`` (see :attr:`Case.name`)."""
    for case in CASES:
        if case.name == name:
            return case
    raise ConfigError(
        f"unknown benchmark case {name!r}; choose one of: {', '.join(c.name for c in CASES)}"
    )
