"""The LeNet-5 family: its config, builder, search space and default training settings.

Everything else (trainer, run records, studies, tuner, reports) is keras_fcn's, shared with
the dense family. Importing this module does not import TensorFlow.
"""

from __future__ import annotations

from typing import Any

from cnn.config import PADDINGS, POOLINGS, LeNetConfig
from keras_fcn import config as cfg
from keras_fcn.config import DataConfig, TrainConfig
from keras_fcn.family import Family
from keras_fcn.space import Param, Space


def _build_lenet(config: LeNetConfig) -> Any:
    from cnn.model import build_lenet5  # keeps `import cnn.family` free of TensorFlow

    return build_lenet5(config)


LENET_SPACE = Space(
    (
        # what the report tried (the lenet study), each from its final network
        Param("kernel_size", (3, 4, 5), 5),
        Param("filters", ((6, 16, 120), (3, 8, 60), (12, 32, 240)), (6, 16, 120)),
        Param("padding", PADDINGS, "same"),
        Param("pool_size", (1, 2), 2),
        Param("learning_rate", (1e-4, 1e-3, 1e-2), 1e-3, low=1e-4, high=1e-2, log=True),
        Param("l2", (0.0, 1e-5, 1e-4), 1e-5),
        # what a tuner should also try (and twice the filters, beside the report's halving)
        Param("pooling", POOLINGS, "average"),
        Param("dropout", (0.0, 0.2, 0.4), 0.0),
        Param("batch_norm", (False, True), False),
        Param("hidden", ((84,), (128,), (256,)), (84,)),
        Param("optimizer", cfg.OPTIMIZERS, "adam"),
        Param("lr_schedule", cfg.LR_SCHEDULES, "constant"),
        Param("epochs", (10, 15, 20), 10),
        Param("batch_size", (32, 64, 128), 32),
    )
)
"""The LeNet-5 space: the factors the report varied, then those a tuner should add.

``padding="valid"`` needs ``kernel_size`` 3 or 4 with ``pool_size`` 2 (the report's
no-padding trial used 4): with the default kernel of 5 the third conv gets 4x4 maps, and
``LeNetConfig`` rejects the setting. That is the only invalid combination of the grid;
the tuner records such a trial as failed, with the config's message, and goes on.
"""

LENET = Family(
    "lenet",
    LeNetConfig,
    _build_lenet,
    LENET_SPACE,
    # Adam at 1e-3 for 10 epochs with Keras's default batch of 32, as the report's code;
    # XLA unless the network has dropout: `python -m experiments.benchmark` measured the
    # report's network 1.7x and 2.3x faster with it in two runs (see train.use_jit on dropout)
    train=TrainConfig(
        optimizer="adam", learning_rate=1e-3, epochs=10, batch_size=32, jit_compile="auto"
    ),
    # its validation set is the first 5,000 training images
    data=DataConfig(validation=5000),
)
