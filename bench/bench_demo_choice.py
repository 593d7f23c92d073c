"""The demo's model choice on several seeds: the tiny AST it trains against the tiny wav2vec2 it replaced.

The demo's AST was chosen on one seed after its test split had been seen (docs/demo.md). Here both tiny models are
trained with the demo's own recipe (``configs/tiny-cpu.yaml``, best validation epoch kept; the wav2vec2 with its
feature encoder frozen, as it was tried) from 3 seeds (model initialisation and training) on the demo's dataset
(``python -m demo``'s defaults, made once), and scored on its test split as eval.py does. The difference is paired:
same test videos, same seeds, 95% interval from a bootstrap over test videos of the seed-averaged difference.

    python -m bench --only demo-choice        # ~12 min on 2 CPU cores
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from bench.bench_recipes import check_paired, difference_rows, per_seed_accuracy, score_test

logger = logging.getLogger(__name__)

SEEDS = (0, 1, 2)
MODELS = {"tiny AST (the demo's)": ("save_demo_ast", []),
          "tiny wav2vec2, feature encoder frozen": ("save_tiny_wav2vec2", ["--freeze_feature_encoder", "true"])}


def run(tmp_dir: Path) -> dict:
    """Trains the demo's tiny AST and the tiny wav2vec2 with the demo's recipe on the demo's dataset from 3 seeds:
    test video accuracy of each and their paired difference with its 95% interval."""
    import yaml

    import testing.tiny_models as tiny_models
    import train
    from demo.pipeline import TINY_RECIPE, DemoConfig, run_demo

    tmp_dir = Path(tmp_dir)
    demo = run_demo(DemoConfig(out=str(tmp_dir / "demo"), port=0, baselines=False, bootstrap=100))
    dataset = Path(demo.paths["dataset"])
    window_s = float(yaml.safe_load(TINY_RECIPE.read_text())["max_length_seconds"])
    scores = {}
    for name, (builder, extra) in MODELS.items():
        scores[name] = []
        for seed in SEEDS:
            logger.info("%s, seed %d", name, seed)
            model = getattr(tiny_models, builder)(tmp_dir / "models" / f"{builder}-{seed}", seed=seed)
            out = tmp_dir / "runs" / f"{builder}-{seed}"
            train.run([str(TINY_RECIPE), "--model_name_or_path", str(model), "--dataset_name", str(dataset),
                       "--output_dir", str(out), "--seed", str(seed), *extra])
            scores[name].append(score_test(out, dataset, window_s))
    check_paired(scores)
    (ast, w2v) = scores.values()
    rows = [{"figure": f"{name}: test video accuracy, mean of {len(SEEDS)} seeds ({len(ast[0]['recording_ids'])} videos)",
             "value": round(float(np.mean([np.mean(r["video_correct"]) for r in runs])), 3), "unit": "",
             "reference": round(float(np.mean([r["clip_accuracy"] for r in runs])), 3), "ratio": None,
             "target": "clip accuracy as reference"} for name, runs in scores.items()]
    rows += difference_rows(ast, w2v, "tiny AST vs tiny wav2vec2", "interval above 0 to keep the AST")
    return {"rows": rows, "per_seed_video_accuracy": per_seed_accuracy(scores)}
