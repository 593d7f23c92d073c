"""Clip/video aggregation, classification metrics, video-level bootstrap intervals, tests against chance.

Windows -> clips -> videos: a clip's logits are the mean of its windows' logits; a video's are the mean of its
clips' logits (or a majority vote of its clips' predictions). Confidence intervals resample *videos*, never clips:
clips of one video are not independent, so resampling clips would give intervals that are too narrow.

Example::

    import numpy as np
    from evaluation.metrics import aggregate_clips, aggregate_videos, level_metrics, bootstrap_weights
    clip_logits = aggregate_clips(window_logits, clip_index, n_clips=len(labels))
    videos = aggregate_videos(clip_logits, video_ids, labels, method="mean")
    weights = bootstrap_weights(len(videos.video_ids), n_resamples=1000, seed=0)
    m = level_metrics(videos.labels, videos.predictions, np.arange(len(videos.video_ids)), names, weights)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from common.contract.evaluation import (BinomialTest, ClassScores, Differences, Intervals, LevelScores,
                                        PairedDifference, SystemScores)
from common.metrics import aggregate_clips, confusion_matrix, scores_from_confusion, softmax  # noqa: F401


@dataclass
class VideoAggregate:
    video_ids: list[str]          # sorted unique ids; row i of every array below is video_ids[i]
    labels: np.ndarray            # (V,) true label (all clips of a video share it)
    scores: np.ndarray            # (V, K) probabilities: softmax of mean logits, or vote fractions
    predictions: np.ndarray       # (V,)
    n_clips: np.ndarray           # (V,)
    clip_group: np.ndarray        # (n_clips,) row of each clip's video in the arrays above


def aggregate_videos(clip_logits: np.ndarray, video_ids: Sequence[str], clip_labels: Sequence[int],
                     method: str = "mean") -> VideoAggregate:
    """Video-level predictions from clip logits.

    ``mean``: softmax of the mean clip logits. ``vote``: each clip votes for its argmax; the video takes the class
    with most votes, ties broken by the mean clip logits (so the result never depends on class order).
    """
    if method not in ("mean", "vote"):
        raise ValueError(f"aggregate method {method!r}: expected 'mean' or 'vote'")
    clip_logits = np.asarray(clip_logits, dtype=np.float64)
    clip_labels = np.asarray(clip_labels)
    unique_ids, group = np.unique(np.asarray(video_ids, dtype=object).astype(str), return_inverse=True)
    n_videos, n_classes = len(unique_ids), clip_logits.shape[1]
    n_clips = np.bincount(group, minlength=n_videos)
    mean_logits = np.zeros((n_videos, n_classes))
    np.add.at(mean_logits, group, clip_logits)
    mean_logits /= n_clips[:, None]
    labels = np.zeros(n_videos, dtype=np.int64)
    for v in range(n_videos):
        video_labels = np.unique(clip_labels[group == v])
        if len(video_labels) != 1:
            raise ValueError(f"video {str(unique_ids[v])!r} has clips with different labels {video_labels.tolist()}")
        labels[v] = video_labels[0]
    if method == "mean":
        scores = softmax(mean_logits)
        predictions = scores.argmax(axis=1)
    else:
        votes = np.zeros((n_videos, n_classes))
        np.add.at(votes, (group, clip_logits.argmax(axis=1)), 1.0)
        scores = votes / n_clips[:, None]
        top = votes == votes.max(axis=1, keepdims=True)
        predictions = np.where(top, mean_logits, -np.inf).argmax(axis=1)
    return VideoAggregate([str(v) for v in unique_ids], labels, scores, predictions, n_clips, group)


def point_scores(y_true, y_pred, n_classes: int) -> dict[str, float]:
    """Accuracy and macro-F1 by ``common.metrics.scores_from_confusion``: the function the project's ``evaluate``
    module (what train.py selects checkpoints with) and the bootstrap below both end in, called directly (no
    ``evaluate.Metric.compute``, which writes an Arrow cache under a file lock on every call)."""
    scores = scores_from_confusion(confusion_matrix(np.asarray(y_true), np.asarray(y_pred), n_classes))
    return {"accuracy": float(scores["accuracy"]), "macro_f1": float(scores["macro_f1"])}


def classification_metrics(y_true, y_pred, class_names: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support, confusion counts and row-normalised matrix: the
    point estimates of ``LevelScores`` (as its keyword arguments)."""
    n_classes = len(class_names)
    conf = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(conf).astype(np.float64)
    predicted, support = conf.sum(axis=0), conf.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    pr = precision + recall
    f1 = np.divide(2 * precision * recall, pr, out=np.zeros_like(tp), where=pr > 0)
    row_sums = conf.sum(axis=1, keepdims=True)
    normalised = np.divide(conf, row_sums, out=np.zeros(conf.shape), where=row_sums > 0)
    scores = point_scores(y_true, y_pred, n_classes)
    return dict(
        n=int(conf.sum()), n_correct=int(tp.sum()), accuracy=float(scores["accuracy"]),
        macro_f1=float(scores["macro_f1"]),
        per_class={name: ClassScores(float(precision[k]), float(recall[k]), float(f1[k]), int(support[k]))
                   for k, name in enumerate(class_names)},
        confusion=conf.tolist(), confusion_normalized=normalised.round(6).tolist())


def bootstrap_weights(n_videos: int, n_resamples: int, seed: int) -> np.ndarray:
    """How many times each video is drawn in each resample, ``(n_resamples, n_videos)``; shared by every system
    and both levels so that differences between systems are paired."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_videos, np.full(n_videos, 1.0 / n_videos), size=n_resamples).astype(np.float64)


def bootstrap_scores(y_true, y_pred, groups, n_classes: int, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy and macro-F1 of every resample: each resample is the union of its drawn videos' items (clips or
    the videos themselves) with multiplicity. ``groups[i]`` is the video row (0..V-1) of item i."""
    n_videos = weights.shape[1]
    per_video = np.zeros((n_videos, n_classes * n_classes))
    np.add.at(per_video, (np.asarray(groups), np.asarray(y_true) * n_classes + np.asarray(y_pred)), 1.0)
    confusions = (weights @ per_video).reshape(-1, n_classes, n_classes)
    return scores_from_confusion(confusions)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


CLIP_P_VALUE_MISSING = ("n/a: clips of one video are not independent, so a binomial test over clips would be "
                        "optimistic; the p-value is given at the video level only")


def binomial_test(n_correct: int, n: int, null_accuracy: float) -> BinomialTest:
    """One-sided exact binomial test of accuracy > ``null_accuracy`` (1/K on a balanced split, else the
    majority-class rate). Valid for independent items only: videos, never clips of shared videos."""
    from scipy.stats import binomtest

    p_value = binomtest(int(n_correct), int(n), null_accuracy, alternative="greater").pvalue if n > 0 else float("nan")
    return BinomialTest(p_value=float(p_value), n_correct=int(n_correct), n=int(n), null_accuracy=float(null_accuracy))


def majority_class(train_labels: Sequence[int], n_classes: int) -> int:
    """Most frequent class of the training split (lowest index on a tie)."""
    return int(np.bincount(np.asarray(train_labels), minlength=n_classes).argmax())


def level_metrics(y_true, y_pred, groups, class_names: Sequence[str], weights: np.ndarray,
                  null_accuracy: float | None = None, level: float = 0.95) -> LevelScores:
    """Everything reported for one system at one level (clips or videos), with intervals over videos; the binomial
    test against ``null_accuracy`` only where items are independent (videos: pass it; clips: leave it None)."""
    point = classification_metrics(y_true, y_pred, class_names)
    boot = bootstrap_scores(y_true, y_pred, groups, len(class_names), weights)
    right = int((np.asarray(y_true) == np.asarray(y_pred)).sum())
    test = (binomial_test(right, len(y_true), null_accuracy) if null_accuracy is not None
            else BinomialTest(p_value=None, missing=CLIP_P_VALUE_MISSING))
    return LevelScores(**point, ci=Intervals(accuracy=percentile_interval(boot["accuracy"], level),
                                             macro_f1=percentile_interval(boot["macro_f1"], level)),
                       ci_level=level, n_resamples=int(weights.shape[0]), binomial_test=test)


def paired_difference(y_true, pred_a, pred_b, groups, n_classes: int, weights: np.ndarray,
                      level: float = 0.95) -> PairedDifference:
    """Accuracy of A minus accuracy of B with a paired bootstrap interval (same resampled videos for both)."""
    a = bootstrap_scores(y_true, pred_a, groups, n_classes, weights)["accuracy"]
    b = bootstrap_scores(y_true, pred_b, groups, n_classes, weights)["accuracy"]
    point = float(np.mean(np.asarray(pred_a) == y_true) - np.mean(np.asarray(pred_b) == y_true))
    return PairedDifference(accuracy_difference=point, ci=percentile_interval(a - b, level))


@dataclass
class Scored:
    """One system scored on the evaluated split: its scores at both levels plus the arrays a paired comparison
    needs."""
    clip: LevelScores
    video: LevelScores
    clip_predictions: np.ndarray  # (n_clips,)
    videos: VideoAggregate


class Scorer:
    """Scores every system on the same clips, videos and bootstrap resamples, so that differences are paired.

    The video-level binomial test is against ``null_accuracy`` (1/K, or the majority-class rate of an unbalanced
    split); clips get no p-value (they are not independent)."""

    def __init__(self, labels, video_ids, class_names, n_resamples: int, seed: int, aggregate: str,
                 null_accuracy: float):
        self.labels = np.asarray(labels)
        self.video_ids = [str(v) for v in video_ids]
        self.class_names = list(class_names)
        self.weights = bootstrap_weights(len(set(self.video_ids)), n_resamples, seed)
        self.aggregate = aggregate
        self.null_accuracy = null_accuracy

    def score(self, clip_logits) -> Scored:
        """Clip and video metrics (with intervals) of one system's clip logits."""
        clip_predictions = np.asarray(clip_logits).argmax(axis=1)
        videos = aggregate_videos(clip_logits, self.video_ids, self.labels, self.aggregate)
        video_rows = np.arange(len(videos.video_ids))
        return Scored(
            level_metrics(self.labels, clip_predictions, videos.clip_group, self.class_names, self.weights),
            level_metrics(videos.labels, videos.predictions, video_rows, self.class_names, self.weights,
                          self.null_accuracy),
            clip_predictions, videos)

    def compare(self, clip_logits, model: Scored, name: str = "", class_name: str | None = None) -> SystemScores:
        """Another system's scores plus ``difference_vs_model``: model minus system, paired, at both levels."""
        other = self.score(clip_logits)
        videos, n_classes = model.videos, len(self.class_names)
        return SystemScores(clip=other.clip, video=other.video, name=name, class_name=class_name,
                            difference_vs_model=Differences(
            video=paired_difference(videos.labels, videos.predictions, other.videos.predictions,
                                    np.arange(len(videos.video_ids)), n_classes, self.weights),
            clip=paired_difference(self.labels, model.clip_predictions, other.clip_predictions, videos.clip_group,
                                   n_classes, self.weights)))
