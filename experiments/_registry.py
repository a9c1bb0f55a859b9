"""The model families and seed studies the commands know by name."""

from __future__ import annotations

from cnn.family import LENET
from cnn.protocol import LENET_PROTOCOL
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE, Family
from keras_fcn.protocol import Protocol
from keras_fcn.seed_studies import DENSE_PROTOCOLS


def families() -> dict[str, Family]:
    """Family name -> family."""
    return {DENSE.name: DENSE, LENET.name: LENET}


def protocols() -> dict[str, Protocol]:
    """Study name -> protocol."""
    return {**DENSE_PROTOCOLS, LENET_PROTOCOL.name: LENET_PROTOCOL}


def family(name: str) -> Family:
    known = families()
    if name not in known:
        raise ConfigError(f"unknown family {name!r}; choose one of {', '.join(known)}")
    return known[name]
