"""A model family: a config class, a builder, a search space and default training settings.

The same trainer, study runner, tuner and reports serve every family; a family only says
how to build its model. :data:`DENSE` is the dense network; ``cnn`` defines LeNet-5 the same
way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from keras_fcn import config as cfg
from keras_fcn import identity
from keras_fcn.commands import run_command
from keras_fcn.config import DataConfig, DenseConfig, TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.settings import apply as apply_settings
from keras_fcn.settings import from_dict as config_from_dict
from keras_fcn.space import Space
from keras_fcn.space import parse as space_parse


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that decides one run: the family, its model config, training and data."""

    family: str
    model: Any
    train: TrainConfig = TrainConfig()
    data: DataConfig = DataConfig()

    def to_dict(self) -> dict[str, Any]:
        """``{"model": ..., "train": ..., "data": ...}`` as plain values."""
        return {
            "model": cfg.to_dict(self.model),
            "train": cfg.to_dict(self.train),
            "data": cfg.to_dict(self.data),
        }

    def result_settings(self) -> dict[str, Any]:
        """:meth:`to_dict` as the run id sees it (:func:`keras_fcn.identity.result_settings`):
        less the speed settings, which leave the results unchanged, ``precision="auto"``
        resolved for this machine."""
        return identity.result_settings(self.to_dict())

    @property
    def run_id(self) -> str:
        """The id a record of this run carries (:func:`keras_fcn.identity.run_id`).

        Speed settings are left out, so turning them does not make a study redo its runs.
        """
        return identity.run_id(self.family, self.to_dict())

    def with_settings(self, settings: Mapping[str, Any]) -> RunConfig:
        """A copy with fields set by name, whichever config owns them (values may be strings)."""
        model, train, data = apply_settings((self.model, self.train, self.data), settings)
        return dataclasses.replace(self, model=model, train=train, data=data)

    def values(self) -> dict[str, Any]:
        """Every field of the three configs, by name."""
        return {
            **dataclasses.asdict(self.model),
            **dataclasses.asdict(self.train),
            **dataclasses.asdict(self.data),
        }


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family.

    Attributes:
        name: the name used on the command line and in records.
        config_cls: its frozen model config class; ``config_cls()`` is its default network.
        build: makes an uncompiled ``keras.Model`` from a ``config_cls`` instance.
        space_file: the TOML file of its search space (:attr:`space`).
        train: default training settings of the family.
        data: default data settings of the family.
        layer_fields: what a ``[layers]`` table of a space may search for each layer, and
            the config field holding one value per layer (``units`` -> ``hidden``).
        fixed_depth: the number of layers when the family's depth is not searched (the
            three convolutions of LeNet-5).
        command: the module of the command that trains one run of the family
            (``python -m COMMAND``), as data; see :meth:`command_for`.
    """

    name: str
    config_cls: type
    build: Callable[[Any], Any]
    space_file: Path
    train: TrainConfig = TrainConfig()
    data: DataConfig = DataConfig()
    layer_fields: Mapping[str, str] = dataclasses.field(default_factory=dict)
    fixed_depth: int | None = None
    command: str = ""

    @property
    def space(self) -> Space:
        """The family's own search space, read from :attr:`space_file` (once)."""
        return space_parse.family_space(self)

    def run_config(self, settings: Mapping[str, Any] | None = None) -> RunConfig:
        """The family's default run, with ``settings`` applied by field name."""
        base = RunConfig(self.name, self.config_cls(), self.train, self.data)
        return base.with_settings(settings or {})

    def from_dict(self, config: Mapping[str, Any]) -> RunConfig:
        """Rebuild a run config from a record's ``config``."""
        return RunConfig(
            self.name,
            config_from_dict(self.config_cls, config.get("model", {})),
            config_from_dict(TrainConfig, config.get("train", {})),
            config_from_dict(DataConfig, config.get("data", {})),
        )

    def command_for(self, run: RunConfig) -> str:
        """The one line that trains ``run`` again, whatever command first trained it
        (:func:`keras_fcn.commands.run_command`, rendered)."""
        return run_command(self, run).render()

    def fields(self) -> tuple[type, type, type]:
        """The config classes a setting of this family may name."""
        return (self.config_cls, TrainConfig, DataConfig)

    def read_space(self, path: str | Path) -> Space:
        """A space from a TOML file, typed and checked against this family's configs
        (:func:`keras_fcn.space.parse.read_space`).

        Raises:
            ConfigError: the file cannot be read or parsed, or a value is invalid (the
                message names the file).
        """
        return space_parse.read_space(self, path)

    def parse_space(self, mapping: Mapping[str, Any], source: str = "space") -> Space:
        """A space from its entries (a parsed TOML file, ``--param`` values), each typed for
        its config field and checked before anything trains
        (:func:`keras_fcn.space.parse.parse_space`).

        Raises:
            ConfigError: an unknown field, an empty range, a step that does not divide it,
                a value a config rejects, or layers this family cannot search.
        """
        return space_parse.parse_space(self, mapping, source)

    def accepts(self, name: str, value: Any) -> bool:
        """Whether ``name=value`` makes a valid run of this family, the rest at defaults."""
        try:
            self.run_config({name: value})
        except ConfigError:
            return False
        return True


def _build_dense(config: DenseConfig) -> Any:
    from keras_fcn.model import build_dense  # keeps `import keras_fcn.family` free of TensorFlow

    return build_dense(config)


SPACES = Path(__file__).parent / "spaces"

DENSE = Family(
    "dense",
    DenseConfig,
    _build_dense,
    SPACES / "dense.toml",
    # the Chenab study's base settings: 784-512-256-10, ReLU, SGD at 0.01, 50 epochs, batch 512
    train=TrainConfig(
        optimizer="sgd",
        learning_rate=0.01,
        epochs=50,
        batch_size=512,
        precision="auto",
        jit_compile="auto",
        loop="epoch",
    ),
    data=DataConfig(validation=0.1, standardize=True),
    layer_fields={"units": "hidden", "dropout": "dropout"},
    command="experiments.fashion_dense",
)
"""The dense family. Its network is ``DenseConfig()``, the Chenab study's base network, trained
as that study did, in bfloat16 where the CPU has bfloat16 instructions (``precision=auto``). Its
inputs are standardized, ``(x - 0.5) / 0.5``: the Chenab study does not say how it scaled its
inputs, and its base settings reach the published figure only on centred inputs. Its space is
``keras_fcn/spaces/dense.toml``; a ``[layers]`` table searches the depth and each layer's
``units`` and ``dropout``."""

DENSE_SPACE = DENSE.space
"""The dense family's space (``keras_fcn/spaces/dense.toml``)."""
