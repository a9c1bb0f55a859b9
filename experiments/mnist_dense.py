"""Train a dense config on MNIST: the same command and flags as ``experiments.fashion_dense``.

Another dataset (``--dataset fashion_mnist``, ``--set dataset=...``) is an error: this command
is named after its dataset. ``experiments.fashion_dense --dataset mnist`` is the same run.

python -m experiments.mnist_dense [--quick] [--set FIELD=VALUE ...]
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments import fashion_dense
from experiments._cli import run_main


def main(argv: Sequence[str] | None = None) -> int:
    return fashion_dense.main(
        argv, prog="experiments.mnist_dense", default_dataset="mnist", only_dataset=True
    )


if __name__ == "__main__":
    run_main(main)
