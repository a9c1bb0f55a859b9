"""Tables and figures from run records: confusion matrices, per-class scores, learning curves.

Every function returns a pandas DataFrame, a string or a matplotlib Figure and writes
nothing itself; :func:`save_figure` and :func:`save_table` do the writing. Figures are made
with ``matplotlib.figure.Figure`` directly, so no display is needed.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay, precision_recall_fscore_support

from keras_fcn.config import dashed
from keras_fcn.record import RunRecord
from keras_fcn.study import config_key


def confusion_frame(matrix: Sequence[Sequence[int]], class_names: Sequence[str]) -> pd.DataFrame:
    """A confusion matrix with class names: rows true classes, columns predicted ones."""
    index = pd.Index(class_names, name="true \\ predicted")
    return pd.DataFrame(np.asarray(matrix, dtype=int), index=index, columns=list(class_names))


def format_confusion(matrix: Sequence[Sequence[int]], class_names: Sequence[str]) -> str:
    """The confusion matrix as aligned text, with short column labels and a legend."""
    short = [f"{i}" for i in range(len(class_names))]
    frame = pd.DataFrame(np.asarray(matrix, dtype=int), columns=short)
    # MNIST's classes are named by their digits: no need to say them twice
    labels = [name if name == f"{i}" else f"{i} {name}" for i, name in enumerate(class_names)]
    width = max(len(label) for label in labels)
    frame.insert(0, "true".ljust(width), [label.ljust(width) for label in labels])
    return "rows: true class, columns: predicted class\n" + frame.to_string(index=False)


def per_class_scores(matrix: Sequence[Sequence[int]], class_names: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class, computed from a confusion matrix."""
    cm = np.asarray(matrix, dtype=int)
    y_true = np.repeat(np.arange(len(cm)), cm.sum(axis=1))
    y_pred = np.concatenate([np.repeat(np.arange(len(cm)), row) for row in cm])
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(len(cm)), zero_division=0
    )
    return pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index(class_names, name="class"),
    )


def plot_confusion(
    matrix: Sequence[Sequence[int]],
    class_names: Sequence[str],
    *,
    normalize: bool = False,
    title: str = "",
) -> Figure:
    """The confusion matrix as a heat map (counts, or each row divided by its total)."""
    cm = np.asarray(matrix, dtype=float if normalize else int)
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig = Figure(figsize=(7.5, 6.5), layout="constrained")
    ax = fig.add_subplot()
    ConfusionMatrixDisplay(cm, display_labels=list(class_names)).plot(
        ax=ax,
        cmap="Blues",
        colorbar=True,
        values_format=".2f" if normalize else "d",
        xticks_rotation=45,
    )
    ax.set_title(
        title or ("Confusion matrix (row-normalized)" if normalize else "Confusion matrix")
    )
    return fig


def plot_learning_curves(
    records: Mapping[str, RunRecord | Sequence[RunRecord]], title: str = ""
) -> Figure:
    """Training loss and validation accuracy against epoch, one line per label.

    Args:
        records: label -> a record, or several records (seeds) drawn as their mean with a
            band of one standard deviation.
        title: the figure's title.
    """
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for label, runs in records.items():
        runs = [runs] if isinstance(runs, RunRecord) else list(runs)
        for ax, key in ((ax_loss, "loss"), (ax_acc, "val_accuracy")):
            curves = [r.history.get(key, []) for r in runs if r.history.get(key)]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            stacked = np.array([c[:length] for c in curves], dtype=float)
            epochs = np.arange(1, length + 1)
            with warnings.catch_warnings():  # epochs where every seed diverged stay NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(stacked, axis=0)
                std = np.nanstd(stacked, axis=0)
            (line,) = ax.plot(epochs, mean, label=label)
            if len(curves) > 1:
                ax.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    if records:
        ax_acc.legend(fontsize="small", loc="lower right")
    if title:
        fig.suptitle(title)
    return fig


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write a figure as PNG, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def save_table(
    frame: pd.DataFrame, path_stem: str | os.PathLike, *, index: bool = True
) -> tuple[Path, Path]:
    """Write a table as ``STEM.csv`` and ``STEM.md``."""
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    csv, md = stem.with_suffix(".csv"), stem.with_suffix(".md")
    frame.to_csv(csv, index=index)
    md.write_text(frame.to_markdown(index=index) + "\n")
    return csv, md


def _percent(value: float, digits: int = 2) -> str:
    return "" if value is None or pd.isna(value) else f"{100 * value:.{digits}f}"


def format_side_by_side(comparison: pd.DataFrame) -> pd.DataFrame:
    """A study comparison as people read it: percentages, ours as mean ± std over seeds."""
    rows = []
    for _, line in comparison.iterrows():
        published = _percent(line["published"])
        if not pd.isna(line.get("published_std")):
            published += f" ± {_percent(line['published_std'])}"
        ours = _percent(line["ours"])
        if ours and not pd.isna(line["ours_std"]):
            ours += f" ± {_percent(line['ours_std'])}"
        seeds = f"{line['n']}" + (
            f" (+{line['diverged']} diverged)" if line.get("diverged") else ""
        )
        rows.append({
            "table": line["table"], "row": line["row"], "setting": line["setting"],
            "metric": str(line["metric"]).replace("_accuracy", ""), "published %": published,
            "ours %": ours, "seeds": seeds,
            "diff": "" if pd.isna(line["difference"]) else f"{100 * line['difference']:+.2f}",
            "verdict": line["verdict"],
        })  # fmt: skip
    return pd.DataFrame(rows)


def _mean_std(values: Sequence[float]) -> str:
    values = [v for v in values if v is not None and not pd.isna(v)]
    if not values:
        return ""
    if len(values) == 1:
        return f"{100 * values[0]:.2f} %"
    return f"{100 * np.mean(values):.2f} ± {100 * np.std(values, ddof=1):.2f} %"


def _records(path: Path) -> list[RunRecord]:
    from keras_fcn.record import RunStore

    return [r for r in RunStore(path) if r.status != "failed"] if path.exists() else []


def single_run_rows(results: Path, defaults: Mapping[str, dict[str, Any]]) -> list[dict[str, str]]:
    """README rows for the full-data runs of the single-run commands, one per config.

    Args:
        results: the results folder.
        defaults: family name -> its baseline ``RunConfig.to_dict()``: a row's command shows
            the ``--set`` flags that differ from it.
    """
    rows = []
    for command in ("fashion_dense", "mnist_dense", "fashion_cnn"):
        records = [
            r
            for r in _records(results / command / "runs.jsonl")
            if r.config["data"].get("train_limit") is None
        ]
        groups: dict[str, list[RunRecord]] = {}
        for r in records:
            groups.setdefault(config_key(r.config), []).append(r)
        for group in groups.values():
            latest = {r.seed: r for r in group}  # the last record of each seed
            seeds = sorted(latest)
            changed = _changed_settings(group[0], defaults.get(group[0].family, {}))
            flags = "".join(f" --set {k}={v}" for k, v in changed.items())
            seed_text = (
                f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {', '.join(map(str, seeds))}"
            )
            rows.append({
                "result": f"{group[0].family} {'baseline' if not changed else 'config'}: test accuracy ({seed_text})",
                "dataset": group[0].config["data"]["dataset"],
                "value": _mean_std([latest[s].test_accuracy for s in seeds]),
                "command": f"python -m experiments.{command}{flags}" + (" --seed S" if seeds != [42] else ""),
            })  # fmt: skip
    return rows


def _changed_settings(record: RunRecord, defaults: Mapping[str, Any]) -> dict[str, Any]:
    changed = {}
    for part, values in record.config.items():
        for key, value in values.items():
            if key in ("seed", "dataset") or part not in defaults:
                continue
            if defaults[part].get(key) != value:
                changed[key] = _as_flag_value(value)
    return changed


def _as_flag_value(value: Any) -> Any:
    """A config value as ``--set`` takes it: lists joined by ``-``, booleans lower case."""
    return str(value).lower() if isinstance(value, bool) else dashed(value)


def tuning_rows(results: Path, defaults: Mapping[str, dict[str, Any]]) -> list[dict[str, str]]:
    """README rows for every finished search under ``results/tune``.

    Args:
        results: the results folder.
        defaults: family name -> its baseline ``RunConfig.to_dict()``: a data setting of the
            final runs that differs from it, and that the search's command does not name, is
            added to the command as ``--set``, so the command still repeats the search after
            a family's data default changed.
    """
    rows = []
    for summary_path in sorted((results / "tune").glob("*/summary.json")):
        summary = json.loads(summary_path.read_text())
        # the search's own final runs only: its folder may hold runs of an earlier best
        wanted = set(summary.get("final_run_ids", []))
        finals = [
            r for r in _records(summary_path.parent / "final_runs.jsonl") if r.run_id in wanted
        ]
        data_defaults = {"data": defaults.get(summary["family"], {}).get("data", {})}
        changed = _changed_settings(finals[0], data_defaults) if finals else {}
        flags = "".join(
            f" --set {k}={v}" for k, v in changed.items() if f"{k}=" not in summary["command"]
        )
        rows.append({
            "result": f"tuned {summary['family']} ({summary['tuner']}, {summary['trials']} trials, "
            f"{summary['total_epochs']} epochs, {summary['trial_hours']:.2f} h of trials): test accuracy over "
            f"{len(finals)} final seeds; {summary['best']}",
            "dataset": summary["dataset"],
            "value": _mean_std([r.test_accuracy for r in finals if r.status == "ok"]),
            "command": summary["command"] + flags,
        })  # fmt: skip
    return rows


def baseline_rows(results: Path) -> list[dict[str, str]]:
    """README rows for the baselines of ``experiments.baselines`` on full data."""
    rows = []
    for r in _records(results / "baselines" / "runs.jsonl"):
        if r.config["data"].get("train_limit") is not None:
            continue
        settings = ", ".join(f"{k}={v}" for k, v in r.config["model"].items())
        rows.append({
            "result": f"{r.family} ({settings}; {'one fixed setting' if ' 1 settings' in r.note or 'fixed' in r.note else 'chosen on validation'}, fit {r.fit_time_s:.0f} s, "
            f"test-set prediction {r.predict_time_s:.0f} s): test accuracy",
            "dataset": r.config["data"]["dataset"],
            "value": _mean_std([r.test_accuracy]),
            "command": "python -m experiments.baselines --dataset both",
        })  # fmt: skip
    return rows


def readme_results(results: str | os.PathLike, defaults: Mapping[str, dict[str, Any]]) -> str:
    """The README's results table, built from the run records under ``results``.

    Args:
        results: the results folder.
        defaults: family name -> its baseline ``RunConfig.to_dict()``.
    """
    results = Path(results)
    rows = (
        single_run_rows(results, defaults) + tuning_rows(results, defaults) + baseline_rows(results)
    )
    if not rows:
        return (
            "No results yet: run the commands above, then `python -m experiments.report --readme`."
        )
    frame = pd.DataFrame(rows)[["result", "dataset", "value", "command"]]
    frame["command"] = "`" + frame["command"] + "`"
    return frame.to_markdown(index=False)


def write_study_outputs(
    name: str,
    results: Sequence[Any],
    folder: str | os.PathLike,
    test_labels: Callable[[RunRecord], np.ndarray] | None = None,
) -> pd.DataFrame:
    """Save a re-run study's comparison, aggregates and learning curves; return the readable table.

    Writes ``comparison.csv``/``.md`` (every number), ``side_by_side.md`` (as printed),
    ``aggregate.csv``/``.md`` (mean, std and 95 % CI of every config over seeds),
    ``significance.md`` (each table's best row against its runner-up) and one
    ``curves_TABLE.png`` per table.

    Args:
        name: the study's name, for titles.
        results: its :class:`keras_fcn.replication.TableResult` list.
        folder: where to write.
        test_labels: a record's test labels, for McNemar's test between rows.
    """
    from keras_fcn.study import aggregate, compare

    folder = Path(folder)
    comparison = pd.concat([r.comparison for r in results], ignore_index=True)
    save_table(comparison, folder / "comparison", index=False)
    readable = format_side_by_side(comparison)
    (folder / "side_by_side.md").write_text(readable.to_markdown(index=False) + "\n")
    all_records = {
        r.run_id: r for result in results for recs in result.records.values() for r in recs
    }
    if all_records:
        save_table(aggregate(all_records.values()), folder / "aggregate", index=False)
    lines = []
    for result in results:
        curves = {
            f"{row}: {result.labels.get(row, row)}": recs
            for row, recs in result.records.items()
            if recs
        }
        if curves:
            save_figure(
                plot_learning_curves(curves, title=f"{name}: {result.spec.title}"),
                folder / f"curves_{result.spec.name}.png",
            )
        ranked = result.ranked()
        if test_labels is not None and len(ranked) > 1 and not result.spec.baseline:
            best, second = ranked[0], ranked[1]
            y_test = test_labels(result.records[best][0])
            try:
                verdict = compare(result.records[best], result.records[second], y_test).summary()
            except ValueError as exc:  # no seed finished in both rows
                verdict = f"not compared: {exc}"
            lines.append(f"- {result.spec.name}: best on validation {best} ({result.labels.get(best, '')}) vs "
                         f"{second} ({result.labels.get(second, '')}): {verdict}")  # fmt: skip
    if lines:
        (folder / "significance.md").write_text("\n".join(lines) + "\n")
    return readable
