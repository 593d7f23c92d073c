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
import math
import re
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import soundfile as sf

from common.audio import SAMPLING_RATE, FfmpegMissing, require_ffmpeg
from common.cli import format_table
from common.contract import DownloadRecord, latest_download_records
from common.jsonl import atomic_write_json
from common.provenance import file_sha256, package_versions
from common.values import check_number
from download.attempt import Breakers, is_youtube
from download.breaker import CircuitBreaker, EnvironmentBreaker
from download.errors import FatalError
from download.listing import (ClassifiedListing, Video, classify_listing, listing_sha256, parse_categories, parse_shard,
                              read_listing, select_videos)
from download.policy import CHECK_VIDEO
from download.pool import PROXY_COLUMNS, Pool
from download.repair import repair_rows, search_options, youtube_search
from download.ytdlp import FETCH_CHOICES, passthrough_options, redact_url

logger = logging.getLogger(__name__)

REPORT, REPAIRS, SUMMARY = "listing_report.json", "repairs.jsonl", "download_summary.json"
MAX_WORKERS = 64               # parallel downloads at most (YouTube wants 1; a loopback or CDN listing a few)
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
    rate_limit_wait: float = field(default=3600.0, metadata={"help": "Seconds a proxy (without proxies: the run) "
                                   "waits when YouTube rate-limits its session (or HTTP 429 outlasts the back-off); "
                                   "the other proxies go on meanwhile."})
    rate_limit_pauses: int = field(default=3, metadata={"help": "At most this many rate-limit waits per proxy and "
                                   "run; the next rate limit retires it (the last one: the run stops with the "
                                   "resume command)."})
    check_video: str = field(default=CHECK_VIDEO, metadata={
        "help": "A YouTube video known to be fine: extracted with the run's options before a failure whose words "
                "YouTube also uses for a blocked session or a change is recorded as the video's (and by --check "
                "--online)."})
    check_batch: int = field(default=10, metadata={"help": "Judge the held unsure failures of a proxy with one "
                             "known-good extraction once this many wait."})
    check_interval: float = field(default=600.0, metadata={"help": "... or once the first of them waited this many "
                                  "seconds (and always when nothing else is left)."})
    retry_failed: bool = field(default=False, metadata={"help": "Try again videos that failed permanently before."})
    cookies: str | None = field(default=None, metadata={"help": "Netscape cookies.txt (for YouTube's bot check); "
                                "each worker uses its own copy."})
    cookies_from_browser: str | None = field(default=None, metadata={"help": "Read cookies from this browser "
                                             "(firefox, chrome, ...; BROWSER:PROFILE allowed)."})
    per_category: int | None = field(default=None, metadata={"help": "Stop fetching a category once this many "
                                     "videos succeeded."})
    categories: list[str] | None = field(default=None, metadata={
        "help": "Only these categories: --categories art_music,food or --categories art_music food (a config "
                "file: a list, or one comma-separated string).", "cli_type": str})
    shard: tuple[int, int] | None = field(default=None, metadata={
        "help": "K/N: only the ids in shard K of N (1-based), for several machines on one listing; 'auto': this "
                "task's shard from a Slurm job array or a Kubernetes Indexed Job (docs/scaling.md).",
        "cli_type": str})
    shard_count: int | None = field(default=None, metadata={
        "help": "With --shard auto: the number of shards, where the environment does not say it (a Kubernetes "
                "Indexed Job's completions; a Slurm array with gaps)."})
    repair_ids: bool = field(default=False, metadata={"help": "Search YouTube for the titles of damaged/#NAME? rows "
                             "to recover their ids (cached in DIR/repairs.jsonl)."})
    extractor_args: list[str] = field(default_factory=list, metadata={
        "help": "yt-dlp's --extractor-args, repeatable, e.g. a PO-token provider's "
                "'youtubepot-bgutilhttp:base_url=http://127.0.0.1:4416' (leave player_client to yt-dlp's defaults: "
                "docs/troubleshooting.md)."})
    proxy: str | None = field(default=None, metadata={"help": "yt-dlp's --proxy URL (http://, socks5://; user:pass@ "
                              "is redacted in the run's records)."})
    proxy_file: str | None = field(default=None, metadata={
        "help": "A file of proxy URLs, one per line ('#' comments; 'direct': this machine's own address): "
                "--workers slots per proxy; a rate limit or a wall pauses or retires one proxy, not the run."})
    force_ipv4: bool = field(default=False, metadata={"help": "yt-dlp's --force-ipv4 (YouTube blocks some IPv6 "
                             "ranges first)."})
    source_address: str | None = field(default=None, metadata={"help": "yt-dlp's --source-address: the client IP "
                                       "to bind to."})
    remote_components: list[str] = field(default_factory=list, metadata={
        "help": "yt-dlp's --remote-components, e.g. ejs:github (lets yt-dlp fetch the challenge solver scripts)."})
    ytdlp_option: list[str] = field(default_factory=list, metadata={
        "help": "Any other YoutubeDL option as KEY=JSON, repeatable, e.g. 'geo_bypass_country=\"DE\"'."})
    dry_run: bool = field(default=False, metadata={"help": "Only read and classify the listing; no downloads."})
    limit: int | None = field(default=None, metadata={"help": "At most this many videos in this run (for trials); "
                              "0 or no --limit: every video."})

    def __post_init__(self):
        if self.section not in ("middle", "start"):
            raise ValueError(f"--section {self.section!r}: expected 'middle' or 'start'")
        check_number("--max-seconds", self.max_seconds, minimum=0, why="0 keeps whole videos")
        check_number("--workers", self.workers, minimum=1, maximum=MAX_WORKERS, integer=True, allow_none=False)
        check_number("--sleep", self.sleep, minimum=0)
        check_number("--per-category", self.per_category, minimum=1, integer=True)
        check_number("--limit", self.limit, minimum=0, integer=True, why="0 or no --limit: every video")
        check_number("--check-batch", self.check_batch, minimum=1, integer=True, allow_none=False)
        check_number("--check-interval", self.check_interval, minimum=0, allow_none=False)
        check_number("--shard-count", self.shard_count, minimum=1, integer=True)
        if self.shard_count is not None and str(self.shard).strip().lower() != "auto":
            raise ValueError(f"--shard-count {self.shard_count}: goes with --shard auto (with --shard K/N, N is the "
                             "count)")
        # the proxies the pool spreads its slots over (None: this machine's own address)
        self.proxy_urls = read_proxy_file(self.proxy_file, self.proxy)
        for flag, value in (("--retries", self.retries), ("--http-retries", self.http_retries),
                            ("--rate-limit-pauses", self.rate_limit_pauses)):
            check_number(flag, value, minimum=0, integer=True, allow_none=False)
        for flag, value in (("--backoff-s", self.backoff_s), ("--rate-limit-wait", self.rate_limit_wait)):
            check_number(flag, value, minimum=0, allow_none=False)
        for flag, value in (("--stall-timeout-s", self.stall_timeout_s), ("--socket-timeout-s", self.socket_timeout_s)):
            check_number(flag, value, minimum=0, above=True, allow_none=False)
        for flag, value in (("--breaker-start", self.breaker_start), ("--breaker-consecutive", self.breaker_consecutive),
                            ("--environment-breaker", self.environment_breaker)):
            check_number(flag, value, minimum=1, integer=True, allow_none=False)
        self.categories = parse_categories(self.categories)
        if isinstance(self.shard, str):
            self.shard = parse_shard(self.shard, self.shard_count)
        if self.fetch not in FETCH_CHOICES:
            raise ValueError(f"--fetch {self.fetch!r}: expected one of {', '.join(FETCH_CHOICES)}")
        self.min_rate_bps = _parse_rate(self.section_min_rate)
        _parse_rate(self.limit_rate, "--limit-rate")  # checked here: inside a download it would fail every video
        self.ytdlp_extra = passthrough_options(self.extractor_args, self.proxy, self.force_ipv4, self.source_address,
                                               self.remote_components, self.ytdlp_option)
        if self.cookies and not Path(self.cookies).is_file():
            raise ValueError(f"--cookies {self.cookies}: no such file (expected a Netscape cookies.txt exported from "
                             "a logged-in browser)")


def read_proxy_file(path: str | None, proxy: str | None) -> list[str | None]:
    """``--proxy-file``'s URLs (or ``[--proxy]``, or ``[None]``: no proxy); errors name the line."""
    if not path:
        return [proxy]
    if proxy:
        raise ValueError("give at most one of --proxy URL and --proxy-file FILE")
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--proxy-file {path}: cannot be read ({exc})") from exc
    urls: list[str | None] = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if text.lower() == "direct":
            urls.append(None)
            continue
        if not re.fullmatch(r"(https?|socks4a?|socks5h?)://[^\s/]+(:\d+)?/?", text):
            raise ValueError(f"--proxy-file {path} line {number}: {redact_url(text)!r} is not a proxy URL "
                             "(expected http://HOST:PORT, socks5://USER:PASS@HOST:PORT or 'direct')")
        if text in urls:
            raise ValueError(f"--proxy-file {path} line {number}: {redact_url(text)} is listed twice")
        urls.append(text)
    if not urls:
        raise ValueError(f"--proxy-file {path}: no proxy URL in it (one per line; 'direct' for this machine)")
    return urls


def recorded_config(config: DownloadConfig) -> dict:
    """The config as the run's records keep it: credentials in a proxy URL and secrets in passthrough options
    redacted."""
    record = asdict(config)
    record["proxy"] = redact_url(config.proxy)
    record["proxy_urls"] = [redact_url(url) or "direct" for url in config.proxy_urls]
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
    if rate is None or isinstance(rate, bool) or not math.isfinite(rate) or rate < 0:
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
    checks: int = 0                     # known-good extractions made to judge unsure failures
    proxies: list[list] = field(default_factory=list)     # rows of PROXY_COLUMNS

    def proxy_table(self) -> str:
        return format_table(list(PROXY_COLUMNS), self.proxies)

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
    ``common.contract.latest_download_records``, which prepare and eval apply across several folders."""
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


# ---------------------------------------------------------------- the stage

def load_listing(listing_source: str, out_dir: Path, config: DownloadConfig,
                 breaker: CircuitBreaker | None = None) -> ClassifiedListing:
    """Read, optionally repair, and classify the listing; write ``DIR/listing_report.json``."""
    rows = read_listing(listing_source)
    if config.repair_ids:
        options = search_options(config.cookies, config.cookies_from_browser, config.sleep, config.ytdlp_extra,
                                 out_dir / "tmp" / "search")
        rows = repair_rows(rows, out_dir / REPAIRS, search=RoundRobinSearch(options, config.proxy_urls),
                           breaker=breaker)
    listing = classify_listing(rows, source=str(listing_source), sha256=listing_sha256(listing_source))
    atomic_write_json(out_dir / REPORT, listing.report())
    return listing


class RoundRobinSearch:
    """``--repair-ids``' searches spread over the proxies (``--proxy-file``), one after the other, so that one exit
    address does not carry every search."""

    def __init__(self, options: dict, proxies: list[str | None]):
        self.options, self.proxies, self.calls = options, proxies, 0

    def __call__(self, query: str, max_results: int) -> list[dict]:
        proxy = self.proxies[self.calls % len(self.proxies)]
        self.calls += 1
        options = {key: value for key, value in self.options.items() if key != "proxy"}
        return youtube_search(query, max_results, options={**options, **({"proxy": proxy} if proxy else {})})


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
    lines, warnings = environment_report(config, youtube=any(is_youtube(v) for v in videos))
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
    pool = Pool(todo, out_dir, config, summary, breakers, damaged, resume)
    try:
        pool.run()
    finally:
        summary.proxies = pool.proxy_rows()
        summary.checks = pool.checks
        atomic_write_json(out_dir / SUMMARY, {"per_category": summary.per_category(), "ok": summary.ok,
                                              "failed": summary.failed, "attempted": summary.attempted,
                                              "skipped": summary.skipped, "stopped": summary.stopped,
                                              "known_good_checks": summary.checks,
                                              "proxies": [dict(zip(PROXY_COLUMNS, row)) for row in summary.proxies]})
    return summary
