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

import functools
import logging
import os
import re
import shutil
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import soundfile as sf
from tqdm import tqdm

from common.audio import SAMPLING_RATE, AudioError, FfmpegMissing, convert_to_flac, require_ffmpeg
from common.cli import format_table
from common.ids import check_safe_id
from common.contract import DownloadRecord, append_record, latest_download_records
from common.jsonl import atomic_write_json
from common.provenance import file_sha256, package_versions
from download.breaker import CircuitBreaker, EnvironmentBreaker
from download.errors import (BOT_CHECK_HELP, COOKIES_ADVICE, ENVIRONMENT, PAUSE, STOP, VIDEO, BotCheckError, FatalError,
                             RateLimited, RateLimitPause, classify_failure, is_network_failure)
from download.ids import YOUTUBE_ID
from download.listing import (ClassifiedListing, Video, classify_listing, listing_sha256, parse_categories, parse_shard,
                              read_listing, select_videos)
from download.repair import repair_rows, search_options, youtube_search
from download.ytdlp import CACHE_DIR, CHANNEL_FIELDS, FETCH_CHOICES, media_seconds, passthrough_options, redact_url

logger = logging.getLogger(__name__)

REPORT, REPAIRS, SUMMARY = "listing_report.json", "repairs.jsonl", "download_summary.json"
# Decoded audio may end up to this much shorter than planned (codec priming/padding) and still be whole.
LENGTH_TOLERANCE_S = 0.25
MAX_BACKOFF_S = 300.0
# ytdlp_option keys whose values are secrets (redacted in download_summary_config.json).
SECRET_KEYS = r"(?i)pass|token|secret|cookie|proxy|username"


@dataclass
class DownloadConfig:
    max_seconds: float | None = field(default=600, metadata={"help": "Keep at most this many seconds of each video "
                                      "(0 or None: all of it). On YouTube the whole audio stream is fetched and cut locally (see --fetch); "
                                      "a source of unknown duration (live, streamed) is read up to this cap and keeps its start."})
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
    fetch: str = field(default="auto", metadata={"help": "How to get the wanted section: 'whole' (the whole audio "
                       "stream in 10 MiB chunks, cut locally: what YouTube does not throttle), 'sections' (only the "
                       "section, through ffmpeg, whole-stream fallback), 'auto' (whole for YouTube; for other URLs "
                       "sections when the server takes Range requests and the section saves >= 75% of the file)."})
    section_min_rate: str | None = field(default="48K", metadata={
        "help": "A section fetch slower than this many bytes/s (e.g. 48K; 0: no floor) is abandoned for the whole "
                "stream instead of being waited out (YouTube throttles ffmpeg's requests to ~32 KiB/s).",
        "cli_type": str})
    breaker_start: int = field(default=3, metadata={"help": "Stop the run when its first N videos (or id searches) "
                               "all fail for network reasons (no network, firewall, DNS, blocked address)."})
    breaker_consecutive: int = field(default=8, metadata={"help": "Stop the run after this many network failures "
                                     "in a row at any point (the network went away mid-run)."})
    environment_breaker: int = field(default=5, metadata={"help": "Stop the run after this many videos in a row "
                                     "failed for this machine's or a YouTube change's reasons (formats hidden, "
                                     "HTTP 403, a broken client), with what to do; they stay retryable."})
    rate_limit_wait: float = field(default=3600.0, metadata={"help": "Seconds the whole pool waits when YouTube "
                                   "rate-limits the session (or HTTP 429 outlasts the back-off), then goes on."})
    rate_limit_pauses: int = field(default=3, metadata={"help": "At most this many rate-limit waits per run; the "
                                   "next rate limit stops the run with the resume command."})
    retry_failed: bool = field(default=False, metadata={"help": "Try again videos that failed permanently before."})
    cookies: str | None = field(default=None, metadata={"help": "Netscape cookies.txt (for YouTube's bot check); "
                                "each worker uses its own copy."})
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
    extractor_args: list[str] = field(default_factory=list, metadata={
        "help": "yt-dlp's --extractor-args, repeatable, e.g. 'youtube:player_client=tv,web_safari' or a PO-token "
                "provider's 'youtubepot-bgutilhttp:base_url=http://127.0.0.1:4416'."})
    proxy: str | None = field(default=None, metadata={"help": "yt-dlp's --proxy URL (http://, socks5://; user:pass@ "
                              "is redacted in the run's records)."})
    force_ipv4: bool = field(default=False, metadata={"help": "yt-dlp's --force-ipv4 (YouTube blocks some IPv6 "
                             "ranges first)."})
    source_address: str | None = field(default=None, metadata={"help": "yt-dlp's --source-address: the client IP "
                                       "to bind to."})
    remote_components: list[str] = field(default_factory=list, metadata={
        "help": "yt-dlp's --remote-components, e.g. ejs:github (lets yt-dlp fetch the challenge solver scripts)."})
    ytdlp_option: list[str] = field(default_factory=list, metadata={
        "help": "Any other YoutubeDL option as KEY=JSON, repeatable, e.g. 'geo_bypass_country=\"DE\"'."})
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
        if self.fetch not in FETCH_CHOICES:
            raise ValueError(f"--fetch {self.fetch!r}: expected one of {', '.join(FETCH_CHOICES)}")
        self.min_rate_bps = _parse_rate(self.section_min_rate)
        _parse_rate(self.limit_rate, "--limit-rate")  # checked here: inside a download it would fail every video
        for flag, value in (("--retries", self.retries), ("--http-retries", self.http_retries),
                            ("--backoff-s", self.backoff_s)):
            if value < 0:
                raise ValueError(f"{flag} {value}: expected 0 or more")
        if self.breaker_start < 1 or self.breaker_consecutive < 1:
            raise ValueError(f"--breaker-start {self.breaker_start} / --breaker-consecutive "
                             f"{self.breaker_consecutive}: expected 1 or more")
        if self.environment_breaker < 1 or self.rate_limit_pauses < 0 or self.rate_limit_wait < 0:
            raise ValueError(f"--environment-breaker {self.environment_breaker} / --rate-limit-pauses "
                             f"{self.rate_limit_pauses} / --rate-limit-wait {self.rate_limit_wait}: expected 1 or "
                             "more / 0 or more / 0 or more")
        self.ytdlp_extra = passthrough_options(self.extractor_args, self.proxy, self.force_ipv4, self.source_address,
                                               self.remote_components, self.ytdlp_option)
        if self.cookies and not Path(self.cookies).is_file():
            raise ValueError(f"--cookies {self.cookies}: no such file (expected a Netscape cookies.txt exported from "
                             "a logged-in browser)")


def recorded_config(config: DownloadConfig) -> dict:
    """The config as the run's records keep it: credentials in a proxy URL and secrets in passthrough options
    redacted."""
    record = asdict(config)
    record["proxy"] = redact_url(config.proxy)
    record["ytdlp_option"] = [item.split("=", 1)[0] + "=***" if re.search(SECRET_KEYS, item.split("=", 1)[0])
                              else redact_url(item) for item in config.ytdlp_option]
    record["extractor_args"] = [re.sub(r"(po_token=)[^;]*", r"\1***", item) for item in config.extractor_args]
    return record


def _parse_rate(value, flag: str = "--section-min-rate") -> float:
    """Bytes/s from '48K', '1.5M', '0' or a number (``--section-min-rate``, ``--limit-rate``)."""
    if value in (None, "", 0, "0"):
        return 0.0
    from yt_dlp.utils import parse_bytes
    rate = parse_bytes(str(value)) if not isinstance(value, (int, float)) else value
    if rate is None or rate < 0:
        raise ValueError(f"{flag} {value!r}: expected bytes per second such as 48K or 1M (0: no limit)")
    return float(rate)


@dataclass
class DownloadSummary:
    out_dir: Path
    listing: ClassifiedListing
    records: dict[str, DownloadRecord]  # id -> latest manifest record (this run's and earlier runs')
    attempted: int = 0                  # videos tried in this run
    skipped: int = 0                    # already done (ok and intact, or failed permanently)
    stopped: str | None = None          # why the run stopped early (fatal), else None

    def per_category(self) -> list[list]:
        listed = self.listing.counts()
        rows = []
        for category in sorted(listed):
            recs = [r for r in self.records.values() if r.category == category]
            ok = [r for r in recs if r.ok]
            failed = Counter(r.status for r in recs if not r.ok)
            rows.append([category, listed[category]["rows"], listed[category]["usable"], len(ok),
                         sum(failed.values()), ", ".join(f"{k}:{v}" for k, v in sorted(failed.items())) or "-",
                         round(sum(r.duration_s or 0 for r in ok) / 3600, 3)])
        return rows

    def table(self) -> str:
        rows = self.per_category()
        total = ["TOTAL", *(sum(r[i] for r in rows) for i in range(1, 5)), "", round(sum(r[6] for r in rows), 3)]
        return format_table(["category", "listed", "usable", "ok", "failed", "failed by reason", "hours"], rows + [total])

    @property
    def ok(self) -> int:
        return sum(r.ok for r in self.records.values())

    @property
    def failed(self) -> int:
        return sum(not r.ok for r in self.records.values())


# ---------------------------------------------------------------- manifest

def latest_records(out_dir) -> dict[str, DownloadRecord]:
    """id -> its latest record in ``DIR/manifest.jsonl`` (a later record supersedes earlier ones): the rule of
    ``common.downloads``, which prepare and eval apply across several folders."""
    return {video_id: found.record for video_id, found in latest_download_records([out_dir]).items()}


def audio_damage(out_dir, record: DownloadRecord) -> str | None:
    """Why an ok record's file cannot be trusted (missing, size or sha256 differs from what was recorded at write
    time, or for records without them: undecodable or shorter than recorded), else ``None``. A FLAC header alone
    proves nothing: a file truncated on disk keeps its header and its declared length."""
    try:
        path = Path(out_dir) / str(record.path)
        size = path.stat().st_size
    except OSError:
        return "missing file"
    if record.path is None:
        return "missing file"
    if record.sha256:
        if size != record.size:
            return f"size {size} B, recorded {record.size} B"
        return None if file_sha256(path) == record.sha256 else "sha256 differs from the recorded one"
    try:   # a record written before sizes and hashes were recorded: decode it all
        samples, rate = sf.read(str(path), dtype="int16")
    except Exception as exc:  # torn FLAC, bad record: all mean "download again"
        return f"undecodable ({type(exc).__name__})"
    recorded = record.duration_s if record.duration_s is not None else -1.0
    if rate != SAMPLING_RATE or abs(len(samples) / rate - recorded) >= 0.01:
        return f"{len(samples) / rate:.2f} s at {rate} Hz, recorded {record.duration_s} s at {SAMPLING_RATE}"
    return None


def audio_is_intact(out_dir, record: DownloadRecord) -> bool:
    """An ok record's file is there and is exactly what was written (see ``audio_damage``)."""
    return audio_damage(out_dir, record) is None


def _needs_work(out_dir: Path, record: DownloadRecord | None, retry_failed: bool) -> tuple[bool, str | None]:
    """(fetch it?, why the earlier ok file is not trusted)."""
    if record is None:
        return True, None
    if record.ok:
        damage = audio_damage(out_dir, record)
        if damage:
            logger.warning("[%s] %s: %s; fetching it again", record.id, record.path, damage)
        return damage is not None, damage
    return retry_failed or record.transient, None


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
        expected = expected_seconds(media)
        if expected is not None and len(samples) / rate < expected - LENGTH_TOLERANCE_S:
            raise AudioError(f"truncated: decoded {len(samples) / rate:.2f} s of audio, expected {expected:.2f} s")
        if media.wanted_s is not None:
            samples = samples[: int(round(media.wanted_s * rate))]
            sf.write(str(staged), samples, rate, format="FLAC", subtype="PCM_16")
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return relative, len(samples) / rate


def expected_seconds(media) -> float | None:
    """How many seconds the decoded audio must hold (``truncated`` below it): what was wanted, bounded by what the
    downloaded file's container says it holds. YouTube's ``duration`` is whole seconds and can round up past the
    audio (a 3.4-s video says 4), so it alone would fail short videos for good. None for a source of unknown
    duration (``--max-seconds`` is only a cap on it)."""
    if not media.source_duration_s:
        return None
    wanted = media.wanted_s if media.wanted_s is not None else media.source_duration_s - media.section_start_s
    if media.method == "full":
        stated = media_seconds(media.path)
        if stated is not None:
            wanted = min(wanted, stated - media.offset_in_file_s)
    return wanted


def _attempt_failed(exc: BaseException, video: Video, youtube: bool) -> tuple[str, str, str]:
    """(message, reason, kind) of a failed attempt; raises ``BotCheckError`` when YouTube refuses this machine
    (bot check, blocked IP, captcha) and ``RateLimitPause`` for YouTube's session rate limit."""
    message = " | ".join(str(exc).splitlines())[:500]
    reason, kind = classify_failure(message, youtube)
    if kind == STOP:
        raise BotCheckError(f"{reason} on {video.id}: {message}") from exc
    if kind == PAUSE:
        raise RateLimitPause(reason, message) from exc
    return message, reason, kind


@dataclass
class Breakers:
    """The run's two breakers: ``network`` (the host cannot be reached) and ``environment`` (videos in a row fail
    for this machine's or YouTube's reasons, not theirs)."""
    network: CircuitBreaker | None = None
    environment: EnvironmentBreaker | None = None

    def success(self) -> None:
        for breaker in (self.network, self.environment):
            if breaker:
                breaker.success()


def download_one(video: Video, out_dir: Path, config: DownloadConfig, stop: threading.Event,
                 breakers: Breakers | None = None, damage: str | None = None) -> DownloadRecord:
    """Fetch, convert and verify one video; return its manifest record (the file is already in place for ok).

    Transient errors are retried here with exponential backoff, except network failures before anything worked in
    this run (the network breaker decides quickly then) and environment failures (one attempt: the environment
    breaker counts them; a later run retries them). ``BotCheckError`` (YouTube refuses this machine), ``NetworkDown``
    and ``EnvironmentBroken`` (a breaker tripped) and ``RateLimitPause`` (YouTube's session rate limit, or a 429
    through every retry) propagate: the pool stops or pauses, and the video stays unrecorded."""
    from yt_dlp.utils import DownloadError

    from download.ytdlp import MediaError, fetch_media, worker_cookies, ydl_options

    breakers = breakers or Breakers()
    youtube = _is_youtube(video)
    host = urlsplit(video.url).hostname
    work = out_dir / "tmp" / check_safe_id(video.id)
    record = {"id": video.id, "url": video.url, "category": video.category, "title": video.title,
              "description": video.description, "sample_rate": SAMPLING_RATE, "listing_rows": video.rows,
              "repaired_from": video.repaired_from, "listing_channel": video.listing_channel,
              **{key: None for key in CHANNEL_FIELDS}}
    if damage:
        record["refetched"] = f"the earlier ok file was damaged: {damage}"
    started = time.monotonic()
    for attempt in range(1, config.retries + 2):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        network, options = False, {}
        try:
            options = ydl_options(work, video.id, youtube=youtube, sleep_s=config.sleep, limit_rate=config.limit_rate,
                                  cookies=worker_cookies(config.cookies, work),
                                  cookies_from_browser=config.cookies_from_browser,
                                  stall_timeout_s=config.stall_timeout_s, socket_timeout_s=config.socket_timeout_s,
                                  http_retries=config.http_retries, cache_dir=out_dir / CACHE_DIR,
                                  extra=config.ytdlp_extra)
            media = fetch_media(video.url, work, video.id, max_seconds=config.max_seconds or None,
                                section=config.section, youtube=youtube, options=options,
                                stall_timeout_s=config.stall_timeout_s, fetch=config.fetch,
                                section_min_rate=config.min_rate_bps)
            path, duration = _finish_audio(media, out_dir, video)
            record.update(status="ok", message=f"{media.method} download", path=path, duration_s=round(duration, 3),
                          section_start_s=media.section_start_s, source_duration_s=media.source_duration_s,
                          bytes_downloaded=media.bytes_downloaded, format_id=media.format_id, method=media.method,
                          fetch=media.fetch, bytes_fetched=media.bytes_fetched, fetch_s=media.fetch_s,
                          fetch_fallback=media.fallback, size=(out_dir / path).stat().st_size,
                          sha256=file_sha256(out_dir / path), transient=False, audio_language=media.language,
                          audio_language_preference=media.language_preference, **media.info)
            breakers.success()
            break
        except (DownloadError, MediaError, AudioError, OSError) as exc:
            message, reason, kind = _attempt_failed(exc, video, youtube)
            network = is_network_failure(message)
        except Exception as exc:  # anything else (a yt-dlp quirk, odd metadata) costs this video only, never the run
            logger.exception("[%s] unexpected error", video.id)
            message, reason, kind = f"{type(exc).__name__}: {exc}"[:500], "error", VIDEO
        finally:
            shutil.rmtree(work, ignore_errors=True)
        warnings = list(getattr(options.get("logger"), "warnings", ()))
        transient = kind != VIDEO
        record.update(status=reason, message=message, path=None, duration_s=None, transient=transient,
                      warnings=warnings)
        if breakers.network and network:
            breakers.network.failure(video.id, host, message)       # raises NetworkDown when it trips
        elif breakers.network:
            breakers.network.other_failure()
        if kind == ENVIRONMENT:
            if breakers.environment:
                breakers.environment.failure(video.id, reason, message, warnings)  # raises EnvironmentBroken
            break                       # not the video's: recorded as retryable, tried again by a later run
        if breakers.environment and not network:
            breakers.environment.success()     # a failure of the video's own: this machine gets answers
        if reason == "rate_limited" and attempt > config.retries:
            raise RateLimitPause(reason, message)
        if not transient or attempt > config.retries or stop.is_set() or (
                network and breakers.network and not breakers.network.proven):
            break
        delay = min(MAX_BACKOFF_S, config.backoff_s * 2 ** (attempt - 1))
        logger.info("[%s] %s (attempt %d); retrying in %.1f s", video.id, reason, attempt, delay)
        if stop.wait(delay):  # stopped (Ctrl-C, bot check, network down) while waiting: no further attempt
            break
    record.update(attempts=attempt, elapsed_s=round(time.monotonic() - started, 2),
                  finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return DownloadRecord.from_json(record, f"the record of {video.id}")


# ---------------------------------------------------------------- the stage

def load_listing(listing_source: str, out_dir: Path, config: DownloadConfig,
                 breaker: CircuitBreaker | None = None) -> ClassifiedListing:
    """Read, optionally repair, and classify the listing; write ``DIR/listing_report.json``."""
    rows = read_listing(listing_source)
    if config.repair_ids:
        options = search_options(config.cookies, config.cookies_from_browser, config.sleep, config.ytdlp_extra,
                                 out_dir / "tmp" / "search")
        rows = repair_rows(rows, out_dir / REPAIRS, search=functools.partial(youtube_search, options=options),
                           breaker=breaker)
    listing = classify_listing(rows, source=str(listing_source), sha256=listing_sha256(listing_source))
    atomic_write_json(out_dir / REPORT, listing.report())
    return listing


def _pending(videos: list[Video], records: dict, out_dir: Path, config: DownloadConfig
             ) -> tuple[list[Video], dict[str, str]]:
    """The videos to fetch, and id -> why its earlier ok file is damaged."""
    todo, damaged = [], {}
    for video in videos:
        needed, damage = _needs_work(out_dir, records.get(video.id), config.retry_failed)
        if needed:
            todo.append(video)
        if damage:
            damaged[video.id] = damage
    return todo, damaged


def _remove_leftovers(out_dir: Path) -> None:
    """What a killed run leaves: half-converted audio (never renamed into place) and yt-dlp work folders."""
    leftovers = [*(out_dir / "audio").glob(".*.staged.flac*"), *(out_dir / "audio").glob("*.tmp.flac")]
    for path in leftovers:
        path.unlink(missing_ok=True)
    if (out_dir / "tmp").is_dir():
        shutil.rmtree(out_dir / "tmp", ignore_errors=True)
    if leftovers:
        logger.info("removed %d half-written audio file(s) left by an interrupted run", len(leftovers))


def download_videos(listing_source: str, out_dir, config: DownloadConfig | None = None,
                    resume_command: str | None = None) -> DownloadSummary:
    """Run the stage: classify the listing, then fetch every pending video with ``config.workers`` threads.

    Raises ``FatalError`` (no ffmpeg, bot check; ``NetworkDown`` when the circuit breaker trips, ``RateLimited``
    when 429 persists) and ``ListingError`` (unreadable listing); failed videos are recorded in the manifest, not
    raised. ``resume_command`` is what the stop messages tell the user to run again.
    """
    config = config or DownloadConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    resume = resume_command or f"python -m download --listing {listing_source} --out {out_dir}"
    breakers = Breakers(CircuitBreaker(config.breaker_start, config.breaker_consecutive, resume),
                        EnvironmentBreaker(config.environment_breaker, resume))
    _remove_leftovers(out_dir)
    listing = load_listing(listing_source, out_dir, config, CircuitBreaker(
        config.breaker_start, config.breaker_consecutive, resume, what="id searches"))
    records = latest_records(out_dir)
    summary = DownloadSummary(out_dir, listing, records)
    if config.dry_run:
        return summary
    try:
        require_ffmpeg()
    except FfmpegMissing as exc:
        raise FatalError(str(exc)) from exc
    videos = select_videos(listing.videos, config.categories, config.shard)
    from download.check import environment_report
    lines, warnings = environment_report(config, youtube=any(_is_youtube(v) for v in videos))
    logger.info("; ".join(lines))
    for warning in warnings:
        logger.warning(warning)
    todo, damaged = _pending(videos, records, out_dir, config)
    summary.skipped = len(videos) - len(todo)          # done before: counted before --limit cuts the to-do list
    if config.limit:
        todo = todo[: config.limit]
    atomic_write_json(out_dir / SUMMARY.replace(".json", "_config.json"), {
        "config": recorded_config(config), "listing": str(listing_source), "listing_sha256": listing.sha256,
        "versions": package_versions(["yt-dlp", "yt-dlp-ejs", "deno"], ffmpeg=True),
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    logger.info("%d videos selected, %d already done, %d to fetch", len(videos), summary.skipped, len(todo))
    try:
        _run_pool(todo, out_dir, config, summary, breakers, damaged, resume)
    finally:
        atomic_write_json(out_dir / SUMMARY, {"per_category": summary.per_category(), "ok": summary.ok,
                                              "failed": summary.failed, "attempted": summary.attempted,
                                              "skipped": summary.skipped, "stopped": summary.stopped})
    return summary


def _is_youtube(video: Video) -> bool:
    return YOUTUBE_ID.fullmatch(video.id) is not None and "youtube.com" in video.url


def _run_pool(todo: list[Video], out_dir: Path, config: DownloadConfig, summary: DownloadSummary,
              breakers: Breakers, damaged: dict[str, str], resume: str) -> None:
    """Fetch ``todo`` with ``config.workers`` threads; record each finished video as it lands. Stops on a fatal
    condition (bot wall, a breaker, rate limits past ``rate_limit_pauses``); pauses the whole pool for
    ``rate_limit_wait`` seconds when YouTube rate-limits the session. Ctrl-C records what finished, then stops."""
    ok_in = Counter(r.category for r in summary.records.values() if r.ok)
    in_flight: dict = {}
    queue = list(todo)
    stop = threading.Event()
    bar = tqdm(total=len(todo), desc="download", unit="video", dynamic_ncols=True)
    failures = 0
    pauses = 0
    limited: RateLimitPause | None = None        # the rate limit the pool is waiting out (no new submissions)
    fatal: FatalError | None = None

    def next_video():
        for index, video in enumerate(queue):
            busy = sum(v.category == video.category for v in in_flight.values())
            if config.per_category is None or ok_in[video.category] + busy < config.per_category:
                return queue.pop(index)
            # category full (counting in-flight ones): skip it for now, it may free up if one of them fails
        return None

    def halt(error: FatalError):
        nonlocal fatal
        stop.set()
        fatal = fatal or error
        summary.stopped = summary.stopped or str(error)

    def land(video: Video, record: DownloadRecord) -> None:
        nonlocal failures
        append_record(out_dir, record)
        summary.records[video.id] = record
        summary.attempted += 1
        ok_in[video.category] += record.ok
        failures += not record.ok
        bar.update(1)
        bar.set_postfix(ok=bar.n - failures, failed=failures)

    def collect(done) -> None:
        nonlocal limited
        for future in done:
            video = in_flight.pop(future)
            try:
                record = future.result()
            except BotCheckError as exc:
                halt(BotCheckError(f"{exc} {BOT_CHECK_HELP} Nothing was lost; resume with: {resume}"))
                continue
            except FatalError as exc:        # a breaker tripped: the video stays unrecorded, so it stays pending
                halt(exc)
                continue
            except RateLimitPause as exc:    # back to the queue, unrecorded; the pool waits
                queue.insert(0, video)
                limited = limited or exc
                continue
            land(video, record)

    def wait_out(limit: RateLimitPause) -> None:
        """Wait ``rate_limit_wait`` seconds with the bar showing the countdown (Ctrl-C stops as usual)."""
        until = time.monotonic() + config.rate_limit_wait
        logger.warning("YouTube rate-limits this session (%s: %s); pausing every download for %.0f s (pause %d of "
                       "%d)", limit.reason, limit.message[:200], config.rate_limit_wait, pauses, config.rate_limit_pauses)
        while (left := until - time.monotonic()) > 0:
            bar.set_postfix_str(f"rate-limited: waiting {left:.0f} s (pause {pauses}/{config.rate_limit_pauses})")
            time.sleep(min(1.0, left))
        bar.set_postfix(ok=bar.n - failures, failed=failures)

    with ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="dl") as pool:
        try:
            while True:
                if limited is not None and not in_flight and not stop.is_set():
                    if pauses >= config.rate_limit_pauses:
                        halt(RateLimited(
                            f"{limited.reason}: {limited.message[:300]}. YouTube's rate limit outlasted "
                            f"{pauses} pause(s) of {config.rate_limit_wait:.0f} s (--rate-limit-pauses, "
                            f"--rate-limit-wait). Stopped; nothing was lost (the rate-limited videos stay pending). "
                            f"Wait an hour, keep the default pacing (--sleep), {COOKIES_ADVICE}, then resume with: "
                            f"{resume}"))
                        break
                    pauses += 1
                    wait_out(limited)
                    limited = None
                while (limited is None and not stop.is_set() and len(in_flight) < config.workers
                       and (video := next_video())):
                    in_flight[pool.submit(download_one, video, out_dir, config, stop, breakers,
                                          damaged.get(video.id))] = video
                if not in_flight:
                    if limited is not None and not stop.is_set():
                        continue
                    break
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                collect(done)
        except KeyboardInterrupt:
            stop.set()              # no new attempt starts; what is in flight finishes and is recorded
            logger.warning("interrupted: recording the %d download(s) in flight, then stopping", len(in_flight))
            collect(wait(in_flight)[0])
            raise
        finally:
            bar.close()
    if fatal is not None:
        raise fatal
