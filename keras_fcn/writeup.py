"""``report.md``: everything recorded under ``results/``, in one document with its figures.

Sections appear for what has been run; a section whose runs are missing says which command
produces them. Every number comes from a run record (or, for the published figures, from
the CSVs of the seed studies); nothing is trained here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from keras_fcn import report
from keras_fcn.config import dashed
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.study import aggregate, compare, config_key

DATASETS = ("fashion_mnist", "mnist")


def find_records(results: str | os.PathLike) -> list[RunRecord]:
    """Every complete record in every ``*.jsonl`` store under ``results`` (failed runs left out)."""
    records: dict[str, RunRecord] = {}
    for path in sorted(Path(results).glob("**/*.jsonl")):
        for record in RunStore(path):
            if record.status != "failed" and record.test_accuracy is not None:
                records[record.run_id] = record
    return list(records.values())


def full_data(record: RunRecord) -> bool:
    """Whether a run saw the whole training and test sets (quick runs are left out of tables)."""
    data = record.config.get("data", {})
    return data.get("train_limit") is None and data.get("test_limit") is None


@dataclasses.dataclass
class Best:
    """The best config of one family on one dataset, chosen on validation accuracy."""

    family: str
    dataset: str
    records: list[RunRecord]
    summary: pd.Series

    @property
    def label(self) -> str:
        return f"{self.family} ({self.dataset})"


def best_per_family(records: Sequence[RunRecord]) -> list[Best]:
    """For each (family, dataset), the config with the best mean validation accuracy."""
    out = []
    frame = pd.DataFrame(
        [
            {
                "family": r.family,
                "dataset": r.config.get("data", {}).get("dataset"),
                "key": config_key(r.config),
                "record": r,
            }
            for r in records
        ]
    )
    if frame.empty:
        return out
    for (family, dataset), group in frame.groupby(["family", "dataset"], sort=True):
        table = aggregate(group["record"].tolist(), by=[])
        table = table[table["n"] > 0]
        if table.empty:
            continue
        has_val = table["val_mean"].notna()
        chosen = (
            table[has_val].sort_values("val_mean", ascending=False).iloc[0]
            if has_val.any()
            else table.iloc[0]
        )
        runs = [
            r
            for r in group["record"]
            if config_key(r.config) == chosen["config_key"] and r.status == "ok"
        ]
        out.append(Best(family, dataset, runs, chosen))
    return out


def published_best(published_dir: str | os.PathLike) -> dict[str, tuple[float, str]]:
    """The seed studies' best published test accuracy per dataset, with its study and table."""
    best: dict[str, tuple[float, str]] = {}
    for path in sorted(Path(published_dir).glob("*.csv")):
        frame = pd.read_csv(path)
        frame = frame[(frame["metric"] == "test_accuracy") & ~frame["table"].isin(["knn", "svd"])]
        for dataset, group in frame.groupby("dataset"):
            row = group.loc[group["value"].idxmax()]
            if dataset not in best or row["value"] > best[dataset][0]:
                best[dataset] = (float(row["value"]), f"{row['study']} {row['table']}")
    return best


def glance_table(bests: Sequence[Best], published: dict[str, tuple[float, str]]) -> pd.DataFrame:
    """One row per family and dataset: test accuracy over seeds, size, time, published best."""
    rows = []
    for b in bests:
        s = b.summary
        record = b.records[0]
        rows.append({
            "dataset": b.dataset,
            "family": b.family,
            "best config (chosen on validation)": _describe_config(record),
            "test accuracy %": _pm(s["test_mean"], s["test_std"]),
            "seeds": int(s["n"]),
            "parameters": f"{record.params:,}" if record.params else "",
            "fit time (s)": f"{np.mean([r.fit_time_s for r in b.records]):.0f}",
            "best published %": f"{100 * published[b.dataset][0]:.2f} ({published[b.dataset][1]})" if b.dataset in published else "",
        })  # fmt: skip
    return pd.DataFrame(rows)


def _pm(mean: float, std: float) -> str:
    if pd.isna(mean):
        return ""
    return f"{100 * mean:.2f}" + ("" if pd.isna(std) else f" ± {100 * std:.2f}")


def _describe_config(record: RunRecord) -> str:
    model = record.config.get("model", {})
    train = record.config.get("train", {})
    parts = [f"{k}={dashed(v)}" for k, v in model.items()]
    for key in ("optimizer", "learning_rate", "epochs", "batch_size"):
        if key in train:
            parts.append(f"{key}={train[key]}")
    return ", ".join(parts)


def most_confused(
    matrix: Sequence[Sequence[int]], class_names: Sequence[str], n: int = 5
) -> pd.DataFrame:
    """The ``n`` largest off-diagonal cells: (true, predicted, count), largest first."""
    cm = np.asarray(matrix)
    cells = [(cm[i, j], i, j) for i in range(len(cm)) for j in range(len(cm)) if i != j]
    cells.sort(reverse=True)
    return pd.DataFrame(
        [
            {
                "true": class_names[i],
                "predicted": class_names[j],
                "count": int(c),
                "true_index": i,
                "predicted_index": j,
            }
            for c, i, j in cells[:n]
        ]
    )


def plot_confused_examples(
    pairs: pd.DataFrame,
    x_test: np.ndarray,
    y_test: np.ndarray,
    predictions: np.ndarray,
    per_pair: int = 6,
) -> Figure:
    """A few test images of each confused pair, one row per pair."""
    fig = Figure(figsize=(1.3 * per_pair, 1.5 * len(pairs)), layout="constrained")
    axes = fig.subplots(max(1, len(pairs)), per_pair, squeeze=False)
    for row, (_, pair) in zip(axes, pairs.iterrows(), strict=False):
        idx = np.flatnonzero(
            (y_test == pair["true_index"]) & (predictions == pair["predicted_index"])
        )[:per_pair]
        for k, ax in enumerate(row):
            ax.axis("off")
            if k < len(idx):
                ax.imshow(x_test[idx[k]], cmap="gray_r")
        row[0].set_title(f"{pair['true']} → {pair['predicted']}", fontsize="small", loc="left")
    return fig


def plot_class_distribution(data: object) -> Figure:
    """Images per class in each split of a :class:`keras_fcn.data.Dataset`."""
    from keras_fcn.data import class_counts

    fig = Figure(figsize=(10, 3.2), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, split in zip(axes, ("train", "val", "test"), strict=True):
        counts = class_counts(getattr(data, f"y_{split}"))
        ax.bar(range(10), counts, color="steelblue")
        ax.set_xticks(range(10), data.class_names, rotation=60, fontsize="x-small")
        ax.set_title(f"{split}: {counts.sum():,} images", fontsize="small")
    return fig


def plot_first_images(data: object, n: int = 64) -> Figure:
    """The first ``n`` training images with their class names."""
    side = int(np.ceil(np.sqrt(n)))
    fig = Figure(figsize=(1.2 * side, 1.35 * side), layout="constrained")
    axes = fig.subplots(side, side, squeeze=False).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k < min(n, len(data.y_train)):
            ax.imshow(data.x_train[k], cmap="gray_r")
            ax.set_title(data.class_names[data.y_train[k]], fontsize=6)
    return fig


def mcnemar_table(bests: Sequence[Best], y_test_for: Callable[[str], np.ndarray]) -> pd.DataFrame:
    """McNemar's test between the best models of each pair of families on one dataset,
    on the seeds they share (or seed against seed when they share none, e.g. a baseline)."""
    rows = []
    for dataset in DATASETS:
        group = [b for b in bests if b.dataset == dataset]
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                a, b = group[i], group[j]
                seeds_a, seeds_b = {r.seed for r in a.records}, {r.seed for r in b.records}
                records_a, records_b = a.records, b.records
                if not seeds_a & seeds_b:  # pair the first run of each
                    records_b = [dataclasses.replace(b.records[0], seed=a.records[0].seed)]
                    records_a = [a.records[0]]
                result = compare(records_a, records_b, y_test_for(dataset))
                p_values = [p for _, _, p in result.mcnemar.values()]
                rows.append({
                    "dataset": dataset, "A": a.family, "B": b.family,
                    "A - B (points)": f"{100 * result.mean_difference:+.2f}",
                    "McNemar p (per seed)": ", ".join(f"{p:.2g}" for p in p_values),
                    "significant at 0.05": "yes" if all(p < 0.05 for p in p_values) else "no",
                })  # fmt: skip
    return pd.DataFrame(rows)


def write_report(
    results: str | os.PathLike,
    out: str | os.PathLike,
    published_dir: str | os.PathLike,
    load: Callable[[str], object] | None = None,
) -> Path:
    """Write ``out/report.md`` and its figures from the records under ``results``.

    Args:
        results: folder the commands wrote to.
        out: folder of the report (created).
        published_dir: the seed studies' published CSVs.
        load: dataset name -> :class:`keras_fcn.data.Dataset` (full test set) for the data
            section and example images; ``None`` leaves those parts out.

    Returns:
        The path of ``report.md``.
    """
    out = Path(out)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    records = [r for r in find_records(results) if full_data(r)]
    lines = [
        "# keras-fcn report",
        "",
        f"Built from {len(records)} full-data run records under `{results}`.",
        "",
    ]

    def figure(fig: Figure, name: str, alt: str) -> str:
        report.save_figure(fig, figures / name, dpi=80)
        return f"![{alt}](figures/{name})"

    datasets = {}
    lines += ["## The data", ""]
    if load is None:
        lines += ["Left out (no dataset loader given).", ""]
    else:
        for name in DATASETS:
            try:
                datasets[name] = load(name)
            except Exception as exc:  # a missing dataset leaves its part out, with the reason
                lines += [f"- {name}: not available ({exc})", ""]
                continue
            data = datasets[name]
            lines += [
                f"### {name}",
                "",
                f"{data.sizes['train']:,} training, {data.sizes['val']:,} validation and {data.sizes['test']:,} test images.",
                "",
            ]
            lines += [
                figure(
                    plot_class_distribution(data),
                    f"{name}_classes.png",
                    f"{name} class distribution",
                ),
                "",
            ]
            lines += [
                figure(
                    plot_first_images(data),
                    f"{name}_first64.png",
                    f"first 64 {name} training images",
                ),
                "",
            ]

    bests = best_per_family(records)
    published = published_best(published_dir)
    lines += ["## Results at a glance", ""]
    if bests:
        lines += [glance_table(bests, published).to_markdown(index=False), ""]
        lines += [
            "Test accuracy is the mean ± standard deviation over the seeds of the config with the best mean validation accuracy; the test set chose nothing.",
            "",
        ]
    else:
        lines += _missing(
            "python -m experiments.fashion_dense", "python -m experiments.tune --family dense"
        )

    lines += ["## The seed studies", ""]
    studies = sorted(
        p.parent
        for p in Path(results).glob("reproduce/*/side_by_side.md")
        if not p.parent.name.endswith("-quick")
    )
    if not studies:
        lines += _missing("python -m experiments.reproduce chenab --seeds 3")
    for folder in studies:
        lines += [f"### {folder.name}", "", (folder / "side_by_side.md").read_text(), ""]
        if (folder / "significance.md").exists():
            lines += [
                "Best row of each table against its runner-up:",
                "",
                (folder / "significance.md").read_text(),
                "",
            ]
        for png in sorted(folder.glob("curves_*.png")):
            target = figures / f"{folder.name}_{png.name}"
            target.write_bytes(png.read_bytes())
            lines += [f"![{png.stem}](figures/{target.name})", ""]

    lines += ["## The best models", ""]
    if not bests:
        lines += _missing("python -m experiments.fashion_dense")
    for b in bests:
        record = max(b.records, key=lambda r: r.best_val_accuracy or 0)
        class_names = (
            datasets[b.dataset].class_names
            if b.dataset in datasets
            else [str(i) for i in range(10)]
        )
        slug = f"{b.family}_{b.dataset}"
        lines += [
            f"### {b.label}",
            "",
            f"Seed {record.seed} (best validation accuracy of its seeds): test accuracy {100 * record.test_accuracy:.2f} %.",
            "",
        ]
        lines += [
            figure(
                report.plot_confusion(record.confusion_matrix, class_names, title=b.label),
                f"{slug}_confusion.png",
                "confusion matrix",
            )
        ]
        lines += [
            figure(
                report.plot_confusion(
                    record.confusion_matrix, class_names, normalize=True, title=b.label
                ),
                f"{slug}_confusion_norm.png",
                "row-normalized confusion matrix",
            ),
            "",
        ]
        lines += [
            report.per_class_scores(record.confusion_matrix, class_names).round(3).to_markdown(),
            "",
        ]
        pairs = most_confused(record.confusion_matrix, class_names)
        lines += [
            "Most confused pairs:",
            "",
            pairs[["true", "predicted", "count"]].to_markdown(index=False),
            "",
        ]
        if b.dataset in datasets and record.test_predictions:
            data = datasets[b.dataset]
            lines += [
                figure(
                    plot_confused_examples(pairs, data.x_test, data.y_test, record.predictions()),
                    f"{slug}_confused.png",
                    "confused examples",
                ),
                "",
            ]
    if len(bests) > 1 and datasets:
        table = mcnemar_table(
            [b for b in bests if b.dataset in datasets], lambda name: datasets[name].y_test
        )
        if not table.empty:
            lines += [
                "### Are the differences real?",
                "",
                "McNemar's exact test on the test predictions of the best models:",
                "",
                table.to_markdown(index=False),
                "",
            ]

    lines += ["## Transfer to MNIST", ""]
    mnist = [b for b in bests if b.dataset == "mnist"]
    if mnist:
        lines += [glance_table(mnist, published).to_markdown(index=False), ""]
    else:
        lines += _missing(
            "python -m experiments.mnist_dense --set optimizer=adam --set learning_rate=0.001"
        )

    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _missing(*commands: str) -> list[str]:
    return ["Not run yet. Run:", "", *[f"    {c}" for c in commands], ""]
