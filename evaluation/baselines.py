"""Baselines on the same splits as the fine-tuned model, as the course module asks (deep vs hand-crafted features).

* hand-crafted: MFCC mean/std, spectral centroid, bandwidth, roll-off, zero-crossing rate and RMS (mean/std each),
  via librosa, with scikit-learn logistic regression and random forest;
* frozen encoder: mean-pooled last hidden states of the *base* checkpoint (before fine-tuning) with logistic
  regression.

Classifiers are trained on the training split's clips and give clip log-probabilities, aggregated to videos exactly
like the model's logits.

Example::

    from evaluation.baselines import handcrafted_matrix, fit_predict
    x_train, x_test = handcrafted_matrix(ds["train"]), handcrafted_matrix(ds["test"])
    log_probs = fit_predict("logistic_regression", x_train, ds["train"]["label"], x_test, n_classes=4, seed=0)
"""

from __future__ import annotations

import logging

import numpy as np
from tqdm.auto import tqdm

from common.audio import SAMPLING_RATE
from common.data import clip_array
from evaluation.metrics import majority_class

logger = logging.getLogger(__name__)

N_MFCC = 20
HANDCRAFTED_NAMES = ([f"mfcc{i}_{s}" for s in ("mean", "std") for i in range(N_MFCC)]
                     + [f"{f}_{s}" for f in ("centroid", "bandwidth", "rolloff", "zcr", "rms") for s in ("mean", "std")])


def handcrafted_features(samples: np.ndarray, sampling_rate: int = SAMPLING_RATE) -> np.ndarray:
    """The 50 hand-crafted descriptors of one clip (librosa's default 2048/512 frames)."""
    import librosa

    samples = np.asarray(samples, dtype=np.float32)
    if len(samples) < 2048:  # librosa warns and pads short input; pad explicitly so every clip is framed alike
        samples = np.pad(samples, (0, 2048 - len(samples)))
    mfcc = librosa.feature.mfcc(y=samples, sr=sampling_rate, n_mfcc=N_MFCC)
    spectral = np.stack([
        librosa.feature.spectral_centroid(y=samples, sr=sampling_rate)[0],
        librosa.feature.spectral_bandwidth(y=samples, sr=sampling_rate)[0],
        librosa.feature.spectral_rolloff(y=samples, sr=sampling_rate)[0],
        librosa.feature.zero_crossing_rate(samples)[0],
        librosa.feature.rms(y=samples)[0],
    ])
    pairs = np.stack([spectral.mean(axis=1), spectral.std(axis=1)], axis=1).ravel()
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1), pairs]).astype(np.float64)


def handcrafted_matrix(split, desc: str = "hand-crafted features") -> np.ndarray:
    rows = [handcrafted_features(clip_array(row["audio"]))
            for row in tqdm(split.select_columns(["audio"]), total=len(split), desc=desc, unit="clip")]
    return np.stack(rows) if rows else np.zeros((0, len(HANDCRAFTED_NAMES)))


CLASSIFIERS = ("logistic_regression", "random_forest")


def make_classifier(kind: str, seed: int):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, C=1.0, random_state=seed))
    if kind == "random_forest":
        return RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=1)
    raise ValueError(f"classifier {kind!r}: expected one of {CLASSIFIERS}")


def fit_predict(kind: str, x_train: np.ndarray, y_train, x_eval: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    """Clip log-probabilities ``(n_eval, n_classes)``; a class absent from training gets probability ~0."""
    model = make_classifier(kind, seed).fit(x_train, np.asarray(y_train))
    probs = np.full((len(x_eval), n_classes), 1e-9)
    probs[:, model.classes_] = np.maximum(model.predict_proba(x_eval), 1e-9)
    return np.log(probs)


BASELINE_LABELS = {
    "handcrafted_logistic_regression": "MFCC + spectral, logistic regression",
    "handcrafted_random_forest": "MFCC + spectral, random forest",
    "frozen_encoder_logistic_regression": "frozen base encoder, logistic regression",
}


def run_baselines(train_split, eval_split, n_classes: int, seed: int, encoder_embed=None) -> dict[str, np.ndarray]:
    """Clip log-probabilities of every baseline on ``eval_split``. ``encoder_embed(split) -> (n_clips, hidden)``
    gives frozen-encoder embeddings; when None that baseline is skipped (the caller says why)."""
    y_train = np.asarray(train_split["label"])
    x_train, x_eval = handcrafted_matrix(train_split, "features (train)"), handcrafted_matrix(eval_split, "features (eval)")
    results = {f"handcrafted_{kind}": fit_predict(kind, x_train, y_train, x_eval, n_classes, seed)
               for kind in CLASSIFIERS}
    if encoder_embed is not None:
        e_train, e_eval = encoder_embed(train_split, "frozen encoder (train)"), encoder_embed(eval_split, "frozen encoder (eval)")
        results["frozen_encoder_logistic_regression"] = fit_predict("logistic_regression", e_train, y_train, e_eval,
                                                                    n_classes, seed)
    return results


NOT_REQUESTED = "baselines were not requested (run eval.py with --baselines)"


def majority_reference(inputs, scorer, model) -> dict:
    """Always answering the training split's most frequent class, scored like every system."""
    if "train" not in inputs.dataset:
        return {"missing": "the dataset has no train split to take the majority class from"}
    majority = majority_class(inputs.dataset["train"]["label"], len(inputs.class_names))
    constant = np.full((len(inputs.labels), len(inputs.class_names)), -1e9)
    constant[:, majority] = 0.0
    return {"class": inputs.class_names[majority], **scorer.compare(constant, model)}


def score_baselines(config, inputs, scorer, model) -> tuple[dict, dict]:
    """Every audio baseline fitted on train and scored on the evaluated split: ``(scored, missing reasons)``."""
    if not config.baselines:
        return {}, {"all": NOT_REQUESTED}
    if config.split == "train":
        # the audio baselines are fitted on the train split: scoring them there would report training accuracy
        reason = "--split train: the baselines are fitted on the train split, so they cannot be scored on it"
        return {}, {name: reason for name in BASELINE_LABELS}
    from evaluation.inference import infer_split, load_encoder

    missing, encoder_embed = {}, None
    base = config.base_model or (inputs.run_config or {}).get("base_model")
    if base:
        encoder, base_extractor = load_encoder(base, inputs.class_names, inputs.device)
        encoder_embed = lambda split, desc: infer_split(  # noqa: E731
            encoder, base_extractor, None, split, inputs.window_s, config.batch_size, desc).clip_embeddings
    else:
        missing["frozen_encoder_logistic_regression"] = (
            "no base checkpoint: run_config.json has no base_model and --base_model was not given")
    systems = run_baselines(inputs.dataset["train"], inputs.eval_split, len(inputs.class_names), config.seed,
                            encoder_embed)
    return {name: {**scorer.compare(logits, model), "label": BASELINE_LABELS[name]}
            for name, logits in systems.items()}, missing
