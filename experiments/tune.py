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

import functools
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from experiments import _families
from experiments._cli import (
    Parser,
    add_data_args,
    add_set_arg,
    check_out,
    run_main,
    settings_from,
)
from keras_fcn import layout


def build_parser() -> Parser:
    parser = Parser(prog="experiments.tune", description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="dense", help="dense or lenet (default: %(default)s)")
    add_data_args(parser)
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
    parser.add_argument(
        "--final-seeds",
        type=int,
        default=3,
        help="seeds of the final retraining (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=42,
        help="seed of the search and first final seed (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="run a chief and N workers on this machine (default: one process)",
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
        "--top", type=int, default=10, help="trials shown at the end (default: %(default)s)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3,000 images, a few epochs and trials: the whole path in a minute",
    )
    parser.add_argument(
        "--out", default=str(layout.folder("tune")), help="results folder (default: %(default)s)"
    )
    add_set_arg(parser)
    return parser


def _choices(family, items: Sequence[str]) -> dict[str, list]:
    """``FIELD=V1,V2`` of ``--fix``/``--only`` as typed values (``;`` separates values that
    hold commas). ``depth`` and per-layer names (``units``) take numbers."""
    from keras_fcn.config import coerce, field_names, owner, parse_assignment
    from keras_fcn.errors import ConfigError

    fields = {name for cls in family.fields() for name in field_names(cls)}
    out = {}
    for item in items:
        field, text = parse_assignment(item)
        parts = _values(text)
        if field in fields:
            cls = owner(field, family.fields())
            out[field] = [coerce(cls, field, p) for p in parts]
        elif field == "depth" or field in family.layer_fields:
            try:
                out[field] = [
                    int(p) if p.strip().lstrip("+-").isdigit() else float(p) for p in parts
                ]
            except ValueError:
                raise ConfigError(f"{item!r}: {field} takes numbers") from None
        else:
            owner(field, family.fields())  # the unknown field, with the list of known ones
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = _without_workers(
        list(argv if argv is not None else sys.argv[1:]), keep_workers=True
    )
    from keras_fcn.errors import ConfigError

    family = _families.family(args.family)
    for flag in ("max_epochs", "trials", "executions", "final_seeds", "factor", "patience"):
        if getattr(args, flag) < (2 if flag == "factor" else 1):
            raise ConfigError(f"--{flag.replace('_', '-')} {getattr(args, flag)}: too small")
    if args.workers < 0:
        raise ConfigError(f"--workers {args.workers}: must be 0 or more")
    if not 0 < args.chief_timeout < float("inf"):  # also refuses nan
        raise ConfigError(
            f"--chief-timeout {args.chief_timeout:g}: must be a number of seconds above 0"
        )
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
    fixed = {}
    for field, values in _choices(family, args.fix).items():
        if len(values) != 1:
            raise ConfigError(
                f"--fix {field}={','.join(map(str, values))}: --fix takes one value; "
                f"use --only {field}=... to search several"
            )
        fixed[field] = values[0]

    from keras_fcn import tuning

    space = _space(family, args)
    if args.search:
        space = space.select([name.strip() for name in args.search.split(",") if name.strip()])
    if args.quick:
        space = space.without("epochs")  # every trial trains at most --max-epochs
    space = space.narrow(fixed=fixed, choices=_choices(family, args.only), accept=family.accepts)
    if args.tuner not in tuning.TUNER_NAMES:
        raise ConfigError(
            f"unknown tuner {args.tuner!r}; choose one of {', '.join(tuning.TUNER_NAMES)}"
        )
    space = tuning.space_for(args.tuner, space)

    identity = tuning.search_identity(
        args.tuner, base, space, max_epochs=args.max_epochs, factor=args.factor,
        trials=args.trials, executions=args.executions, seed=args.seed,
    )  # fmt: skip
    folder = Path(args.out) / tuning.search_folder_name(identity, quick=args.quick)
    check_out(folder)  # one line now, not a traceback once the data are loaded
    if workers.role() != "worker":
        if args.fresh and folder.exists():
            shutil.rmtree(folder)  # trials, final runs, summary, plots: nothing of it is kept
        print(_search_note(folder, identity), flush=True)
    pool = None
    if args.workers and workers.role() is None:
        port = workers.free_port()
        child_argv = _without_workers(argv if argv is not None else sys.argv[1:])
        os.environ.update(
            {workers.ROLE_VAR: "chief", workers.IP_VAR: "127.0.0.1", workers.PORT_VAR: str(port)}
        )
        pool = workers.WorkerPool("experiments.tune", child_argv, args.workers, port).start()
        print(f"chief on 127.0.0.1:{port} with {args.workers} workers", flush=True)

    from keras_fcn.record import write_json
    from keras_fcn.train import load_dataset

    data = load_dataset(base.data, args.data_dir)
    if workers.role() != "worker":
        write_json(folder / "search.json", {"command": _command(args), **identity})
    hypermodel = tuning.FamilyHyperModel(family, base, space, use_ranges=args.tuner != "grid")
    tuner = tuning.make_tuner(
        args.tuner, hypermodel, folder, "search", max_trials=args.trials, max_epochs=args.max_epochs,
        factor=args.factor, executions_per_trial=args.executions, seed=args.seed,
    )  # fmt: skip
    callbacks = tuning.search_callbacks(
        hypermodel, folder / "tensorboard" if args.tensorboard else None
    )
    start = time.perf_counter()
    try:
        search = functools.partial(
            tuner.search,
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            callbacks=callbacks,
            verbose=1 if sys.stdout.isatty() else 2,
        )
        if watch is None:
            search()
        else:
            with watch:
                watch.run(search)
    finally:
        if pool is not None:
            pool.stop()
    if workers.role() == "worker":
        return 0
    search_time = time.perf_counter() - start
    return _finish(args, family, base, space, tuner, data, folder, search_time)


def _values(text: str) -> list[str]:
    """The values of ``V1,V2`` (or ``V1;V2`` when the values hold commas)."""
    return [p.strip() for p in text.split(";" if ";" in text else ",") if p.strip()]


def _space(family, args):
    """The space of ``--space`` (or the family's own) with the ``--param`` entries."""
    from keras_fcn.config import parse_assignment
    from keras_fcn.errors import ConfigError
    from keras_fcn.family import read_toml

    mapping = read_toml(Path(args.space)) if args.space else read_toml(family.space_file)
    for item in args.param:
        name, text = parse_assignment(item)
        parts = _values(text)
        entry = parts[0] if len(parts) == 1 else parts
        table, _, key = name.rpartition(".")
        if table not in ("", "layers"):
            raise ConfigError(f"--param {item!r}: a name is FIELD or layers.NAME")
        if table:
            # searched per layer now: the family's whole-network value gives way
            mapping.pop(family.layer_fields.get(key, ""), None)
        target = mapping.setdefault("layers", {}) if table else mapping
        target[key] = entry
    return family.parse_space(mapping, source=args.space or f"the {family.name} space")


def _search_note(folder: Path, identity: dict) -> str:
    """One line: whether this command resumes its search or starts one, and where."""
    trials = len(list((folder / "search").glob("trial_*/trial.json")))
    if trials:
        return f"resuming the search in {folder} ({trials} trials on disk)"
    prefix = folder.name.rsplit("-", 1)[0]
    others = sorted(
        p.name
        for p in (folder.parent.iterdir() if folder.parent.is_dir() else [])
        if p != folder and p.name.rsplit("-", 1)[0] == prefix
    )
    note = f"a new search in {folder} (its definition: search.json)"
    if others:
        note += f"; it differs from the earlier {', '.join(others)}: compare their search.json"
    return note


def _command(args) -> str:
    """The command that repeats this search (``--fresh`` left out)."""
    return "python -m experiments.tune " + " ".join(args.argv)


def _without_workers(argv: Sequence[str], keep_workers: bool = False) -> list[str]:
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


def _finish(args, family, base, space, tuner, data, folder: Path, search_time: float) -> int:
    from keras_fcn import search_summary, trial_table
    from keras_fcn.record import RunStore, write_json
    from keras_fcn.reporting.confusion import format_confusion
    from keras_fcn.reporting.figures import save_figure
    from keras_fcn.reporting.tables import save_table
    from keras_fcn.single import outcome_line
    from keras_fcn.study import aggregate, run_study, with_seeds
    from keras_fcn.train import train_run

    table = trial_table.trials_frame(tuner, space)
    save_table(table, folder / "trials", index=False)
    save_figure(search_summary.plot_along_each(table, space), folder / "along_each.png")
    counts = table["status"].value_counts().to_dict()
    print(f"\n{len(table)} trials ({', '.join(f'{n} {s.lower()}' for s, n in counts.items())}), "
          f"{trial_table.total_epochs(table, args.executions)} epochs trained, search {search_time / 60:.1f} min this session")  # fmt: skip
    shown = [
        c
        for c in [
            "trial_id",
            *space.hp_names(),
            "val_accuracy",
            "val_accuracy_std",
            "epochs_trained",
            "wall_time_s",
        ]
        if c in table
    ]
    print(trial_table.top_trials(table, args.top)[shown].to_string(index=False))
    point = trial_table.best_point(tuner, space)
    searched = space.searched()
    print("\nbest on validation: " + search_summary.describe_searched(point, searched))
    for line in search_summary.edge_warnings(space, point):
        print(f"  warning: {line}")

    final = base.with_settings({**space.to_config(point), "epochs": args.max_epochs})
    runs = with_seeds([final], range(args.seed, args.seed + args.final_seeds))
    write_json(folder / "summary.json", {
        "family": family.name, "dataset": args.dataset, "tuner": args.tuner,
        "search": folder.name,
        "trials": int((table["status"] == "COMPLETED").sum()), "failed": int((table["status"] == "FAILED").sum()),
        "total_epochs": trial_table.total_epochs(table, args.executions),
        "trial_hours": float(table["wall_time_s"].fillna(0).sum() / 3600),
        "best": search_summary.describe_searched(point, searched),
        "command": _command(args),
        # the report reads these final runs only, whatever else the folder holds
        "final_run_ids": [run.run_id for run in runs],
    })  # fmt: skip
    models = folder / "final_models"

    def train_and_keep(fam, run, dataset):
        trained = train_run(fam, run, dataset)
        models.mkdir(parents=True, exist_ok=True)
        trained.model.save(models / f"{trained.record.run_id}.keras")
        return trained.record

    print(
        f"\nretraining the best setting with {args.final_seeds} seeds for up to {args.max_epochs} epochs"
    )
    records = run_study(
        {family.name: family},
        runs,
        RunStore(folder / "final_runs.jsonl"),
        load=lambda d: data,
        trainer=train_and_keep,
    )
    summary = aggregate(records, by=[]).iloc[0]
    chosen = max(
        (r for r in records if r.status == "ok"),
        key=lambda r: r.best_val_accuracy or 0,
        default=records[0],
    )
    model_path = models / f"{chosen.run_id}.keras"
    if model_path.exists():
        shutil.copyfile(model_path, folder / "best_model.keras")
    write_json(
        folder / "best_config.json",
        {
            "family": family.name,
            **chosen.config,
            "seed": chosen.seed,
            "searched": search_summary.describe_searched(point, space.hp_names()),
        },
    )
    print(f"test accuracy over {int(summary['n'])} seeds: {summary['test_mean']:.4f} ± {summary['test_std']:.4f}"
          + (f" ({int(summary['n_diverged'])} diverged)" if summary["n_diverged"] else ""))  # fmt: skip
    print(f"model kept (best validation accuracy, seed {chosen.seed}): {outcome_line(chosen)}\n")
    print(format_confusion(chosen.confusion_matrix, data.class_names))
    print(
        f"\nsaved: {folder}/ (trials.csv/.md, along_each.png, final_runs.jsonl, best_model.keras, best_config.json)"
    )
    return 0


if __name__ == "__main__":
    run_main(main)
