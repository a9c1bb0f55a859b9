"""What a trained run leaves: its record, made from its per-epoch history and its test logits,
whoever trained it (Keras here, the plain PyTorch loop of :mod:`keras_fcn.pytorch_loop`), and
the formulas both trainers share. Nothing here imports Keras or TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import confusion_matrix

from keras_fcn.family import Family, RunConfig
from keras_fcn.identity import Status
from keras_fcn.idx import N_CLASSES
from keras_fcn.record import RunRecord, encode_predictions, now


def cosine_learning_rate(learning_rate: float, epochs: int) -> Callable[[int], float]:
    """The learning rate of each epoch (from 0) under a cosine decay over ``epochs``."""

    def rate(epoch: int, _current: float | None = None) -> float:
        return learning_rate * 0.5 * (1.0 + math.cos(math.pi * min(epoch, epochs) / epochs))

    return rate


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean softmax cross-entropy of ``logits`` against integer ``labels``."""
    logits = logits.astype(np.float64)
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return float(np.mean(log_norm - logits[np.arange(len(labels)), labels]))


def tested_record(
    family: Family,
    run: RunConfig,
    history: dict[str, list[float]],
    logits: np.ndarray,
    y_test: np.ndarray,
    kept: int | None,
    **fields: Any,
) -> RunRecord:
    """A trained run's record from its per-epoch history and test logits, whatever trained
    it: status, test accuracy and loss, confusion matrix, predictions, best validation epoch
    and note (``kept``: the epoch whose weights were tested after a divergence, ``None``
    when the run did not diverge); ``fields`` fill the rest of :class:`RunRecord` (params,
    precision, versions, command, framework)."""
    finite, predictions, matrix = _test_predictions(logits, y_test)
    record = RunRecord(
        run_id=run.run_id,
        family=family.name,
        config=run.to_dict(),
        seed=run.train.seed,
        status=Status.OK if kept is None else Status.DIVERGED,
        history=history,
        epochs_run=len(history.get("loss", [])),
        test_accuracy=float(np.mean(predictions == y_test)) if finite else None,
        test_loss=cross_entropy(logits, y_test) if finite else None,
        confusion_matrix=np.asarray(matrix, dtype=int).tolist(),
        test_predictions=encode_predictions(predictions),
        created=now(),
        **fields,
    )
    record.best_val_accuracy, record.best_epoch = _best_validation(history)
    record.note = _run_note(history, kept, predictions if finite else None)
    return record


def _test_predictions(logits: np.ndarray, y_test: np.ndarray) -> tuple[bool, np.ndarray, list]:
    """Whether the test logits are finite, the predicted classes and the confusion matrix.

    Non-finite logits have no argmax worth recording: no predictions rather than made-up ones.
    """
    finite = bool(np.isfinite(logits).all())
    predictions = np.argmax(logits, axis=1) if finite else np.zeros(0, dtype=int)
    matrix = confusion_matrix(y_test, predictions, labels=range(N_CLASSES)) if finite else []
    return finite, predictions, matrix


def _best_validation(history: dict[str, list[float]]) -> tuple[float | None, int | None]:
    """The best finite validation accuracy and its 1-based epoch; ``None`` without one."""
    val_acc = [v for v in history.get("val_accuracy", []) if np.isfinite(v)]
    if not val_acc:
        return None, None
    best = max(val_acc)
    return best, history["val_accuracy"].index(best) + 1


def _run_note(
    history: dict[str, list[float]], kept: int | None, predictions: np.ndarray | None
) -> str:
    """What a run's record should warn of: a divergence and which weights were tested
    (``kept``: the epoch whose weights were kept, ``None`` when the run did not diverge),
    test logits that are not finite (``predictions`` is ``None``), or a single class
    predicted."""
    notes = []
    if kept is not None:
        first_bad = next(i for i, v in enumerate(history["loss"]) if not np.isfinite(v)) + 1
        if kept == 0:
            source = "the initial weights"
        elif kept == first_bad - 1:
            source = f"the weights after epoch {kept}, the last with a finite loss"
        else:  # a later epoch's loss was finite but its last update overflowed
            source = f"the weights after epoch {kept}, the last with finite weights"
        notes.append(
            f"loss became non-finite in epoch {first_bad}; training stopped; "
            f"test metrics from {source}"
        )
    if predictions is None:
        notes.append("the test logits are not finite: no test predictions recorded")
    elif len(np.unique(predictions)) == 1:
        notes.append(f"predicts one class only ({int(predictions[0])}) on the test set")
    return "; ".join(notes)
