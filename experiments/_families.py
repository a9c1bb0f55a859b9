"""The model families the commands know by name."""

from __future__ import annotations

from cnn.family import LENET
from keras_fcn.errors import ConfigError
from keras_fcn.family import DENSE, Family


def families() -> dict[str, Family]:
    """Family name -> family."""
    return {DENSE.name: DENSE, LENET.name: LENET}


def family(name: str) -> Family:
    known = families()
    if name not in known:
        raise ConfigError(f"unknown family {name!r}; choose one of {', '.join(known)}")
    return known[name]
