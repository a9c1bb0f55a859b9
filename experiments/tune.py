"""Tune a family with KerasTuner, then retrain the best setting over seeds and test it once.

    python -m experiments.tune --family dense --dataset fashion_mnist --tuner hyperband \\
        --max-epochs 30 [--fix FIELD=VALUE] [--only FIELD=V1,V2] [--workers N] [--quick]

A search is known by everything that defines it: rerunning the same command resumes it
(``--fresh`` starts it over), and a command that differs starts its own. Prints one line per
trial (``--verbose``: Keras's and KerasTuner's own output too) and a summary. Writes, under
``--out/FAMILY-DATASET-TUNER-HASH`` (the hash of the search's definition): ``search.json``
(that definition), KerasTuner's project folder, ``trials.csv``/``.md`` (every trial),
``along_each.png``, ``best_trials.png`` (the best trials' curves), ``final_runs.jsonl`` (the best setting over ``--final-seeds``),
``best_model.keras`` with ``best_config.json`` beside it, every final model with
``--keep-models``, and TensorBoard logs with ``--tensorboard``. The search itself is
:func:`keras_fcn.tuning.run_search`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from experiments._cli import run_main, settings_from
from experiments._tune_args import build_parser as _build_parser
from experiments._tune_args import command, search_options, searched_space
from keras_fcn import registry


def build_parser():
    return _build_parser(__doc__.splitlines()[0])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    argv = list(argv if argv is not None else sys.argv[1:])
    if args.quick:
        args.max_epochs, args.trials = min(args.max_epochs, 4), min(args.trials, 4)
    options = search_options(args, argv)
    family = registry.get_family(args.family)
    settings = {
        "dataset": args.dataset,
        "patience": args.patience,
        "epochs": args.max_epochs,
        "seed": args.seed,
    }
    if args.quick:
        from keras_fcn.presets import quick

        settings.update(quick("tune"))
    settings.update(settings_from(args))
    base = family.run_config(settings)
    space = searched_space(family, args)

    from keras_fcn import tuning

    if args.compare_tuners is not None:
        line = command(argv)  # this comparison's own line, less this machine's folders
        return _compare(family, space, base, options, args.compare_tuners, line)
    result = tuning.run_search(family, space, base=base, options=options)
    if result is not None:  # None in a worker: its chief reports
        print("\n" + tuning.closing_text(result, top=args.top, confusion=args.verbose))
    return 0


def _compare(family, space, base, options, seeds: int, line: str) -> int:
    """Hyperband, random and Bayesian search at one budget, over ``seeds`` search seeds."""
    from keras_fcn import tuning
    from keras_fcn.errors import ConfigError

    if seeds < 1:
        raise ConfigError(f"--compare-tuners {seeds}: give 1 or more search seeds")
    # each search records the call that repeats it alone, not this comparison's line
    comparison = tuning.compare_tuners(
        family,
        space,
        base=base,
        options=options.with_settings({"command": ""}),
        seeds=seeds,
        command=line,
    )
    print("\n" + comparison.table.to_string(index=False))
    print(f"saved: {comparison.folder}/ (comparison.csv, comparison.md, comparison.png)")
    return 0


if __name__ == "__main__":
    run_main(main)
