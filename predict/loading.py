"""Load what the predict commands apply: a run folder written by train.py, or a Hub id.

A run folder holds the model and its feature extractor (``save_pretrained``) and ``run_config.json``; the window
the model was evaluated with (``eval_window_seconds``, else ``max_length_seconds``) becomes the default window.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from common.modeling import load_feature_extractor, load_model

logger = logging.getLogger(__name__)
DEFAULT_WINDOW_S = 10.0
RUN_CONFIG = "run_config.json"


def read_run_config(model: str) -> dict:
    path = Path(model) / RUN_CONFIG
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc


def default_window_seconds(run_config: dict) -> float:
    for key in ("eval_window_seconds", "max_length_seconds"):
        value = run_config.get(key)
        if value:
            return float(value)
    return DEFAULT_WINDOW_S


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def check_model_source(model: str) -> None:
    path = Path(model)
    looks_local = model.startswith((".", "/", "~")) or path.exists()
    if looks_local and not (path / "config.json").is_file():
        raise FileNotFoundError(f"MODEL {model!r}: no config.json there; expected a run folder written by train.py "
                                "(save_pretrained) or a Hub id such as facebook/wav2vec2-base")


def load_classifier(model: str, device: str = "auto"):
    """(model in eval mode on ``device``, feature extractor, run_config dict)."""
    check_model_source(model)
    extractor = load_feature_extractor(model)
    classifier = load_model(model).to(pick_device(device)).eval()
    labels = list(classifier.config.id2label.values())
    if all(label.startswith("LABEL_") for label in labels):
        logger.warning("%s has no class names (labels %s): is it a fine-tuned run folder?", model, labels)
    return classifier, extractor, read_run_config(model)
