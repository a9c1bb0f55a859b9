"""A model family: a config class, a builder, a search space and default training settings.

The same trainer, study runner, tuner and reports serve every family; a family only says
how to build its model. :data:`DENSE` is the dense network; ``cnn`` defines LeNet-5 the same
way.
"""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from keras_fcn import config as cfg
from keras_fcn import identity
from keras_fcn.commands import run_command
from keras_fcn.config import DataConfig, DenseConfig, TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.params import LayerParam, Layers, Param
from keras_fcn.space import Space
from keras_fcn.space_syntax import parse_entry


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
        model, train, data = cfg.apply((self.model, self.train, self.data), settings)
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
        """The family's own search space, read from :attr:`space_file`."""
        return _read_space_cached(self)

    def run_config(self, settings: Mapping[str, Any] | None = None) -> RunConfig:
        """The family's default run, with ``settings`` applied by field name."""
        base = RunConfig(self.name, self.config_cls(), self.train, self.data)
        return base.with_settings(settings or {})

    def from_dict(self, config: Mapping[str, Any]) -> RunConfig:
        """Rebuild a run config from a record's ``config``."""
        return RunConfig(
            self.name,
            cfg.from_dict(self.config_cls, config.get("model", {})),
            cfg.from_dict(TrainConfig, config.get("train", {})),
            cfg.from_dict(DataConfig, config.get("data", {})),
        )

    def command_for(self, run: RunConfig) -> str:
        """The one line that trains ``run`` again, whatever command first trained it
        (:func:`keras_fcn.commands.run_command`, rendered)."""
        return run_command(self, run).render()

    def fields(self) -> tuple[type, type, type]:
        """The config classes a setting of this family may name."""
        return (self.config_cls, TrainConfig, DataConfig)

    def read_space(self, path: str | Path) -> Space:
        """A space from a TOML file, typed and checked against this family's configs.

        Raises:
            ConfigError: the file cannot be read or parsed, or a value is invalid (the
                message names the file).
        """
        path = Path(path)
        return self.parse_space(read_toml(path), source=str(path))

    def parse_space(self, mapping: Mapping[str, Any], source: str = "space") -> Space:
        """A space from its entries (a parsed TOML file, ``--param`` values), each typed for
        its config field and checked before anything trains.

        A parameter's default is the family's value when the space allows it. Every value
        must be valid for its field with the others at their defaults, or with one of them
        at another of its values (``padding="valid"`` needs a smaller kernel, say).

        Raises:
            ConfigError: an unknown field, an empty range, a step that does not divide it,
                a value a config rejects, or layers this family cannot search.
        """
        try:
            return _parse_space(self, mapping)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    def accepts(self, name: str, value: Any) -> bool:
        """Whether ``name=value`` makes a valid run of this family, the rest at defaults."""
        try:
            self.run_config({name: value})
        except ConfigError:
            return False
        return True


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file as a dict, or a one-line :class:`ConfigError`."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read the space {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


_SPACES: dict[str, Space] = {}


def _read_space_cached(family: Family) -> Space:
    key = f"{family.name}:{family.space_file}"
    if key not in _SPACES:
        _SPACES[key] = family.read_space(family.space_file)
    return _SPACES[key]


def _numeric_kind(cls: type, field: str) -> type | None:
    """``int`` or ``float`` for a field (or the items of a tuple field), else None."""
    hint = typing.get_type_hints(cls)[field]
    kinds = list(typing.get_args(hint)) or [hint]
    for kind in list(kinds):
        if typing.get_origin(kind) is tuple:
            kinds.append(typing.get_args(kind)[0])
    if float in kinds:
        return float
    return int if int in kinds else None


def _make_param(
    name: str, entry: Any, kind: type | None, typed: Callable[[Any], Any], default: Any
) -> Param:
    """One entry of a space, its values typed by ``typed`` (a range's ends by ``kind``), its
    default the family's ``default`` unless the entry gives one or does not allow it."""
    raw = parse_entry(name, entry)  # the grammar, ranges and steps
    table = entry if isinstance(entry, Mapping) else {}
    span: dict[str, Any] = {}
    listed = raw.values
    if raw.is_range:
        ends = [raw.low, raw.high, *([] if raw.step is None else [raw.step])]
        if kind is None:
            raise ConfigError(f"{name}: a range needs a numeric field")
        if kind is int and not all(isinstance(v, int) for v in ends):
            raise ConfigError(f"{name} takes whole numbers: write its range with whole numbers")
        step = None if raw.step is None else kind(raw.step)
        span = dict(low=kind(raw.low), high=kind(raw.high), log=raw.log, step=step)
        listed = table.get("values", ())  # the others are derived from the range again
    values = tuple(typed(v) for v in listed)
    if "default" in table:
        return Param(name, values, typed(table["default"]), **span)
    param = Param(name, values, None, **span)
    if default in param.values or param.within(default):
        return Param(name, values, default, **span)
    return param


def _field_param(family: Family, name: str, entry: Any) -> Param:
    cls = cfg.owner(name, family.fields())  # an unknown field, with the list of known ones

    def typed(value: Any) -> Any:
        if isinstance(value, str):
            return cfg.coerce(cls, name, value)
        return tuple(value) if isinstance(value, list) else value

    default = family.run_config().values()[name]
    return _make_param(name, entry, _numeric_kind(cls, name), typed, default)


def _check_values(family: Family, space: Space) -> None:
    """Every value of every parameter is valid with the others at their defaults, or with
    one other parameter at another of its values."""
    base = space.defaults()
    neighbours = [base] + [
        {**base, q.name: v} for q in space.params for v in q.values if v != q.default
    ]
    for p in space.params:
        for value in [*p.values, *((p.low, p.high) if p.is_range else ())]:
            error = None
            for settings in neighbours:
                try:
                    family.run_config({**settings, p.name: value})
                    break
                except ConfigError as exc:
                    error = error or exc
            else:
                raise error


def _parse_layers(family: Family, table: Any) -> Layers:
    if not isinstance(table, Mapping):
        raise ConfigError("layers must be a table: [layers] with depth and per-layer entries")
    if not family.layer_fields:
        raise ConfigError(f"the {family.name} family has no layers to search")
    known = [*(["depth"] if family.fixed_depth is None else []), *family.layer_fields]
    unknown = [name for name in table if name not in known]
    if unknown:
        raise ConfigError(
            f"layers.{unknown[0]} is unknown: the {family.name} family's layers take "
            + ", ".join(known)
        )
    default_run = family.run_config().values()
    first_field = next(iter(family.layer_fields.values()))
    if family.fixed_depth is not None:
        depth = Param("depth", (family.fixed_depth,), family.fixed_depth)
    else:
        default = len(default_run[first_field])
        depth = _make_param("depth", table.get("depth", default), int, int, default)
    per_layer = []
    for name, field in family.layer_fields.items():
        if name in table:
            kind = _numeric_kind(cfg.owner(field, family.fields()), field)
            value = default_run[field]
            own = value if isinstance(value, tuple) else (value,)  # one value, or one per layer
            param = _make_param(name, table[name], kind, lambda v, k=kind: k(v), own[0])
            per_layer.append(LayerParam(param, field, own))
    layers = Layers(depth, tuple(per_layer))
    # each value of a layer, in every layer of the shallowest network the space holds
    size = family.fixed_depth or 1
    defaults = {lp.field: (lp.param.default,) * size for lp in layers.per_layer}
    for lp in layers.per_layer:
        p = lp.param
        for value in [*p.values, *((p.low, p.high) if p.is_range else ())]:
            family.run_config({**defaults, lp.field: (value,) * size})
    return layers


def _parse_space(family: Family, mapping: Mapping[str, Any]) -> Space:
    params = [_field_param(family, name, e) for name, e in mapping.items() if name != "layers"]
    layers = _parse_layers(family, mapping["layers"]) if "layers" in mapping else None
    space = Space(tuple(params), layers)
    _check_values(family, space)
    return space


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
