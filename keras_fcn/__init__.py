"""keras-fcn: dense networks and LeNet-5 on Fashion-MNIST and MNIST, studied and tuned in Keras 3.

The public API (docs/api.md): a family by name, a run from its defaults and your settings,
training, studies over seeds, KerasTuner searches and published studies re-run. Importing
the package does not import TensorFlow; training does.
"""

from keras_fcn.api import Reproduction, reproduce_study, run_seeds, summarize, train_run
from keras_fcn.config import DataConfig, DenseConfig, TrainConfig
from keras_fcn.errors import ConfigError
from keras_fcn.family import Family, RunConfig
from keras_fcn.record import RunRecord
from keras_fcn.registry import (
    DEFAULT_SEED,
    DEFAULT_SEEDS,
    families,
    get_family,
    register_family,
    resolve_run,
)
from keras_fcn.tuning.options import SearchOptions
from keras_fcn.tuning.search import SearchResult, run_search

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_SEEDS",
    "ConfigError",
    "DataConfig",
    "DenseConfig",
    "Family",
    "Reproduction",
    "RunConfig",
    "RunRecord",
    "SearchOptions",
    "SearchResult",
    "TrainConfig",
    "families",
    "get_family",
    "register_family",
    "reproduce_study",
    "resolve_run",
    "run_search",
    "run_seeds",
    "summarize",
    "train_run",
]
