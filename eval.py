"""Evaluate a fine-tuned audio classifier and write the lab report.

Clip- and video-level accuracy, macro-F1, per-class P/R/F1, confusion matrices, 95% bootstrap intervals over videos,
a binomial test against chance, the majority-class baseline and (``--baselines``) MFCC/spectral and frozen-encoder
baselines; pictures; ``report.md`` + self-contained ``report.html`` (``--lang en|ru``); ``metrics.json``;
``predictions_clips.csv`` and ``predictions_videos.csv``.

Example::

    python eval.py --model runs/wav2vec2-base --dataset data/dataset --split test --out runs/report --baselines
    python eval.py --model runs/wav2vec2-base --dataset data/dataset --out runs/report_ru --lang ru \\
        --downloads data/raw --aggregate vote --bootstrap 2000
"""

from __future__ import annotations

import logging
import sys

from common.cli import setup_logging
from evaluation.pipeline import EvalConfig, evaluate_run

__all__ = ["EvalConfig", "evaluate_run", "main"]

logger = logging.getLogger("eval")


def parse_args(argv: list[str] | None = None) -> EvalConfig:
    from transformers import HfArgumentParser

    parser = HfArgumentParser(EvalConfig, description=__doc__.split("\n\n")[0])
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        reader = parser.parse_json_file if argv[0].endswith(".json") else parser.parse_yaml_file
        (config,) = reader(argv[0])
    else:
        (config,) = parser.parse_args_into_dataclasses(args=argv)
    return config


def main(argv: list[str] | None = None) -> dict:
    setup_logging()
    config = parse_args(argv)
    metrics = evaluate_run(config)
    video = metrics["video"]
    low, high = video["ci"]["accuracy"]
    print(f"report: {metrics['report']['html']}")
    print(f"video accuracy {video['accuracy']:.3f} [{low:.3f}, {high:.3f}] over {video['n']} videos; "
          f"clip accuracy {metrics['clip']['accuracy']:.3f}; chance {metrics['references']['chance']['accuracy']:.3f}")
    return metrics


if __name__ == "__main__":
    main()
