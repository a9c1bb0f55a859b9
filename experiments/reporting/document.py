"""``report.md``: everything recorded under the results root, in one document with its figures.

Sections appear for what has been run; a section whose runs are missing says which command
produces them. Every number comes from a run record (or, for the published figures, from
the CSVs of the published studies); nothing is trained here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from experiments.reporting import glance
from experiments.reporting.best import (
    Best,
    best_per_family,
    best_table,
    mcnemar_table,
    published_best,
)
from experiments.reporting.transfer import transfer_table
from keras_fcn import layout
from keras_fcn.config import DATASET_NAMES
from keras_fcn.idx import N_CLASSES
from keras_fcn.reporting import figures as plots
from keras_fcn.reporting.confusion import most_confused, per_class_scores
from keras_fcn.reporting.records import find_records, full_data

Loader = Callable[[str], Any]
"""Dataset name -> :class:`keras_fcn.data.Dataset` with its full test set."""


class _Figures:
    """The report's figures folder: each figure saved there, linked from the document."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, fig: Figure, name: str, alt: str) -> str:
        plots.save_figure(fig, self.folder / name, dpi=80)
        return f"![{alt}](figures/{name})"

    def copy(self, png: Path, name: str) -> str:
        (self.folder / name).write_bytes(png.read_bytes())
        return f"![{png.stem}](figures/{name})"


def write_report(
    results: str | os.PathLike,
    out: str | os.PathLike,
    published_dir: str | os.PathLike,
    defaults: Mapping[str, dict[str, Any]],
    load: Loader | None = None,
    source: str | None = None,
    command: Callable[[Any], Any] | None = None,
) -> Path:
    """Write ``out/report.md`` and its figures from the records under ``results``.

    Args:
        results: the results root the commands wrote to.
        out: folder of the report (created).
        published_dir: the published studies' CSVs.
        defaults: family name -> its default ``RunConfig.to_dict()``, for the commands of
            the results at a glance.
        load: dataset name -> :class:`keras_fcn.data.Dataset` (full test set) for the data
            section and example images; ``None`` leaves those parts out.
        source: where the records came from, as the document says it (default: ``results``).
        command: a record -> the line that trains its config (a
            :class:`keras_fcn.commands.Command`, without its seed), for the MNIST transfer runs
            not yet made; ``None`` leaves the transfer section out.

    Returns:
        The path of ``report.md``.
    """
    out = Path(out)
    figures = _Figures(out / "figures")
    records = [r for r in find_records(results) if full_data(r)]
    bests = best_per_family(records)
    published = published_best(published_dir)
    lines = [
        "# keras-fcn report",
        "",
        f"Built from {len(records)} full-data run records ({source or f'under `{results}`'}).",
        "",
    ]
    data_lines, datasets = _data_section(load, figures)
    lines += data_lines
    lines += _glance_section(results, defaults)
    lines += _best_section(bests, published)
    lines += _studies_section(results, figures)
    lines += _models_section(bests, datasets, figures)
    lines += _transfer_section(results, bests, records, command)
    path = out / layout.REPORT
    path.write_text("\n".join(lines) + "\n")
    return path


def _data_section(load: Loader | None, figures: _Figures) -> tuple[list[str], dict[str, Any]]:
    """The data section, and the datasets that could be loaded by name."""
    lines, datasets = ["## The data", ""], {}
    if load is None:
        return lines + ["Left out (no dataset loader given).", ""], datasets
    for name in DATASET_NAMES:
        try:
            datasets[name] = data = load(name)
        except Exception as exc:  # a missing dataset leaves its part out, with the reason
            lines += [f"- {name}: not available ({exc})", ""]
            continue
        sizes = data.sizes
        lines += [
            f"### {name}",
            "",
            f"{sizes['train']:,} training, {sizes['val']:,} validation and {sizes['test']:,} test images.",
            "",
            figures.add(
                plots.plot_class_distribution(data),
                f"{name}_classes.png",
                f"{name} class distribution",
            ),
            "",
            figures.add(
                plots.plot_first_images(data),
                f"{name}_first64.png",
                f"first 64 {name} training images",
            ),
            "",
        ]
    return lines, datasets


def _glance_section(results: str | os.PathLike, defaults: Mapping[str, dict]) -> list[str]:
    lines = ["## Results at a glance", ""]
    table = glance.glance_table(results, defaults)
    if not len(table):
        return lines + _missing(
            "python -m experiments.fashion_dense", "python -m experiments.tune --family dense"
        )
    return lines + [
        "Printed by `python -m experiments.report --readme`; each number by the command beside it.",
        "",
        glance.to_markdown(table),
        "",
    ]


def _best_section(bests: list[Best], published: dict[str, tuple[float, str]]) -> list[str]:
    lines = ["## The best config of each family", ""]
    if not bests:
        return lines + _missing(
            "python -m experiments.fashion_dense", "python -m experiments.tune --family dense"
        )
    return lines + [
        best_table(bests, published).to_markdown(index=False),
        "",
        "Test accuracy is the mean ± standard deviation over the seeds of the config with the best mean validation accuracy; the test set chose nothing.",
        "",
    ]


def _studies_section(results: str | os.PathLike, figures: _Figures) -> list[str]:
    lines = ["## The published studies", ""]
    studies = layout.studies(results)
    if not studies:
        lines += _missing("python -m experiments.reproduce chenab --seeds 3")
    for folder in studies:
        lines += [f"### {folder.name}", "", (folder / layout.SIDE_BY_SIDE).read_text(), ""]
        if (folder / layout.SIGNIFICANCE).exists():
            lines += [
                "Best row of each table against its runner-up:",
                "",
                (folder / layout.SIGNIFICANCE).read_text(),
                "",
            ]
        if (folder / layout.CLAIMS).exists():
            lines += [
                "Its claims, tested on our runs:",
                "",
                (folder / layout.CLAIMS).read_text(),
                "",
            ]
        for png in sorted(folder.glob("curves_*.png")):
            lines += [figures.copy(png, f"{folder.name}_{png.name}"), ""]
    return lines


def _models_section(bests: list[Best], datasets: dict[str, Any], figures: _Figures) -> list[str]:
    lines = ["## The best models", ""]
    if not bests:
        lines += _missing("python -m experiments.fashion_dense")
    for b in bests:
        lines += _model_section(b, datasets.get(b.dataset), figures)
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
    return lines


def _model_section(b: Best, data: Any, figures: _Figures) -> list[str]:
    """One family's best model: its confusion matrices, per-class scores, confused pairs."""
    record = max(b.records, key=lambda r: r.best_val_accuracy or 0)
    class_names = data.class_names if data is not None else [str(i) for i in range(N_CLASSES)]
    slug = f"{b.family}_{b.dataset}"
    cm = record.confusion_matrix
    pairs = most_confused(cm, class_names)
    lines = [
        f"### {b.label}",
        "",
        f"Seed {record.seed} (best validation accuracy of its seeds): test accuracy {100 * record.test_accuracy:.2f} %.",
        "",
        figures.add(
            plots.plot_confusion(cm, class_names, title=b.label),
            f"{slug}_confusion.png",
            "confusion matrix",
        ),
        figures.add(
            plots.plot_confusion(cm, class_names, normalize=True, title=b.label),
            f"{slug}_confusion_norm.png",
            "row-normalized confusion matrix",
        ),
        "",
        per_class_scores(cm, class_names).round(3).to_markdown(),
        "",
        "Most confused pairs:",
        "",
        pairs[["true", "predicted", "count"]].to_markdown(index=False),
        "",
    ]
    if data is not None and record.test_predictions:
        example = plots.plot_confused_examples(
            pairs, data.x_test, data.y_test, record.predictions()
        )
        lines += [figures.add(example, f"{slug}_confused.png", "confused examples"), ""]
    return lines


def _transfer_section(
    results: str | os.PathLike, bests: list[Best], records: list, command: Any
) -> list[str]:
    lines = ["## Transfer to MNIST", ""]
    table = transfer_table(results, bests, records, command) if command else None
    if table is None or table.empty:
        return lines + _missing(
            "python -m experiments.fashion_dense", "python -m experiments.reproduce chenab"
        )
    return lines + [
        "A configuration chosen on Fashion-MNIST, retrained unchanged on MNIST, as the Chenab and "
        "Hippe studies did:",
        "",
        table.to_markdown(index=False),
        "",
    ]


def _missing(*commands: str) -> list[str]:
    return ["Not run yet. Run:", "", *[f"    {c}" for c in commands], ""]
