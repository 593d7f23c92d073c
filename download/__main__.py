"""CLI of the download stage: ``python -m download --listing FILE_OR_kaggle:OWNER/DATASET[/FILE] --out DIR``.

Example::

    python -m download --listing ../shared/data/youtube-videos-dataset/youtube.csv --out data/raw --dry-run
    python -m download --listing demo_out/listing.csv --out demo_out/raw --max-seconds 60 --workers 4
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path

from common.cli import LoggingArguments, description_of, format_table, parse_config, run_cli, setup_logging
from download.downloader import DownloadConfig, download_videos
from download.errors import FatalError
from download.listing import ListingError, listing_table

PROG = "python -m download"
logger = logging.getLogger("download")


@dataclass
class DownloadInputs:
    listing: str | None = field(default=None, metadata={
        "help": "CSV listing (Kaggle format or any CSV with an id/URL column), a text file of 'URL [CATEGORY]' "
                "lines, or kaggle:OWNER/DATASET[/FILE]."})
    urls: list[str] = field(default_factory=list, metadata={
        "help": "URLs or ids to fetch instead of --listing (category 'unlabeled'); written to OUT/urls.txt."})
    out: str | None = field(default=None, metadata={
        "help": "Output folder (audio/, manifest.jsonl, listing_report.json)."})

    def __post_init__(self):
        if not self.out:
            raise ValueError("--out is required: the folder the audio and manifest.jsonl are written to")
        if bool(self.listing) == bool(self.urls):
            raise ValueError("give exactly one of --listing FILE and --urls URL [URL ...]")


ARGUMENTS = (DownloadInputs, DownloadConfig, LoggingArguments)  # its command line (docs: common.docgen)


def run(argv=None) -> int:
    inputs, config, logs = parse_config(ARGUMENTS, argv, prog=PROG,
                                        description=description_of(__doc__))
    setup_logging(logs.verbose)
    if not logs.verbose:
        logging.getLogger("download.ytdlp").setLevel(logging.WARNING)
    listing = inputs.listing
    if inputs.urls:
        listing = Path(inputs.out) / "urls.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("\n".join(inputs.urls) + "\n")
    summary = download_videos(str(listing), inputs.out, config)
    print(format_table(*listing_table(summary.listing)))
    if not config.dry_run:
        print()
        print(summary.table())
        print(f"\n{summary.attempted} fetched this run, {summary.skipped} already done; manifest: "
              f"{Path(inputs.out) / 'manifest.jsonl'}")
    return 0


def main(argv=None) -> int:
    return run_cli(PROG, run, argv, expected=(FatalError, ListingError))


if __name__ == "__main__":
    sys.exit(main())
