"""Classical baselines for the image studies, as scikit-learn estimators and pipelines.

Every estimator here takes 2-D input, one flattened image per row: pass
``x.reshape(len(x), -1)`` for a ``(n, 28, 28)`` array.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import linalg
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, LinearSVC
from sklearn.utils import gen_batches
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "NearestSubspaceClassifier",
    "make_knn",
    "make_nearest_subspace",
    "make_svd_projection",
]

PROJECTIONS = ("pca", "svd")
PROJECTION_CLASSIFIERS = ("logistic", "linear_svc", "rbf_svc")


class NearestSubspaceClassifier(ClassifierMixin, BaseEstimator):
    """Assign each sample to the class whose principal subspace reconstructs it best.

    For each class, ``fit`` keeps the top ``rank`` right singular vectors of that class's
    samples (after subtracting the class mean when ``center`` is true, which makes the
    subspace affine). ``predict`` projects a sample onto every class subspace and picks the
    class with the smallest residual norm. This is the "SVD classifier" of the studies.

    Its rank is chosen on validation by ``experiments.baselines``; the figures it reaches are
    in docs/results.md with the command that printed them.

    Args:
        rank: Number of singular vectors kept per class. It may not exceed the number of
            features nor the sample count of the smallest class (that count minus one when
            centering, since centered samples span one direction fewer).
        center: Whether to subtract each class's mean before the decomposition and before
            measuring residuals.

    Attributes:
        classes_: Class labels, sorted.
        components_: Orthonormal basis of each class subspace, shape
            ``(n_classes, rank, n_features)``.
        singular_values_: Singular values of each class, shape ``(n_classes, rank)``.
        means_: Class means, shape ``(n_classes, n_features)``; only when ``center`` is true.
        n_features_in_: Number of features seen during ``fit``.
    """

    def __init__(self, rank=20, center=False):
        self.rank = rank
        self.center = center

    def __sklearn_tags__(self):
        """Declare the estimator a poor scorer on scikit-learn's generic test problems.

        Returns:
            The estimator's tags.
        """
        tags = super().__sklearn_tags__()
        # The common checks demand 83% training accuracy on 2-D Gaussian blobs, where the
        # only proper subspace of a class is a line, which cannot enclose a blob; the
        # method is meant for high-dimensional data of low intrinsic dimension.
        tags.classifier_tags.poor_score = True
        return tags

    def fit(self, X, y):
        """Compute the subspace of each class.

        Args:
            X: Training samples, shape ``(n_samples, n_features)``.
            y: Class labels, shape ``(n_samples,)``.

        Returns:
            The fitted estimator.

        Raises:
            ValueError: If ``rank`` is not a positive integer or exceeds what a class's
                samples can span.
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        if not isinstance(self.rank, numbers.Integral) or isinstance(self.rank, bool):
            raise ValueError(f"rank must be a positive integer, got {self.rank!r}")
        if self.rank < 1:
            raise ValueError(f"rank must be a positive integer, got {self.rank}")

        self.classes_, y_index = np.unique(y, return_inverse=True)
        n_features = X.shape[1]
        center = bool(self.center)
        counts = np.bincount(y_index, minlength=len(self.classes_))
        for label, count in zip(self.classes_, counts, strict=True):
            limit = min(count - center, n_features)
            if self.rank > limit:
                raise ValueError(
                    f"rank={self.rank} exceeds the limit {limit} set by class {label} "
                    f"({count} samples{', centered' if center else ''}, n_features={n_features})"
                )

        components = np.empty((len(self.classes_), self.rank, n_features), dtype=X.dtype)
        singular_values = np.empty((len(self.classes_), self.rank), dtype=X.dtype)
        means = np.zeros((len(self.classes_), n_features), dtype=X.dtype)
        for k in range(len(self.classes_)):
            samples = X[y_index == k]
            if center:
                means[k] = samples.mean(axis=0)
                samples = samples - means[k]
            # Exact thin SVD: a randomized solver was no faster at rank 50 and is only
            # approximate (docs/baselines.md#how-they-are-computed).
            _, s, vt = linalg.svd(samples, full_matrices=False, check_finite=False)
            components[k] = vt[: self.rank]
            singular_values[k] = s[: self.rank]
        self.components_ = components
        self.singular_values_ = singular_values
        if center:
            self.means_ = means
        return self

    def _squared_residuals(self, X):
        """Squared distance from each sample to each class subspace, shape (n, n_classes)."""
        n_classes, rank, n_features = self.components_.shape
        # One matrix product per batch gives every projection, plus each sample's dot
        # product with the class means when centering:
        # ||x - m||^2 - ||V (x - m)||^2 with ||x - m||^2 = ||x||^2 - 2 x.m + ||m||^2.
        weights = self.components_.reshape(n_classes * rank, n_features)
        centered = hasattr(self, "means_")
        if centered:
            weights = np.vstack([weights, self.means_])
            mean_sq = np.einsum("ij,ij->i", self.means_, self.means_)
            mean_proj = np.einsum("krf,kf->kr", self.components_, self.means_)

        out = np.empty((X.shape[0], n_classes), dtype=np.result_type(X, weights))
        row_bytes = 8 * (weights.shape[0] + n_features)
        chunk = max(1, int(get_config()["working_memory"] * 2**20 // row_bytes))
        for batch in gen_batches(X.shape[0], chunk):
            x = X[batch]
            products = x @ weights.T
            x_sq = np.einsum("ij,ij->i", x, x)[:, None]
            proj = products[:, : n_classes * rank].reshape(-1, n_classes, rank)
            if centered:
                x_dot_mean = products[:, n_classes * rank :]
                proj = proj - mean_proj[None]
                dist_sq = x_sq - 2 * x_dot_mean + mean_sq[None]
            else:
                dist_sq = x_sq
            out[batch] = dist_sq - np.einsum("nkr,nkr->nk", proj, proj)
        # Rounding can push a residual of (nearly) zero just below zero.
        return np.maximum(out, 0, out=out)

    def decision_function(self, X):
        """Negative residual norm of each sample with respect to each class subspace.

        Args:
            X: Samples, shape ``(n_samples, n_features)``.

        Returns:
            Scores of shape ``(n_samples, n_classes)``, larger meaning closer. For two
            classes, shape ``(n_samples,)``: the score of ``classes_[1]`` minus that of
            ``classes_[0]``, as scikit-learn expects of binary classifiers.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        scores = -np.sqrt(self._squared_residuals(X))
        if len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict(self, X):
        """Label of the class whose subspace is nearest to each sample.

        Args:
            X: Samples, shape ``(n_samples, n_features)``.

        Returns:
            Predicted labels, shape ``(n_samples,)``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.classes_[np.argmin(self._squared_residuals(X), axis=1)]


def make_nearest_subspace(rank=20, center=False):
    """Nearest-subspace ("SVD") classifier with the given rank.

    Args:
        rank: Singular vectors kept per class.
        center: Whether each class subspace passes through the class mean.

    Returns:
        An unfitted :class:`NearestSubspaceClassifier`.
    """
    return NearestSubspaceClassifier(rank=rank, center=center)


def _projection(projection, n_components, random_state):
    """Projection step of a pipeline: PCA, TruncatedSVD or "passthrough"."""
    if projection is None:
        return "passthrough"
    if projection == "pca":
        return PCA(n_components=n_components, random_state=random_state)
    if projection == "svd":
        return TruncatedSVD(n_components=n_components, random_state=random_state)
    raise ValueError(f"projection must be one of {PROJECTIONS} or None, got {projection!r}")


def make_knn(
    n_neighbors=5, weights="uniform", metric="euclidean", projection=None, n_components=50
):
    """K-nearest-neighbours classifier, optionally on a linear projection of the pixels.

    The pipeline has two named steps, ``project`` and ``knn``, so that parameters can be set
    as ``knn__n_neighbors`` or ``project__n_components``. Without a projection the
    ``project`` step is ``"passthrough"``, which keeps the step names the same for a search
    that switches the projection on and off. What it reaches on both datasets is in
    docs/results.md.

    Args:
        n_neighbors: Number of neighbours that vote.
        weights: ``"uniform"`` or ``"distance"`` voting.
        metric: Distance metric of :class:`~sklearn.neighbors.KNeighborsClassifier`.
        projection: ``"pca"``, ``"svd"`` (TruncatedSVD, uncentered) or None.
        n_components: Dimension of the projection; ignored without one.

    Returns:
        An unfitted :class:`~sklearn.pipeline.Pipeline`.
    """
    knn = KNeighborsClassifier(
        n_neighbors=n_neighbors,
        weights=weights,
        metric=metric,
        # Brute force is a matrix product: far faster than trees in 784 (or 50) dimensions.
        algorithm="brute",
        # No joblib workers: the BLAS product already uses every core, and n_jobs=-1 was
        # slower (docs/baselines.md#how-they-are-computed).
    )
    return Pipeline([("project", _projection(projection, n_components, 0)), ("knn", knn)])


def make_svd_projection(
    n_components=50, classifier="rbf_svc", C=10.0, projection="pca", random_state=0
):
    """A linear projection of the pixels followed by a linear or kernel classifier.

    The steps are named ``project``, ``scale`` and ``classify``. ``scale`` standardizes the
    projected features for the linear models, whose solvers converge badly on raw
    component scores; the RBF kernel uses ``gamma="scale"`` instead and gets
    ``"passthrough"``.

    Classifiers:

    * ``"logistic"``: multinomial logistic regression;
    * ``"linear_svc"``: linear SVM (one-vs-rest);
    * ``"rbf_svc"``: exact RBF-kernel SVM, the default. A Nystroem approximation (then a
      linear SVM) was both slower and less accurate on Fashion-MNIST, so it is not offered;
      the exact SVM's figures are in docs/results.md.

    Args:
        n_components: Dimension of the projection.
        classifier: One of ``"logistic"``, ``"linear_svc"``, ``"rbf_svc"``.
        C: Inverse regularization strength of the classifier.
        projection: ``"pca"`` (centered) or ``"svd"`` (TruncatedSVD, uncentered).
        random_state: Seed of the randomized solvers.

    Returns:
        An unfitted :class:`~sklearn.pipeline.Pipeline`.
    """
    if projection is None:
        raise ValueError(f"projection must be one of {PROJECTIONS}, got None")
    project = _projection(projection, n_components, random_state)
    if classifier == "logistic":
        scale, classify = StandardScaler(), LogisticRegression(C=C, max_iter=1000)
    elif classifier == "linear_svc":
        scale, classify = StandardScaler(), LinearSVC(C=C, random_state=random_state)
    elif classifier == "rbf_svc":
        # A larger kernel cache than the default 200 MB saves recomputing kernel rows.
        scale, classify = "passthrough", SVC(C=C, kernel="rbf", gamma="scale", cache_size=1000)
    else:
        raise ValueError(f"classifier must be one of {PROJECTION_CLASSIFIERS}, got {classifier!r}")
    return Pipeline([("project", project), ("scale", scale), ("classify", classify)])
