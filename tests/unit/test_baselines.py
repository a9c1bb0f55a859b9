"""Tests of the classical baselines on small synthetic problems."""

import numpy as np
import pytest
from sklearn import config_context
from sklearn.base import clone
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

from baselines import (
    NearestSubspaceClassifier,
    make_knn,
    make_nearest_subspace,
    make_svd_projection,
)

N_FEATURES = 30
RANK = 3


def subspace_problem(n_classes=4, n_per_class=40, affine=False, seed=0):
    """Samples of each class drawn from its own random RANK-dimensional subspace of R^30.

    Args:
        n_classes: Number of classes.
        n_per_class: Samples per class in each of the two returned sets.
        affine: Whether to shift each class subspace away from the origin.
        seed: Seed of the bases, offsets and coefficients.

    Returns:
        ``(X_train, y_train, X_test, y_test)`` with integer labels.
    """
    rng = np.random.default_rng(seed)
    bases = [np.linalg.qr(rng.normal(size=(N_FEATURES, RANK)))[0].T for _ in range(n_classes)]
    offsets = rng.normal(scale=3.0, size=(n_classes, N_FEATURES)) if affine else None
    sets = []
    for _ in range(2):
        X = np.vstack([rng.normal(size=(n_per_class, RANK)) @ basis for basis in bases])
        y = np.repeat(np.arange(n_classes), n_per_class)
        if affine:
            X += offsets[y]
        sets += [X, y]
    return tuple(sets)


def naive_residuals(model, X):
    """Residual norms computed one class at a time by explicit projection."""
    residuals = []
    for k, basis in enumerate(model.components_):
        shifted = X - model.means_[k] if model.center else X
        residuals.append(np.linalg.norm(shifted - shifted @ basis.T @ basis, axis=1))
    return np.stack(residuals, axis=1)


@pytest.mark.parametrize("affine", [False, True])
def test_nearest_subspace_is_exact_on_subspace_data(affine):
    X, y, X_test, y_test = subspace_problem(affine=affine)
    model = NearestSubspaceClassifier(rank=RANK, center=affine).fit(X, y)

    assert model.score(X_test, y_test) == 1.0
    # Each test sample lies in its own class subspace: its residual there is zero.
    own = -model.decision_function(X_test)[np.arange(len(y_test)), y_test]
    np.testing.assert_allclose(own, 0.0, atol=1e-6)


def test_uncentered_subspaces_do_not_contain_affine_data():
    # Guards the test above: a shifted 3-dimensional set needs centering to fit in rank 3.
    X, y, X_test, y_test = subspace_problem(affine=True)
    model = NearestSubspaceClassifier(rank=RANK).fit(X, y)
    own = -model.decision_function(X_test)[np.arange(len(y_test)), y_test]
    assert np.median(own) > 0.1


@pytest.mark.parametrize("center", [False, True])
def test_decision_function_matches_explicit_projection_in_small_batches(center):
    X, y, _, _ = subspace_problem(affine=True, seed=1)
    rng = np.random.default_rng(2)
    X_new = rng.normal(size=(25, N_FEATURES))
    model = NearestSubspaceClassifier(rank=2, center=center).fit(X, y)

    expected = -naive_residuals(model, X_new)
    # A tiny working memory splits prediction into batches of a few rows.
    with config_context(working_memory=0.001):
        batched = model.decision_function(X_new)
    np.testing.assert_allclose(batched, expected, rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(model.decision_function(X_new), expected, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(model.predict(X_new), model.classes_[expected.argmax(axis=1)])


@pytest.mark.parametrize("center", [False, True])
def test_fitted_attributes(center):
    X, y, _, _ = subspace_problem(n_classes=3)
    model = NearestSubspaceClassifier(rank=2, center=center).fit(X, y)

    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.components_.shape == (3, 2, N_FEATURES)
    assert model.n_features_in_ == N_FEATURES
    for basis in model.components_:
        np.testing.assert_allclose(basis @ basis.T, np.eye(2), atol=1e-10)
    assert hasattr(model, "means_") == center
    if center:
        np.testing.assert_allclose(model.means_[1], X[y == 1].mean(axis=0))


def test_binary_decision_function_sign_follows_predict():
    X, y, X_test, _ = subspace_problem(n_classes=2)
    labels = np.array(["no", "yes"])
    model = NearestSubspaceClassifier(rank=RANK).fit(X, labels[y])

    decision = model.decision_function(X_test)
    assert decision.shape == (len(X_test),)
    np.testing.assert_array_equal(model.predict(X_test), labels[(decision > 0).astype(int)])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"rank": 21}, r"rank=21 exceeds the limit 20 set by class 0 \(20 samples"),
        ({"rank": 20, "center": True}, r"rank=20 exceeds the limit 19 set by class 0"),
        ({"rank": 31}, None),
        ({"rank": 0}, r"rank must be a positive integer, got 0"),
        ({"rank": 2.5}, r"rank must be a positive integer, got 2.5"),
    ],
)
def test_rank_beyond_the_data_is_rejected(params, message):
    X, y, _, _ = subspace_problem(n_per_class=20)
    if message is None:
        # With more samples than features, the feature count is the limit.
        X, y, _, _ = subspace_problem(n_per_class=40)
        message = r"rank=31 exceeds the limit 30 set by class 0 \(40 samples, n_features=30\)"
    with pytest.raises(ValueError, match=message):
        NearestSubspaceClassifier(**params).fit(X, y)


def test_rank_limit_names_the_smallest_class():
    X, y, _, _ = subspace_problem(n_classes=3)
    keep = (y != 2) | (np.arange(len(y)) % 40 < 5)
    with pytest.raises(ValueError, match=r"limit 5 set by class 2 \(5 samples"):
        NearestSubspaceClassifier(rank=6).fit(X[keep], y[keep])


def test_clone_and_set_params():
    model = make_nearest_subspace(rank=7, center=True)
    assert isinstance(model, NearestSubspaceClassifier)
    copy = clone(model.set_params(rank=2))
    assert copy.get_params() == {"rank": 2, "center": True}
    assert not hasattr(copy, "components_")

    X, y, _, _ = subspace_problem()
    copy.fit(X, y)
    assert copy.components_.shape[1] == 2
    assert not hasattr(model, "components_")


def test_nearest_subspace_inside_a_pipeline():
    # Per-feature scaling maps affine subspaces to affine subspaces, so a centered
    # classifier stays exact after it.
    X, y, X_test, y_test = subspace_problem(affine=True)
    pipe = Pipeline([("scale", StandardScaler()), ("nearest", NearestSubspaceClassifier())])
    pipe.set_params(nearest__rank=RANK, nearest__center=True)
    pipe.fit(X, y)

    assert pipe.named_steps["nearest"].components_.shape == (4, RANK, N_FEATURES)
    assert pipe.score(X_test, y_test) == 1.0
    assert clone(pipe).get_params()["nearest__rank"] == RANK


def test_knn_pipeline_steps_and_set_params():
    X, y, _, _ = subspace_problem()
    pipe = make_knn()
    assert list(pipe.named_steps) == ["project", "knn"]
    assert pipe.named_steps["project"] == "passthrough"
    knn = pipe.named_steps["knn"]
    assert isinstance(knn, KNeighborsClassifier)
    assert (knn.n_neighbors, knn.weights, knn.metric) == (5, "uniform", "euclidean")

    pipe.set_params(knn__n_neighbors=3).fit(X, y)
    distances, _ = pipe.named_steps["knn"].kneighbors(X[:4])
    assert distances.shape == (4, 3)
    # With one neighbour every training sample is its own nearest neighbour.
    assert clone(pipe).set_params(knn__n_neighbors=1).fit(X, y).score(X, y) == 1.0


@pytest.mark.parametrize(("projection", "kind"), [("pca", PCA), ("svd", TruncatedSVD)])
def test_knn_with_projection(projection, kind):
    X, y, X_test, y_test = subspace_problem()
    pipe = make_knn(n_neighbors=1, projection=projection, n_components=12).fit(X, y)

    assert isinstance(pipe.named_steps["project"], kind)
    assert pipe.named_steps["project"].transform(X_test).shape == (len(X_test), 12)
    # Four 3-dimensional subspaces fit inside 12 components: neighbours stay neighbours.
    assert pipe.score(X_test, y_test) > 0.9


def test_unknown_options_are_rejected():
    with pytest.raises(ValueError, match="projection must be one of"):
        make_knn(projection="ica")
    with pytest.raises(ValueError, match="classifier must be one of"):
        make_svd_projection(classifier="tree")
    with pytest.raises(ValueError, match="projection must be one of"):
        make_svd_projection(projection=None)


@pytest.mark.parametrize("classifier", ["logistic", "linear_svc", "rbf_svc"])
def test_svd_projection_pipelines(classifier):
    X, y, X_test, y_test = subspace_problem(affine=True)
    pipe = make_svd_projection(n_components=10, classifier=classifier, C=1.0)
    assert list(pipe.named_steps) == ["project", "scale", "classify"]

    pipe.fit(X, y)
    assert pipe.named_steps["project"].n_components == 10
    assert pipe.score(X_test, y_test) > 0.9


@pytest.mark.parametrize(
    "make",
    [
        lambda: NearestSubspaceClassifier(rank=RANK, center=True),
        lambda: make_knn(n_neighbors=3),
        lambda: make_knn(n_neighbors=3, projection="pca", n_components=10),
        lambda: make_svd_projection(n_components=10, classifier="logistic"),
        lambda: make_svd_projection(n_components=10, classifier="rbf_svc"),
    ],
)
def test_string_labels_round_trip(make):
    X, y, X_test, y_test = subspace_problem(affine=True)
    names = np.array(["ankle boot", "bag", "coat", "dress"])
    model = make().fit(X, names[y])

    predicted = model.predict(X_test)
    assert predicted.shape == (len(X_test),)
    assert predicted.dtype.kind == "U"
    assert set(predicted) <= set(names)
    assert np.mean(predicted == names[y_test]) > 0.9


def _check_name(check) -> str:
    return getattr(check, "func", check).__name__


# The common checks use data with as few as one feature and a handful of samples per class,
# which caps the rank; the default rank of 20 would be rejected by design. The array-API
# check is left out: it needs SCIPY_ARRAY_API set before scipy is imported, and this
# estimator makes no array-API claim.
SKLEARN_CHECKS = [
    (instance, check)
    for base in (NearestSubspaceClassifier(rank=1), NearestSubspaceClassifier(rank=1, center=True))
    for instance, check in estimator_checks_generator(base)
    if _check_name(check) != "check_array_api_input"
]


@pytest.mark.parametrize(
    ("estimator", "check"),
    SKLEARN_CHECKS,
    ids=[f"{e.center and 'centered' or 'plain'}-{_check_name(c)}" for e, c in SKLEARN_CHECKS],
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
