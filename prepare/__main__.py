"""CLI of the prepare stage: flags come from ``PrepareConfig``'s fields; all the work is in ``prepare_dataset``.

Example::

    python -m prepare --raw data/raw --raw data/raw_shard2 --out data/dataset --max-clips-per-video 20
    python -m prepare --audiofolder my_sounds --out data/my_dataset --split 0.7,0.15,0.15 --seed 1
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from common.cli import setup_logging
from prepare.build import prepare_dataset, summary_text
from prepare.config import BALANCE_CHOICES, PrepareConfig

_TYPES = {"raw": str, "audiofolder": str, "out": str, "clip_seconds": float, "hop_seconds": float,
          "max_clips_per_video": int, "min_rms_db": float, "split": str, "seed": int, "balance": str,
          "push_to_hub": str}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m prepare", description=__doc__.split("\n")[0])
    for field in dataclasses.fields(PrepareConfig):
        flag = "--" + field.name.replace("_", "-")
        help_text = field.metadata["help"]
        if field.name == "raw":
            parser.add_argument(flag, action="append", default=[], metavar="DIR", help=help_text)
        elif field.type in (bool, "bool"):
            parser.add_argument(flag, action="store_true", help=help_text)
        else:
            default = None if field.default is dataclasses.MISSING else field.default
            shown = f" (default: {default})" if default not in (None, "") else ""
            parser.add_argument(flag, type=_TYPES[field.name], default=default, help=help_text + shown,
                                choices=BALANCE_CHOICES if field.name == "balance" else None)
    parser.add_argument("--verbose", action="store_true", help="Debug logging.")
    return parser


def main(argv=None) -> int:
    args = vars(build_parser().parse_args(argv))
    setup_logging(args.pop("verbose"))
    try:
        config = PrepareConfig(**args)
    except ValueError as exc:
        build_parser().error(str(exc))
    try:
        stats = prepare_dataset(config)
    except (FileExistsError, FileNotFoundError, ValueError) as exc:  # bad input: the message says what to fix
        logging.getLogger("prepare").error("%s", exc)
        return 2
    print(summary_text(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
