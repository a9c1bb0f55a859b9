"""Train the dense default config (or any dense config) once and show how it did.

    python -m experiments.fashion_dense [--quick] [--set FIELD=VALUE ...]

Prints Keras's progress, the test accuracy, the confusion matrix and per-class scores, and
saves under ``--out`` the run record (JSON, and appended to ``runs.jsonl``), the learning
curves and the confusion matrix as PNG.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments._cli import (
    Parser,
    add_data_args,
    add_set_arg,
    check_out,
    run_main,
    settings_from,
)
from keras_fcn import layout
from keras_fcn.errors import ConfigError


def build_parser(prog: str, default_dataset: str, family: str = "dense") -> Parser:
    from keras_fcn.registry import get_family

    train = get_family(family).train
    parser = Parser(
        prog=prog,
        description=f"Train the {family} default config (or any {family} config) once and show how it did.",
    )
    add_data_args(parser, default_dataset)
    parser.add_argument("--epochs", type=int, help=f"default: the config's ({train.epochs})")
    parser.add_argument("--seed", type=int, help=f"default: the config's ({train.seed})")
    parser.add_argument("--out", help="results folder (default: results/<command>)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10,000 training images and 10 epochs: well under a minute",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=2,
        help="Keras progress: 0 none, 1 bar, 2 a line per epoch",
    )
    add_set_arg(parser)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "experiments.fashion_dense",
    default_dataset: str = "fashion_mnist",
    family: str = "dense",
    only_dataset: bool = False,
) -> int:
    """Run the command for one family (``experiments.fashion_cnn`` passes ``lenet``); with
    ``only_dataset``, a command named after its dataset (``experiments.mnist_dense``) refuses
    any other."""
    args = build_parser(prog, default_dataset, family).parse_args(argv)
    overrides: dict[str, object] = {"dataset": args.dataset, **settings_from(args)}
    for flag in ("epochs", "seed"):
        if getattr(args, flag) is not None:
            overrides[flag] = getattr(args, flag)

    from keras_fcn.presets import quick
    from keras_fcn.registry import get_family, resolve_run
    from keras_fcn.single import run_and_report

    model_family = get_family(family)
    run = resolve_run(model_family, overrides, preset=quick("single") if args.quick else None)
    if only_dataset and run.data.dataset != default_dataset:
        raise ConfigError(
            f"{prog} trains on {default_dataset} only, not {run.data.dataset}: use "
            f"experiments.fashion_dense --dataset {run.data.dataset}"
        )
    out = check_out(args.out or layout.folder(prog.split(".")[-1]))
    run_and_report(model_family, run, out=out, data_dir=args.data_dir, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    run_main(main)
