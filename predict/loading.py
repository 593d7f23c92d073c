"""Load what the predict commands apply: a run folder written by train.py, or a Hub id.

The loading itself lives in ``common.modeling`` (one implementation for eval and predict); this module gives predict
its triple. The window the model was evaluated with (the run record's ``eval_window_seconds``) becomes the default
window (``common.runs.run_window``). ``model_fingerprint`` names the model's content, so outputs made with an older
checkpoint in the same folder are never taken for the current one's.

Example::

    from predict.loading import load_classifier, model_fingerprint
    model, extractor, run = load_classifier("runs/demo", device="cpu")     # run: the RunRecord, or None
    model_fingerprint("runs/demo")      # "sha256:..." of config + weights + preprocessor config
"""

from __future__ import annotations

from common import modeling
from common.contract import read_run_record
from common.modeling import ModelSourceError, check_model_source  # noqa: F401
from common.runs import model_fingerprint  # noqa: F401


def load_classifier(model: str, device: str = "auto"):
    """(model in eval mode on ``device``, feature extractor, its ``RunRecord`` or None)."""
    classifier, extractor = modeling.load_classifier(model, device)
    return classifier, extractor, read_run_record(model)
