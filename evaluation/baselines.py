"""Baselines on the same splits as the fine-tuned model, as the course module asks (deep vs hand-crafted features).

* hand-crafted: MFCC mean/std, spectral centroid, bandwidth, roll-off, zero-crossing rate and RMS (mean/std each),
  via librosa, with scikit-learn logistic regression and random forest;
* frozen encoder: mean-pooled last hidden states of the *base* checkpoint (before fine-tuning) with logistic
  regression.

Baselines score like they train: the classifiers are fitted on clips of the evaluated clips' length (the dataset's
clip length, from its build record), cut from the training split's rows (which may be longer: prepare's train rows),
and give log-probabilities of the evaluated clips, aggregated to videos exactly like the model's logits. The
report states the unit and the counts (``BaselineProtocol``).

Example::

    from evaluation.baselines import handcrafted_matrix, fit_predict, train_pieces
    pieces = train_pieces(ds["train"], clip_samples=80_000)         # 5-s clips cut from the train rows
    x_train, x_test = handcrafted_matrix(pieces.arrays()), handcrafted_matrix(clip_arrays(ds["test"]))
    log_probs = fit_predict("logistic_regression", x_train, pieces.labels, x_test, n_classes=4, seed=0)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from tqdm.auto import tqdm

from common.audio import SAMPLING_RATE
from common.contract.evaluation import BaselineProtocol, SystemScores
from common.data import clip_array, clip_pieces, read_pieces
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


def handcrafted_matrix(arrays, total: int | None = None, desc: str = "hand-crafted features") -> np.ndarray:
    """The hand-crafted descriptors of each array of ``arrays`` (an iterable of clips), ``(n, 50)``."""
    rows = [handcrafted_features(samples) for samples in tqdm(arrays, total=total, desc=desc, unit="clip")]
    return np.stack(rows) if rows else np.zeros((0, len(HANDCRAFTED_NAMES)))


def clip_arrays(split) -> Iterator[np.ndarray]:
    """Each row of ``split`` decoded, one at a time."""
    for row in split.select_columns(["audio"]):
        yield clip_array(row["audio"])


@dataclass
class TrainPieces:
    """The training split cut into clips of the evaluated length (``common.data.clip_pieces``)."""
    split: object
    rows: list[int]               # the train row of each piece
    starts: list[int]             # its first sample in that row
    samples: int | None           # piece length (None: each row whole)
    labels: np.ndarray            # (n_pieces,)

    def arrays(self) -> Iterator[np.ndarray]:
        """Each piece, read by seeking inside its row's FLAC (only its own samples are decoded)."""
        return read_pieces(self.split, self.rows, self.starts, self.samples)

    def __len__(self) -> int:
        return len(self.rows)


def train_pieces(split, clip_samples: int | None) -> TrainPieces:
    """The rows of ``split`` cut into ``clip_samples`` pieces, back to back; ``None`` keeps each row whole."""
    rows, starts = clip_pieces(split, clip_samples)
    labels = np.asarray(split["label"], dtype=np.int64)[rows] if rows else np.zeros(0, np.int64)
    return TrainPieces(split, rows, starts, clip_samples, labels)


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


def run_baselines(pieces: TrainPieces, eval_split, n_classes: int, seed: int, encoder_embed=None
                  ) -> dict[str, np.ndarray]:
    """Clip log-probabilities of every baseline on ``eval_split``, fitted on ``pieces`` of the train split.
    ``encoder_embed(arrays, n, desc) -> (n, hidden)`` gives frozen-encoder embeddings; when None that baseline is
    skipped (the caller says why)."""
    x_train = handcrafted_matrix(pieces.arrays(), len(pieces), "features (train)")
    x_eval = handcrafted_matrix(clip_arrays(eval_split), len(eval_split), "features (eval)")
    results = {f"handcrafted_{kind}": fit_predict(kind, x_train, pieces.labels, x_eval, n_classes, seed)
               for kind in CLASSIFIERS}
    if encoder_embed is not None:
        e_train = encoder_embed(pieces.arrays(), len(pieces), "frozen encoder (train)")
        e_eval = encoder_embed(clip_arrays(eval_split), len(eval_split), "frozen encoder (eval)")
        results["frozen_encoder_logistic_regression"] = fit_predict("logistic_regression", e_train, pieces.labels,
                                                                    e_eval, n_classes, seed)
    return results


NOT_REQUESTED = "baselines were not requested (run eval.py with --baselines)"


def majority_reference(inputs, scorer, model) -> tuple[SystemScores | None, str | None]:
    """Always answering the training split's most frequent class, scored like every system; or why there is none."""
    if "train" not in inputs.dataset or not len(inputs.dataset["train"]):
        return None, "the dataset has no train split to take the majority class from"
    majority = majority_class(inputs.dataset["train"]["label"], len(inputs.class_names))
    constant = np.full((len(inputs.labels), len(inputs.class_names)), -1e9)
    constant[:, majority] = 0.0
    return scorer.compare(constant, model, name="majority class", class_name=inputs.class_names[majority]), None


@dataclass
class Baselines:
    scored: dict[str, SystemScores]
    missing: dict[str, str]
    protocol: BaselineProtocol | None = None


def score_baselines(config, inputs, scorer, model) -> Baselines:
    """Every audio baseline fitted on clips cut from the train rows and scored on the evaluated split."""
    if not config.baselines:
        return Baselines({}, {"all": NOT_REQUESTED})
    if config.split == "train":
        # the audio baselines are fitted on the train split: scoring them there would report training accuracy
        reason = "--split train: the baselines are fitted on the train split, so they cannot be scored on it"
        return Baselines({}, {name: reason for name in BASELINE_LABELS})
    from evaluation.inference import embed_arrays, load_encoder

    missing, encoder_embed = {}, None
    base = config.base_model or (inputs.run_record.base_model if inputs.run_record else None)
    if base:
        encoder, base_extractor = load_encoder(base, inputs.class_names, inputs.device)
        encoder_embed = lambda arrays, n, desc: embed_arrays(  # noqa: E731
            encoder, base_extractor, arrays, n, inputs.window_s, config.batch_size, desc)
    else:
        missing["frozen_encoder_logistic_regression"] = (
            "no base checkpoint: the run record has no base_model and --base_model was not given")
    build = inputs.prepare_stats.build if inputs.prepare_stats else None
    clip_samples = round(build.clip_seconds * SAMPLING_RATE) if build else None
    pieces = train_pieces(inputs.dataset["train"], clip_samples)
    systems = run_baselines(pieces, inputs.eval_split, len(inputs.class_names), config.seed, encoder_embed)
    protocol = BaselineProtocol(unit_seconds=build.clip_seconds if build else None, train_clips=len(pieces),
                                train_rows=len(inputs.dataset["train"]), eval_clips=len(inputs.eval_split))
    return Baselines({name: scorer.compare(logits, model, name=BASELINE_LABELS[name])
                      for name, logits in systems.items()}, missing, protocol)
