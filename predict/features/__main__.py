"""``python -m predict.features MODEL INPUT... [--layer last|all|N] [--fps F] [--out DIR]``: time-aligned features.

Example::

    python -m predict.features runs/demo talk.wav --fps 25 --out feats
"""

from __future__ import annotations

import sys

from common.cli import format_table, setup_logging
from predict.args import exit_on_error, parse_config
from predict.features import FeaturesConfig, extract_features

PROG = "python -m predict.features"


def main(argv=None) -> None:
    setup_logging()
    config = parse_config(FeaturesConfig, argv, description=__doc__.split("\n")[0], prog=PROG)
    with exit_on_error(PROG):
        results = extract_features(config)
    for result in results:
        sys.stdout.write(result.explanation + "\n\n")
    rows = [[r.input, r.metadata["duration_s"], r.metadata["n_frames"], "x".join(map(str, r.metadata["shapes"]["features"])),
             "x".join(map(str, r.metadata["shapes"].get("video_features", []))), r.files[0]] for r in results]
    sys.stdout.write(format_table(["input", "seconds", "frames", "features", "video_features", "file"], rows) + "\n")


if __name__ == "__main__":
    main()
