"""Search spaces, declared once as data, by concept.

- :mod:`keras_fcn.space.params`: one hyperparameter (:class:`Param`), a value of each layer
  (:class:`LayerParam`) and a searched number of layers (:class:`Layers`);
- :mod:`keras_fcn.space.space`: the :class:`Space` they make up, and what is derived from it
  (the grid, the sweep, narrowing, its identity as data);
- :mod:`keras_fcn.space.syntax`: one entry as written in a space's TOML file;
- :mod:`keras_fcn.space.parse`: a space file (or entries from the command line) read against
  a family's configs, each value typed for its field and checked;
- :mod:`keras_fcn.space.hp`: a space declared on KerasTuner's ``HyperParameters``
  (:func:`declare_space`); it imports the space, never the other way round.

Importing the package imports neither TensorFlow nor KerasTuner.
"""

from keras_fcn.space.hp import declare_space
from keras_fcn.space.params import LayerParam, Layers, Param, describe_values, encode_value
from keras_fcn.space.parse import (
    family_space,
    parse_space,
    read_space,
    read_toml,
    typed_values,
    with_entry,
)
from keras_fcn.space.space import Space
from keras_fcn.space.syntax import FORMS, parse_entry

__all__ = [
    "FORMS",
    "LayerParam",
    "Layers",
    "Param",
    "Space",
    "describe_values",
    "encode_value",
    "declare_space",
    "family_space",
    "parse_entry",
    "parse_space",
    "read_space",
    "read_toml",
    "typed_values",
    "with_entry",
]
