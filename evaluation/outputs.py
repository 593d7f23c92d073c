"""The files written beside the report: per-clip and per-video predictions (CSV) and the pictures.

Example::

    from evaluation.outputs import write_predictions, draw_figures
    write_predictions(out, eval_split, class_names, clip_logits, windows_per_clip, videos)
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np

from common.contract.evaluation import Figure
from evaluation import plots
from evaluation.metrics import softmax
from common.runs import training_series, write_curves

logger = logging.getLogger(__name__)


def write_predictions(out: Path, eval_split, class_names, clip_logits, windows_per_clip, videos) -> None:
    titles, starts, durations = eval_split["title"], eval_split["start_s"], eval_split["duration_s"]
    labels, video_ids = eval_split["label"], eval_split["video_id"]
    probabilities = softmax(np.asarray(clip_logits))
    with open(out / "predictions_clips.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip", "video_id", "start_s", "duration_s", "windows", "label", "predicted", "correct",
                         *[f"p_{name}" for name in class_names]])
        for i, probs in enumerate(probabilities):
            predicted = int(probs.argmax())
            writer.writerow([i, video_ids[i], f"{starts[i]:.3f}", f"{durations[i]:.3f}", int(windows_per_clip[i]),
                             class_names[labels[i]], class_names[predicted], int(predicted == labels[i]),
                             *[f"{p:.6f}" for p in probs]])
    first_clip = {}
    for i, video in enumerate(video_ids):
        first_clip.setdefault(str(video), i)
    with open(out / "predictions_videos.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video_id", "title", "clips", "label", "predicted", "correct",
                         *[f"p_{name}" for name in class_names]])
        for v, video in enumerate(videos.video_ids):
            writer.writerow([video, titles[first_clip[video]], int(videos.n_clips[v]), class_names[videos.labels[v]],
                             class_names[videos.predictions[v]], int(videos.predictions[v] == videos.labels[v]),
                             *[f"{p:.6f}" for p in videos.scores[v]]])


def draw_figures(out: Path, model, class_names, embeddings, labels, log_history, seed) -> dict[str, Figure]:
    """Every picture of the model's scores (``evaluation.metrics.Scored``), each drawn or with why it is not."""
    figures: dict[str, Figure] = {}

    def attempt(name, make):
        try:
            figures[name] = make()
        except ValueError as error:
            figures[name] = Figure(missing=str(error))
            logger.warning("figure %s not drawn: %s", name, error)

    attempt("confusion_video", lambda: Figure(png=plots.plot_confusion(
        model.video.confusion, class_names, "Video level", out / "confusion_video.png")))
    attempt("confusion_clip", lambda: Figure(png=plots.plot_confusion(
        model.clip.confusion, class_names, "Clip level", out / "confusion_clip.png")))
    attempt("per_class_accuracy", lambda: Figure(png=plots.plot_per_class_accuracy(
        {"clips": model.clip.per_class, "videos": model.video.per_class}, class_names,
        1 / len(class_names), out / "per_class_accuracy.png")))
    if log_history is None:
        figures["training_curves"] = Figure(missing="trainer_state.json is not available")
    elif not training_series(log_history):
        figures["training_curves"] = Figure(missing="trainer_state.json log_history holds no loss or eval_* entries "
                                                    "with an epoch")
    else:
        attempt("training_curves", lambda: Figure(png=str(write_curves(log_history, out / "training_curves.png"))))

    def maps():
        png, html = plots.plot_embedding_maps(plots.project_embeddings(embeddings, seed), labels, class_names,
                                              out / "embeddings.png", out / "embeddings.html")
        return Figure(png=png, html=html)

    attempt("embeddings", maps)
    return figures
