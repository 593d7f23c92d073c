"""Trainer pieces: class-weighted loss, per-epoch crop seeding, clip-level metrics through ``evaluate`` (offline).

Example::

    from training.trainer import ClipMetrics, CropEpochCallback, WeightedLossTrainer
    metrics = ClipMetrics(clip_of_window=windows["row"], n_classes=4)
    trainer = WeightedLossTrainer(class_weights=None, model=model, args=args, compute_metrics=metrics, ...)
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from transformers import Trainer, TrainerCallback

METRICS_DIR = Path(__file__).resolve().parents[1] / "metrics"


def load_metric(name: str):
    """An ``evaluate`` metric from the project's ``metrics/<name>`` folder: loading by path needs no Hub."""
    import evaluate

    return evaluate.load(str(METRICS_DIR / name))


class WeightedLossTrainer(Trainer):
    """``Trainer`` whose loss is cross-entropy with per-class weights (None: the model's own unweighted loss)."""

    # compute_loss returns a per-batch mean: Trainer divides it by the gradient accumulation steps.
    loss_is_scaled_for_ga = False

    def __init__(self, *args, class_weights: torch.Tensor | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.class_weights is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        weight = self.class_weights.to(outputs.logits.device)
        loss = torch.nn.functional.cross_entropy(outputs.logits.float(), labels, weight=weight)
        return (loss, outputs) if return_outputs else loss


class CropEpochCallback(TrainerCallback):
    """Tell ``RandomCrops`` which epoch starts, so crops differ per epoch and a resumed epoch repeats its crops.

    ``state.epoch`` is the fractional epoch reached: a whole number at an epoch boundary, e.g. 1.5 after resuming
    in the middle of the second epoch; its floor is the epoch that is starting."""

    def __init__(self, crops):
        self.crops = crops

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.crops.epoch = math.floor((state.epoch or 0.0) + 1e-9)


class ClipMetrics:
    """``compute_metrics`` over evaluation windows: clip accuracy and macro-F1 from the mean of each clip's window
    logits (the headline figures), plus window accuracy."""

    def __init__(self, clip_of_window, n_classes: int):
        self.clip_of_window = np.asarray(clip_of_window, dtype=np.int64)
        self.n_classes = n_classes
        self.accuracy = load_metric("accuracy")
        self.f1 = load_metric("f1")

    def __call__(self, prediction) -> dict:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        labels = np.asarray(prediction.label_ids)
        if len(logits) != len(self.clip_of_window):
            raise ValueError(f"got predictions for {len(logits)} windows, expected {len(self.clip_of_window)}: "
                             "ClipMetrics was built for another evaluation set")
        clips = np.unique(self.clip_of_window)
        sums = np.zeros((clips.max() + 1, logits.shape[1]))
        np.add.at(sums, self.clip_of_window, logits.astype(np.float64))
        clip_labels = np.zeros(clips.max() + 1, dtype=np.int64)
        clip_labels[self.clip_of_window] = labels
        clip_pred = sums[clips].argmax(-1)  # argmax of the sum = argmax of the mean
        return {
            "accuracy": self.accuracy.compute(predictions=clip_pred, references=clip_labels[clips])["accuracy"],
            "f1": self.f1.compute(predictions=clip_pred, references=clip_labels[clips], average="macro",
                                  labels=list(range(self.n_classes)))["f1"],
            "window_accuracy": float((logits.argmax(-1) == labels).mean()),
        }
