"""CLI of the download stage: ``python -m download --listing FILE_OR_kaggle:OWNER/DATASET[/FILE] --out DIR``.

Example::

    python -m download --listing ../shared/data/youtube-videos-dataset/youtube.csv --out data/raw --dry-run
    python -m download --listing demo_out/listing.csv --out demo_out/raw --max-seconds 60 --workers 4
    python -m download --check                       # yt-dlp, JS runtime, ffmpeg, cookies (offline)
    python -m download --check --online --cookies cookies.txt   # ... and what YouTube answers this machine
"""

from __future__ import annotations

import logging
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from common.contract import MANIFEST
from common.cli import LoggingArguments, description_of, format_table, parse_config, run_cli, setup_logging
from download.downloader import DownloadConfig, download_videos
from download.check import environment_report, listing_endpoints, reach_hosts, youtube_extraction
from download.ids import SHORT_HOSTS, YOUTUBE_HOSTS
from download.listing import classify_listing, listing_table, read_listing

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
    check: bool = field(default=False, metadata={
        "help": "Only report yt-dlp's version, the JS runtime, ffmpeg and cookies, offline (exit 1 if one is "
                "missing); no downloads."})
    online: bool = field(default=False, metadata={
        "help": "With --check: also extract one public YouTube video with this run's options (cookies, extractor "
                "args, proxy) and say what YouTube answered, and connect once to each other host of "
                "--listing/--urls."})

    def __post_init__(self):
        if self.online and not self.check:
            raise ValueError("--online goes with --check (python -m download --check --online)")
        if self.check:
            if self.listing and self.urls:
                raise ValueError("give at most one of --listing FILE and --urls URL [URL ...] with --check")
            return
        if not self.out:
            raise ValueError("--out is required: the folder the audio and manifest.jsonl are written to")
        if bool(self.listing) == bool(self.urls):
            raise ValueError("give exactly one of --listing FILE and --urls URL [URL ...]")


ARGUMENTS = (DownloadInputs, DownloadConfig, LoggingArguments)  # its command line (docs: bench.docgen)


def run(argv=None) -> int:
    inputs, config, logs = parse_config(ARGUMENTS, argv, prog=PROG,
                                        description=description_of(__doc__))
    setup_logging(logs.verbose)
    if not logs.verbose:
        logging.getLogger("download.ytdlp").setLevel(logging.WARNING)
    if inputs.check:
        return check(inputs, config)
    listing = inputs.listing
    if inputs.urls:
        listing = Path(inputs.out) / "urls.txt"
        listing.parent.mkdir(parents=True, exist_ok=True)
        listing.write_text("\n".join(inputs.urls) + "\n")
    resume = shlex.join([*PROG.split(), *(sys.argv[1:] if argv is None else argv)])
    summary = download_videos(str(listing), inputs.out, config, resume_command=resume)
    print(format_table(*listing_table(summary.listing)))
    if not config.dry_run:
        print()
        print(summary.table())
        if len(summary.proxies) > 1 or config.proxy_file or config.proxy:
            print()
            print(summary.proxy_table())
        print(f"\n{summary.attempted} fetched this run, {summary.skipped} already done; manifest: "
              f"{Path(inputs.out) / MANIFEST}")
    return 0


def check(inputs: DownloadInputs, config: DownloadConfig) -> int:
    """``--check [--online]``: print one line per item and one warning line per problem; 1 if any, else 0."""
    urls = inputs.urls or ([v.url for v in classify_listing(read_listing(inputs.listing)).videos]
                           if inputs.listing else [])
    youtube = not urls or any(urlsplit(u).hostname in YOUTUBE_HOSTS | SHORT_HOSTS for u in urls)
    lines, warnings = environment_report(config, youtube=youtube)
    if inputs.online:
        if youtube:
            yt_lines, yt_warnings = youtube_extraction(config, config.check_video)
            lines, warnings = lines + yt_lines, warnings + yt_warnings
        others = [u for u in urls if urlsplit(u).hostname not in YOUTUBE_HOSTS | SHORT_HOSTS]
        if others:
            host_lines, host_warnings = reach_hosts(listing_endpoints(others), timeout_s=config.socket_timeout_s)
            lines, warnings = lines + host_lines, warnings + host_warnings
    for line in lines:
        print(line)
    for warning in warnings:
        print(f"warning: {warning}")
    print("check: " + ("ok" if not warnings else f"{len(warnings)} problem(s)"))
    return 1 if warnings else 0


def main(argv=None) -> int:
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
