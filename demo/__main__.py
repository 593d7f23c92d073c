"""``python -m demo [--out demo_out] [...]``: the whole pipeline offline on synthetic videos (see demo/pipeline.py)."""

import sys

from common.cli import LoggingArguments, description_of, parse_config, run_cli, setup_logging
from demo.pipeline import DemoConfig, run_demo

PROG = "python -m demo"


ARGUMENTS = (DemoConfig, LoggingArguments)  # its command line (docs: bench.docgen)


def run(argv=None) -> int:
    config, logs = parse_config(ARGUMENTS, argv, prog=PROG, description=description_of(__doc__))
    setup_logging(logs.verbose)
    result = run_demo(config)
    metrics, held, channels = result.metrics, result.held_back, result.split_channels
    low, high = metrics.video.ci.accuracy
    print(f"\nReport: {metrics.report.html}\n"
          f"Split by {result.split_by}: {channels['test_videos']} test videos from {channels['test_channels']} "
          f"channels, {channels['test_channels_in_train_or_validation']} of these channels also in train or "
          f"validation\n"
          f"Video-level accuracy on the test split: {metrics.video.accuracy:.3f} [{low:.2f}, {high:.2f}] "
          f"(clip-level {metrics.clip.accuracy:.3f}; chance {metrics.references.chance:.2f})\n"
          f"Held-back video {held.video} ({held.true}): predicted {held.predicted} (p={held.probability:.2f})")
    return 0


def main(argv=None) -> int:
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
