"""``python -m predict MODEL INPUT... [--format table|json|csv] [--out DIR]``: classify media files and URLs.

Example::

    python -m predict runs/demo talk.m4a https://example.org/clip.webm --out predict_out --format csv
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from common.cli import format_table, setup_logging
from predict.args import exit_on_error, parse_config
from predict.classify import PredictConfig, predict_inputs, timeline_csv

PROG = "python -m predict"


def summary_table(results) -> str:
    names = list(results[0].probabilities) if results else []
    rows = [[r.input, r.label, *(r.probabilities[n] for n in names), r.duration_s, len(r.timeline),
             r.real_time_factor] for r in results]
    return format_table(["input", "label", *names, "seconds", "windows", "rtf"], rows)


def main(argv=None) -> None:
    setup_logging()
    config = parse_config(PredictConfig, argv, description=__doc__.split("\n")[0], prog=PROG)
    with exit_on_error(PROG):
        results = predict_inputs(config)
    if config.format == "json":
        sys.stdout.write(json.dumps([asdict(r) for r in results], indent=2) + "\n")
    elif config.format == "csv":
        sys.stdout.write(timeline_csv(results))
    else:
        sys.stdout.write(summary_table(results) + "\n")


if __name__ == "__main__":
    main()
