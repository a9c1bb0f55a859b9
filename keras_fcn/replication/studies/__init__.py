"""The published studies, one module each, with the CSV of its published numbers beside it.

Every module here that declares ``PROTOCOL`` is a study (see
:mod:`keras_fcn.replication.registry`); this file holds only what several of them share.
"""

from __future__ import annotations

from keras_fcn.replication.variants import Variant

# The PyTorch studies' "default" initialization is PyTorch's nn.Linear default.
PYTORCH_DEFAULT = {"initializer": {"default": "pytorch"}}

# The note of every PyTorch study: what fills in where it names no value (``defaults=pytorch``).
PYTORCH_CONSTANTS = (
    "PyTorch's defaults where the study names no value (defaults=pytorch): biases drawn as "
    "nn.Linear draws them, batch normalization's momentum and epsilon, torch.optim's constants"
)


def framework_variants(rows: tuple[tuple[str, str], ...]) -> tuple[Variant, Variant]:
    """A PyTorch study's ``rows`` with Keras's defaults (what PyTorch's change), and with
    Keras's defaults and ``fit`` (the study's records before the epoch loop: what the loop
    changes)."""
    return (
        Variant(
            "keras_defaults",
            "Keras's defaults instead of PyTorch's (zero biases, Keras's batch normalization and "
            "optimizer constants): what the framework's defaults change",
            {"defaults": "keras"},
            rows,
        ),
        Variant(
            "keras_fit",
            "Keras's defaults trained by Keras's fit instead of the epoch loop, compared with "
            "keras_defaults: what the loop changes (the study's runs before it moved to the loop)",
            {"defaults": "keras", "loop": "fit"},
            rows,
            versus="keras_defaults",
        ),
    )


# The note of every study that does not say how it scaled its inputs.
UNSTATED_SCALING = (
    "the input scaling is not stated: inputs standardized as (x - 0.5) / 0.5, "
    "the dense family's default"
)
