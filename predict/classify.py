"""Classify media files and URLs with a trained run: one label and class probabilities per input, plus a
per-window timeline (start, end, probabilities) that shows where in the recording each class is heard.

Windows are those of ``common.modeling.window_bounds`` (full windows every hop, plus one ending at the end), cut
from a decoded stream by ``common.modeling.iter_windows`` (eval's iterator too), so memory stays flat in the length
of the input. The input's label and probabilities follow
eval.py's rule: softmax (sigmoid for multi-label models) of the mean of its windows' logits; the timeline keeps
each window's own probabilities.

Example::

    from predict import PredictConfig, predict_inputs
    results = predict_inputs(PredictConfig(model="runs/demo", inputs=["talk.m4a"], out="predict_out"))
    print(results[0].label, results[0].probabilities)
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from common.audio import SAMPLING_RATE
from common.values import check_number
from common.jsonl import append_jsonl, atomic_write_json, atomic_write_text, read_jsonl
from common.modeling import MIN_WINDOW_SECONDS, iter_windows, min_input_samples, predict_windows
from common.runs import run_window
from common.provenance import file_sha256, package_versions
from common.seed import set_seed
from predict.loading import check_model_source, load_classifier, model_fingerprint
from predict.sources import Source, resolve_inputs, stream_blocks

logger = logging.getLogger(__name__)
FORMATS = ("table", "json", "csv")
MANIFEST = "predictions.jsonl"
SILENCE_PEAK = 10 ** (-60 / 20)  # an input whose loudest sample stays under -60 dBFS is silent


@dataclass
class PredictConfig:
    model: str = field(metadata={"positional": True, "metavar": "MODEL", "help": "Run folder written by train.py (save_pretrained + run_config.json) or a "
                                         "Hub id of an audio-classification model."})
    inputs: list[str] = field(default_factory=list, metadata={"positional": "+", "metavar": "INPUT",
        "help": "Local media files (any format ffmpeg reads: wav, flac, mp3, m4a, webm, mp4, ...) and/or http(s) "
                "URLs (downloaded through the download stage into OUT/downloads)."})
    format: str = field(default="table", metadata={"help": "What to print: a summary table, JSON (summary and "
                                                           "timelines) or CSV timeline rows.", "choices": FORMATS})
    out: str | None = field(default=None, metadata={
        "help": "Folder for predictions.jsonl, timelines/<id>.json|.csv, run_info.json and URL downloads; re-runs "
                "skip inputs already predicted with the same model and windows."})
    window_seconds: float | None = field(default=None, metadata={
        "help": "Window length in seconds; default: the run record's eval_window_seconds (a model without one: 10)."})
    hop_seconds: float | None = field(default=None, metadata={
        "help": "Hop between window starts in seconds; default: the window length (no overlap)."})
    batch_size: int = field(default=8, metadata={"help": "Windows per forward pass (memory grows with it)."})
    device: str = field(default="auto", metadata={"help": "torch device: auto (cuda when available), cpu, cuda:0, ..."})
    seed: int = field(default=0, metadata={"help": "Seed for torch and numpy (inference is deterministic in eval "
                                                   "mode; the seed is recorded with the outputs)."})

    def __post_init__(self):
        if not self.inputs:
            raise ValueError("no INPUT given: pass at least one media file or URL")
        if self.format not in FORMATS:
            raise ValueError(f"--format {self.format!r}: expected one of {', '.join(FORMATS)}")
        check_number("--window-seconds", self.window_seconds, minimum=MIN_WINDOW_SECONDS, maximum=3600,
                     why="a window of seconds (the encoders take at least 25 ms)")
        check_number("--hop-seconds", self.hop_seconds, minimum=1 / SAMPLING_RATE, maximum=3600)
        check_number("--batch-size", self.batch_size, minimum=1, maximum=4096, integer=True, allow_none=False)
        check_number("--seed", self.seed, minimum=0, integer=True, allow_none=False)


@dataclass
class InputResult:
    input: str
    id: str
    label: str
    probabilities: dict[str, float]
    duration_s: float
    timeline: list[dict]          # one {"start_s", "end_s", "label", "probabilities"} per window
    seconds: float                # wall time spent on this input (decode + model)
    sha256: str | None = None
    url: str | None = None
    offset_s: float = 0.0         # timeline times are in the original video: window time + this section start
    warnings: list[str] = field(default_factory=list)  # why the label may mean little (silent, shorter than a window)
    media_path: str | None = None  # the local file that was decoded (a URL's download), for players and re-use

    @property
    def real_time_factor(self) -> float:
        return self.seconds / self.duration_s if self.duration_s else float("nan")


class PeakLevel:
    """Passes a stream of sample blocks through and keeps its peak absolute sample value."""

    def __init__(self):
        self.peak = 0.0

    def watch(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for block in blocks:
            if len(block):
                self.peak = max(self.peak, float(np.max(np.abs(block))))
            yield block


def input_warnings(name: str, total: int, peak: float, window: int, minimum: int = 0) -> list[str]:
    """What makes a label of this input unreliable: silence, or less audio than one window (the rest is padding),
    or than the model's shortest input (``minimum`` samples: it was padded with silence to it)."""
    warnings = []
    if 0 < total < minimum:
        warnings.append(f"{name}: {total / SAMPLING_RATE * 1000:.1f} ms of audio, shorter than the "
                        f"{minimum / SAMPLING_RATE * 1000:.0f} ms this model takes: padded with silence to it")
    if total and peak < SILENCE_PEAK:
        warnings.append(f"{name}: silent (peak {20 * np.log10(max(peak, 1e-12)):.0f} dBFS): its label means nothing")
    if 0 < total < window:
        warnings.append(f"{name}: {total / SAMPLING_RATE:.2f} s of audio, shorter than one "
                        f"{window / SAMPLING_RATE:g}-s window: the model sees mostly padding")
    return warnings


def window_probabilities(model, logits: np.ndarray) -> np.ndarray:
    """Softmax over classes of each row of ``logits``; sigmoid per class for a multi-label model."""
    scores = torch.from_numpy(np.asarray(logits, np.float32))
    if getattr(model.config, "problem_type", None) == "multi_label_classification":
        return torch.sigmoid(scores).numpy()
    return torch.softmax(scores, dim=-1).numpy()


def predict_stream(model, extractor, blocks: Iterable[np.ndarray], window_s: float, hop_s: float,
                   batch_size: int, desc: str = "windows") -> tuple[np.ndarray, np.ndarray, int]:
    """(logits per window, window starts in samples, total samples) for one input stream."""
    window, hop = int(round(window_s * SAMPLING_RATE)), int(round(hop_s * SAMPLING_RATE))
    logits, starts, batch = [], [], []
    total = 0

    def flush():
        out = predict_windows(model, extractor, [samples for _, samples in batch], window_s=window_s,
                              batch_size=len(batch))
        logits.append(out.logits)
        batch.clear()

    def counted(stream):
        nonlocal total
        for block in stream:
            total += len(block)
            yield block

    for start, samples in tqdm(iter_windows(counted(blocks), window, hop), desc=desc, unit="win", leave=False):
        batch.append((start, samples))
        starts.append(start)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    n_labels = model.config.num_labels
    return (np.concatenate(logits) if logits else np.zeros((0, n_labels), np.float32)), np.asarray(starts), total


def build_result(model, source: Source, names: list[str], logits: np.ndarray, starts: np.ndarray, total: int,
                 window: int, seconds: float, sha256: str | None) -> InputResult:
    if not len(logits):
        raise ValueError(f"input {source.input!r}: decoded to 0 samples (no audio?)")
    # The same rule as eval.py's clip/video scores, so predict and the lab report agree on a recording's label.
    mean = window_probabilities(model, logits.mean(axis=0, keepdims=True))[0]
    probs = window_probabilities(model, logits)
    offset = source.offset_s
    timeline = [{"start_s": round(offset + int(s) / SAMPLING_RATE, 4),
                 "end_s": round(offset + min(int(s) + window, total) / SAMPLING_RATE, 4),
                 "label": names[int(p.argmax())], "probabilities": {n: float(v) for n, v in zip(names, p)}}
                for s, p in zip(starts, probs)]
    return InputResult(input=source.input, id=source.id, label=names[int(mean.argmax())],
                       probabilities={n: float(v) for n, v in zip(names, mean)}, duration_s=total / SAMPLING_RATE,
                       timeline=timeline, seconds=seconds, sha256=sha256, url=source.url, offset_s=offset,
                       media_path=source.path)


def timeline_csv(results: Iterable[InputResult]) -> str:
    results = list(results)
    names = list(results[0].probabilities) if results else []
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["input", "id", "start_s", "end_s", "label", *names])
    for result in results:
        for row in result.timeline:
            writer.writerow([result.input, result.id, row["start_s"], row["end_s"], row["label"],
                             *(f"{row['probabilities'][n]:.6f}" for n in names)])
    return buffer.getvalue()


def result_record(result: InputResult, key: dict) -> dict:
    record = {k: v for k, v in asdict(result).items() if k != "timeline"}
    return {**record, "key": key, "n_windows": len(result.timeline), "timeline_json": f"timelines/{result.id}.json",
            "timeline_csv": f"timelines/{result.id}.csv"}


def write_outputs(out: Path, result: InputResult, key: dict) -> None:
    atomic_write_json(out / "timelines" / f"{result.id}.json", asdict(result))
    atomic_write_text(out / "timelines" / f"{result.id}.csv", timeline_csv([result]))
    append_jsonl(out / MANIFEST, result_record(result, key))


def load_done(out: Path | None) -> dict[str, dict[str, InputResult]]:
    """Results already in ``OUT/predictions.jsonl``: key -> {input id -> result}, so a re-run skips them."""
    done: dict[str, dict[str, InputResult]] = {}
    if out is None or not (out / MANIFEST).is_file():
        return done
    for record in read_jsonl(out / MANIFEST):
        path = out / record.get("timeline_json", "")
        if path.is_file():
            result = InputResult(**json.loads(path.read_text(encoding="utf-8")))
            done.setdefault(_key_text(record["key"]), {})[result.id] = result
    return done


def as_source(result: InputResult, source: Source) -> InputResult:
    """``result`` (computed for the same audio content under another name) under ``source``'s identity: its
    input, id, URL and section offset, the timeline moved to that offset, the warnings naming this input."""
    shift = source.offset_s - result.offset_s
    timeline = [{**row, "start_s": round(row["start_s"] + shift, 4), "end_s": round(row["end_s"] + shift, 4)}
                for row in result.timeline]
    return replace(result, input=source.input, id=source.id, url=source.url, offset_s=source.offset_s,
                   timeline=timeline, warnings=[w.replace(result.input, source.input) for w in result.warnings],
                   media_path=source.path)


def _key_text(key: dict) -> str:
    return "|".join(f"{k}={key[k]}" for k in sorted(key))


def run_info(config: PredictConfig, window_s: float, hop_s: float, results: list[InputResult],
             fingerprint: str) -> dict:
    return {"config": asdict(config), "resolved": {"window_seconds": window_s, "hop_seconds": hop_s},
            "model_fingerprint": fingerprint, "versions": package_versions(ffmpeg=True),
            "inputs": {r.input: {"id": r.id, "sha256": r.sha256, "url": r.url} for r in results}}


def predict_inputs(config: PredictConfig, loaded: tuple | None = None) -> list[InputResult]:
    """Classify every input of ``config``; with ``config.out`` also write timelines, a manifest and run info.
    ``loaded``: ``load_classifier(config.model, config.device)``'s result, kept by a caller that classifies many
    times (the web app), so the model is loaded once."""
    set_seed(config.seed)
    out = Path(config.out) if config.out else None
    check_model_source(config.model)          # a mistyped model, then missing inputs: both before any loading
    sources = resolve_inputs(config.inputs, download_dir=out / "downloads" if out else None)
    model, extractor, run = loaded or load_classifier(config.model, config.device)
    window_s = config.window_seconds or run_window(run)[0]
    hop_s = config.hop_seconds or window_s
    names = [model.config.id2label[i] for i in range(model.config.num_labels)]
    # Keyed on the checkpoint's content, not its path: retraining into the same run folder must not reuse old outputs.
    fingerprint = model_fingerprint(config.model)
    done, results = load_done(out), []
    for source in tqdm(sources, desc="inputs", unit="file", disable=len(sources) < 2):
        sha256 = file_sha256(source.path)
        key = {"model": config.model, "model_sha256": fingerprint, "window_s": window_s, "hop_s": hop_s,
               "sha256": sha256}
        same_content = done.get(_key_text(key), {})
        if source.id in same_content:
            logger.info("%s: already predicted in %s, skipping", source.input, out / MANIFEST)
            results.append(as_source(same_content[source.id], source))
            continue
        if same_content:    # the same audio under another name: reuse the windows, keep this input's identity
            earlier = next(iter(same_content.values()))
            logger.info("%s: same audio as %s, reusing its prediction", source.input, earlier.input)
            result = as_source(earlier, source)
            results.append(result)
            same_content[source.id] = result
            if out is not None:
                write_outputs(out, result, key)
            continue
        began, level = time.perf_counter(), PeakLevel()
        window = int(round(window_s * SAMPLING_RATE))
        logits, starts, total = predict_stream(model, extractor, level.watch(stream_blocks(source.path)), window_s,
                                               hop_s, config.batch_size, desc=source.id)
        result = build_result(model, source, names, logits, starts, total, window, time.perf_counter() - began,
                              sha256)
        result.warnings = input_warnings(source.input, total, level.peak, window, min_input_samples(model.config))
        for warning in result.warnings:
            logger.warning(warning)
        results.append(result)
        done.setdefault(_key_text(key), {})[source.id] = result  # the same audio given twice is predicted once
        if out is not None:
            write_outputs(out, result, key)
    if out is not None:
        atomic_write_json(out / "run_info.json", run_info(config, window_s, hop_s, results, fingerprint))
    return results
