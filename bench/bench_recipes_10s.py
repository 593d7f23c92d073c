"""Whisper at 10-s clips on real weights and real audio: the clip's length (train.py's default, 500 encoder
positions) against Whisper's 30-s input, as ``bench/bench_recipes.py`` does at 5 s (same development set, model,
training budget, seeds and paired intervals; 10-s clips every 2.5 s, at most 6 per recording).

    python -m bench --only recipes-10s        # ~16 min on 2 CPU cores
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.bench_recipes import (cache_dir, difference_rows, per_seed_accuracy, prepared_devset, train_recipes,
                                 whisper_tiny_en)

CLIP_S = 10.0
RECIPES = {"30-s input": ["--whisper_input_seconds", "30"], "clip length": []}


def run(tmp_dir: Path) -> dict:
    """Fine-tunes real whisper-tiny.en on 10-s clips of the development set at the clip's length and at Whisper's
    30-s input, 3 seeds: time per epoch (target >= 2.5x faster), test throughput, accuracy with paired intervals
    (target: not lower)."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    model = whisper_tiny_en(cache)
    dataset = prepared_devset(Path(tmp_dir), cache, clip_s=CLIP_S)
    scores = train_recipes({name: {"dataset": dataset, "extra": extra, "crop_s": CLIP_S}
                            for name, extra in RECIPES.items()}, model, Path(tmp_dir))
    slow, fast = scores["30-s input"], scores["clip length"]
    epoch = {name: float(np.mean([r["epoch_s"] for r in runs])) for name, runs in scores.items()}
    speed = {name: float(np.mean([r["predict_clips_per_s"] for r in runs])) for name, runs in scores.items()}
    rows = [{"figure": "10-s clips, Whisper at the clip's length: seconds per training epoch (48 clips)",
             "value": round(epoch["clip length"], 1), "unit": "s", "reference": round(epoch["30-s input"], 1),
             "ratio": round(epoch["30-s input"] / epoch["clip length"], 2), "target": ">= 2.5x"},
            {"figure": "10-s clips, Whisper at the clip's length: test clips/s",
             "value": round(speed["clip length"], 1), "unit": "clips/s", "reference": round(speed["30-s input"], 1),
             "ratio": round(speed["clip length"] / speed["30-s input"], 2), "target": ">= 2.5x"}]
    rows += difference_rows(fast, slow, f"10-s clips, clip length vs 30-s input, {len(fast[0]['recording_ids'])} "
                                        "recordings", "not lower")
    return {"rows": rows, "per_seed_video_accuracy": per_seed_accuracy(scores)}
