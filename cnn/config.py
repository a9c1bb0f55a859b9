"""The LeNet-5 family's config: a frozen dataclass with a default for every field.

``LeNetConfig()`` is the network of the report re-run by the ``lenet`` study (Part 2 of an
unsigned report): conv 6@5x5 (same) -> average pool 2 -> conv 16@5x5 -> average pool 2 ->
conv 120@5x5 -> dense 84 -> 10, ReLU, L2 1e-5 on the dense layers. Values are checked with the helpers of
:mod:`keras_fcn.config`, so a bad one fails the same way as in the dense family; field
names differ from those of ``TrainConfig`` and ``DataConfig`` so ``--set`` finds their class.
"""

from __future__ import annotations

import dataclasses

from keras_fcn.config import (
    ACTIVATIONS,
    FRAMEWORK_DEFAULTS,
    INITIALIZERS,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_layer_sizes,
    fail,
    freeze,
)
from keras_fcn.errors import ConfigError

PADDINGS = ("same", "valid")
POOLINGS = ("average", "max")
IMAGE_SIZE = 28


@dataclasses.dataclass(frozen=True)
class LeNetConfig:
    """A LeNet-5 style network for 28x28 images and 10 classes.

    Layers: conv -> pool -> conv -> pool -> conv -> flatten -> hidden dense layer(s) -> 10
    logits. Only the first conv takes ``padding``; the other two are ``valid``, as in the
    report's code, so the third conv turns the 5x5 maps of the default into 1x1.

    Attributes:
        filters: filter counts of the three convs, input side first.
        kernel_size: side of every conv's square kernel.
        padding: padding of the first conv, ``same`` (keeps 28x28) or ``valid``.
        pooling: ``average`` (LeNet-5's subsampling) or ``max``, after the first two convs.
        pool_size: side and stride of both pooling windows; 1 leaves the maps unchanged.
        activation: one of ``ACTIVATIONS``, after every conv and hidden dense layer.
        hidden: units of each dense layer between the convs and the output.
        dropout: rate of a ``Dropout`` before each hidden dense layer (the first one right
            after ``Flatten``); none before the output layer.
        batch_norm: batch normalization after each conv, before its activation.
        initializer: kernel initializer of every conv and dense layer, one of
            ``INITIALIZERS``.
        l2: L2 penalty factor on the dense kernels only (hidden and output), not on the
            convs, as in the report's code.
        defaults: the framework whose defaults fill what a study leaves unsaid (biases,
            batch normalization, optimizer constants), as in the dense family.
    """

    filters: tuple[int, int, int] = (6, 16, 120)
    kernel_size: int = 5
    padding: str = "same"
    pooling: str = "average"
    pool_size: int = 2
    activation: str = "relu"
    hidden: tuple[int, ...] = (84,)
    dropout: float = 0.0
    batch_norm: bool = False
    initializer: str = "default"
    l2: float = 1e-5
    defaults: str = "keras"

    def __post_init__(self) -> None:
        if not isinstance(self.filters, list | tuple) or len(self.filters) != 3:
            fail("filters", self.filters, "must be three filter counts, e.g. 6-16-120")
        for count in self.filters:
            check_int("filters", count, 1)
        freeze(self, "filters", tuple(self.filters))
        check_int("kernel_size", self.kernel_size, 1)
        check_choice("padding", self.padding, PADDINGS)
        check_choice("pooling", self.pooling, POOLINGS)
        check_int("pool_size", self.pool_size, 1)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_layer_sizes(self, "hidden", "84")
        check_float("dropout", self.dropout, 0.0, 1.0, open_high=True)
        check_bool("batch_norm", self.batch_norm)
        check_choice("initializer", self.initializer, INITIALIZERS)
        check_float("l2", self.l2, 0.0, 1.0)
        check_choice("defaults", self.defaults, FRAMEWORK_DEFAULTS)
        self._check_shape()

    def feature_sizes(self) -> list[tuple[str, int]]:
        """The side of the feature maps after each conv and pooling layer, input first.

        Stops at the first layer that leaves no spatial extent (a side below 1).
        """
        k, p = self.kernel_size, self.pool_size
        side = IMAGE_SIZE
        sizes = [("input", side)]
        steps = (
            ("conv1", lambda s: s if self.padding == "same" else s - k + 1),
            ("pool1", lambda s: s // p),  # stride = window, no padding: the floor of s / p
            ("conv2", lambda s: s - k + 1),
            ("pool2", lambda s: s // p),
            ("conv3", lambda s: s - k + 1),
        )
        for name, step in steps:
            side = step(side)
            sizes.append((name, side))
            if side < 1:
                break
        return sizes

    def _check_shape(self) -> None:
        sizes = self.feature_sizes()
        name, side = sizes[-1]
        if side < 1:
            path = " -> ".join(f"{n} {s}" if n != "input" else str(s) for n, s in sizes)
            raise ConfigError(
                f"kernel_size={self.kernel_size}, padding={self.padding!r}, "
                f"pool_size={self.pool_size} is invalid: {name} leaves feature maps of side "
                f"{side} ({path}); use a smaller kernel_size or pool_size, or padding='same'"
            )
