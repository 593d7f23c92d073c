"""URL inputs of the predict commands, fetched by the download stage with its own section and pacing rules
(``DownloadConfig`` defaults: at most 600 s, the middle section of longer videos, retries with backoff).

The URLs are written as a plain URL list ``DIR/urls.txt`` and handed to ``download.download_videos``; its manifest
``DIR/manifest.jsonl`` makes repeated predictions of the same URL reuse the FLAC already fetched.

Example::

    from predict.urls import download_urls
    sources = download_urls(["http://127.0.0.1:8000/food/food_00.webm"], "predict_out/downloads")
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from common.contract import MANIFEST
from common.errors import ExpectedError
from common.jsonl import atomic_write_text


class UrlInputError(ExpectedError, RuntimeError):
    """A URL the download stage could not turn into audio; the message names it and the stage's reason."""


def download_urls(urls: Sequence[str], download_dir, config=None) -> dict:
    """URL -> ``predict.sources.Source`` of its downloaded FLAC; raises ``UrlInputError`` for a failed URL and the
    download stage's ``FatalError`` when it stops (network down, bot check, rate limit): both are expected errors."""
    from download import DownloadConfig, download_videos, parse_link
    from predict.sources import Source

    download_dir = Path(download_dir)
    ids = {}
    for url in urls:
        parsed = parse_link(url)
        if parsed.video_id is None or parsed.url is None:
            raise UrlInputError(f"input {url!r}: not a usable URL ({parsed.reason or parsed.kind})")
        ids[url] = parsed.video_id
    listing = download_dir / "urls.txt"
    atomic_write_text(listing, "".join(f"{url}\n" for url in dict.fromkeys(urls)))
    summary = download_videos(str(listing), download_dir, config or DownloadConfig())
    sources = {}
    for url, video_id in ids.items():
        record = summary.records.get(video_id)
        if record is None or not record.ok:
            reason = f"{record.status}: {record.message or ''}" if record else "not attempted"
            raise UrlInputError(f"input {url!r}: download failed ({reason}); see {download_dir / MANIFEST}")
        sources[url] = Source(input=url, id=video_id, path=str(download_dir / str(record.path)), url=url,
                              offset_s=record.section_start_s or 0.0)
    return sources
