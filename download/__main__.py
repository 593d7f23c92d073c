"""CLI of the download stage: ``python -m download --listing FILE_OR_kaggle:OWNER/DATASET[/FILE] --out DIR``.

Example::

    python -m download --listing ../shared/data/youtube-videos-dataset/youtube.csv --out data/raw --dry-run
    python -m download --listing demo_out/listing.csv --out demo_out/raw --max-seconds 60 --workers 4
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from common.cli import format_table, setup_logging
from download.downloader import DownloadConfig, download_videos
from download.errors import FatalError
from download.listing import ListingError, listing_table

logger = logging.getLogger("download")
FLAG_TYPES = {"max_seconds": float, "sleep": float, "workers": int, "retries": int, "backoff_s": float,
              "http_retries": int, "stall_timeout_s": float, "socket_timeout_s": float, "per_category": int,
              "limit": int, "section": str, "limit_rate": str, "cookies": str, "cookies_from_browser": str,
              "categories": str, "shard": str}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m download", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--listing", help="CSV listing (Kaggle format or any CSV with an id/URL column), a text "
                        "file of 'URL [CATEGORY]' lines, or kaggle:OWNER/DATASET[/FILE]")
    parser.add_argument("--urls", nargs="+", metavar="URL", help="URLs or ids to fetch instead of --listing "
                        "(category 'unlabeled'); written to DIR/urls.txt")
    parser.add_argument("--out", required=True, help="output folder (audio/, manifest.jsonl, listing_report.json)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging (yt-dlp's output included)")
    for f in dataclasses.fields(DownloadConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            parser.add_argument(flag, action="store_true", help=f.metadata["help"])
        else:
            parser.add_argument(flag, type=FLAG_TYPES[f.name], default=f.default, help=f.metadata["help"])
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    if not args.verbose:
        logging.getLogger("download.ytdlp").setLevel(logging.WARNING)
    try:
        if bool(args.listing) == bool(args.urls):
            raise ListingError("give exactly one of --listing FILE and --urls URL [URL ...]")
        listing = args.listing
        if args.urls:
            listing = Path(args.out) / "urls.txt"
            listing.parent.mkdir(parents=True, exist_ok=True)
            listing.write_text("\n".join(args.urls) + "\n")
        config = DownloadConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(DownloadConfig)})
        summary = download_videos(str(listing), args.out, config)
    except (FatalError, ListingError, ValueError) as exc:
        print(f"download stopped: {exc}", file=sys.stderr)
        return 2
    print(format_table(*listing_table(summary.listing)))
    if not config.dry_run:
        print()
        print(summary.table())
        print(f"\n{summary.attempted} fetched this run, {summary.skipped} already done; manifest: "
              f"{Path(args.out) / 'manifest.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
