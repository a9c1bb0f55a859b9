"""Baselines as families: selection on validation, one run record, shown beside published figures."""

from __future__ import annotations

import numpy as np
import pytest

from baselines.estimators import make_knn
from baselines.selection import BASELINES, Baseline, select_and_test, selection_id
from keras_fcn.config import DataConfig
from keras_fcn.data import Dataset
from keras_fcn.family import DENSE
from keras_fcn.record import RunStore
from keras_fcn.replication import RerunOptions, get_study, reproduce
from keras_fcn.space import Param, Space


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    centers = np.random.default_rng(99).random((10, 28, 28), dtype=np.float32)
    return (centers[y] + 0.35 * rng.standard_normal((n, 28, 28))).astype(np.float32), y


def _dataset() -> Dataset:
    x_train, y_train = _blobs(300, 0)
    x_val, y_val = _blobs(100, 1)
    x_test, y_test = _blobs(100, 2)
    return Dataset(
        "fashion_mnist",
        x_train,
        y_train,
        x_val,
        y_val,
        x_test,
        y_test,
        tuple(map(str, range(10))),
        "synthetic",
    )


def test_selection_keeps_the_best_setting_on_validation_and_records_it():
    baseline = Baseline("knn", make_knn, Space((Param("n_neighbors", (1, 25, 150), 1),)), "test")
    record, table = select_and_test(baseline, _dataset(), DataConfig())
    assert len(table) == 3
    best = table.loc[table["val_accuracy"].idxmax()]
    assert record.config["model"] == {"n_neighbors": best["n_neighbors"]}
    assert record.best_val_accuracy == best["val_accuracy"]
    assert 0.5 < record.test_accuracy <= 1.0
    assert np.array(record.confusion_matrix).sum() == 100 and len(record.test_predictions) == 100
    assert record.config["search_id"] == selection_id(baseline, DataConfig())


# how a setting of a baseline's space shows in the fitted estimator's parameters
PROJECTION_STEPS = {None: "str", "pca": "PCA", "svd": "TruncatedSVD"}
CLASSIFIER_STEPS = {"rbf_svc": "SVC", "logistic": "LogisticRegression", "linear_svc": "LinearSVC"}


def _setting_reached(params: dict, name: str, value, settings: dict) -> bool:
    if name == "projection":
        return type(params["project"]).__name__ == PROJECTION_STEPS[value]
    if name == "classifier":
        return type(params["classify"]).__name__ == CLASSIFIER_STEPS[value]
    if name == "n_components" and settings.get("projection", "pca") is None:
        return "project__n_components" not in params  # no projection: nothing to set
    found = [v for k, v in params.items() if k == name or k.endswith(f"__{name}")]
    return len(found) == 1 and found[0] == value


@pytest.mark.parametrize(
    ("name", "settings"),
    [(name, s) for name, b in BASELINES.items() for s in b.space.grid()],
    ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={x}" for k, x in v.items()),
)
def test_every_declared_baseline_fits_and_predicts_with_each_setting(name, settings):
    # 52 images a class: enough for the rank-50 centred subspaces and 50 PCA components
    x_train, y_train = _blobs(520, 0)
    x_test, y_test = _blobs(100, 2)
    estimator = BASELINES[name].make(**settings)
    params = estimator.get_params(deep=True)
    for key, value in settings.items():
        assert _setting_reached(params, key, value, settings), (key, value, params)
    assert estimator.fit(x_train.reshape(520, -1), y_train) is estimator
    predictions = estimator.predict(x_test.reshape(100, -1))
    assert predictions.shape == (100,) and set(predictions) <= set(range(10))
    assert np.mean(predictions == y_test) > 0.9  # the blobs are far apart: chance is 0.1


def test_study_tables_show_our_baseline_beside_the_published_one(tmp_path):
    record, _ = select_and_test(BASELINES["knn-5"], _dataset(), DataConfig())
    results = reproduce(
        get_study("chenab"),
        DENSE,
        RunStore(tmp_path / "r.jsonl"),
        RerunOptions(seeds=[1], load=lambda d: None, only=["knn"], baseline_records=[record]),
    )
    knn = next(r for r in results if r.spec.name == "knn").comparison
    fashion = knn[knn["dataset"] == "fashion_mnist"].iloc[0]
    assert (
        fashion["published"] == 0.854
        and fashion["ours"] == record.test_accuracy
        and fashion["n"] == 1
    )
    mnist = knn[knn["dataset"] == "mnist"].iloc[0]
    assert mnist["verdict"] == "run experiments.baselines"  # no MNIST record given
