"""Evaluation's inputs: the split to score (``load_inputs``, strict: bad input is an error) and what the report says
about data and training, read defensively from files other stages write.

Every defensive reader returns ``(value, None)`` or ``(None, reason)``: a missing or malformed input becomes a
"not available: <reason>" line in the report, never an exception and never a placeholder.

Example::

    from evaluation.inputs import load_inputs, dataset_summary
    from common.runs import read_run_files
    inputs = load_inputs(config)                   # dataset, split, class names, run files, window, device
    run, missing = read_run_files("runs/w2v")        # missing: {"trainer_state.json": "file not found", ...}
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.data import load_prepared
from common.downloads import MANIFEST, latest_download_records
from common.modeling import pick_device
from common.runs import DEFAULT_WINDOW_SECONDS, default_window_seconds, read_json_object, read_run_files

logger = logging.getLogger(__name__)

def resolve_window(config, run_config: dict | None) -> tuple[float, str]:
    """The window length and where it came from (the report says which)."""
    if config.window_seconds is not None:
        return float(config.window_seconds), "--window_seconds"
    window = default_window_seconds(run_config)
    # the key common.runs took it from: the first whose value is the window
    source = next((f"run_config.json {key}" for key in ("eval_window_seconds", "max_length_seconds")
                   if (run_config or {}).get(key) == window), None)
    return window, source or f"default {DEFAULT_WINDOW_SECONDS:g} s (no window length in run_config.json)"


@dataclass
class EvalInputs:
    dataset: object               # the prepared DatasetDict
    eval_split: object            # dataset[config.split]
    class_names: list[str]
    labels: np.ndarray            # (n_clips,) of the evaluated split
    video_ids: list[str]          # (n_clips,)
    run_files: dict[str, dict]    # run_config.json, trainer_state.json, all_results.json that were found
    run_missing: dict[str, str]   # the others, with the reason
    window_s: float
    window_source: str
    device: str

    @property
    def run_config(self) -> dict | None:
        return self.run_files.get("run_config.json")

    @property
    def validation_selected(self) -> bool:
        """Whether the validation split chose the checkpoint (``load_best_model_at_end``, train.py's default, and
        early stopping): its predictions then flatter the model. Assumed when the run's config is unknown."""
        training_args = (self.run_config or {}).get("training_args") or {}
        return bool(training_args.get("load_best_model_at_end", True))


def load_inputs(config) -> EvalInputs:
    """The dataset and split to evaluate (an unknown or empty split is an error), the run's files, window, device."""
    dataset = load_prepared(config.dataset)
    if config.split not in dataset:
        raise ValueError(f"--split {config.split!r}: dataset {config.dataset} has splits {list(dataset)}")
    eval_split = dataset[config.split]
    if len(eval_split) == 0:
        raise ValueError(f"--split {config.split!r} of {config.dataset} is empty: nothing to evaluate")
    run_files, run_missing = read_run_files(config.model)
    window_s, window_source = resolve_window(config, run_files.get("run_config.json"))
    return EvalInputs(dataset, eval_split, list(eval_split.features["label"].names), np.asarray(eval_split["label"]),
                      [str(v) for v in eval_split["video_id"]], run_files, run_missing, window_s, window_source,
                      pick_device(config.device))


def dataset_summary(dataset, class_names: list[str]) -> dict:
    """Videos, clips and hours per split and class, from the label/video_id/duration_s columns (no decoding)."""
    summary = {}
    for split, data in dataset.items():
        labels, videos, durations = data["label"], data["video_id"], data["duration_s"]
        per_class = {name: {"videos": set(), "clips": 0, "seconds": 0.0} for name in class_names}
        for label, video, duration in zip(labels, videos, durations):
            entry = per_class[class_names[label]]
            entry["videos"].add(video)
            entry["clips"] += 1
            entry["seconds"] += float(duration)
        summary[split] = {name: {"videos": len(e["videos"]), "clips": e["clips"], "hours": e["seconds"] / 3600}
                          for name, e in per_class.items()}
    return summary


def read_prepare_stats(dataset_path: str) -> tuple[dict | None, str | None]:
    path = Path(dataset_path)
    if not path.is_dir():
        return None, f"the dataset {dataset_path!r} is not a local folder (Hub id?), so it has no prepare_stats.json"
    return read_json_object(path / "prepare_stats.json")


def flatten(value, prefix: str = "") -> list[tuple[str, object]]:
    """Nested dicts as ``a.b.c = value`` rows for a two-column table."""
    if isinstance(value, dict):
        rows = []
        for key, inner in value.items():
            rows += flatten(inner, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(value, list) and len(value) > 8:
        return [(prefix, f"{len(value)} items")]
    return [(prefix, value)]


def read_downloads(directories: list[str]) -> tuple[dict | None, str | None]:
    """Per category: ok and failed videos, failure reasons with counts, hours of audio; and the listing counts.

    The directories may be shards of one download (each shard writes the report of the whole listing), so listing
    counts are taken once per distinct listing ``sha256``; a report without one counts on its own. Manifest records
    are keyed by video id across all directories by ``common.downloads``' rule (the one prepare applies): within a
    folder the last record wins, across folders an ok record beats a failure, then the latest ``finished_at``."""
    if not directories:
        return None, "no download directory given (--downloads DIR)"
    reports, problems = {}, []
    latest = {video_id: found.record for video_id, found in latest_download_records(directories).items()
              if "status" in found.record}
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
    return {"per_category": _download_counts(latest.values()), "listing": _listing_counts(reports.values()),
            "n_listings": len(reports), "problems": problems}, None


def _listing_counts(reports) -> dict | None:
    listing = {}
    for report in reports:
        for category, counts in report["per_category"].items():
            merged = listing.setdefault(category, Counter())
            merged.update({k: v for k, v in counts.items() if isinstance(v, (int, float))})
    return {k: dict(v) for k, v in sorted(listing.items())} or None


def _download_counts(records) -> dict:
    per_category = defaultdict(lambda: {"attempted": 0, "ok": 0, "failed": 0, "hours": 0.0, "reasons": Counter(),
                                        "examples": {}})
    for record in sorted(records, key=lambda r: str(r["id"])):
        entry = per_category[str(record.get("category") or "") or "(none)"]
        entry["attempted"] += 1
        if record["status"] == "ok":
            entry["ok"] += 1
            entry["hours"] += float(record.get("duration_s") or 0.0) / 3600
        else:
            entry["failed"] += 1
            entry["reasons"][record["status"]] += 1
            entry["examples"].setdefault(record["status"], str(record.get("message", ""))[:160])
    return {k: {**v, "reasons": dict(v["reasons"].most_common())} for k, v in sorted(per_category.items())}
