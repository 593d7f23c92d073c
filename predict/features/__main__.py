"""``python -m predict.features MODEL INPUT... [--layer last|all|N] [--fps F] [--out DIR]``: time-aligned features.

Example::

    python -m predict.features runs/demo talk.wav --fps 25 --out feats
"""

from __future__ import annotations

import sys

from common.cli import LoggingArguments, description_of, format_table, parse_config, run_cli, setup_logging
from predict.features import FeaturesConfig, extract_features

PROG = "python -m predict.features"


ARGUMENTS = (FeaturesConfig, LoggingArguments)  # its command line (docs: bench.docgen)


def run(argv=None) -> int:
    config, logs = parse_config(ARGUMENTS, argv, prog=PROG, description=description_of(__doc__))
    setup_logging(logs.verbose)
    results = extract_features(config)
    for result in results:
        sys.stdout.write(result.explanation + "\n\n")
    rows = [[r.input, r.metadata["duration_s"], r.metadata["n_frames"], "x".join(map(str, r.metadata["shapes"]["features"])),
             "x".join(map(str, r.metadata["shapes"].get("video_features", []))), r.files[0]] for r in results]
    sys.stdout.write(format_table(["input", "seconds", "frames", "features", "video_features", "file"], rows) + "\n")
    return 0


def main(argv=None) -> int:
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
