"""After a search: the best setting on validation retrained over seeds, each run tested
once, and the model best on validation kept once (``best_model.keras``) with its config.

The final runs are a study of their own (:func:`keras_fcn.study.run_study`, on the one
resumable runner, :mod:`keras_fcn.runner`): their records go to ``final_runs.jsonl``, a rerun
trains only the seeds missing there, and a run that raises is recorded ``failed`` and
trained again by the next rerun.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from keras_fcn import idx, layout
from keras_fcn.family import Family, RunConfig
from keras_fcn.hardware import machine_line
from keras_fcn.identity import SCHEMA, Status
from keras_fcn.record import RunRecord, RunStore, write_json
from keras_fcn.reporting.confusion import format_confusion
from keras_fcn.reporting.figures import save_figure
from keras_fcn.reporting.tables import plural
from keras_fcn.single import outcome_line
from keras_fcn.space import Space
from keras_fcn.study import aggregate, run_study, with_seeds
from keras_fcn.train import train_model
from keras_fcn.tuning import summary, trials
from keras_fcn.tuning.options import SearchOptions
from keras_fcn.tuning.search import SearchResult
from keras_fcn.tuning.summary import describe_searched


def best_of(records: Sequence[RunRecord]) -> RunRecord:
    """The final run kept: the best on validation of those that trained to the end (the
    first of them on a tie); the first run when none did."""
    return max(
        (r for r in records if r.status == Status.OK),
        key=lambda r: r.best_val_accuracy or 0,
        default=records[0],
    )


def retrain_best(
    family: Family,
    runs: Sequence[RunConfig],
    data: Any,
    folder: Path,
    keep_models: bool = False,
) -> list[RunRecord]:
    """Train each of ``runs`` (the best setting, one per seed) not yet in the folder's
    ``final_runs.jsonl``; return every run's record.

    The model of a run better on validation than every final run before it replaces
    ``best_model.keras`` as soon as it is trained, so that a retraining stopped half-way
    keeps the best model of the runs it finished and needs no other. ``keep_models`` also
    keeps each run's model as ``final_models/RUN_ID.keras``.
    """
    store = RunStore(folder / layout.FINAL_RUNS)
    wanted = {run.run_id for run in runs}

    def train_and_keep(fam: Family, run: RunConfig, dataset: Any) -> RunRecord:
        trained = train_model(fam, run, dataset)
        record = trained.record
        if keep_models:
            (folder / layout.FINAL_MODELS).mkdir(parents=True, exist_ok=True)
            trained.model.save(folder / layout.FINAL_MODELS / f"{record.run_id}.keras")
        earlier = [r for r in store if r.run_id in wanted and r.status == Status.OK]
        if record.status == Status.OK and best_of([*earlier, record]) is record:
            trained.model.save(folder / layout.BEST_MODEL)
        return record

    return run_study(
        {family.name: family}, runs, store, load=lambda d: data, trainer=train_and_keep
    )


def write_best_config(
    folder: Path, family: Family, chosen: RunRecord, space: Space, point: dict[str, Any]
) -> None:
    """``best_config.json``: the config and seed of the kept model, and the searched values."""
    write_json(
        folder / layout.BEST_CONFIG,
        {
            "family": family.name,
            **chosen.config,
            "seed": chosen.seed,
            "searched": describe_searched(point, space.hp_names()),
        },
    )


def finish(
    tuner: Any,
    data: Any,
    folder: Path,
    identity: dict[str, Any],
    options: SearchOptions,
    command: str,
    seconds: float,
) -> SearchResult:
    """Once the search is over: the trial table and plots, the best setting on validation,
    ``summary.json``, and that setting retrained over seeds and tested once."""
    hypermodel = tuner.hypermodel
    family, space = hypermodel.family, hypermodel.space
    table = trials.trials_frame(tuner, space)
    trials.save_trials(table, folder / Path(layout.TRIALS).stem)
    save_figure(summary.plot_along_each(table, space), folder / layout.ALONG_EACH)
    project = folder / layout.TUNER_PROJECT
    save_figure(summary.plot_best_curves(project, table), folder / layout.BEST_CURVES)
    point = trials.best_point(tuner, space)
    # the chosen setting trains as its trial did: its own epochs where the space searched
    # them (random, Bayesian, grid), else the budget of one trial (Hyperband's max_epochs)
    final = hypermodel.base.with_settings({"epochs": options.max_epochs, **space.to_config(point)})
    runs = with_seeds([final], range(options.seed, options.seed + options.final_seeds))
    content = {
        "family": family.name,
        "dataset": hypermodel.base.data.dataset,
        "tuner": options.tuner,
        "search": folder.name,
        "trials": int((table["status"] == "COMPLETED").sum()),
        "failed": int((table["status"] == "FAILED").sum()),
        "total_epochs": trials.total_epochs(table, options.executions),
        "trial_hours": float(table["wall_time_s"].fillna(0).sum() / 3600),
        "machine": machine_line(),
        "best": summary.describe_searched(point, space.searched()),
        "command": command,
        # the report reads these final runs only, whatever else the folder holds
        "final_run_ids": [run.run_id for run in runs],
        "schema": SCHEMA,
    }
    write_json(folder / layout.SEARCH_SUMMARY, content)
    print(
        f"retraining the best setting with {plural(options.final_seeds, 'seed')} for up to "
        f"{final.train.epochs} epochs",
        flush=True,
    )
    records = retrain_best(family, runs, data, folder, options.keep_models)
    chosen = best_of(records)
    write_best_config(folder, family, chosen, space, point)
    return SearchResult(
        folder=folder,
        identity=identity,
        best=point,
        trials=table,
        final_records=records,
        summary=content,
        best_record=chosen,
        edge_warnings=summary.edge_warnings(space, point),
        search_seconds=seconds,
    )


def closing_text(result: SearchResult, top: int = 5, confusion: bool = False) -> str:
    """What a search says once it is done: its trials, the ``top`` best of them, the best
    setting (and warnings on the edge of the space), the final runs' test accuracy, the
    kept model (its confusion matrix with ``confusion``), and every file it saved."""
    table, chosen = result.trials, result.best_record
    counts = table["status"].value_counts().to_dict()
    statuses = ", ".join(f"{n} {s.lower()}" for s, n in counts.items())
    lines = [
        f"{len(table)} trials ({statuses}), {result.summary['total_epochs']} epochs trained, "
        f"search {result.search_seconds / 60:.1f} min this session"
    ]
    best = trials.top_trials(table, max(top, 1))
    if top:
        columns = ["trial_id", *result.best, "val_accuracy", "epochs_trained", "wall_time_s"]
        lines.append(best[[c for c in columns if c in best]].to_string(index=False))
    lines.append(f"best on validation (trial {best['trial_id'].iloc[0]}): {result.summary['best']}")
    lines += [f"  warning: {line}" for line in result.edge_warnings]
    final_val = [r.best_val_accuracy for r in result.final_records]
    if rivals := summary.rivals_line(table, final_val):
        lines.append(f"  {rivals}")
    agg = aggregate(result.final_records, by=[]).iloc[0]
    diverged = f" ({int(agg['n_diverged'])} diverged)" if agg["n_diverged"] else ""
    spread = f" ± {agg['test_std']:.4f}" if agg["n"] > 1 else ""
    lines.append(
        f"test accuracy over {plural(int(agg['n']), 'seed')}: "
        f"{agg['test_mean']:.4f}{spread}{diverged}"
    )
    lines.append(
        f"model kept (best validation accuracy, seed {chosen.seed}): {outcome_line(chosen)}"
    )
    if confusion and chosen.confusion_matrix is not None:
        class_names = idx.info(result.summary["dataset"]).class_names
        lines.append(format_confusion(chosen.confusion_matrix, class_names))
    lines.append(summary.saved_line(result.folder))
    return "\n".join(lines)
