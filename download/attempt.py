"""One video: fetch its audio with yt-dlp, convert it to 16 kHz FLAC, verify it, and say what happened (``Outcome``).

Nothing is recorded here: the pool (``download.pool``) decides, by the failure policy (``download.policy``), whether
an outcome goes to the manifest, is held for a known-good check, or sends the video back to the queue. Transient
failures (network, 5xx, 429, a killed child) are retried here with exponential back-off.

Example::

    from download.attempt import download_one
    outcome = download_one(video, Path("raw"), config, threading.Event())
    outcome.record.status, outcome.verdict
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import soundfile as sf

from common.audio import SAMPLING_RATE, AudioError, convert_to_flac
from common.contract import DownloadRecord
from common.ids import check_safe_id
from common.provenance import file_sha256
from download.breaker import CircuitBreaker, EnvironmentBreaker
from download.ids import YOUTUBE_ID
from download.listing import Video
from download.policy import INTERRUPTED, PAUSE, RETRY, Verdict, classify, is_network_failure
from download.ytdlp import CHANNEL_FIELDS, media_seconds, redact_url

logger = logging.getLogger(__name__)

# Decoded audio may end up to this much shorter than planned (codec priming/padding) and still be whole.
LENGTH_TOLERANCE_S = 0.25
MAX_BACKOFF_S = 300.0


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


@dataclass
class Outcome:
    """What one video's attempts came to: the record it would get, and whose the failure is (None: ok)."""
    video: Video
    record: DownloadRecord
    verdict: Verdict | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is None

    def as_whose(self, whose: str, checked: str | None = None) -> "Outcome":
        """The same failure, judged ``whose`` (after a known-good check)."""
        verdict = Verdict(self.verdict.reason, whose)
        return replace(self, verdict=verdict, record=replace(self.record, whose=whose, transient=verdict.transient,
                                                             checked=checked))


def is_youtube(video: Video) -> bool:
    return YOUTUBE_ID.fullmatch(video.id) is not None and "youtube.com" in video.url


def download_one(video: Video, out_dir: Path, config, stop: threading.Event, breakers: Breakers | None = None,
                 damage: str | None = None, proxy: str | None = None) -> Outcome:
    """Fetch, convert and verify one video (through ``proxy`` when given); its outcome, not yet recorded (an ok
    file is already in place). Transient failures are retried with back-off, except network failures before
    anything worked in this run (the network breaker decides quickly then, raising ``NetworkDown``) and failures
    that are not transient: those end the attempts at once."""
    breakers = breakers or Breakers()
    started = time.monotonic()
    fields = listing_fields(video, damage, proxy)
    for attempt in range(1, config.retries + 2):
        outcome = attempt_once(video, out_dir, config, fields, proxy)
        if outcome.ok:
            breakers.success()
            break
        network = is_network_failure(outcome.record.message or "")
        count_failure(breakers, video, outcome, network)
        if not worth_retrying(outcome, attempt, config, stop, breakers, network):
            break
        delay = min(MAX_BACKOFF_S, config.backoff_s * 2 ** (attempt - 1))
        logger.info("[%s] %s (attempt %d); retrying in %.1f s", video.id, outcome.verdict.reason, attempt, delay)
        if stop.wait(delay):  # stopped (Ctrl-C, a stop elsewhere) while waiting: no further attempt
            break
    if outcome.verdict is not None and outcome.verdict.reason == "rate_limited" and attempt > config.retries:
        outcome = replace(outcome, verdict=Verdict("rate_limited", PAUSE))    # 429 through every retry: pause
    record = replace(outcome.record, attempts=attempt, elapsed_s=round(time.monotonic() - started, 2),
                     finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    return replace(outcome, record=record)


def listing_fields(video: Video, damage: str | None, proxy: str | None) -> dict:
    """What every record of ``video`` holds, whatever happens: its listing row's facts."""
    return dict(id=video.id, url=video.url, category=video.category, title=video.title,
                description=video.description, sample_rate=SAMPLING_RATE, listing_rows=list(video.rows),
                repaired_from=video.repaired_from, listing_channel=video.listing_channel, proxy=redact_url(proxy),
                refetched=f"the earlier ok file was damaged: {damage}" if damage else None)


def attempt_once(video: Video, out_dir: Path, config, fields: dict, proxy: str | None) -> Outcome:
    """One attempt: fetch, convert, verify. Its own work folder goes whatever happens."""
    from yt_dlp.utils import DownloadError

    from download.ytdlp import MediaError, fetch_media

    youtube = is_youtube(video)
    work = out_dir / "tmp" / check_safe_id(video.id)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    options = {}
    try:
        options = run_options(config, work, video.id, youtube, out_dir, proxy, limit_rate=config.limit_rate)
        media = fetch_media(video.url, work, video.id, max_seconds=config.max_seconds or None,
                            section=config.section, youtube=youtube, options=options,
                            stall_timeout_s=config.stall_timeout_s, fetch=config.fetch,
                            section_min_rate=config.min_rate_bps)
        path, duration = finish_audio(media, out_dir, video)
        record = DownloadRecord(**fields, status="ok", message=f"{media.method} download", path=path,
                                duration_s=round(duration, 3), section_start_s=media.section_start_s,
                                source_duration_s=media.source_duration_s, bytes_downloaded=media.bytes_downloaded,
                                format_id=media.format_id, method=media.method, fetch=media.fetch,
                                bytes_fetched=media.bytes_fetched, fetch_s=media.fetch_s,
                                fetch_fallback=media.fallback, size=(out_dir / path).stat().st_size,
                                sha256=file_sha256(out_dir / path), audio_language=media.language,
                                audio_language_preference=media.language_preference,
                                **{key: media.info.get(key) for key in CHANNEL_FIELDS})
        return Outcome(video, record)
    except (DownloadError, MediaError, AudioError, OSError) as exc:
        message = " | ".join(str(exc).splitlines())[:500]
    except Exception as exc:  # anything else (a yt-dlp quirk, odd metadata) costs this video only, never the run
        logger.exception("[%s] unexpected error", video.id)
        message = f"{type(exc).__name__}: {exc}"[:500]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    verdict = classify(message, youtube)
    record = DownloadRecord(**fields, status=verdict.reason, message=message, whose=verdict.whose,
                            transient=verdict.transient,
                            warnings=list(getattr(options.get("logger"), "warnings", ())))
    return Outcome(video, record, verdict)


def run_options(config, work: Path, name: str, youtube: bool, out_dir: Path, proxy: str | None,
                limit_rate: str | None = None) -> dict:
    """The run's ``YoutubeDL`` options for one extraction in ``work`` (through ``proxy``): pacing, cookies (a
    private copy), timeouts, retries, the run's yt-dlp cache and passthrough options. A video's attempt and the
    known-good check (``download.pool``) extract with the same."""
    from download.ytdlp import CACHE_DIR, worker_cookies, ydl_options

    return ydl_options(work, name, youtube=youtube, sleep_s=config.sleep, limit_rate=limit_rate,
                       cookies=worker_cookies(config.cookies, work), cookies_from_browser=config.cookies_from_browser,
                       stall_timeout_s=config.stall_timeout_s, socket_timeout_s=config.socket_timeout_s,
                       http_retries=config.http_retries, cache_dir=out_dir / CACHE_DIR,
                       extra={**config.ytdlp_extra, **({"proxy": proxy} if proxy else {})})


def count_failure(breakers: Breakers, video: Video, outcome: Outcome, network: bool) -> None:
    """The network breaker counts connection failures (``NetworkDown`` when it trips); any other answer proves the
    connection works."""
    if breakers.network and network:
        breakers.network.failure(video.id, urlsplit(video.url).hostname, outcome.record.message or "")
    elif breakers.network:
        breakers.network.other_failure()


def worth_retrying(outcome: Outcome, attempt: int, config, stop: threading.Event, breakers: Breakers,
                   network: bool) -> bool:
    """Another attempt now: a transient failure (network, 5xx, 429, a killed child) with retries left, the run not
    stopping, and for network failures the connection proven earlier in the run (else the breaker decides)."""
    if outcome.verdict.whose not in (RETRY, INTERRUPTED) or attempt > config.retries or stop.is_set():
        return False
    return not (network and breakers.network and not breakers.network.proven)


# ---------------------------------------------------------------- audio

def finish_audio(media, out_dir: Path, video: Video) -> tuple[str, float]:
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
