"""Evaluate a fine-tuned audio classifier and write the lab report.

Clip- and video-level accuracy, macro-F1, per-class P/R/F1, confusion matrices, 95% bootstrap intervals over videos,
a binomial test over videos against the null accuracy (1/K, or the majority-class rate of an unbalanced split), the
overlap of the evaluated split with the others (videos, channels) checked on the dataset, the majority-class
baseline and (``--baselines``) MFCC/spectral and frozen-encoder baselines; pictures; ``report.md`` + self-contained
``report.html`` (``--lang en|ru``); ``metrics.json``; ``predictions_clips.csv`` and ``predictions_videos.csv``.

Example::

    python eval.py --model runs/wav2vec2-base --dataset data/dataset --split test --out runs/report --baselines
    python eval.py --model runs/wav2vec2-base --dataset data/dataset --out runs/report_ru --lang ru \\
        --downloads data/raw --aggregate vote --bootstrap 2000
    python eval.py configs/eval.yaml --split validation     # a config file (YAML/JSON), then flags that override it

Exit status: 0 on success, 2 on bad input (a missing file, a model with other labels, undecodable audio, an invalid
flag value), with one line naming the problem.
"""

from __future__ import annotations

import logging
import sys

from common.cli import LoggingArguments, description_of, parse_config, run_cli, setup_logging
from evaluation.pipeline import EvalConfig, evaluate_run

__all__ = ["EvalConfig", "evaluate_run", "main", "parse_args", "run"]

PROG = "python eval.py"
logger = logging.getLogger("eval")


ARGUMENTS = (EvalConfig, LoggingArguments)  # its command line (docs: bench.docgen)


def parse_args(argv: list[str] | None = None) -> EvalConfig:
    """``[config.yaml|config.json] [--flag value ...]`` -> EvalConfig; flags override the file."""
    return parse_config(ARGUMENTS, argv, prog=PROG, description=description_of(__doc__))[0]


def run(argv: list[str] | None = None):
    """Parse ``argv``, evaluate, print the headline; returns the ``EvalRecord`` (``metrics.json``). Errors
    propagate."""
    config, logs = parse_config(ARGUMENTS, argv, prog=PROG, description=description_of(__doc__))
    setup_logging(logs.verbose)
    if config.push_results:      # before minutes of evaluation: a push that cannot succeed stops here
        from common.hub import check_hub_push

        check_hub_push(config.push_results, flag="--push_results")
    metrics = evaluate_run(config)
    video = metrics.video
    low, high = video.ci.accuracy
    print(f"report: {metrics.report.html}")
    null = metrics.references.null
    print(f"video accuracy {video.accuracy:.3f} [{low:.3f}, {high:.3f}] over {video.n} videos; "
          f"clip accuracy {metrics.clip.accuracy:.3f}; null {null.accuracy:.3f} ({null.kind})")
    if config.push_results:
        from evaluation.hub import push_results

        print(f"results and widget examples: {push_results(metrics, config.push_results)}")
    return metrics


def main(argv: list[str] | None = None) -> int:
    """The command line: 0 on success, 2 with a one-line error on bad input."""
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
