"""Evaluation's inputs: the split to score (``load_inputs``, strict: bad input is an error) and what the report says
about data and training, read from the records other stages write (``common.contract``).

A missing input becomes a "not available: <reason>" line in the report, never a placeholder; a malformed record is
an error naming the file and field.

Example::

    from evaluation.inputs import load_inputs, dataset_summary
    inputs = load_inputs(config)          # dataset, split, class names, run files, window, device
    inputs.run.record.eval_window_seconds, inputs.run.missing       # {"trainer_state.json": "... not found", ...}
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.contract import MANIFEST, PrepareStats, RunRecord, latest_download_records, read_build
from common.contract.evaluation import CategoryDownloads, DownloadsSummary, SplitCounts
from common.data import load_prepared
from common.modeling import pick_device
from common.runs import RunFiles, read_json_object, read_run_files, run_window

logger = logging.getLogger(__name__)


def resolve_window(config, run: RunRecord | None) -> tuple[float, str]:
    """The window length and where it came from (the report says which)."""
    if config.window_seconds is not None:
        return float(config.window_seconds), "--window_seconds"
    return run_window(run)


@dataclass
class EvalInputs:
    dataset: object               # the prepared DatasetDict
    eval_split: object            # dataset[config.split]
    class_names: list[str]
    labels: np.ndarray            # (n_clips,) of the evaluated split
    video_ids: list[str]          # (n_clips,)
    run: RunFiles                 # the run record and the Trainer's files that were found
    prepare_stats: PrepareStats | None     # the dataset's build record
    prepare_stats_missing: str | None
    window_s: float
    window_source: str
    device: str

    @property
    def run_record(self) -> RunRecord | None:
        return self.run.record

    @property
    def validation_selected(self) -> bool:
        """Whether the validation split chose the checkpoint (``load_best_model_at_end``, train.py's default, and
        early stopping): its predictions then flatter the model. Assumed when the run's record is unknown."""
        return True if self.run.record is None else self.run.record.selects_checkpoint


def load_inputs(config) -> EvalInputs:
    """The dataset and split to evaluate (an unknown or empty split is an error), the run's files, the dataset's
    build record, window, device."""
    dataset = load_prepared(config.dataset)
    if config.split not in dataset:
        raise ValueError(f"--split {config.split!r}: dataset {config.dataset} has splits {list(dataset)}")
    eval_split = dataset[config.split]
    if len(eval_split) == 0:
        raise ValueError(f"--split {config.split!r} of {config.dataset} is empty: nothing to evaluate")
    run = read_run_files(config.model)
    window_s, window_source = resolve_window(config, run.record)
    stats = read_build(config.dataset)
    missing = None if stats is not None else f"{config.dataset} has no prepare_stats.json (not made by prepare)"
    return EvalInputs(dataset, eval_split, list(eval_split.features["label"].names), np.asarray(eval_split["label"]),
                      [str(v) for v in eval_split["video_id"]], run, stats, missing, window_s, window_source,
                      pick_device(config.device))


def dataset_summary(dataset, class_names: list[str]) -> dict[str, dict[str, SplitCounts]]:
    """Videos, clips and hours per split and class, from the label/video_id/duration_s columns (no decoding)."""
    summary = {}
    for split, data in dataset.items():
        labels, videos, durations = data["label"], data["video_id"], data["duration_s"]
        per_class = {name: (set(), [0], [0.0]) for name in class_names}
        for label, video, duration in zip(labels, videos, durations):
            ids, clips, seconds = per_class[class_names[label]]
            ids.add(video)
            clips[0] += 1
            seconds[0] += float(duration)
        summary[split] = {name: SplitCounts(videos=len(ids), clips=clips[0], hours=seconds[0] / 3600)
                          for name, (ids, clips, seconds) in per_class.items()}
    return summary


def read_downloads(directories: list[str]) -> tuple[DownloadsSummary | None, str | None]:
    """Per category: ok and failed videos, failure reasons with counts, hours of audio; and the listing counts.

    The directories may be shards of one download (each shard writes the report of the whole listing), so listing
    counts are taken once per distinct listing ``sha256``; a report without one counts on its own. Manifest records
    are keyed by video id across all directories by ``common.contract``'s rule (the one prepare applies): within a
    folder the last record wins, across folders an ok record beats a failure, then the latest ``finished_at``."""
    if not directories:
        return None, "no download directory given (--downloads DIR)"
    reports, problems = {}, []
    latest = [found.record for found in latest_download_records(directories, problems).values()]
    for directory in directories:
        manifest = Path(directory) / MANIFEST
        if not manifest.is_file():
            problems.append(f"{manifest} not found")
        report, reason = read_json_object(Path(directory) / "listing_report.json")
        if report is None:
            problems.append(reason)
        elif isinstance(report.get("per_category"), dict):
            reports.setdefault(str(report.get("sha256") or f"no sha256: {directory}"), report)
    if not latest:
        return None, "no manifest records found: " + "; ".join(problems)
    return DownloadsSummary(per_category=_download_counts(latest), listing=_listing_counts(reports.values()),
                            n_listings=len(reports), problems=problems), None


def _listing_counts(reports) -> dict | None:
    listing = {}
    for report in reports:
        for category, counts in report["per_category"].items():
            merged = listing.setdefault(category, Counter())
            merged.update({k: v for k, v in counts.items() if isinstance(v, (int, float))})
    return {k: dict(v) for k, v in sorted(listing.items())} or None


def _download_counts(records) -> dict[str, CategoryDownloads]:
    by_category = defaultdict(list)
    for record in sorted(records, key=lambda r: r.id):
        by_category[record.category or "(none)"].append(record)
    counts = {}
    for category, found in sorted(by_category.items()):
        ok = [record for record in found if record.ok]
        failed = [record for record in found if not record.ok]
        examples = {}
        for record in failed:
            examples.setdefault(record.status, (record.message or "")[:160])
        counts[category] = CategoryDownloads(
            attempted=len(found), ok=len(ok), failed=len(failed),
            hours=sum((record.duration_s or 0.0) for record in ok) / 3600,
            reasons=dict(Counter(record.status for record in failed).most_common()), examples=examples)
    return counts
