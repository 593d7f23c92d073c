"""The download stage: a pool of yt-dlp workers that turns every usable video of a listing into
``DIR/audio/<id>.flac`` (16 kHz mono 16-bit), with an append-only manifest that makes any run resumable.

A record goes to ``DIR/manifest.jsonl`` only after its audio file was renamed into place, so a ``kill -9`` loses at
most the videos in flight; the next run skips every ok video whose file is intact and never records it twice.

Example::

    from download import DownloadConfig, download_videos
    summary = download_videos("demo_out/listing.csv", "demo_out/raw", DownloadConfig(max_seconds=60, workers=4))
    print(summary.table())
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from common.audio import SAMPLING_RATE, AudioError, FfmpegMissing, convert_to_flac, require_ffmpeg
from common.cli import format_table
from common.jsonl import append_jsonl, atomic_write_json, read_jsonl
from common.provenance import package_versions
from download.errors import BOT_CHECK_HELP, BotCheckError, FatalError, classify_error
from download.ids import YOUTUBE_ID, check_safe_id
from download.listing import (ClassifiedListing, ListingError, Video, classify_listing, listing_sha256, listing_table,
                              parse_categories, parse_shard, read_listing, select_videos)
from download.repair import repair_rows

logger = logging.getLogger(__name__)

MANIFEST, REPORT, REPAIRS, SUMMARY = "manifest.jsonl", "listing_report.json", "repairs.jsonl", "download_summary.json"
# Decoded audio may end up to this much shorter than planned (codec priming/padding) and still be whole.
LENGTH_TOLERANCE_S = 0.25


@dataclass
class DownloadConfig:
    max_seconds: float | None = field(default=600, metadata={"help": "Keep at most this many seconds of each video "
                                      "(0 or None: all of it); only that section is downloaded."})
    section: str = field(default="middle", metadata={"help": "Which part to keep when a video is longer than "
                         "max_seconds: 'middle' (skips intros/outros) or 'start'."})
    workers: int = field(default=1, metadata={"help": "Parallel downloads. Keep 1 for YouTube (rate limits)."})
    sleep: float | None = field(default=None, metadata={"help": "Seconds to sleep before each download (random up "
                                "to 2x). None: yt-dlp's recommended pacing for YouTube (10-20 s), none for other URLs."})
    limit_rate: str | None = field(default=None, metadata={"help": "Bandwidth cap per download, e.g. 500K or 2M."})
    retries: int = field(default=4, metadata={"help": "Extra attempts for transient errors (network, 5xx, 429), "
                         "with exponential backoff."})
    backoff_s: float = field(default=5.0, metadata={"help": "First backoff delay; doubles at each attempt (max 300 s)."})
    http_retries: int = field(default=5, metadata={"help": "yt-dlp's own in-download retries (resume with Range)."})
    stall_timeout_s: float = field(default=30.0, metadata={"help": "A section download with no data for this long "
                                   "is abandoned for a full download + local cut."})
    socket_timeout_s: float = field(default=20.0, metadata={"help": "Network timeout of yt-dlp's requests."})
    retry_failed: bool = field(default=False, metadata={"help": "Try again videos that failed permanently before."})
    cookies: str | None = field(default=None, metadata={"help": "Netscape cookies.txt (for YouTube's bot check)."})
    cookies_from_browser: str | None = field(default=None, metadata={"help": "Read cookies from this browser "
                                             "(firefox, chrome, ...; BROWSER:PROFILE allowed)."})
    per_category: int | None = field(default=None, metadata={"help": "Stop fetching a category once this many "
                                     "videos succeeded."})
    categories: list[str] | None = field(default=None, metadata={
        "help": "Only these categories, comma-separated (art_music,food).", "cli_type": str})
    shard: tuple[int, int] | None = field(default=None, metadata={
        "help": "K/N: only the ids in shard K of N (1-based), for several machines on one listing.", "cli_type": str})
    repair_ids: bool = field(default=False, metadata={"help": "Search YouTube for the titles of damaged/#NAME? rows "
                             "to recover their ids (cached in DIR/repairs.jsonl)."})
    dry_run: bool = field(default=False, metadata={"help": "Only read and classify the listing; no downloads."})
    limit: int | None = field(default=None, metadata={"help": "At most this many videos in this run (for trials)."})

    def __post_init__(self):
        if self.section not in ("middle", "start"):
            raise ValueError(f"--section {self.section!r}: expected 'middle' or 'start'")
        if self.max_seconds is not None and self.max_seconds < 0:
            raise ValueError(f"--max-seconds {self.max_seconds}: expected a positive number (0 for whole videos)")
        if self.workers < 1:
            raise ValueError(f"--workers {self.workers}: expected 1 or more")
        if self.per_category is not None and self.per_category < 1:
            raise ValueError(f"--per-category {self.per_category}: expected 1 or more")
        if isinstance(self.categories, str):
            self.categories = parse_categories(self.categories)
        if isinstance(self.shard, str):
            self.shard = parse_shard(self.shard)
        if self.cookies and not Path(self.cookies).is_file():
            raise ValueError(f"--cookies {self.cookies}: no such file (expected a Netscape cookies.txt exported from "
                             "a logged-in browser)")


@dataclass
class DownloadSummary:
    out_dir: Path
    listing: ClassifiedListing
    records: dict[str, dict]            # id -> latest manifest record (this run's and earlier runs')
    attempted: int = 0                  # videos tried in this run
    skipped: int = 0                    # already done (ok and intact, or failed permanently)
    stopped: str | None = None          # why the run stopped early (fatal), else None

    def per_category(self) -> list[list]:
        listed = self.listing.counts()
        rows = []
        for category in sorted(listed):
            recs = [r for r in self.records.values() if r.get("category") == category]
            ok = [r for r in recs if r["status"] == "ok"]
            failed = Counter(r["status"] for r in recs if r["status"] != "ok")
            rows.append([category, listed[category]["rows"], listed[category]["usable"], len(ok),
                         sum(failed.values()), ", ".join(f"{k}:{v}" for k, v in sorted(failed.items())) or "-",
                         round(sum(r.get("duration_s") or 0 for r in ok) / 3600, 3)])
        return rows

    def table(self) -> str:
        rows = self.per_category()
        total = ["TOTAL", *(sum(r[i] for r in rows) for i in range(1, 5)), "", round(sum(r[6] for r in rows), 3)]
        return format_table(["category", "listed", "usable", "ok", "failed", "failed by reason", "hours"], rows + [total])

    @property
    def ok(self) -> int:
        return sum(r["status"] == "ok" for r in self.records.values())

    @property
    def failed(self) -> int:
        return sum(r["status"] != "ok" for r in self.records.values())


# ---------------------------------------------------------------- manifest

def latest_records(out_dir) -> dict[str, dict]:
    """id -> its latest record in ``DIR/manifest.jsonl`` (a later record supersedes earlier ones)."""
    path = Path(out_dir) / MANIFEST
    return {rec["id"]: rec for rec in read_jsonl(path) if "id" in rec} if path.exists() else {}


def audio_is_intact(out_dir, record: dict) -> bool:
    """An ok record's file is there, readable, at 16 kHz, and as long as recorded."""
    try:
        path = Path(out_dir) / record["path"]
        info = sf.info(str(path))
    except Exception:  # missing file, torn FLAC, bad record: all mean "download again"
        return False
    return info.samplerate == SAMPLING_RATE and abs(info.frames / info.samplerate - record.get("duration_s", -1)) < 0.01


def _needs_work(out_dir: Path, record: dict | None, retry_failed: bool) -> bool:
    if record is None:
        return True
    if record["status"] == "ok":
        return not audio_is_intact(out_dir, record)
    return retry_failed or bool(record.get("transient"))


# ---------------------------------------------------------------- one video

def _finish_audio(media, out_dir: Path, video: Video) -> tuple[str, float]:
    """Convert to 16 kHz FLAC, cut to exactly the wanted number of samples, verify the length, rename into place."""
    relative = f"audio/{check_safe_id(video.id)}.flac"
    target = out_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{video.id}.staged.flac")
    try:
        # half a second more than wanted, then an exact cut in samples: codec frames never decide the length
        convert_to_flac(media.path, staged, start_s=media.offset_in_file_s or None,
                        duration_s=media.wanted_s + 0.5 if media.wanted_s is not None else None)
        samples, rate = sf.read(str(staged), dtype="int16")
        expected = media.wanted_s if media.wanted_s is not None else (
            media.source_duration_s - media.section_start_s if media.source_duration_s else None)
        if expected is not None and len(samples) / rate < expected - LENGTH_TOLERANCE_S:
            raise AudioError(f"truncated: decoded {len(samples) / rate:.2f} s of audio, expected {expected:.2f} s")
        if media.wanted_s is not None:
            samples = samples[: int(round(media.wanted_s * rate))]
            sf.write(str(staged), samples, rate, format="FLAC", subtype="PCM_16")
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return relative, len(samples) / rate


def download_one(video: Video, out_dir: Path, config: DownloadConfig, stop: threading.Event) -> dict:
    """Fetch, convert and verify one video; return its manifest record (the file is already in place for ok).
    Transient errors are retried here with exponential backoff; ``BotCheckError`` propagates."""
    from yt_dlp.utils import DownloadError

    from download.ytdlp import MediaError, fetch_media, ydl_options

    youtube = YOUTUBE_ID.fullmatch(video.id) is not None and "youtube.com" in video.url
    work = out_dir / "tmp" / check_safe_id(video.id)
    record = {"id": video.id, "url": video.url, "category": video.category, "title": video.title,
              "description": video.description, "sample_rate": SAMPLING_RATE, "listing_rows": video.rows,
              "repaired_from": video.repaired_from}
    started = time.monotonic()
    for attempt in range(1, config.retries + 2):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            options = ydl_options(work, video.id, youtube=youtube, sleep_s=config.sleep, limit_rate=config.limit_rate,
                                  cookies=config.cookies, cookies_from_browser=config.cookies_from_browser,
                                  stall_timeout_s=config.stall_timeout_s, socket_timeout_s=config.socket_timeout_s,
                                  http_retries=config.http_retries)
            media = fetch_media(video.url, work, video.id, max_seconds=config.max_seconds or None,
                                section=config.section, youtube=youtube, options=options,
                                stall_timeout_s=config.stall_timeout_s)
            path, duration = _finish_audio(media, out_dir, video)
            record.update(status="ok", message=f"{media.method} download", path=path, duration_s=round(duration, 3),
                          section_start_s=media.section_start_s, source_duration_s=media.source_duration_s,
                          bytes_downloaded=media.bytes_downloaded, format_id=media.format_id, method=media.method,
                          transient=False)
            break
        except (DownloadError, MediaError, AudioError, OSError) as exc:
            message = " | ".join(str(exc).splitlines())[:500]
            reason, transient = classify_error(message)
            if message.startswith("truncated"):
                reason, transient = "truncated", False
            if reason == "bot_check":
                raise BotCheckError(message) from exc
        except Exception as exc:  # anything else (a yt-dlp quirk, odd metadata) costs this video only, never the run
            logger.exception("[%s] unexpected error", video.id)
            message, reason, transient = f"{type(exc).__name__}: {exc}"[:500], "error", False
        finally:
            shutil.rmtree(work, ignore_errors=True)
        record.update(status=reason, message=message, path=None, duration_s=None, transient=transient)
        if not transient or attempt > config.retries or stop.is_set():
            break
        delay = min(300.0, config.backoff_s * 2 ** (attempt - 1))
        logger.info("[%s] %s (attempt %d); retrying in %.1f s", video.id, reason, attempt, delay)
        stop.wait(delay)
    record.update(attempts=attempt, elapsed_s=round(time.monotonic() - started, 2),
                  finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return record


# ---------------------------------------------------------------- the stage

def load_listing(listing_source: str, out_dir: Path, config: DownloadConfig) -> ClassifiedListing:
    """Read, optionally repair, and classify the listing; write ``DIR/listing_report.json``."""
    rows = read_listing(listing_source)
    if config.repair_ids:
        rows = repair_rows(rows, out_dir / REPAIRS)
    listing = classify_listing(rows, source=str(listing_source), sha256=listing_sha256(listing_source))
    atomic_write_json(out_dir / REPORT, listing.report())
    return listing


def _pending(videos: list[Video], records: dict, out_dir: Path, config: DownloadConfig) -> list[Video]:
    return [v for v in videos if _needs_work(out_dir, records.get(v.id), config.retry_failed)]


def _remove_leftovers(out_dir: Path) -> None:
    """What a killed run leaves: half-converted audio (never renamed into place) and yt-dlp work folders."""
    leftovers = [*(out_dir / "audio").glob(".*.staged.flac*"), *(out_dir / "audio").glob("*.tmp.flac")]
    for path in leftovers:
        path.unlink(missing_ok=True)
    if (out_dir / "tmp").is_dir():
        shutil.rmtree(out_dir / "tmp", ignore_errors=True)
    if leftovers:
        logger.info("removed %d half-written audio file(s) left by an interrupted run", len(leftovers))


def download_videos(listing_source: str, out_dir, config: DownloadConfig | None = None) -> DownloadSummary:
    """Run the stage: classify the listing, then fetch every pending video with ``config.workers`` threads.

    Raises ``FatalError`` (no ffmpeg, bot check) and ``ListingError`` (unreadable listing); failed videos are
    recorded in the manifest, not raised.
    """
    config = config or DownloadConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(out_dir)
    listing = load_listing(listing_source, out_dir, config)
    records = latest_records(out_dir)
    summary = DownloadSummary(out_dir, listing, records)
    if config.dry_run:
        return summary
    try:
        require_ffmpeg()
    except FfmpegMissing as exc:
        raise FatalError(str(exc)) from exc
    videos = select_videos(listing.videos, config.categories, config.shard)
    if any(YOUTUBE_ID.fullmatch(v.id) and "youtube.com" in v.url for v in videos):
        from download.ytdlp import youtube_readiness
        for warning in youtube_readiness():
            logger.warning(warning)
    todo = _pending(videos, records, out_dir, config)
    summary.skipped = len(videos) - len(todo)          # done before: counted before --limit cuts the to-do list
    if config.limit:
        todo = todo[: config.limit]
    atomic_write_json(out_dir / SUMMARY.replace(".json", "_config.json"), {
        "config": asdict(config), "listing": str(listing_source), "listing_sha256": listing.sha256,
        "versions": package_versions(["yt-dlp", "yt-dlp-ejs"], ffmpeg=True),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    logger.info("%d videos selected, %d already done, %d to fetch", len(videos), summary.skipped, len(todo))
    _run_pool(todo, out_dir, config, summary)
    atomic_write_json(out_dir / SUMMARY, {"per_category": summary.per_category(), "ok": summary.ok,
                                          "failed": summary.failed, "attempted": summary.attempted,
                                          "skipped": summary.skipped, "stopped": summary.stopped})
    return summary


def _run_pool(todo: list[Video], out_dir: Path, config: DownloadConfig, summary: DownloadSummary) -> None:
    ok_in = Counter(r["category"] for r in summary.records.values() if r["status"] == "ok")
    in_flight: dict = {}
    queue = list(todo)
    stop = threading.Event()
    bar = tqdm(total=len(todo), desc="download", unit="video", dynamic_ncols=True)
    failures = 0

    def next_video():
        for index, video in enumerate(queue):
            busy = sum(v.category == video.category for v in in_flight.values())
            if config.per_category is None or ok_in[video.category] + busy < config.per_category:
                return queue.pop(index)
            # category full (counting in-flight ones): skip it for now, it may free up if one of them fails
        return None

    with ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="dl") as pool:
        try:
            while True:
                while not stop.is_set() and len(in_flight) < config.workers and (video := next_video()):
                    in_flight[pool.submit(download_one, video, out_dir, config, stop)] = video
                if not in_flight:
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    video = in_flight.pop(future)
                    try:
                        record = future.result()
                    except BotCheckError as exc:
                        stop.set()
                        summary.stopped = f"bot check on {video.id}: {exc}"
                        continue
                    append_jsonl(out_dir / MANIFEST, record)
                    summary.records[video.id] = record
                    summary.attempted += 1
                    ok_in[video.category] += record["status"] == "ok"
                    failures += record["status"] != "ok"
                    bar.update(1)
                    bar.set_postfix(ok=bar.n - failures, failed=failures)
        except KeyboardInterrupt:
            stop.set()
            raise
        finally:
            bar.close()
    if summary.stopped:
        raise FatalError(f"{summary.stopped}\n{BOT_CHECK_HELP}")
