"""What a confusion matrix says, as tables: named cells, per-class scores, confused pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support


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
