"""The classification scores of the project, one implementation for training and evaluation.

``train.py``'s checkpoint selection (``training.trainer.ClipMetrics``, through the ``evaluate`` module in
``metrics/classification``), ``eval.py``'s point estimates and its bootstrap intervals (``evaluation.metrics``) all end
in ``scores_from_confusion``: the validation accuracy that picks a checkpoint and the accuracy in the lab report are
one number computed one way. It is vectorised over stacks of confusion matrices, which the bootstrap needs (1,000
resamples at once).

Example::

    from common.metrics import aggregate_clips, confusion_matrix, scores_from_confusion
    clip_logits = aggregate_clips(window_logits, clip_index, n_clips)
    scores = scores_from_confusion(confusion_matrix(labels, clip_logits.argmax(-1), n_classes=4))
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

METRIC_MODULE = Path(__file__).resolve().parents[1] / "metrics" / "classification"


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def aggregate_clips(window_logits: np.ndarray, clip_index: np.ndarray, n_clips: int) -> np.ndarray:
    """Mean of the window logits of each clip: ``(n_clips, K)``. Every clip must have at least one window."""
    window_logits = np.asarray(window_logits, dtype=np.float64)
    counts = np.bincount(clip_index, minlength=n_clips)
    if len(counts) != n_clips or (counts == 0).any():
        missing = np.flatnonzero(counts[:n_clips] == 0).tolist() if len(counts) >= n_clips else "index out of range"
        raise ValueError(f"window predictions do not cover clips 0..{n_clips - 1}: clips without windows: {missing}")
    sums = np.zeros((n_clips, window_logits.shape[1]))
    np.add.at(sums, clip_index, window_logits)
    return sums / counts[:, None]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def scores_from_confusion(conf: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and macro-F1 of one confusion matrix ``(K, K)`` or a stack ``(..., K, K)``.

    F1 of a class is 2TP / (2TP + FP + FN), 0 when the class is neither present nor predicted (scikit-learn's
    ``zero_division=0``), so the macro mean is over all K classes, as in ``f1_score(average="macro")``.
    """
    conf = np.asarray(conf, dtype=np.float64)
    tp = np.diagonal(conf, axis1=-2, axis2=-1)
    fp = conf.sum(axis=-2) - tp
    fn = conf.sum(axis=-1) - tp
    total = conf.sum(axis=(-2, -1))
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    accuracy = np.divide(tp.sum(axis=-1), total, out=np.zeros_like(total), where=total > 0)
    return {"accuracy": accuracy, "macro_f1": f1.mean(axis=-1)}




@functools.lru_cache(maxsize=1)
def load_metric():
    """The project's ``evaluate`` module (accuracy and macro-F1 by ``scores_from_confusion``), loaded by path once.

    ``evaluate.load("accuracy")`` needs the Hub (shared/FACTS.md); a module inside the project loads offline."""
    import evaluate

    return evaluate.load(str(METRIC_MODULE))
