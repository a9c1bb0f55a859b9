"""The LeNet-5 family: its config, builder, search space and default training settings.

Everything else (trainer, run records, studies, tuner, reports) is keras_fcn's, shared with
the dense family. Importing this module does not import TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnn.config import LeNetConfig
from keras_fcn.config import DataConfig, TrainConfig
from keras_fcn.family import Family


def _build_lenet(config: LeNetConfig) -> Any:
    from cnn.model import build_lenet5  # keeps `import cnn.family` free of TensorFlow

    return build_lenet5(config)


LENET = Family(
    "lenet",
    LeNetConfig,
    _build_lenet,
    Path(__file__).parent / "space.toml",
    # Adam at 1e-3 for 10 epochs with Keras's default batch of 32, as the report's code;
    # by the epoch loop without XLA: with XLA its epochs were slower (docs/benchmark.md)
    train=TrainConfig(
        optimizer="adam",
        learning_rate=1e-3,
        epochs=10,
        batch_size=32,
        # bfloat16 cost LeNet-5 0.37 points over three seeds and was no faster (docs/speed.md)
        precision="float32",
        loop="epoch",
    ),
    # its validation set is the first 5,000 training images
    data=DataConfig(validation=5000),
    # a [layers] table of a space searches the filters of each of the three convolutions
    layer_fields={"filters": "filters"},
    fixed_depth=3,
    command="experiments.fashion_cnn",
)
"""The LeNet-5 family; its space is ``cnn/space.toml``."""

LENET_SPACE = LENET.space
"""The LeNet-5 family's space: the factors the report varied, then those a tuner should add."""
