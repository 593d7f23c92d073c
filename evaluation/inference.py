"""Windowed inference over a prepared split: clips are decoded one at a time and fed to ``predict_windows``,
which runs ``batch_size`` windows at a time, so memory depends on the window and batch, not on the split.

Example::

    from evaluation.inference import load_eval_model, infer_split
    model, extractor, columns = load_eval_model("runs/w2v", ["art_music", "food", "history", "travel"])
    out = infer_split(model, extractor, columns, dataset["test"], window_s=10.0, batch_size=8)
    out.clip_logits.shape   # (n_clips, 4), columns in the dataset's ClassLabel order
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

import numpy as np
from tqdm.auto import tqdm

from common.audio import SAMPLING_RATE
from common.data import clip_array
from common.modeling import load_classifier, load_feature_extractor, load_model, predict_windows
from evaluation.metrics import aggregate_clips

logger = logging.getLogger(__name__)


def label_columns(id2label: dict, class_names: Sequence[str], model_name: str) -> list[int]:
    """Model output column for each dataset class, matched by name; a different label set is an error."""
    model_names = [id2label[i] for i in sorted(id2label, key=int)]
    if sorted(model_names) != sorted(class_names):
        raise ValueError(
            f"model {model_name!r} predicts labels {model_names}, but the dataset's ClassLabel names are "
            f"{list(class_names)}: evaluate a model trained on this label set"
        )
    position = {name: i for i, name in enumerate(model_names)}
    return [position[name] for name in class_names]


def load_eval_model(model_name: str, class_names: Sequence[str], device: str = "cpu"):
    """The checkpoint with its own labels, its feature extractor, and the column order of the dataset classes."""
    model, extractor = load_classifier(model_name, device, flag="--model")
    return model, extractor, label_columns(model.config.id2label, class_names, model_name)


def load_encoder(model_name: str, class_names: Sequence[str], device: str = "cpu"):
    """A checkpoint used only for its hidden states (the frozen-encoder baseline): its head is irrelevant."""
    import torch

    # A base checkpoint gets a fresh (unused) head: drawn from a private generator state, so loading it neither
    # reseeds nor advances the caller's torch RNG (eval's --seed keeps deciding everything random after it).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = load_model(model_name, class_names=list(class_names))
    return model.to(device), load_feature_extractor(model_name)


@dataclass
class SplitOutputs:
    clip_logits: np.ndarray        # (n_clips, K) mean window logits, dataset class order
    clip_embeddings: np.ndarray    # (n_clips, hidden) mean of window embeddings
    windows_per_clip: np.ndarray   # (n_clips,)
    n_windows: int
    audio_seconds: float
    inference_seconds: float


def iter_arrays(split, counter: dict, desc: str) -> Iterator[np.ndarray]:
    """Decode clips lazily (only the clip being windowed is in memory) and count the audio seconds fed."""
    for row in tqdm(split.select_columns(["audio"]), total=len(split), desc=desc, unit="clip"):
        samples = clip_array(row["audio"])
        counter["samples"] += len(samples)
        yield samples


def infer_split(model, extractor, columns: Sequence[int] | None, split, window_s: float, batch_size: int,
                desc: str = "eval") -> SplitOutputs:
    counter = {"samples": 0}
    started = time.perf_counter()
    windows = predict_windows(model, extractor, iter_arrays(split, counter, desc), window_s=window_s,
                              batch_size=batch_size, return_embeddings=True)
    elapsed = time.perf_counter() - started
    logits = windows.logits if columns is None else windows.logits[:, list(columns)]
    n_clips = len(split)
    counts = np.bincount(windows.clip_index, minlength=n_clips)
    embeddings = aggregate_clips(windows.embeddings, windows.clip_index, n_clips)
    return SplitOutputs(aggregate_clips(logits, windows.clip_index, n_clips), embeddings, counts,
                        len(windows.clip_index), counter["samples"] / SAMPLING_RATE, elapsed)


def embed_arrays(model, extractor, arrays: Iterable[np.ndarray], n: int, window_s: float, batch_size: int,
                 desc: str = "embed") -> np.ndarray:
    """``(n, hidden)``: the mean pooled last hidden state of each array's windows (the frozen-encoder features)."""
    windows = predict_windows(model, extractor, tqdm(arrays, total=n, desc=desc, unit="clip"), window_s=window_s,
                              batch_size=batch_size, return_embeddings=True)
    return aggregate_clips(windows.embeddings, windows.clip_index, n)


@dataclass
class Inference:
    split: SplitOutputs                  # the evaluated split
    validation: SplitOutputs | None      # validation too, when the audio+text fusion weight is chosen there (the
                                         # run kept its last epoch; else it is cross-fitted on the evaluated split)


def infer(config, inputs) -> Inference:
    """Run the fine-tuned model over the evaluated split (and over validation when the fusion needs it)."""
    model, extractor, columns = load_eval_model(config.model, inputs.class_names, inputs.device)
    run = lambda split, desc: infer_split(model, extractor, columns, split, inputs.window_s,  # noqa: E731
                                          config.batch_size, desc=desc)
    outputs = run(inputs.eval_split, f"eval {config.split}")
    validation = None
    if (config.baselines and config.split not in ("train", "validation") and not inputs.validation_selected
            and len(inputs.dataset.get("validation") or [])):
        # validation did not select the checkpoint, so the fusion weight is chosen there: its predictions are needed
        validation = run(inputs.dataset["validation"], "eval validation (fusion weight)")
    return Inference(outputs, validation)
