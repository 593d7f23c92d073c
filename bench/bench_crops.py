"""Real crop augmentation, as shipped, on real weights and real audio: prepare's default train rows (3 clips long,
``--train-clip-seconds``) with train.py's default of one new random crop per clip length of each row every epoch
(``--crops_per_row``), against plain clips of the same audio (``--train-clip-seconds`` = ``--clip-seconds``: the same
crop every epoch). Both train for the same epochs, and so about the same steps (the crops per epoch are reported),
on the same recordings, from the same seeds; model, development set, scoring and paired intervals are
``bench/bench_recipes.py``'s (5-s clips and crops, at most 6 clips per recording, every training row used).

    python -m bench --only crops        # ~8 min on 2 CPU cores
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.bench_recipes import (CLIP_S, EPOCHS, MAX_CLIPS, cache_dir, difference_rows, per_seed_accuracy,
                                 train_recipes, whisper_tiny_en)

CLIPS, ROWS = "5-s clips", "default train rows"


def crops_per_epoch(dataset: Path) -> int:
    """The training crops of one epoch of ``dataset``, as train.py draws them (``training.data.crops_per_row``, one
    per clip length of the dataset's build record)."""
    from common.contract import read_build
    from common.data import load_prepared
    from training.data import crops_per_row

    splits = load_prepared(str(dataset))
    return sum(crops_per_row(splits["train"]["duration_s"], read_build(str(dataset)).build.clip_seconds))


def run(tmp_dir: Path) -> dict:
    """Fine-tunes real whisper-tiny.en on prepare's default train rows (a new random 5-s crop per 5 s of each 15-s
    row every epoch) and on 5-s clips of the same audio, same epochs and steps, 3 seeds: paired video and clip accuracy
    differences with 95% intervals (target: a gain, the rows being the default)."""
    from bench.devset import build_devset
    from prepare import PrepareConfig, prepare_dataset

    tmp_dir, cache = Path(tmp_dir), cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    model = whisper_tiny_en(cache)
    common = dict(audiofolder=str(build_devset(tmp_dir / "devset", cache)), clip_seconds=CLIP_S,
                  max_clips_per_video=MAX_CLIPS, split="0.4,0.1,0.5", balance="none", seed=0)
    datasets = {CLIPS: tmp_dir / "clips", ROWS: tmp_dir / "rows"}
    prepare_dataset(PrepareConfig(out=str(datasets[CLIPS]), train_clip_seconds=CLIP_S, **common))
    prepare_dataset(PrepareConfig(out=str(datasets[ROWS]), **common))              # prepare's default rows
    crops = {name: crops_per_epoch(path) for name, path in datasets.items()}
    # Not always equal: a row's loudness is its whole length's (a silent clip inside a loud row is kept), and a
    # video that holds clips but no whole second row loses them. A few percent is the same training budget.
    if abs(crops[ROWS] - crops[CLIPS]) > 0.05 * crops[CLIPS]:
        raise RuntimeError(f"crops per epoch differ by over 5% ({crops}): the comparison would not be at the same "
                           "steps")
    scores = train_recipes({name: {"dataset": path, "extra": [], "train_clips": None}
                            for name, path in datasets.items()}, model, tmp_dir)
    epoch = {name: float(np.mean([r["epoch_s"] for r in runs])) for name, runs in scores.items()}
    rows = [{"figure": f"{ROWS}: seconds per training epoch ({crops[ROWS]} crops)", "value": round(epoch[ROWS], 1),
             "unit": "s", "reference": round(epoch[CLIPS], 1), "ratio": round(epoch[CLIPS] / epoch[ROWS], 2),
             "target": f"{CLIPS} ({crops[CLIPS]} crops) as reference"}]
    rows += difference_rows(scores[ROWS], scores[CLIPS],
                            f"{ROWS} (15 s, 3 new crops each per epoch) vs {CLIPS}, {EPOCHS} epochs each, "
                            f"{len(scores[ROWS][0]['recording_ids'])} recordings", "gain (the rows are the default)")
    return {"rows": rows, "per_seed_video_accuracy": per_seed_accuracy(scores)}
