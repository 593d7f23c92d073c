"""Metrics of evaluation/metrics.py against hand-computed numbers."""

import math

import numpy as np
import pytest
from sklearn.metrics import f1_score

from evaluation.metrics import (aggregate_clips, aggregate_videos, binomial_test, bootstrap_scores, bootstrap_weights,
                                classification_metrics, level_metrics, majority_class, paired_difference,
                                scores_from_confusion)

NAMES = ["a", "b", "c"]
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 1, 2, 2, 0])


def test_metrics_match_hand_computed_fixture():
    m = classification_metrics(Y_TRUE, Y_PRED, NAMES)
    # confusion rows (true): a -> [2,1,0]; b -> [0,2,0]; c -> [1,0,2]
    assert m["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 2]]
    assert m["accuracy"] == pytest.approx(6 / 8)
    # a: TP2 FP1 FN1 -> P=R=F1=2/3; b: TP2 FP1 FN0 -> P=2/3 R=1 F1=0.8; c: TP2 FP0 FN1 -> P=1 R=2/3 F1=0.8
    assert m["per_class"]["a"].to_json() == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert m["per_class"]["b"].to_json() == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2})
    assert m["per_class"]["c"].to_json() == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert m["macro_f1"] == pytest.approx(34 / 45)
    assert m["confusion_normalized"][0] == pytest.approx([2 / 3, 1 / 3, 0.0], abs=1e-6)
    assert m["n"] == 8 and m["n_correct"] == 6


def test_absent_class_counts_as_zero_f1_like_sklearn():
    names = NAMES + ["d"]
    m = classification_metrics(Y_TRUE, Y_PRED, names)
    assert m["macro_f1"] == pytest.approx(34 / 60)
    assert m["macro_f1"] == pytest.approx(f1_score(Y_TRUE, Y_PRED, labels=range(4), average="macro", zero_division=0))
    assert m["per_class"]["d"].to_json() == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}


def test_vectorised_scores_equal_sklearn_on_random_stacks():
    """Bug caught: scores_from_confusion mixing up matrices of one stack (the bootstrap scores thousands at once),
    or mishandling a class that neither labels nor predictions contain (every 4th draw has no class 3)."""
    rng = np.random.default_rng(1)
    draws = [(rng.integers(0, 3 if i % 4 == 0 else 4, 30), rng.integers(0, 3 if i % 4 == 0 else 4, 30))
             for i in range(20)]
    stack = np.stack([classification_metrics(t, p, list("abcd"))["confusion"] for t, p in draws])
    got = scores_from_confusion(stack)
    assert got["macro_f1"].shape == got["accuracy"].shape == (20,)
    for i, (t, p) in enumerate(draws):
        assert got["macro_f1"][i] == pytest.approx(f1_score(t, p, labels=range(4), average="macro", zero_division=0))
        assert got["accuracy"][i] == pytest.approx(np.mean(t == p))
    assert not (draws[0][0] == 3).any() and not (draws[0][1] == 3).any()


def test_binomial_test_hand_computed():
    # P(X >= 6), X ~ Bin(8, 1/3) = (C(8,6) 2^2 + C(8,7) 2 + 1) / 3^8 = 129 / 6561
    result = binomial_test(6, 8, 1 / 3)
    assert result.p_value == pytest.approx(129 / 6561)
    assert result.null_accuracy == pytest.approx(1 / 3)
    # against a majority-class rate of 1/2: P(X >= 6), X ~ Bin(8, 1/2) = (28 + 8 + 1) / 256
    assert binomial_test(6, 8, 0.5).p_value == pytest.approx(37 / 256)


def test_p_value_only_where_items_are_independent():
    weights = bootstrap_weights(4, 50, seed=0)
    videos = level_metrics([0, 0, 1, 1], [0, 0, 1, 0], np.arange(4), ["a", "b"], weights, null_accuracy=0.5)
    clips = level_metrics([0, 0, 1, 1], [0, 0, 1, 0], np.arange(4), ["a", "b"], weights)
    # P(X >= 3), X ~ Bin(4, 1/2) = 5/16
    assert videos.binomial_test.p_value == pytest.approx(5 / 16)
    assert clips.binomial_test.p_value is None and "not independent" in clips.binomial_test.missing


def test_clip_aggregation_is_mean_of_windows():
    window_logits = np.array([[1.0, 0.0], [3.0, 2.0], [0.0, 5.0], [-1.0, 1.0]])
    clip_logits = aggregate_clips(window_logits, np.array([0, 0, 1, 0]), n_clips=2)
    np.testing.assert_allclose(clip_logits, [[1.0, 1.0], [0.0, 5.0]])
    with pytest.raises(ValueError, match="clips without windows: \\[1\\]"):
        aggregate_clips(window_logits[:1], np.array([0]), n_clips=2)


def test_video_aggregation_exact_on_constructed_example():
    clip_logits = np.array([
        [2.0, 0.0, 0.0], [0.0, 1.0, 0.0],                   # video "b", label 0: mean [1, .5, 0] -> 0
        [0.0, 3.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0],  # video "a", label 1: mean [2/3, 1, 0] -> 1; votes 0,0 vs 1
        [0.0, 0.0, 5.0], [4.0, 0.0, 0.0],                   # video "c", label 2: vote tie 0/2, mean [2, 0, 2.5] -> 2
    ])
    video_ids = ["b", "b", "a", "a", "a", "c", "c"]
    labels = [0, 0, 1, 1, 1, 2, 2]
    mean = aggregate_videos(clip_logits, video_ids, labels, "mean")
    assert mean.video_ids == ["a", "b", "c"]
    assert mean.labels.tolist() == [1, 0, 2]
    assert mean.n_clips.tolist() == [3, 2, 2]
    assert mean.predictions.tolist() == [1, 0, 2]
    expected_b = np.exp([1.0, 0.5, 0.0]) / np.exp([1.0, 0.5, 0.0]).sum()
    np.testing.assert_allclose(mean.scores[1], expected_b)
    assert mean.clip_group.tolist() == [1, 1, 0, 0, 0, 2, 2]
    vote = aggregate_videos(clip_logits, video_ids, labels, "vote")
    assert vote.predictions.tolist() == [0, 0, 2]
    np.testing.assert_allclose(vote.scores[0], [2 / 3, 1 / 3, 0.0])
    np.testing.assert_allclose(vote.scores[2], [0.5, 0.0, 0.5])


def test_video_with_mixed_labels_is_an_error():
    with pytest.raises(ValueError, match="video 'x' has clips with different labels"):
        aggregate_videos(np.zeros((2, 2)), ["x", "x"], [0, 1])


def _videos(n_videos, accuracy, rng):
    labels = rng.integers(0, 4, n_videos)
    correct = np.arange(n_videos) < round(accuracy * n_videos)
    predictions = np.where(correct, labels, (labels + 1) % 4)
    return labels, predictions


def test_intervals_contain_point_and_shrink_with_more_videos():
    rng = np.random.default_rng(0)
    widths = {}
    for n_videos in (20, 320):
        labels, predictions = _videos(n_videos, 0.7, rng)
        weights = bootstrap_weights(n_videos, 1000, seed=0)
        m = level_metrics(labels, predictions, np.arange(n_videos), list("abcd"), weights)
        for metric in ("accuracy", "macro_f1"):
            low, high = getattr(m.ci, metric)
            assert low <= getattr(m, metric) <= high, (n_videos, metric, getattr(m, metric), getattr(m.ci, metric))
        widths[n_videos] = m.ci.accuracy[1] - m.ci.accuracy[0]
    # width ~ 1/sqrt(n): 16x the videos -> about 1/4 of the width
    assert widths[320] < widths[20] / 2.5, widths


def test_clip_level_interval_resamples_videos_not_clips():
    # two videos of 50 clips: one all right, one all wrong. Resampling clips would give ~[0.4, 0.6];
    # resampling videos gives {0, 0.5, 1} -> [0, 1].
    labels = np.zeros(100, dtype=int)
    predictions = np.r_[np.zeros(50, dtype=int), np.ones(50, dtype=int)]
    groups = np.r_[np.zeros(50, dtype=int), np.ones(50, dtype=int)]
    m = level_metrics(labels, predictions, groups, ["a", "b"], bootstrap_weights(2, 400, seed=0))
    assert m.ci.accuracy == (0.0, 1.0)


def test_paired_interval_is_narrower_than_unpaired_for_correlated_systems():
    """B is right on a subset of A's videos (A fixes 10 of B's 200 videos): the paired difference is 10/200 on every
    video drawn, so its interval is narrow and above zero; resampling the two systems independently would give an
    interval about as wide as either accuracy's, straddling zero."""
    n_videos = 200
    labels = np.zeros(n_videos, dtype=int)
    a_right = np.arange(n_videos) < 160                  # A: 160/200
    b_right = np.arange(n_videos) < 150                  # B: the first 150 of A's 160
    pred_a, pred_b = np.where(a_right, 0, 1), np.where(b_right, 0, 1)
    groups = np.arange(n_videos)
    weights = bootstrap_weights(n_videos, 1000, seed=1)
    paired = paired_difference(labels, pred_a, pred_b, groups, 2, weights)
    assert paired.accuracy_difference == pytest.approx(0.05)
    low, high = paired.ci
    assert 0.0 < low < 0.05 < high < 0.1
    independent = (bootstrap_scores(labels, pred_a, groups, 2, weights)["accuracy"]
                   - bootstrap_scores(labels, pred_b, groups, 2, bootstrap_weights(n_videos, 1000, seed=2))["accuracy"])
    unpaired_low, unpaired_high = np.percentile(independent, [2.5, 97.5])
    assert unpaired_low < 0.0 < unpaired_high                  # unpaired resampling cannot tell A from B here
    assert (high - low) < (unpaired_high - unpaired_low) / 2


def test_majority_class_and_a_hopeless_test():
    assert majority_class([2, 1, 2, 0, 1], 3) == 1 and majority_class([2, 2, 0], 3) == 2
    assert math.isclose(binomial_test(0, 10, 0.25).p_value, 1.0)


def test_the_evaluate_module_matches_scikit_learn_and_is_what_training_reports():
    from sklearn.metrics import accuracy_score, f1_score

    from common.metrics import load_metric
    from training.trainer import ClipMetrics

    rng = np.random.default_rng(3)
    references = rng.integers(0, 4, 40)
    predictions = np.where(rng.random(40) < 0.6, references, rng.integers(0, 3, 40))  # class 3 is never predicted
    scores = load_metric().compute(predictions=predictions, references=references, num_classes=4)
    assert scores["accuracy"] == pytest.approx(accuracy_score(references, predictions))
    assert scores["macro_f1"] == pytest.approx(f1_score(references, predictions, average="macro", zero_division=0))
    # eval's point estimates call the function the module wraps directly: the same numbers as the module's
    from evaluation.metrics import point_scores
    assert point_scores(references, predictions, 4) == pytest.approx(scores)

    # ClipMetrics: two windows per clip, the clip's prediction is the argmax of their mean logits
    logits = np.eye(4)[predictions].repeat(2, axis=0) + 0.01 * rng.standard_normal((80, 4))
    prediction = type("P", (), {"predictions": logits, "label_ids": references.repeat(2)})()
    training = ClipMetrics(clip_of_window=np.arange(40).repeat(2), n_classes=4)(prediction)
    assert (training["accuracy"], training["f1"]) == pytest.approx((scores["accuracy"], scores["macro_f1"]))
