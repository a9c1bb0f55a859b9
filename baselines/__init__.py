"""Classical baselines (nearest neighbours, nearest subspace, projections) for the studies."""

from baselines.estimators import (
    NearestSubspaceClassifier,
    make_knn,
    make_nearest_subspace,
    make_svd_projection,
)

__all__ = [
    "NearestSubspaceClassifier",
    "make_knn",
    "make_nearest_subspace",
    "make_svd_projection",
]
