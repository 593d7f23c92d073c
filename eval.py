"""Evaluate a fine-tuned audio classifier and write the lab report.

Clip- and video-level accuracy, macro-F1, per-class P/R/F1, confusion matrices, 95% bootstrap intervals over videos,
a binomial test against chance, the majority-class baseline and (``--baselines``) MFCC/spectral and frozen-encoder
baselines; pictures; ``report.md`` + self-contained ``report.html`` (``--lang en|ru``); ``metrics.json``;
``predictions_clips.csv`` and ``predictions_videos.csv``.

Example::

    python eval.py --model runs/wav2vec2-base --dataset data/dataset --split test --out runs/report --baselines
    python eval.py --model runs/wav2vec2-base --dataset data/dataset --out runs/report_ru --lang ru \\
        --downloads data/raw --aggregate vote --bootstrap 2000
    python eval.py configs/eval.yaml --split validation     # a config file (YAML/JSON), then flags that override it

Exit status: 0 on success, 2 on bad input (a missing file, a model with other labels, undecodable audio, an invalid
flag value), with one line naming the problem.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import fields
from pathlib import Path

from common.audio import AudioError
from common.cli import setup_logging
from evaluation.pipeline import EvalConfig, evaluate_run

__all__ = ["EvalConfig", "evaluate_run", "main", "parse_args", "run"]

logger = logging.getLogger("eval")
CONFIG_SUFFIXES = (".json", ".yaml", ".yml")
# Bad input the user can fix; anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (OSError, ValueError, AudioError)


def read_config_file(path: str) -> dict:
    """A YAML or JSON mapping of EvalConfig field names to values."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"config file {path}: no such file (expected YAML or JSON with EvalConfig fields)")
    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"config file {path}: not valid {file.suffix[1:].upper()} ({error})") from error
    data = data or {}
    if not isinstance(data, dict):
        raise ValueError(f"config file {path}: expected a mapping of flag names to values, got {type(data).__name__}")
    unknown = sorted(set(data) - {f.name for f in fields(EvalConfig)})
    if unknown:
        raise ValueError(f"config file {path}: unknown keys {unknown}; expected some of "
                         f"{[f.name for f in fields(EvalConfig)]}")
    return data


def config_to_argv(data: dict) -> list[str]:
    argv = []
    for key, value in data.items():
        if value is None:
            continue
        argv.append(f"--{key}")
        argv += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return argv


def parse_args(argv: list[str] | None = None) -> EvalConfig:
    """``[config.yaml|config.json] [--flag value ...]`` -> EvalConfig; flags override the file."""
    from transformers import HfArgumentParser

    parser = HfArgumentParser(EvalConfig, description=__doc__.split("\n\n")[0])
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0].endswith(CONFIG_SUFFIXES):
        # argparse keeps the last occurrence of a flag, so the command line after the file wins
        argv = config_to_argv(read_config_file(argv[0])) + argv[1:]
    (config,) = parser.parse_args_into_dataclasses(args=argv, look_for_args_file=False)
    return config


def run(argv: list[str] | None = None) -> dict:
    """Parse ``argv``, evaluate, print the headline; returns the metrics (``metrics.json``). Errors propagate."""
    config = parse_args(argv)
    metrics = evaluate_run(config)
    video = metrics["video"]
    low, high = video["ci"]["accuracy"]
    print(f"report: {metrics['report']['html']}")
    print(f"video accuracy {video['accuracy']:.3f} [{low:.3f}, {high:.3f}] over {video['n']} videos; "
          f"clip accuracy {metrics['clip']['accuracy']:.3f}; chance {metrics['references']['chance']['accuracy']:.3f}")
    return metrics


def main(argv: list[str] | None = None) -> int:
    """The command line: 0 on success, 2 with a one-line error on bad input (argparse itself exits 2 on bad flags)."""
    setup_logging()
    try:
        run(argv)
    except EXPECTED_ERRORS as error:
        logger.error("%s: %s", type(error).__name__, error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
