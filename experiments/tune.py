"""Tune a family with KerasTuner, then retrain the best setting over seeds and test it once.

    python -m experiments.tune --family dense --dataset fashion_mnist --tuner hyperband \\
        --max-epochs 30 [--fix FIELD=VALUE] [--only FIELD=V1,V2] [--workers N] [--quick]

A search is known by everything that defines it: rerunning the same command resumes it
(``--fresh`` starts it over), and a command that differs starts its own. Writes, under
``--out/FAMILY-DATASET-TUNER-HASH`` (the hash of the search's definition): ``search.json``
(that definition), KerasTuner's project folder, ``trials.csv``/``.md`` (every trial),
``along_each.png``, ``final_runs.jsonl`` (the best setting over ``--final-seeds``),
``best_model.keras`` with ``best_config.json`` beside it, and TensorBoard logs with
``--tensorboard``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from experiments import _families
from experiments._cli import run_main, settings_from
from experiments._tune_args import build_parser as _build_parser
from experiments._tune_args import check_numbers, fixed_values, without_workers
from experiments._tune_results import finish
from experiments._tune_search import (
    hold_folder,
    run_search,
    search_folder,
    searched_space,
    start_workers,
)


def build_parser():
    return _build_parser(__doc__.splitlines()[0])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = without_workers(list(argv if argv is not None else sys.argv[1:]), keep_workers=True)
    family = _families.family(args.family)
    check_numbers(args)
    from keras_fcn import workers

    watch = None
    if workers.role() == "worker":
        # before TensorFlow loads: a worker without a chief costs only the timeout, in one line
        watch = workers.ChiefWatch(args.chief_timeout).start()
    if args.quick:
        args.max_epochs, args.trials = min(args.max_epochs, 4), min(args.trials, 4)
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
    space = searched_space(family, args, fixed_values(family, args))
    identity, folder = search_folder(args, base, space)
    with hold_folder(args, folder, identity):
        pool = start_workers(args, argv)
        tuner, data, search_time = run_search(
            args, family, base, space, identity, folder, pool, watch
        )
        if workers.role() == "worker":
            return 0
        return finish(args, family, base, space, tuner, data, folder, search_time)


if __name__ == "__main__":
    run_main(main)
