"""Train the LeNet-5 default config (or any LeNet-5 config) once and show how it did.

    python -m experiments.fashion_cnn [--quick] [--set FIELD=VALUE ...]

The same command and flags as ``experiments.fashion_dense``, for the ``lenet`` family:
Keras's progress, the test accuracy, the confusion matrix and per-class scores, and under
``--out`` (default ``results/fashion_cnn``) the run record, learning curves and confusion
matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments import fashion_dense
from experiments._cli import run_main


def main(argv: Sequence[str] | None = None) -> int:
    return fashion_dense.main(argv, prog="experiments.fashion_cnn", family="lenet")


if __name__ == "__main__":
    run_main(main)
