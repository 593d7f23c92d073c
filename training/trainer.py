"""Trainer pieces: class-weighted loss, per-epoch crop seeding, clip-level metrics.

Clip metrics during training go through the project's ``evaluate`` module (``metrics/classification``, loaded by path:
offline), which computes them with the same functions eval.py reports with (``common.metrics``: windows -> clips by
mean logits, accuracy and macro-F1 from one confusion matrix), so the validation accuracy that selects a checkpoint
and the accuracy in the lab report are one number computed one way.

Example::

    from training.trainer import ClipMetrics, CropEpochCallback, WeightedLossTrainer
    metrics = ClipMetrics(clip_of_window=windows["row"], n_classes=4)
    trainer = WeightedLossTrainer(class_weights=None, model=model, args=args, compute_metrics=metrics, ...)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from transformers import Trainer, TrainerCallback

from common.metrics import aggregate_clips, load_metric


HEAD_MODULES = ("projector", "classifier", "layer_weights")   # what AutoModelForAudioClassification adds on top


def is_head_parameter(name: str) -> bool:
    """Whether a parameter belongs to the head added for classification (not the pretrained encoder)."""
    return name.split(".")[0] in HEAD_MODULES


class WeightedLossTrainer(Trainer):
    """``Trainer`` whose loss is cross-entropy with per-class weights (None: the model's own unweighted loss), and
    whose optimizer gives the head ``head_lr_multiplier`` times the learning rate of the encoder."""

    # compute_loss returns a per-batch mean: Trainer divides it by the gradient accumulation steps.
    loss_is_scaled_for_ga = False
    class_weights: torch.Tensor | None = None
    head_lr_multiplier = 1.0
    spec_augment = 0.0

    def __init__(self, *args, class_weights: torch.Tensor | None = None, head_lr_multiplier: float = 1.0,
                 spec_augment: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.class_weights = class_weights
        self.head_lr_multiplier = head_lr_multiplier
        self.spec_augment = spec_augment

    def create_optimizer(self, model=None):
        """Trainer's optimizer (its class and settings, its weight-decay rule), with the head's parameters in groups
        of their own at ``head_lr_multiplier`` x the learning rate; the scheduler then scales every group alike."""
        if self.head_lr_multiplier == 1.0 or self.optimizer is not None:
            return super().create_optimizer(model) if model is not None else super().create_optimizer()
        model = model or self.model
        decay = set(self.get_decay_parameter_names(model))
        groups = []
        for head in (False, True):
            for decayed in (True, False):
                params = [p for n, p in model.named_parameters()
                          if p.requires_grad and is_head_parameter(n) == head and (n in decay) == decayed]
                if params:
                    groups.append({"params": params, "weight_decay": self.args.weight_decay if decayed else 0.0,
                                   **({"lr": self.args.learning_rate * self.head_lr_multiplier} if head else {})})
        optimizer_cls, optimizer_kwargs = Trainer.get_optimizer_cls_and_kwargs(self.args, model)
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.spec_augment and model.training:
            inputs = dict(inputs)
            generator = torch.Generator().manual_seed(self.args.seed * 1_000_003 + self.state.global_step)
            inputs.update(mask_spectrogram(inputs, self.spec_augment, generator))
        if self.class_weights is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        weight = self.class_weights.to(outputs.logits.device)
        loss = torch.nn.functional.cross_entropy(outputs.logits.float(), labels, weight=weight)
        return (loss, outputs) if return_outputs else loss


def mask_spectrogram(inputs: dict, fraction: float, generator: torch.Generator) -> dict:
    """SpecAugment-style masks on a batch of spectrograms: per example one time band and one frequency band, each of
    a random width up to ``fraction`` of its axis, set to that example's mean. AST's ``input_values`` are (batch,
    time, mel), Whisper's ``input_features`` (batch, mel, time); waveform inputs are returned unchanged."""
    if "input_features" in inputs:
        key, time_axis, freq_axis = "input_features", 2, 1
    elif "input_values" in inputs and inputs["input_values"].dim() == 3:
        key, time_axis, freq_axis = "input_values", 1, 2
    else:
        return {}
    features = inputs[key].clone()
    for example in range(features.shape[0]):
        fill = features[example].mean()
        for axis in (time_axis, freq_axis):
            size = features.shape[axis]
            width = int(torch.randint(0, max(1, int(fraction * size)) + 1, (1,), generator=generator))
            start = int(torch.randint(0, size - width + 1, (1,), generator=generator))
            index = [example, slice(None), slice(None)]
            index[axis] = slice(start, start + width)
            features[tuple(index)] = fill
    return {key: features}


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
    logits, window accuracy, and with ``video_of_clip`` (each clip's video id) video accuracy and macro-F1 from the
    mean of each video's clip logits, as eval.py scores a video (the label and the headline are per video)."""

    def __init__(self, clip_of_window, n_classes: int, video_of_clip=None):
        self.clip_of_window = np.asarray(clip_of_window, dtype=np.int64)
        self.n_classes = n_classes
        self.video_of_clip = None if video_of_clip is None else [str(v) for v in video_of_clip]
        self.metric = load_metric()

    def __call__(self, prediction) -> dict:
        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        labels = np.asarray(prediction.label_ids)
        if len(logits) != len(self.clip_of_window):
            raise ValueError(f"got predictions for {len(logits)} windows, expected {len(self.clip_of_window)}: "
                             "ClipMetrics was built for another evaluation set")
        clips, clip_of_window = np.unique(self.clip_of_window, return_inverse=True)
        clip_logits = aggregate_clips(logits, clip_of_window, len(clips))
        clip_labels = np.zeros(len(clips), dtype=np.int64)
        clip_labels[clip_of_window] = labels
        scores = self.metric.compute(predictions=clip_logits.argmax(-1), references=clip_labels,
                                     num_classes=self.n_classes)
        result = {
            "accuracy": scores["accuracy"],
            "f1": scores["macro_f1"],
            "window_accuracy": float((logits.argmax(-1) == labels).mean()),
        }
        if self.video_of_clip is not None:
            videos, video_of_clip = np.unique(np.asarray(self.video_of_clip)[clips], return_inverse=True)
            video_logits = aggregate_clips(clip_logits, video_of_clip, len(videos))
            video_labels = np.zeros(len(videos), dtype=np.int64)
            video_labels[video_of_clip] = clip_labels
            per_video = self.metric.compute(predictions=video_logits.argmax(-1), references=video_labels,
                                            num_classes=self.n_classes)
            result.update(video_accuracy=per_video["accuracy"], video_f1=per_video["macro_f1"])
        return result
