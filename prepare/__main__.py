"""CLI of the prepare stage: flags come from ``PrepareConfig``'s fields; all the work is in ``prepare_dataset``.

Example::

    python -m prepare --raw data/raw --raw data/raw_shard2 --out data/dataset --max-clips-per-video 20
    python -m prepare --audiofolder my_sounds --out data/my_dataset --split 0.7,0.15,0.15 --seed 1
"""

from __future__ import annotations

import sys

from common.cli import LoggingArguments, description_of, parse_config, run_cli, setup_logging
from common.hub import check_hub_push
from prepare.build import prepare_dataset, summary_text
from prepare.config import PrepareConfig

PROG = "python -m prepare"


ARGUMENTS = (PrepareConfig, LoggingArguments)  # its command line (docs: bench.docgen)


def run(argv=None) -> int:
    config, logs = parse_config(ARGUMENTS, argv, prog=PROG, description=description_of(__doc__))
    setup_logging(logs.verbose)
    if config.push_to_hub:  # before the build: a push that cannot succeed stops now, not after it
        check_hub_push(config.push_to_hub, flag="--push-to-hub")
    print(summary_text(prepare_dataset(config)))
    return 0


def main(argv=None) -> int:
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
