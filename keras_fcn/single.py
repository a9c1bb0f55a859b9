"""A single run from the command line: train, print the results, save record and figures."""

from __future__ import annotations

import os
from pathlib import Path

from keras_fcn import layout
from keras_fcn.family import Family, RunConfig
from keras_fcn.identity import Status
from keras_fcn.record import RunRecord, RunStore, write_json
from keras_fcn.reporting.confusion import format_confusion, per_class_scores
from keras_fcn.reporting.figures import plot_confusion, plot_learning_curves, save_figure
from keras_fcn.train import load_dataset, train_record


def outcome_line(record: RunRecord) -> str:
    """One line saying how a run ended."""
    accuracy = "none" if record.test_accuracy is None else f"{record.test_accuracy:.4f}"
    text = f"test accuracy {accuracy}"
    if record.best_val_accuracy is not None:
        text += (
            f", best validation accuracy {record.best_val_accuracy:.4f} (epoch {record.best_epoch})"
        )
    text += (
        f", {record.epochs_run} epochs in {record.fit_time_s:.1f} s, {record.params:,} parameters"
    )
    if record.status != Status.OK:
        text = f"{record.status.upper()}: {record.note}; {text}"
    return text


def run_and_report(
    family: Family,
    run: RunConfig,
    *,
    out: str | os.PathLike,
    data_dir: str | None = None,
    verbose: int = 2,
) -> RunRecord:
    """Train ``run``, print its test accuracy, confusion matrix and per-class scores, and save.

    Writes ``OUT/runs.jsonl`` (appended) and ``OUT/RUN_ID/`` with ``record.json``,
    ``learning_curves.png`` and ``confusion_matrix.png``.
    """
    store = RunStore(Path(out) / layout.RUNS)
    data = load_dataset(run.data, data_dir)
    store.check_writable()  # fail before training, not after (and after a data error: nothing)
    print(
        f"{data.name}: {data.sizes['train']:,} training, {data.sizes['val']:,} validation, "
        f"{data.sizes['test']:,} test images from {data.source}"
    )
    print(f"{family.name}: {run.values()}")
    record = train_record(family, run, data, verbose=verbose)
    store.append(record)

    folder = Path(out) / record.run_id
    write_json(folder / "record.json", record.to_dict())
    label = f"{family.name} seed {record.seed}"
    save_figure(
        plot_learning_curves({label: record}, title=f"{data.name}: {label}"),
        folder / "learning_curves.png",
    )
    if record.confusion_matrix:  # absent when even the last finite weights gave NaN
        save_figure(
            plot_confusion(
                record.confusion_matrix, data.class_names, title=f"{data.name}: test set"
            ),
            folder / "confusion_matrix.png",
        )

    print()
    print(outcome_line(record))
    if record.confusion_matrix:
        print()
        print(format_confusion(record.confusion_matrix, data.class_names))
        print()
        print(per_class_scores(record.confusion_matrix, data.class_names).round(3).to_string())
    print(
        f"\nsaved: {folder}/ (record.json, learning_curves.png, confusion_matrix.png) and {store.path}"
    )
    return record
