"""The model families the commands know by name: the library's registry
(:mod:`keras_fcn.families`)."""

from keras_fcn.families import families
from keras_fcn.families import get_family as family

__all__ = ["families", "family"]
