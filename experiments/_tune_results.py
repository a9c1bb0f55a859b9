"""What ``experiments.tune`` does once its search is over: the trial table and plots, the
best setting on validation, and that setting retrained over seeds and tested once."""

from __future__ import annotations

import shutil
from pathlib import Path

from experiments._tune_args import command


def finish(args, family, base, space, tuner, data, folder: Path, search_time: float) -> int:
    from keras_fcn import search_summary, trial_table
    from keras_fcn.record import write_json
    from keras_fcn.study import with_seeds

    table = trial_table.trials_frame(tuner, space)
    _show_trials(args, space, table, folder, search_time)
    point = trial_table.best_point(tuner, space)
    searched = space.searched()
    print("\nbest on validation: " + search_summary.describe_searched(point, searched))
    for line in search_summary.edge_warnings(space, point):
        print(f"  warning: {line}")

    final = base.with_settings({**space.to_config(point), "epochs": args.max_epochs})
    runs = with_seeds([final], range(args.seed, args.seed + args.final_seeds))
    write_json(
        folder / "summary.json",
        {
            "family": family.name,
            "dataset": args.dataset,
            "tuner": args.tuner,
            "search": folder.name,
            "trials": int((table["status"] == "COMPLETED").sum()),
            "failed": int((table["status"] == "FAILED").sum()),
            "total_epochs": trial_table.total_epochs(table, args.executions),
            "trial_hours": float(table["wall_time_s"].fillna(0).sum() / 3600),
            "best": search_summary.describe_searched(point, searched),
            "command": command(args),
            # the report reads these final runs only, whatever else the folder holds
            "final_run_ids": [run.run_id for run in runs],
        },
    )
    _retrain_best(args, family, space, point, runs, data, folder)
    return 0


def _show_trials(args, space, table, folder: Path, search_time: float) -> None:
    """Save the trial table and the plots along each hyperparameter; print the best trials."""
    from keras_fcn import search_summary, trial_table
    from keras_fcn.reporting.figures import save_figure
    from keras_fcn.reporting.tables import save_table

    save_table(table, folder / "trials", index=False)
    save_figure(search_summary.plot_along_each(table, space), folder / "along_each.png")
    counts = table["status"].value_counts().to_dict()
    statuses = ", ".join(f"{n} {s.lower()}" for s, n in counts.items())
    epochs = trial_table.total_epochs(table, args.executions)
    print(
        f"\n{len(table)} trials ({statuses}), "
        f"{epochs} epochs trained, search {search_time / 60:.1f} min this session"
    )
    columns = [
        "trial_id",
        *space.hp_names(),
        "val_accuracy",
        "val_accuracy_std",
        "epochs_trained",
        "wall_time_s",
    ]
    shown = [c for c in columns if c in table]
    print(trial_table.top_trials(table, args.top)[shown].to_string(index=False))


def _retrain_best(args, family, space, point, runs, data, folder: Path) -> None:
    """Train the best setting with each final seed, keep the model best on validation and
    its config, and print its test results."""
    from keras_fcn import search_summary
    from keras_fcn.record import RunStore, write_json
    from keras_fcn.reporting.confusion import format_confusion
    from keras_fcn.single import outcome_line
    from keras_fcn.study import aggregate, run_study
    from keras_fcn.train import train_run

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
    diverged = f" ({int(summary['n_diverged'])} diverged)" if summary["n_diverged"] else ""
    print(
        f"test accuracy over {int(summary['n'])} seeds: "
        f"{summary['test_mean']:.4f} ± {summary['test_std']:.4f}{diverged}"
    )
    print(f"model kept (best validation accuracy, seed {chosen.seed}): {outcome_line(chosen)}\n")
    print(format_confusion(chosen.confusion_matrix, data.class_names))
    print(
        f"\nsaved: {folder}/ (trials.csv/.md, along_each.png, final_runs.jsonl, best_model.keras, best_config.json)"
    )
