"""The published studies, one module each, with the CSV of its published numbers beside it.

Every module here that declares ``PROTOCOL`` is a study (see
:mod:`keras_fcn.replication.registry`); this file holds only what several of them share.
"""

from __future__ import annotations

# The PyTorch studies' "default" initialization is PyTorch's nn.Linear default.
PYTORCH_DEFAULT = {"initializer": {"default": "pytorch"}}

# The note of every PyTorch study: what fills in where it names no value (``defaults=pytorch``).
PYTORCH_CONSTANTS = (
    "PyTorch's defaults where the study names no value (defaults=pytorch): biases drawn as "
    "nn.Linear draws them, batch normalization's momentum and epsilon, torch.optim's constants"
)

# The note of every study that does not say how it scaled its inputs.
UNSTATED_SCALING = (
    "the input scaling is not stated: inputs standardized as (x - 0.5) / 0.5, "
    "the dense family's default"
)
