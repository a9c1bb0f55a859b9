"""The command line of ``experiments.tune``: its arguments, the space they narrow (the
values of ``--fix``, ``--only`` and ``--param`` split here, typed for the family's fields by
:mod:`keras_fcn.space.parse`), and the :class:`~keras_fcn.tuning.SearchOptions` they
describe."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from experiments._cli import Parser, add_data_args, add_set_arg, add_wait_arg
from keras_fcn import layout
from keras_fcn.registry import DEFAULT_SEED


def build_parser(description: str) -> Parser:
    parser = Parser(prog="experiments.tune", description=description)
    parser.add_argument("--family", default="dense", help="dense or lenet (default: %(default)s)")
    add_data_args(parser)
    _add_tuner_args(parser)
    _add_space_args(parser)
    _add_final_args(parser)
    _add_process_args(parser)
    add_set_arg(parser)
    return parser


def _add_tuner_args(parser: Parser) -> None:
    parser.add_argument(
        "--tuner",
        default="hyperband",
        help="hyperband, random, bayesian or grid (default: %(default)s)",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=30,
        help="Hyperband's budget per trial, and the final retraining's epochs (default: %(default)s)",
    )
    parser.add_argument(
        "--factor", type=int, default=3, help="Hyperband's reduction factor (default: %(default)s)"
    )
    parser.add_argument(
        "--trials",
        type=int,
        default=20,
        help="trials of random and bayesian search (default: %(default)s)",
    )
    parser.add_argument(
        "--epoch-budget",
        type=int,
        default=0,
        help="random and bayesian start no trial once their trials have trained this many "
        "epochs (default: no budget)",
    )
    parser.add_argument(
        "--initial-points",
        type=int,
        default=0,
        help="random trials bayesian runs before its Gaussian process chooses (default: "
        "KerasTuner's, three per searched dimension)",
    )
    parser.add_argument(
        "--compare-tuners",
        type=int,
        metavar="SEEDS",
        help="compare hyperband, random and bayesian: each with SEEDS search seeds, the "
        "latter two at Hyperband's budget of epochs (docs/tuning.md)",
    )
    parser.add_argument(
        "--executions",
        type=int,
        default=1,
        help="trainings per trial, each with its own seed (default: %(default)s)",
    )
    parser.add_argument(
        "--patience",
        type=int,
        default=5,
        help="early stopping on validation accuracy in every trial (default: %(default)s)",
    )


def _add_space_args(parser: Parser) -> None:
    parser.add_argument(
        "--space",
        metavar="FILE",
        help="a TOML file of the space to search, instead of the family's own (docs/spaces.md)",
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="add or replace one entry of the space, as a line of its TOML file would: "
        "--param 'learning_rate=1e-4..1e-1 log', --param layers.units='32..512 step 32', "
        "--param activation=relu,tanh (repeatable)",
    )
    parser.add_argument(
        "--search",
        metavar="FIELD,FIELD",
        help="search only these fields of the family's space (the rest keep the base run's values)",
    )
    parser.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="fix a searched field (repeatable)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="FIELD=V1,V2",
        help="restrict a field to a few values (repeatable), e.g. learning_rate=0.001,0.01 or hidden=512-256,256-128",
    )


def _add_final_args(parser: Parser) -> None:
    parser.add_argument(
        "--final-seeds",
        type=int,
        default=3,
        help="seeds of the final retraining (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the search and first final seed (default: %(default)s)",
    )


def _add_process_args(parser: Parser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        help="run a chief and N >= 1 workers on this machine (default: one process, no workers)",
    )
    parser.add_argument(
        "--chief-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="a worker gives up when its chief has not answered for this long (default: %(default)g)",
    )
    parser.add_argument(
        "--tensorboard",
        action="store_true",
        help="write TensorBoard logs with the HParams dashboard",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start the search over instead of resuming it"
    )
    parser.add_argument(
        "--top", type=int, default=5, help="best trials shown at the end (default: %(default)s)"
    )
    parser.add_argument(
        "--keep-models",
        action="store_true",
        help="keep every final run's model in final_models/, not only best_model.keras",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="Keras's line per epoch, KerasTuner's display of each trial, and the kept "
        "model's confusion matrix",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3,000 images, a few epochs and trials: the whole path in a minute",
    )
    parser.add_argument(
        "--out", default=str(layout.folder("tune")), help="results folder (default: %(default)s)"
    )
    add_wait_arg(parser)


def fixed_values(family, args) -> dict:
    """``--fix FIELD=VALUE`` as field -> typed value."""
    from keras_fcn.errors import ConfigError

    fixed = {}
    for field, values in choices(family, args.fix).items():
        if len(values) != 1:
            raise ConfigError(
                f"--fix {field}={','.join(map(str, values))}: --fix takes one value; "
                f"use --only {field}=... to search several"
            )
        fixed[field] = values[0]
    return fixed


def choices(family, items: Sequence[str]) -> dict[str, list]:
    """``FIELD=V1,V2`` of ``--fix``/``--only`` as typed values (``;`` separates values that
    hold commas); :func:`keras_fcn.space.typed_values` types them for the family."""
    from keras_fcn.settings import parse_assignment
    from keras_fcn.space import typed_values

    out = {}
    for item in items:
        field, text = parse_assignment(item)
        out[field] = typed_values(family, field, values_of(text), source=item)
    return out


def values_of(text: str) -> list[str]:
    """The values of ``V1,V2`` (or ``V1;V2`` when the values hold commas)."""
    return [p.strip() for p in text.split(";" if ";" in text else ",") if p.strip()]


def read_space(family, args):
    """The space of ``--space`` (or the family's own) with the ``--param`` entries
    (:func:`keras_fcn.space.with_entry`)."""
    from keras_fcn.errors import ConfigError
    from keras_fcn.settings import parse_assignment
    from keras_fcn.space import read_toml, with_entry

    mapping = read_toml(Path(args.space)) if args.space else read_toml(family.space_file)
    for item in args.param:
        name, text = parse_assignment(item)
        parts = values_of(text)
        try:
            mapping = with_entry(family, mapping, name, parts[0] if len(parts) == 1 else parts)
        except ConfigError as exc:
            raise ConfigError(f"--param {item!r}: {exc}") from None
    return family.parse_space(mapping, source=args.space or f"the {family.name} space")


def command(argv: Sequence[str]) -> str:
    """The command that repeats a search: ``experiments.tune`` with ``argv``, less the
    folders of this machine (``--out``, ``--data-dir``)."""
    from experiments._commands import TUNE
    from keras_fcn.commands import Command

    return Command.from_argv(TUNE, argv).portable().render()


def without_workers(argv: Sequence[str], keep_workers: bool = False) -> list[str]:
    """``argv`` less ``--fresh`` (and less ``--workers N`` unless ``keep_workers``)."""
    out, skip = [], False
    for item in argv:
        if keep_workers and item != "--fresh":
            out.append(item)
            continue
        if skip:
            skip = False
            continue
        if item == "--workers":
            skip = True
            continue
        if item.startswith("--workers=") or item == "--fresh":
            continue  # the chief alone decides whether to start over
        out.append(item)
    return out


def searched_space(family, args):
    """The family's space (or ``--space``) with ``--param``, narrowed by ``--search``,
    ``--fix`` and ``--only``."""
    space = read_space(family, args)
    if args.search:
        space = space.select([name.strip() for name in args.search.split(",") if name.strip()])
    if args.quick:
        space = space.without("epochs")  # every trial trains at most --max-epochs
    return space.narrow(
        fixed=fixed_values(family, args), choices=choices(family, args.only), accept=family.accepts
    )


def search_options(args, argv: Sequence[str]):
    """The :class:`~keras_fcn.tuning.SearchOptions` of the command line ``argv``."""
    from experiments._commands import TUNE
    from keras_fcn.commands import Command
    from keras_fcn.errors import ConfigError
    from keras_fcn.tuning.options import SearchOptions

    if args.workers is not None and args.workers < 1:
        # no --workers is one process; an explicit count below 1 is a mistake, not a request
        raise ConfigError(
            f"--workers {args.workers}: must be 1 or more (leave it out to search in one process)"
        )
    return SearchOptions(
        tuner=args.tuner,
        max_epochs=args.max_epochs,
        factor=args.factor,
        trials=args.trials,
        epoch_budget=args.epoch_budget,
        initial_points=args.initial_points,
        executions=args.executions,
        seed=args.seed,
        final_seeds=args.final_seeds,
        out=args.out,
        quick=args.quick,
        fresh=args.fresh,
        workers=args.workers or 0,
        wait=args.wait,
        worker_command=tuple(Command.from_argv(TUNE, without_workers(argv)).argv()),
        chief_timeout=args.chief_timeout,
        tensorboard=args.tensorboard,
        keep_models=args.keep_models,
        verbose=args.verbose,
        data_dir=args.data_dir,
        command=command(without_workers(argv, keep_workers=True)),
    )
