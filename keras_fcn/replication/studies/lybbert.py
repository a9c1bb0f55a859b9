"""Lybbert, *AMATH 582 homework 4* (2025): ``lybbert.csv``, 6 rows, and its grid,
``lybbert.toml``.

Tables: ``table1`` = Table 1 (with batch norm); ``table2`` = Table 2 (without batch norm).
Rows are labelled by experiment ID. Values are the mean and σ of the test accuracy, as
fractions; what the mean is taken over (e.g. test batches) is not stated.

Its protocol: PyTorch; a full grid search instead of tuning one setting at a time, over
epochs {20, 30, 40}, hidden {1024-256, 1024-512, 1024-128}, init {xavier_uniform,
standard_normal, kaiming_uniform}, batch norm {on, off}, ReLU only, dropout {0.5, 0.3, 0.2,
0.1} per layer, optimizer {SGD, Adam, RMSprop}, lr {0.01, 0.001, 0.0001} and momentum {0.9,
0.95, 0.99}. The rows reported use 30 epochs, 1024-256, Adam and lr 0.001. The tables do not
say which momentum value was used, so ``momentum`` is left blank. Batch size, validation
split and input scaling are not stated. There are no base settings, so every known setting
is filled in on every row.

Label mapping: "Xavier" is recorded as ``xavier_uniform`` and "Kaiming" as
``kaiming_uniform``, the corresponding grid values. The study's "random normal" does not
state its spread; in PyTorch, which the study used, ``torch.nn.init.normal_`` draws from
N(0, 1) unless told otherwise, so it is recorded as ``standard_normal`` (Keras's
``random_normal`` draws with a standard deviation of 0.05, a benign scale for these layers).

Contradictions in the source: the captions say only the initialization differs between
rows, yet the per-layer dropout rates differ too; Table 2 is described as "Table 1 without
batch norm", but its dropout rates do not match Table 1's.
"""

from __future__ import annotations

from keras_fcn.replication.protocol import Protocol, TableSpec
from keras_fcn.replication.studies import PYTORCH_CONSTANTS, UNSTATED_SCALING, framework_variants
from keras_fcn.replication.variants import Variant

PROTOCOL = Protocol(
    name="lybbert",
    source="Lybbert, 'AMATH 582 homework 4' (2025)",
    family="dense",
    published="lybbert.csv",
    base={
        "hidden": (1024, 256),
        "epochs": 30,
        "optimizer": "adam",
        "learning_rate": 0.001,
        "defaults": "pytorch",
    },
    tables=(
        TableSpec("table1", "Three initializations with batch normalization (Table 1)"),
        TableSpec("table2", "The same without batch normalization (Table 2)"),
    ),
    grid="lybbert.toml",
    # its 150 committed runs were trained with Keras's defaults and fit (2.2 h to train again)
    grid_settings={"defaults": "keras", "loop": "fit"},
    variants=(
        *framework_variants((("table1", "ID 111"),)),
        Variant(
            "random_normal_005",
            "'random normal' read as N(0, 0.05²), Keras's RandomNormal (ours: N(0, 1), "
            "torch.nn.init.normal_'s default: the study states no spread)",
            {"initializer": "random_normal"},
            (("table2", "ID 129"),),
        ),
    ),
    crosscheck=("table1/ID 111", "table2/ID 117", "table2/ID 129"),
    reading=(
        "The Xavier and Kaiming rows land within their published spread. Random-normal "
        "weights without batch normalization collapse, in a plain PyTorch loop too; read as "
        "N(0, 0.05²) the row lands far above the figure instead. On its grid, 'the most "
        "volatile' is not resolved."
    ),
    notes=(
        "batch size and validation split are not stated: batch 512 and a 10 % random split are used",
        "the momentum of the table rows is not stated; PyTorch's Adam takes none (betas 0.9 "
        "and 0.999), so the grid's momentum moves SGD and RMSprop only",
        PYTORCH_CONSTANTS,
        UNSTATED_SCALING,
        "'Xavier' and 'Kaiming' are the grid's xavier_uniform and kaiming_uniform",
        "--grid runs the full grid (or --max-runs of it, sampled with --grid-seed); its runs "
        "keep Keras's defaults and Keras's fit, as its committed runs were trained",
    ),
)
