"""The public API: each thing the commands do, in a line or two of Python.

    import keras_fcn as kf

    run = kf.resolve_run("dense", {"hidden": "256-128", "epochs": 5})
    record = kf.train_run(run)  # a RunRecord: accuracy, history, confusion matrix
    records = kf.run_seeds(run, out="results/mine")  # over three seeds, resumable
    kf.summarize(records)  # mean ± std over the seeds, a pandas DataFrame

A search is :func:`keras_fcn.tuning.run_search`; a published study, :func:`reproduce_study`.
Nothing here imports TensorFlow until it trains.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from keras_fcn import layout
from keras_fcn.family import RunConfig
from keras_fcn.record import RunRecord, RunStore
from keras_fcn.registry import DEFAULT_SEEDS, get_family, resolve_run


def train_run(
    run: RunConfig, *, data_dir: str | os.PathLike | None = None, verbose: int = 0
) -> RunRecord:
    """Train one run on its dataset and test it once.

    Args:
        run: what to train (:func:`~keras_fcn.registry.resolve_run` makes one).
        data_dir: a folder holding the dataset's IDX files; ``None`` looks where the commands
            look (``KERAS_FCN_DATA_DIR``, then docs/data.md's folders).
        verbose: Keras's progress display (0 silent, 1 a bar, 2 a line per epoch).

    Returns:
        Its record: ``test_accuracy``, ``history`` (per epoch), ``confusion_matrix``, the
        config, seed, timings and library versions.
    """
    from keras_fcn.train import load_dataset, train_record

    data = load_dataset(run.data, None if data_dir is None else str(data_dir))
    return train_record(get_family(run.family), run, data, verbose=verbose)


def run_seeds(
    runs: RunConfig | Iterable[RunConfig],
    seeds: Sequence[int] = DEFAULT_SEEDS,
    *,
    out: str | os.PathLike,
    data_dir: str | os.PathLike | None = None,
) -> list[RunRecord]:
    """A study: every run over every seed, recorded in ``out/runs.jsonl``.

    Runs already recorded there are not trained again, so the same call resumes a study
    that was interrupted; a run that fails is recorded as failed and the study goes on.

    Returns:
        One record per run and seed, in order.
    """
    from keras_fcn.study import run_study, with_seeds
    from keras_fcn.train import load_dataset

    runs = [runs] if isinstance(runs, RunConfig) else list(runs)
    seeded = with_seeds(runs, seeds)
    store = RunStore(Path(out) / layout.RUNS)
    families = {run.family: get_family(run.family) for run in seeded}
    folder = None if data_dir is None else str(data_dir)
    return run_study(families, seeded, store, load=lambda data: load_dataset(data, folder))


def summarize(records: Iterable[RunRecord], by: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean, standard deviation and 95 % interval over seeds of each config among ``records``
    (:func:`keras_fcn.study.aggregate`); ``by`` names the fields that tell configs apart."""
    from keras_fcn.study import aggregate

    return aggregate(records, by=by)


@dataclasses.dataclass(frozen=True)
class Reproduction:
    """A published study re-run.

    Attributes:
        study: its name.
        tables: its tables at the study's own settings, beside the published numbers.
        procedure: for a study that carries choices from table to table, the same tables
            with each choice re-made on validation; else ``None``.
        folder: where its records and tables were written.
    """

    study: str
    tables: list[Any]
    procedure: list[Any] | None
    folder: Path

    def side_by_side(self) -> pd.DataFrame:
        """Every published row beside ours, with its verdict, as the command prints it."""
        from keras_fcn.reporting.tables import format_side_by_side

        return format_side_by_side(pd.concat([t.comparison for t in self.tables]))


def reproduce_study(
    name: str,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    *,
    out: str | os.PathLike | None = None,
    quick: bool = False,
    only: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Reproduction:
    """Re-run a published study's tables over ``seeds`` and set them beside its numbers.

    Resumable like :func:`run_seeds`: its records go to ``out/NAME/runs.jsonl`` (``NAME-quick``
    with ``quick``, a small subset and 2 epochs), and its tables to the same folder.

    Args:
        name: the study (:func:`keras_fcn.replication.all_studies` lists them).
        seeds: training seeds of every row.
        out: the folder that holds one folder per study (``results/reproduce`` by default).
        quick: run the whole path in seconds, on a subset.
        only: run only these tables (the others are read from the records).
        overrides: settings applied to every run after the study's own.
        data_dir: where the datasets are (``None``: where the commands look).
    """
    from keras_fcn.replication import RerunOptions, get_study, reproduce_views
    from keras_fcn.reporting.studies import write_study_outputs
    from keras_fcn.train import load_dataset

    protocol = get_study(name)
    root = layout.folder("reproduce") if out is None else Path(out)
    folder = root / layout.variant(protocol.name, quick=quick)
    folder_data = None if data_dir is None else str(data_dir)
    views = reproduce_views(
        protocol,
        get_family(protocol.family),
        RunStore(folder / layout.RUNS),
        RerunOptions(
            seeds,
            load=lambda data: load_dataset(data, folder_data),
            quick=quick,
            only=only,
            overrides=overrides,
        ),
    )
    write_study_outputs(
        protocol.name, views.published, folder, None, views.procedure, views.variants
    )
    return Reproduction(protocol.name, views.published, views.procedure, folder)


__all__ = [
    "Reproduction",
    "reproduce_study",
    "resolve_run",
    "run_seeds",
    "summarize",
    "train_run",
]
