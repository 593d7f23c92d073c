"""Everything that talks to yt-dlp: options (pacing, cookies, JS runtime), the audio format choice, and fetching
one video's audio (a section through ``download_ranges``, or the whole file) into a work folder.

Example::

    from download.ytdlp import fetch_media
    media = fetch_media("http://127.0.0.1:8000/a.webm", "out/tmp/a", max_seconds=60, section="middle")
    media.path, media.section_start_s, media.source_duration_s
"""

from __future__ import annotations

import importlib.util
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from common.audio import AudioError, probe

logger = logging.getLogger(__name__)

# Below ~40 kbps YouTube serves HE-AAC (22 kHz, the top band synthesized by SBR) or "ultralow" formats: too little
# real content for a 16 kHz model. Above it, the smallest stream is usually opus ~50 kbps (itag 249, 48 kHz,
# fullband), which already carries everything up to 8 kHz that 16 kHz audio can hold.
MIN_AUDIO_KBPS = 40
HE_AAC = ("mp4a.40.5", "mp4a.40.29")    # SBR: above ~5.5 kHz the sound is synthesized, not recorded
# yt-dlp's own "-t sleep" preset (options.py): what its maintainers recommend against YouTube's rate limits.
YOUTUBE_PACING = {"sleep_interval_requests": 0.75, "sleep_interval": 10.0, "max_sleep_interval": 20.0}


class MediaError(RuntimeError):
    """A fetch that failed after yt-dlp returned: message starts with the reason code's words."""


@dataclass
class FetchedMedia:
    path: Path                      # the downloaded media file (a section or the whole source)
    method: str                     # "section" | "full"
    section_start_s: float          # where the wanted audio starts in the source
    wanted_s: float | None          # how long the wanted audio is (None: all of it)
    offset_in_file_s: float         # where the wanted audio starts inside ``path``
    source_duration_s: float | None
    format_id: str | None
    bytes_downloaded: int


def choose_audio_format(formats: list[dict]) -> dict | None:
    """The smallest audio-only stream that is enough for 16 kHz; else the smallest format that has audio.

    Enough = sample rate unknown or >= 16 kHz, bitrate unknown or >= ``MIN_AUDIO_KBPS``, not HE-AAC. Among those, the
    lowest bitrate wins (opus before aac on a tie: fullband at low rates).
    """
    def kbps(f):
        return f.get("abr") or f.get("tbr") or (f.get("filesize") or f.get("filesize_approx") or 0) / 1e4 or None

    def has_audio(f):
        return f.get("acodec") != "none" and not f.get("has_drm")

    audio_only = [f for f in formats if has_audio(f) and f.get("vcodec") == "none" and f.get("acodec")]
    enough = [f for f in audio_only if (f.get("asr") or 16_000) >= 16_000 and (kbps(f) or MIN_AUDIO_KBPS) >= MIN_AUDIO_KBPS
              and not str(f.get("acodec")).startswith(HE_AAC)]
    pool = enough or audio_only or [f for f in formats if has_audio(f)]
    if not pool:
        return None
    return min(pool, key=lambda f: (kbps(f) if kbps(f) is not None else float("inf"),
                                    0 if str(f.get("acodec", "")).startswith("opus") else 1,
                                    -formats.index(f)))    # equal: yt-dlp lists better formats last


def _format_selector(ctx):
    chosen = choose_audio_format(ctx["formats"])
    return [chosen] if chosen else []


def detect_js_runtime() -> dict | None:
    """yt-dlp's ``js_runtimes`` option for the JS runtime found on PATH (deno, or node 20+), else ``None``."""
    if shutil.which("deno"):
        return {"deno": {}}
    node = shutil.which("node")
    if node:
        try:
            version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout
            major = int(re.match(r"v?(\d+)", version.strip()).group(1))
        except (OSError, subprocess.SubprocessError, AttributeError, ValueError):
            return None
        if major >= 20:
            return {"node": {}}
    return None


def youtube_readiness() -> list[str]:
    """Warnings about what YouTube downloads need (a JS runtime, yt-dlp's solver scripts); empty when all is there."""
    warnings = []
    if detect_js_runtime() is None:
        warnings.append("no JavaScript runtime for yt-dlp (install deno, or node 20+): YouTube formats will go "
                        "missing and downloads fail with 'Requested format is not available'")
    if importlib.util.find_spec("yt_dlp_ejs") is None:
        warnings.append("yt-dlp's challenge solver scripts are missing: pip install 'yt-dlp[default]'")
    return warnings


class _YdlLogger:
    """Routes yt-dlp's output to logging (debug), keeping its errors for the failure message."""

    def __init__(self, video_id: str):
        self.video_id, self.errors = video_id, []

    def debug(self, msg):
        logger.debug("[%s] %s", self.video_id, msg)

    info = debug

    def warning(self, msg):
        logger.debug("[%s] warning: %s", self.video_id, msg)

    def error(self, msg):
        self.errors.append(msg)
        logger.debug("[%s] %s", self.video_id, msg)


def ydl_options(work_dir: Path, video_id: str, *, youtube: bool, sleep_s: float | None, limit_rate: str | None,
                cookies: str | None, cookies_from_browser: str | None, stall_timeout_s: float,
                socket_timeout_s: float, http_retries: int) -> dict:
    from yt_dlp.utils import parse_bytes

    options = {
        "quiet": True, "no_warnings": True, "noprogress": True, "color": "no_color",
        "logger": _YdlLogger(video_id),
        "format": _format_selector,
        "outtmpl": {"default": str(work_dir / "source.%(ext)s")},
        "noplaylist": True, "overwrites": True, "continuedl": True, "cachedir": False,
        "retries": http_retries, "fragment_retries": http_retries, "file_access_retries": 1,
        "socket_timeout": socket_timeout_s,
        # A section download is ffmpeg reading over HTTP; -rw_timeout makes a stalled read fail instead of hang.
        "external_downloader_args": {"ffmpeg_i": ["-rw_timeout", str(int(stall_timeout_s * 1e6))]},
    }
    if limit_rate:
        try:
            options["ratelimit"] = parse_bytes(limit_rate)
        except (ValueError, AttributeError, TypeError):
            options["ratelimit"] = None
        if not options["ratelimit"]:
            raise ValueError(f"--limit-rate {limit_rate!r}: expected bytes per second such as 500K or 4.2M")
    if sleep_s is None and youtube:
        options.update(YOUTUBE_PACING)
    elif sleep_s:
        options.update({"sleep_interval": sleep_s, "max_sleep_interval": 2 * sleep_s, "sleep_interval_requests": sleep_s / 10})
    if cookies:
        options["cookiefile"] = cookies
    if cookies_from_browser:
        options["cookiesfrombrowser"] = tuple(cookies_from_browser.split(":", 1))
    if youtube:
        options["js_runtimes"] = detect_js_runtime() or {"deno": {}}
    return options


def plan_section(source_duration_s: float | None, max_seconds: float | None, section: str) -> tuple[float, float | None]:
    """(start, length) of the audio we keep; length ``None`` = everything from start (short or unknown source)."""
    if not max_seconds or source_duration_s is None or source_duration_s <= max_seconds:
        return 0.0, None
    start = (source_duration_s - max_seconds) / 2 if section == "middle" else 0.0
    return round(start, 3), float(max_seconds)


def _downloaded_file(work_dir: Path) -> Path | None:
    files = [p for p in work_dir.glob("source.*") if not p.name.endswith((".part", ".ytdl", ".temp")) and ".part" not in p.suffixes]
    return max(files, key=lambda p: p.stat().st_size) if files else None


def _source_duration(info: dict, stall_timeout_s: float) -> float | None:
    if info.get("duration"):
        return float(info["duration"])
    url = info.get("url")
    if not url:
        return None
    try:   # a direct link: ffprobe reads only the container header (or index, with Range) over HTTP
        return probe(url, timeout_s=stall_timeout_s).get("duration_s")
    except AudioError as exc:
        logger.debug("%s: no duration from ffprobe (%s)", url, exc)
        return None


def _media_seconds(media: Path | None) -> float | None:
    """Duration of a downloaded file (None: no file, empty, or unreadable)."""
    if media is None or media.stat().st_size == 0:
        return None
    try:
        return probe(media)["duration_s"]
    except AudioError:
        return None


def fetch_media(url: str, work_dir, video_id: str, *, max_seconds: float | None, section: str, youtube: bool,
                options: dict, stall_timeout_s: float) -> FetchedMedia:
    """Download the audio we need of ``url`` into ``work_dir``: the planned section through yt-dlp's
    ``download_ranges`` (ffmpeg reads only that part); the whole file when the section is the whole video, or when
    the section download stalls or fails (the cut is then made locally). Raises yt-dlp's ``DownloadError``."""
    from yt_dlp import YoutubeDL

    work_dir = Path(work_dir)
    with YoutubeDL(options) as ydl:
        info = ydl.extract_info(url, download=False)
        source_duration = _source_duration(info, stall_timeout_s)
        start, length = plan_section(source_duration, max_seconds, section)
        if length is not None:
            # one second past the end: the exact cut is made locally, so codec frame boundaries cannot shorten it
            end = min(source_duration, start + length + 1.0)
            ydl.params["download_ranges"] = lambda *_: [{"start_time": start, "end_time": end}]
            try:
                ydl.process_ie_result(dict(info), download=True)
                media = _downloaded_file(work_dir)
                got = _media_seconds(media)
                # A stalled read makes ffmpeg stop early and exit 0 (yt-dlp says "Download completed"): a section
                # shorter than planned is a failed section, not a short video.
                if got is not None and got >= length - 0.05:
                    return FetchedMedia(media, "section", start, length, 0.0, source_duration,
                                        info.get("format_id"), media.stat().st_size)
                logger.info("[%s] section download gave %s of the %.1f s planned; falling back to a full download",
                            video_id, "nothing" if got is None else f"{got:.1f} s", length)
            except Exception as exc:  # any section failure (stall, ffmpeg error): the full download decides
                logger.info("[%s] section download failed (%s); falling back to a full download + local cut",
                            video_id, str(exc).splitlines()[0][:200])
            for stale in work_dir.glob("source.*"):
                stale.unlink()
            ydl.params.pop("download_ranges", None)
        ydl.process_ie_result(dict(info), download=True)
    media = _downloaded_file(work_dir)
    if media is None:
        raise MediaError("unable to download: yt-dlp finished without a media file")
    return FetchedMedia(media, "full", start, length, start, source_duration, info.get("format_id"),
                        media.stat().st_size)
