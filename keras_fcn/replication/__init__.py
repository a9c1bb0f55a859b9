"""Replicating published studies: each study's tables re-run and set beside its numbers.

- :mod:`~keras_fcn.replication.protocol`: a study as data (:class:`Protocol`,
  :class:`TableSpec`) and the rows of its CSV of published numbers.
- :mod:`~keras_fcn.replication.rerun`: re-running its tables in order, carrying the best
  choice of one table to the next.
- :mod:`~keras_fcn.replication.comparison`: each row beside its published figure, with a
  verdict.
- :mod:`~keras_fcn.replication.registry`: the studies by name.
- :mod:`keras_fcn.replication.studies`: one module per study, each with its CSV beside it.

The reproduce command re-runs a study (docs/commands.md); docs/published-studies.md says how
to add a study.
"""

from keras_fcn.replication.comparison import verdict
from keras_fcn.replication.protocol import (
    CONFIG_COLUMNS,
    Protocol,
    PublishedRow,
    TableSpec,
    read_published,
)
from keras_fcn.replication.registry import ENV_VAR, STUDIES_DIR, all_studies, get_study
from keras_fcn.replication.rerun import (
    RerunOptions,
    TableResult,
    carries,
    choose,
    reproduce,
    reproduce_views,
)

__all__ = [
    "CONFIG_COLUMNS",
    "ENV_VAR",
    "STUDIES_DIR",
    "Protocol",
    "PublishedRow",
    "RerunOptions",
    "TableResult",
    "TableSpec",
    "all_studies",
    "carries",
    "choose",
    "get_study",
    "read_published",
    "reproduce",
    "reproduce_views",
    "verdict",
]
