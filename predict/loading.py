"""Load what the predict commands apply: a run folder written by train.py, or a Hub id.

A run folder holds the model and its feature extractor (``save_pretrained``) and ``run_config.json``; the window
the model was evaluated with (``eval_window_seconds``, else ``max_length_seconds``) becomes the default window
(``common.modeling.default_window_seconds``). ``model_fingerprint`` (from ``common.modeling``) names the model's content, so outputs made with
an older checkpoint in the same folder are never taken for the current one's.

Example::

    from predict.loading import load_classifier, model_fingerprint
    model, extractor, run_config = load_classifier("runs/demo", device="cpu")
    model_fingerprint("runs/demo")      # "sha256:..." of config + weights + preprocessor config
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from common.modeling import load_feature_extractor, load_model, model_fingerprint, pick_device  # noqa: F401

logger = logging.getLogger(__name__)
RUN_CONFIG = "run_config.json"
# owner/name as the Hub accepts it: letters, digits, "-", "_", "."; no "--" or ".." and no leading/trailing "-" or ".".
HUB_ID = re.compile(r"^(?!.*(--|\.\.))[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}(?<![.-])$")


class ModelSourceError(FileNotFoundError):
    """MODEL is neither a run folder nor a Hub id that can be loaded here; the message names the value."""


def read_run_config(model: str) -> dict:
    path = Path(model) / RUN_CONFIG
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc


def hub_offline() -> bool:
    from huggingface_hub import constants

    return constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE")


def _cached_config(model: str) -> str | None:
    """Path of the Hub model's cached config.json, or None when it is not in the local cache."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model, "config.json")
    return found if isinstance(found, str) else None


def check_model_source(model: str) -> None:
    """Raise ``ModelSourceError`` unless MODEL is a run folder with config.json or a loadable-looking Hub id."""
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelSourceError(f"MODEL {model!r}: no config.json there; expected a run folder written by train.py "
                                   "(save_pretrained) or a Hub id such as facebook/wav2vec2-base")
        return
    parent = path.parent
    if not HUB_ID.match(model) or (str(parent) not in ("", ".") and parent.is_dir()):
        # "runs/dmeo" next to an existing runs/ is a mistyped run folder, not a Hub id.
        raise ModelSourceError(f"no such run folder or Hub model: {model} (expected a folder written by train.py, or "
                               "a Hub id owner/name such as facebook/wav2vec2-base)")
    if hub_offline() and _cached_config(model) is None:
        raise ModelSourceError(f"no such run folder or Hub model: {model} (HF_HUB_OFFLINE=1 and it is not in the "
                               "local Hub cache; download it once online or give a run folder)")


def load_classifier(model: str, device: str = "auto"):
    """(model in eval mode on ``device``, feature extractor, run_config dict)."""
    check_model_source(model)
    extractor = load_feature_extractor(model)
    classifier = load_model(model).to(pick_device(device)).eval()
    labels = list(classifier.config.id2label.values())
    if all(label.startswith("LABEL_") for label in labels):
        logger.warning("%s has no class names (labels %s): is it a fine-tuned run folder?", model, labels)
    return classifier, extractor, read_run_config(model)
