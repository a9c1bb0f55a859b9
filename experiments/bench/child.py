"""What a child process of ``python -m experiments.benchmark`` does (``--case NAME --json
PATH``): measure one case, the machine's limits or one training step in parts, and write it
as JSON; and the data, epochs and models of the command's flags, which parent and child
read alike."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from keras_fcn import registry

LIMITS = "limits"  # the --case of the child process that measures the machine's limits
PROFILE = "profile"  # --case profile:MODEL:FRAMEWORK times the parts of one training step


def data_of(family, args):
    """``family``'s default data (the quick preset's subset with ``--quick``)."""
    from keras_fcn.train import load_dataset

    config = family.data
    if args.quick:
        from keras_fcn.presets import quick

        config = dataclasses.replace(config, **quick("benchmark"))
    return load_dataset(config, args.data_dir)


def epochs_of(args, model: str) -> int:
    """Epochs per case of ``model``: ``--epochs``, else 2 with ``--quick``, else its default."""
    if args.epochs is not None:
        return args.epochs
    return 2 if args.quick else {"dense": 6, "lenet": 4}[model]


def models_of(args) -> list[str]:
    """The models ``--models`` names."""
    return [m.strip() for m in args.models.split(",") if m.strip()]


def _limits(args) -> dict[str, Any]:
    """Child mode, ``--case limits``: each model's limits (see ``experiments.bench.limits``)
    at its family's default network and batch size."""
    import keras

    from experiments.bench.limits import network_limits

    measured = {}
    for model in models_of(args):
        family = registry.get_family(model)
        run = family.run_config({"seed": args.seed})
        keras.utils.set_random_seed(args.seed)
        network = family.build(run.model)
        budget = 0.5 if args.quick else 3.0
        measured[model] = network_limits(network, run.train.batch_size, budget_s=budget)
    return measured


def one_case(args) -> int:
    """Child mode: measure one case, the limits or the trials without oneDNN, and write it as
    JSON."""
    from experiments.bench import trials

    if args.case == LIMITS:
        result = _limits(args)
    elif args.case == trials.ONEDNN_OFF:  # the environment turned oneDNN off
        family = registry.get_family("dense")
        count = trials.trial_count(args)
        costs = trials.search_costs(family, data_of(family, args), args.case, count, args.seed)
        result = costs.to_dict(orient="records")
    elif args.case.startswith(PROFILE + ":"):
        from experiments.bench import profile

        _, model, framework = args.case.split(":")
        family = registry.get_family(model)
        run = family.run_config({"seed": args.seed})
        measure = profile.profile_tensorflow if framework == "tensorflow" else profile.profile_torch
        times = measure(family, run, data_of(family, args), budget_s=0.2 if args.quick else 2.0)
        result = {"model": model, "framework": framework, "times": times}
    else:
        from experiments.bench.cases import find_case
        from experiments.bench.measure import run_case

        case = find_case(args.case)
        family = registry.get_family(case.model)
        data = data_of(family, args)
        measured = run_case(case, family, data, epochs=epochs_of(args, case.model), seed=args.seed)
        result = dataclasses.asdict(measured)
    Path(args.json).write_text(json.dumps(result))
    return 0
