"""Baselines as families: a search space each, selection on validation, one run record each.

A baseline's hyperparameters are declared once as a :class:`keras_fcn.space.Space`, as for
the network families. :func:`select_and_test` fits every setting of that space on the
training split, keeps the one with the best validation accuracy, and measures it once on the
test set; the result is a :class:`keras_fcn.record.RunRecord` like any network's, so it
appears in the same tables and reports.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix

from baselines.estimators import make_knn, make_nearest_subspace, make_svd_projection
from keras_fcn import config as cfg
from keras_fcn.config import DataConfig
from keras_fcn.identity import digest
from keras_fcn.idx import N_CLASSES
from keras_fcn.record import RunRecord, encode_predictions, library_versions, now
from keras_fcn.space import Param, Space


@dataclasses.dataclass(frozen=True)
class Baseline:
    """A classical classifier and the values its selection tries.

    Attributes:
        name: the family name in records and tables.
        make: keyword hyperparameters -> an unfitted scikit-learn estimator or pipeline.
        space: the settings tried; the first of each parameter's values is its default.
        description: one line for tables.
    """

    name: str
    make: Callable[..., Any]
    space: Space
    description: str


BASELINES: dict[str, Baseline] = {
    b.name: b
    for b in (
        Baseline(
            "knn-5",
            make_knn,
            Space((Param("n_neighbors", (5,), 5), Param("weights", ("uniform",), "uniform"))),
            "k-nearest neighbours with the studies' setting: 5 neighbours, uniform, raw pixels",
        ),
        Baseline(
            "knn",
            make_knn,
            Space(
                (
                    Param("n_neighbors", (3, 5, 7), 5),
                    Param("weights", ("uniform", "distance"), "uniform"),
                    Param("projection", (None, "pca"), None),
                    Param("n_components", (50,), 50),
                )
            ),
            "k-nearest neighbours, tuned on validation (neighbours, weights, PCA to 50)",
        ),
        Baseline(
            "nearest_subspace",
            make_nearest_subspace,
            Space((Param("rank", (10, 20, 30, 50), 30), Param("center", (True,), True))),
            "SVD classifier: the class whose rank-r SVD subspace reconstructs the image best",
        ),
        Baseline(
            "svd_projection",
            make_svd_projection,
            Space(
                (
                    Param("n_components", (50,), 50),
                    Param("classifier", ("rbf_svc",), "rbf_svc"),
                    Param("C", (1.0, 10.0), 10.0),
                )
            ),
            "SVD classifier read as features: PCA to 50 components, then an RBF SVM",
        ),
    )
}


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def select_and_test(
    baseline: Baseline, data: Any, data_config: DataConfig
) -> tuple[RunRecord, pd.DataFrame]:
    """Fit every setting of ``baseline.space`` on the training split, pick the best on
    validation, and test that one once.

    Returns:
        The chosen setting's run record, and a table of every setting's validation accuracy
        and timings.
    """
    start = time.perf_counter()
    x_test = _flat(data.x_test)
    rows, best = _fit_each(baseline, data)
    settings, val_accuracy, estimator, fit_time = best
    t0 = time.perf_counter()
    predictions = estimator.predict(x_test)
    predict_time = time.perf_counter() - t0
    config = {
        "model": dict(settings),
        "data": data_settings(data_config),
        "search_id": selection_id(baseline, data_config),
    }
    record = RunRecord(
        run_id=digest({"family": baseline.name, "config": config}),
        family=baseline.name,
        config=config,
        seed=0,
        best_val_accuracy=val_accuracy,
        test_accuracy=float(np.mean(predictions == data.y_test)),
        confusion_matrix=confusion_matrix(
            data.y_test, predictions, labels=range(N_CLASSES)
        ).tolist(),
        test_predictions=encode_predictions(predictions),
        fit_time_s=round(fit_time, 3),
        predict_time_s=round(predict_time, 3),
        versions=library_versions(),
        created=now(),
        note=(
            f"chosen on validation among {len(rows)} settings"
            if len(rows) > 1
            else "one fixed setting"
        )
        + f" in {time.perf_counter() - start:.0f} s",
    )
    record.wall_time_s = round(time.perf_counter() - start, 3)
    return record, pd.DataFrame(rows)


def run_selection(task: tuple[Baseline, DataConfig], data: Any) -> tuple[RunRecord, pd.DataFrame]:
    """:func:`select_and_test` of the task ``(baseline, data_config)``: the work of a
    selection run by :func:`keras_fcn.runner.run_tasks`, in this process or in a Ray task."""
    baseline, data_config = task
    return select_and_test(baseline, data, data_config)


def _fit_each(baseline: Baseline, data: Any) -> tuple[list[dict[str, Any]], tuple]:
    """Fit every setting of ``baseline.space`` on the training split and measure it on the
    validation split: a row of each setting's accuracy and timings, and the best
    ``(settings, validation accuracy, fitted estimator, fit time)``."""
    x_train, x_val = _flat(data.x_train), _flat(data.x_val)
    rows, best = [], None
    for settings in baseline.space.grid():
        estimator = baseline.make(**settings)
        t0 = time.perf_counter()
        estimator.fit(x_train, data.y_train)
        fit_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        val_accuracy = (
            float(np.mean(estimator.predict(x_val) == data.y_val))
            if len(data.y_val)
            else float("nan")
        )
        rows.append(
            {
                **settings,
                "val_accuracy": val_accuracy,
                "fit_time_s": fit_time,
                "val_predict_time_s": time.perf_counter() - t0,
            }
        )
        if best is None or val_accuracy > best[1]:
            best = (settings, val_accuracy, estimator, fit_time)
    return rows, best


def selection_id(baseline: Baseline, data_config: DataConfig) -> str:
    """An id for a baseline's whole selection on one data config: the same search is not rerun."""
    search = [{k: str(v) for k, v in s.items()} for s in baseline.space.grid()]
    config = {"search": search, "data": data_settings(data_config)}
    return digest({"family": baseline.name, "config": config})


DATA_FIELDS = ("dataset", "validation", "split_seed", "standardize", "train_limit", "test_limit")
"""The data settings a baseline reads: the networks' augmentation is not among them."""


def data_settings(data_config: DataConfig) -> dict[str, Any]:
    """The part of ``data_config`` a baseline's record and selection id keep."""
    return {k: v for k, v in cfg.to_dict(data_config).items() if k in DATA_FIELDS}


def settings_text(settings: Mapping[str, Any]) -> str:
    """``name=value`` pairs for a table."""
    return ", ".join(f"{k}={v}" for k, v in settings.items())
