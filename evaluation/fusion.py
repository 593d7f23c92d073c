"""Late fusion of two video-level classifiers: a weighted mean of their log-probabilities.

``fuse(a, t, w) = normalise((1 - w) * log p_audio + w * log p_text)``: ``w = 0`` is audio alone, ``w = 1`` text alone
(both renormalised, so they are exactly the input probabilities). The weight is chosen by grid search, as the one with
the lowest mean log-loss (a proper scoring rule: on a few dozen videos accuracy is flat over most of the grid); ties
go to the smaller weight. Where it is chosen matters: on validation only when validation did not select the audio
checkpoint (else the audio model looks better there than it is and the weight leans to audio); otherwise by
``cross_fit`` on the evaluated videos, where each fold's weight is chosen on the other folds, so no video's label
enters its own fused prediction.

Example::

    import numpy as np
    from evaluation.fusion import choose_weight, fuse
    weight, grid = choose_weight(audio_val, text_val, y_val)          # (V_val, K) log-probs, (V_val,) labels
    fused_test = fuse(audio_test, text_test, weight)                   # (V_test, K) log-probs
"""

from __future__ import annotations

import numpy as np

from common.contract.evaluation import FusionFold, GridRow

WEIGHT_GRID = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 21))
FLOOR = 1e-9   # probabilities are clipped here before the log: a vote fraction of 0 must not become -inf


def log_probs(probabilities: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(probabilities, dtype=np.float64), FLOOR))


def normalise(log_p: np.ndarray) -> np.ndarray:
    """Log-probabilities that sum to one per row (log-sum-exp)."""
    log_p = np.asarray(log_p, dtype=np.float64)
    top = log_p.max(axis=1, keepdims=True)
    return log_p - (top + np.log(np.exp(log_p - top).sum(axis=1, keepdims=True)))


def fuse(audio_log_p: np.ndarray, text_log_p: np.ndarray, weight: float) -> np.ndarray:
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"fusion weight {weight}: expected a number in [0, 1] (0 audio alone, 1 text alone)")
    audio_log_p, text_log_p = np.asarray(audio_log_p, dtype=np.float64), np.asarray(text_log_p, dtype=np.float64)
    if audio_log_p.shape != text_log_p.shape:
        raise ValueError(f"fusion: audio log-probs {audio_log_p.shape} and text log-probs {text_log_p.shape} differ "
                         f"(expected the same videos and classes, in the same order)")
    if weight == 0.0:
        return normalise(audio_log_p)
    if weight == 1.0:
        return normalise(text_log_p)
    return normalise((1.0 - weight) * audio_log_p + weight * text_log_p)


def choose_weight(audio_log_p: np.ndarray, text_log_p: np.ndarray, labels, grid=WEIGHT_GRID
                  ) -> tuple[float, list[GridRow]]:
    """The grid weight with the lowest mean log-loss on these (validation) videos, and the whole grid's scores."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError("fusion: no validation videos to choose the weight on")
    rows = []
    for weight in grid:
        fused = fuse(audio_log_p, text_log_p, float(weight))
        rows.append(GridRow(weight=float(weight), log_loss=float(-fused[np.arange(len(labels)), labels].mean()),
                            accuracy=float((fused.argmax(axis=1) == labels).mean())))
    best = min(rows, key=lambda row: (round(row.log_loss, 12), row.weight))
    return best.weight, rows


def cross_fit(audio_log_p: np.ndarray, text_log_p: np.ndarray, labels, folds: int = 5, seed: int = 0
              ) -> tuple[np.ndarray, list[FusionFold]]:
    """Fused log-probabilities of these videos where each video's weight is chosen (``choose_weight``) on the videos
    of the other folds only: ``min(folds, n)`` seeded folds. Returns the fused (V, K) log-probs and, per fold, its
    videos and weight."""
    labels = np.asarray(labels)
    n = len(labels)
    if n < 2:
        raise ValueError(f"fusion: cross-fitting needs at least 2 videos, got {n}")
    audio_log_p, text_log_p = np.asarray(audio_log_p, dtype=np.float64), np.asarray(text_log_p, dtype=np.float64)
    order = np.random.default_rng(seed).permutation(n)
    fused, chosen = np.empty_like(audio_log_p), []
    for part in np.array_split(order, min(folds, n)):
        rest = np.setdiff1d(order, part)
        weight, _ = choose_weight(audio_log_p[rest], text_log_p[rest], labels[rest])
        fused[part] = fuse(audio_log_p[part], text_log_p[part], weight)
        chosen.append(FusionFold(videos=int(len(part)), weight=weight))
    return fused, chosen
