"""Everything that talks to yt-dlp: options (pacing, cookies, JS runtime), the audio format choice, and fetching
one video's audio (a section read by an ffmpeg this module runs and watches, or the whole file through yt-dlp's
native downloader) into a work folder.

Example::

    from download.ytdlp import fetch_media
    media = fetch_media("http://127.0.0.1:8000/a.webm", "out/tmp/a", max_seconds=60, section="middle")
    media.path, media.section_start_s, media.source_duration_s
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from common.audio import AudioError, ChildStopped, probe, require_ffmpeg, stopped_by_signal

logger = logging.getLogger(__name__)

# Below ~40 kbps YouTube serves HE-AAC (22 kHz, the top band synthesized by SBR) or "ultralow" formats: too little
# real content for a 16 kHz model. Above it, the smallest stream is usually opus ~50 kbps (itag 249, 48 kHz,
# fullband), which already carries everything up to 8 kHz that 16 kHz audio can hold.
MIN_AUDIO_KBPS = 40
HE_AAC = ("mp4a.40.5", "mp4a.40.29")    # SBR: above ~5.5 kHz the sound is synthesized, not recorded
# yt-dlp's own "-t sleep" preset (options.py): what its maintainers recommend against YouTube's rate limits.
YOUTUBE_PACING = {"sleep_interval_requests": 0.75, "sleep_interval": 10.0, "max_sleep_interval": 20.0}
# Why whole-stream fetches are the default for YouTube: a section download (``download_ranges``) always goes through
# ffmpeg, which reads the media URL with one open-ended request, and YouTube throttles un-chunked requests to about
# 32 KiB/s on videos longer than ~12 minutes (yt-dlp issues #17612, #13623, #15036, closed as external: not fixable
# in yt-dlp). yt-dlp's native downloader fetches YouTube in 10 MiB chunks (``http_chunk_size``), which are not
# throttled; ffmpeg then cuts the section locally.
HTTP_CHUNK_SIZE = 10 * 1024 * 1024
FETCH_CHOICES = ("auto", "whole", "sections")
# --fetch auto on other URLs takes a section only when it saves at least this share of the source's length: a
# section is one open-ended ffmpeg request, which a throttling server slows down (see above), so it must save a lot.
SECTION_MIN_SAVING = 0.75
# Formats whose URL ffmpeg opens itself: a section fetch reads them (``SectionFetch``); others are fetched whole.
SECTION_PROTOCOLS = ("http", "https", "m3u8", "m3u8_native")
# The section speed floor is measured over this many seconds, after a first such window (the fast burst).
SECTION_WATCH_WINDOW_S = 8.0
# yt-dlp info-dict fields copied into the manifest (None where the extractor has none, e.g. the generic one).
CHANNEL_FIELDS = ("channel_id", "channel", "uploader_id", "upload_date", "duration")
# yt-dlp warnings kept per video (its failure record, the breakers' stop messages).
WARNINGS_KEPT = 5
# The run-wide yt-dlp cache under --out (the solved player JavaScript, among others), shared by the workers.
CACHE_DIR = "ytdlp_cache"


class MediaError(RuntimeError):
    """A fetch that failed after yt-dlp returned: message starts with the reason code's words."""


@dataclass
class FetchedMedia:
    path: Path                      # the downloaded media file (a section or the whole source)
    method: str                     # "section" | "full" (kept for older readers; ``fetch`` says the same)
    section_start_s: float          # where the wanted audio starts in the source
    wanted_s: float | None          # how long the wanted audio is (None: all of it)
    offset_in_file_s: float         # where the wanted audio starts inside ``path``
    source_duration_s: float | None
    format_id: str | None
    bytes_downloaded: int           # size of ``path``
    fetch: str = "whole"            # "whole" | "sections": the path that produced ``path``
    bytes_fetched: int = 0          # every byte written by the fetch, an abandoned section included
    fetch_s: float = 0.0            # seconds from the first request to the media file on disk
    fallback: str | None = None     # why a section fetch was abandoned for the whole stream
    info: dict = field(default_factory=dict)   # CHANNEL_FIELDS from yt-dlp's info dict (None where absent)
    language: str | None = None     # the chosen audio track's language (yt-dlp's ``language``), where known
    language_preference: int | None = None     # yt-dlp's: 10 the original track, 5 the default, -1 a dub


def _kbps(f: dict) -> float | None:
    return f.get("abr") or f.get("tbr") or (f.get("filesize") or f.get("filesize_approx") or 0) / 1e4 or None


def _is_drc(f: dict) -> bool:
    """YouTube's dynamic-range-compressed variant of a track (yt-dlp: format id ``NNN-drc``, note "DRC")."""
    return str(f.get("format_id", "")).endswith("-drc") or "drc" in str(f.get("format_note", "")).lower().split(", ")


def choose_audio_format(formats: list[dict]) -> dict | None:
    """The audio stream to fetch: the original track, undamaged and uncompressed, then the smallest that is enough.

    1. audio-only formats without DRM; among them those yt-dlp does not mark damaged (``preference`` < 0) and that
       are not ``drc`` variants (when any are left);
    2. the highest ``language_preference`` (yt-dlp: 10 the original track, 5 the default, -1 other dubs, -10
       descriptive audio), so a cheaper auto-dubbed track never wins over the original;
    3. enough for 16 kHz: sample rate unknown or >= 16 kHz, bitrate unknown or >= ``MIN_AUDIO_KBPS``, not HE-AAC;
       the lowest bitrate wins (opus before aac on a tie: fullband at low rates).
    Without audio-only formats: the smallest format that has audio; ``None`` when none has.
    """
    def has_audio(f):
        return f.get("acodec") != "none" and not f.get("has_drm")

    def language(f):
        value = f.get("language_preference")
        return -1 if value is None else value

    audio_only = [f for f in formats if has_audio(f) and f.get("vcodec") == "none" and f.get("acodec")]
    clean = [f for f in audio_only if not _is_drc(f) and (f.get("preference") is None or f["preference"] >= 0)]
    audio_only = clean or audio_only
    if audio_only:
        best = max(language(f) for f in audio_only)
        audio_only = [f for f in audio_only if language(f) == best]
    enough = [f for f in audio_only if (f.get("asr") or 16_000) >= 16_000
              and (_kbps(f) or MIN_AUDIO_KBPS) >= MIN_AUDIO_KBPS and not str(f.get("acodec")).startswith(HE_AAC)]
    pool = enough or audio_only or [f for f in formats if has_audio(f)]
    if not pool:
        return None
    return min(pool, key=lambda f: (_kbps(f) if _kbps(f) is not None else float("inf"),
                                    0 if str(f.get("acodec", "")).startswith("opus") else 1,
                                    -formats.index(f)))    # equal: yt-dlp lists better formats last


def _format_selector(ctx):
    chosen = choose_audio_format(ctx["formats"])
    return [chosen] if chosen else []


def js_runtime_option() -> dict | None:
    """yt-dlp's ``js_runtimes`` option: the deno that ``make venv`` installs from PyPI (the ``deno`` wheel, passed by
    path so PATH does not matter), else a deno on PATH, else node on PATH (yt-dlp checks its version); ``None``
    when there is none. YouTube needs one since yt-dlp 2025.11.12 (yt-dlp issues #14404, #15012)."""
    try:
        import deno
        path = deno.find_deno_bin()
        if path and Path(path).is_file():
            return {"deno": {"path": str(path)}}
    except (ImportError, OSError, AttributeError):
        pass
    if shutil.which("deno"):
        return {"deno": {}}
    if shutil.which("node"):
        return {"node": {}}
    return None


def js_runtime_info(option: dict | None = None) -> dict | None:
    """What yt-dlp itself reports for the runtime of ``option`` (default: ``js_runtime_option()``): name, version,
    path, supported; ``None`` when there is none or yt-dlp cannot run it. Offline: it only runs ``--version``."""
    import yt_dlp  # noqa: F401 (registers the runtimes)
    from yt_dlp.globals import supported_js_runtimes

    option = js_runtime_option() if option is None else option
    for name, config in (option or {}).items():
        runtime_class = supported_js_runtimes.value.get(name)
        info = runtime_class(path=(config or {}).get("path")).info if runtime_class else None
        if info is not None:
            return {"name": info.name, "version": info.version, "path": info.path,
                    "supported": info.supported is not False}
    return None


def youtube_readiness() -> list[str]:
    """Warnings about what YouTube downloads need (a JS runtime, yt-dlp's solver scripts); empty when all is there."""
    warnings = []
    runtime = js_runtime_info()
    if runtime is None or not runtime["supported"]:
        found = f"{runtime['name']} {runtime['version']} is too old" if runtime else "none found"
        warnings.append(f"no usable JavaScript runtime for yt-dlp ({found}; `make venv` installs deno from PyPI, or "
                        "install node 22+): YouTube downloads fail with 'Requested format is not available'")
    if importlib.util.find_spec("yt_dlp_ejs") is None:
        warnings.append("yt-dlp's challenge solver scripts are missing: pip install 'yt-dlp[default]'")
    return warnings


class YdlLogger:
    """Routes yt-dlp's output to logging (debug), keeping its errors and its last ``WARNINGS_KEPT`` warnings: the
    cause of most YouTube failures (n challenge, PO token, SABR, "only images") is only in yt-dlp's warnings."""

    def __init__(self, video_id: str):
        self.video_id, self.errors = video_id, []
        self.warnings: deque[str] = deque(maxlen=WARNINGS_KEPT)

    def debug(self, msg):
        logger.debug("[%s] %s", self.video_id, msg)

    info = debug

    def warning(self, msg):
        text = " ".join(str(msg).split())
        if text not in self.warnings:
            self.warnings.append(text[:400])
        logger.debug("[%s] warning: %s", self.video_id, msg)

    def error(self, msg):
        self.errors.append(msg)
        logger.debug("[%s] %s", self.video_id, msg)


def passthrough_options(extractor_args=(), proxy: str | None = None, force_ipv4: bool = False,
                        source_address: str | None = None, remote_components=(), ytdlp_option=()) -> dict:
    """yt-dlp options from its own command-line spellings, parsed by yt-dlp's own parser (``yt_dlp.parse_options``,
    which reads no config file when given arguments): ``--extractor-args`` (repeatable), ``--proxy``,
    ``--force-ipv4``, ``--source-address``, ``--remote-components``; then ``KEY=JSON`` pairs for any other
    ``YoutubeDL`` option. Only what differs from yt-dlp's defaults is returned. Raises ``ValueError`` naming the flag."""
    import yt_dlp

    argv = [item for value in extractor_args for item in ("--extractor-args", value)]
    argv += ["--proxy", proxy] if proxy is not None else []
    argv += ["--force-ipv4"] if force_ipv4 else []
    argv += ["--source-address", source_address] if source_address else []
    argv += [item for value in remote_components for item in ("--remote-components", value)]

    def parse(args):
        try:
            return yt_dlp.parse_options(args).ydl_opts
        except (Exception, SystemExit) as exc:       # optparse reports a bad value as OptParseError (or exits)
            last = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise ValueError(f"yt-dlp rejected {shlex.join(args)}: {last.split('error: ', 1)[-1]}") from None

    options = {}
    if argv:
        defaults, parsed = parse([]), parse(argv)
        options = {key: value for key, value in parsed.items() if value != defaults.get(key)}
    for item in ytdlp_option:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--ytdlp-option {item!r}: expected KEY=JSON, e.g. geo_bypass_country=\"DE\"")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--ytdlp-option {item!r}: the value is not JSON ({exc.msg}); strings need quotes: "
                             f"{key.strip()}=\"{value}\"") from None
    return options


def redact_url(value):
    """A proxy URL with its user and password replaced by ``***`` (for run records and logs)."""
    if not isinstance(value, str) or "@" not in value:
        return value
    parts = urlsplit(value)
    if not parts.username and not parts.password:
        return value
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()


def ydl_options(work_dir: Path, video_id: str, *, youtube: bool, sleep_s: float | None, limit_rate: str | None,
                cookies: str | None, cookies_from_browser: str | None, stall_timeout_s: float,
                socket_timeout_s: float, http_retries: int, cache_dir: Path | None = None,
                extra: dict | None = None) -> dict:
    """The ``YoutubeDL`` options of one video's fetch. ``cookies`` is the worker's own copy (``worker_cookies``);
    ``cache_dir`` the run's shared cache (``False`` when ``None``); ``extra`` the user's passthrough options
    (``passthrough_options``), applied last."""
    from yt_dlp.utils import parse_bytes

    options = {
        "quiet": True, "no_warnings": False, "noprogress": True, "color": "no_color",
        "logger": YdlLogger(video_id),
        "format": _format_selector,
        "outtmpl": {"default": str(work_dir / "source.%(ext)s")},
        "noplaylist": True, "overwrites": True, "continuedl": True,
        "cachedir": str(cache_dir) if cache_dir else False,
        "retries": http_retries, "fragment_retries": http_retries, "file_access_retries": 1,
        "socket_timeout": socket_timeout_s,
        # When yt-dlp itself hands a download to ffmpeg (HLS it does not read natively), a stalled read fails
        # after -rw_timeout instead of hanging (section fetches run their own ffmpeg: ``section_command``).
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
        options["js_runtimes"] = js_runtime_option() or {"deno": {}}
    options.update(extra or {})
    return options


def worker_cookies(cookies: str | None, work_dir: Path) -> str | None:
    """A private copy of the cookie file for one fetch: ``YoutubeDL.close`` rewrites its cookie file, and several
    workers rewriting one file in place corrupt it (yt-dlp's wiki: never share a cookie file between processes)."""
    if not cookies:
        return None
    copy = Path(work_dir) / "cookies.txt"
    shutil.copyfile(cookies, copy)
    return str(copy)


def plan_section(source_duration_s: float | None, max_seconds: float | None, section: str) -> tuple[float, float | None]:
    """(start, length) of the audio we keep; length ``None`` = everything (a source no longer than ``max_seconds``).

    A source of unknown duration (a live or streamed file whose container states none) keeps its first
    ``max_seconds``: without a duration there is no middle, and ``length`` is then an upper bound, not a promise."""
    if not max_seconds or (source_duration_s is not None and source_duration_s <= max_seconds):
        return 0.0, None
    if source_duration_s is None:
        return 0.0, float(max_seconds)
    start = (source_duration_s - max_seconds) / 2 if section == "middle" else 0.0
    return round(start, 3), float(max_seconds)


def _downloaded_file(work_dir: Path) -> Path | None:
    files = [p for p in work_dir.glob("source.*") if not p.name.endswith((".part", ".ytdl", ".temp")) and ".part" not in p.suffixes]
    return max(files, key=lambda p: p.stat().st_size) if files else None


def _source_duration(info: dict, stall_timeout_s: float) -> tuple[float | None, bool]:
    """(duration, streamed): the source's length in seconds, and whether it states none because it is a live or
    streamed source (its container says no duration, or yt-dlp says live). A probe that failed (a dropped
    connection, a timeout) gives ``(None, False)``: the length is unknown, not absent."""
    if info.get("duration"):
        return float(info["duration"]), False
    url = info.get("url")
    if not url:
        return None, bool(info.get("is_live"))
    try:   # a direct link: ffprobe reads only the container header (or index, with Range) over HTTP
        duration = probe(url, timeout_s=stall_timeout_s).get("duration_s")
    except ChildStopped:
        raise
    except AudioError as exc:
        logger.debug("%s: no duration from ffprobe (%s)", url, exc)
        return None, bool(info.get("is_live"))
    return duration, duration is None


def media_seconds(media: Path | None) -> float | None:
    """Duration of a downloaded file (None: no file, empty, or unreadable)."""
    if media is None or media.stat().st_size == 0:
        return None
    try:
        return probe(media)["duration_s"]
    except ChildStopped:
        raise                       # ffprobe was killed (Ctrl-C): not the file's
    except AudioError:
        return None


def accepts_ranges(ydl, url: str) -> bool:
    """Whether ``url`` answers a one-byte Range request with 206 (through yt-dlp's own networking and headers)."""
    from yt_dlp.networking import Request
    from yt_dlp.networking.exceptions import RequestError

    try:
        with ydl.urlopen(Request(url, headers={"Range": "bytes=0-0"})) as response:
            return response.status == 206
    except (RequestError, OSError) as exc:
        logger.debug("%s: Range probe failed (%s)", url, exc)
        return False


def choose_fetch(fetch: str, youtube: bool, ydl, info: dict, length: float | None,
                 source_duration: float | None, streamed: bool = True) -> str:
    """"whole" or "sections" for this video (see FETCH_CHOICES and the module notes on YouTube's throttle).
    ``streamed``: an unknown ``source_duration`` is a live or streamed source's (not a failed probe's)."""
    if length is None:
        return "whole"              # nothing to cut: the whole stream is the wanted audio
    if info.get("protocol", "https") not in SECTION_PROTOCOLS or not info.get("url"):
        return "whole"              # ffmpeg cannot open it by URL (DASH segments, RTMP, several formats merged)
    if fetch != "auto":
        return fetch
    if source_duration is None:
        # a stream: ffmpeg stops reading at the cap (a whole fetch would never end); a failed probe: the whole
        # file through yt-dlp's resuming downloader, cut locally
        return "sections" if streamed else "whole"
    if youtube:
        return "whole"
    saves = 1 - length / source_duration if source_duration else 0.0
    if saves < SECTION_MIN_SAVING:
        return "whole"
    return "sections" if accepts_ranges(ydl, info.get("url") or info.get("webpage_url") or "") else "whole"


class SectionFetch:
    """One section download by an ffmpeg this process starts, owns and, when it crawls, stops.

    yt-dlp's own section path (``download_ranges``) starts ffmpeg with a bare ``Popen.wait``: nothing outside can watch
    or stop it. So the section is read here by ffmpeg with what yt-dlp resolved for the chosen format (its URL, HTTP
    headers, cookies and proxy), as yt-dlp's ``FFmpegFD`` would, into ``source.nut`` (``-c copy``, one audio stream,
    flushed per packet). ffmpeg reports progress on a pipe (``-progress``); a fetch whose written bytes grow slower
    than ``min_rate`` bytes/s over ``window_s``, measured from the end of a first window (the fast burst), is stopped
    and ``slow`` says why, so the whole-stream path takes over instead of waiting out a throttled request."""

    def __init__(self, min_rate: float = 0.0, window_s: float | None = None):
        self.min_rate, self.window_s = min_rate, window_s or SECTION_WATCH_WINDOW_S
        self.slow: str | None = None

    def fetch(self, ydl, info: dict, start: float, length: float, work_dir: Path, stall_timeout_s: float) -> Path:
        """Read ``length`` seconds from ``start`` of ``info``'s format into ``work_dir/source.nut``; raises
        ``MediaError`` when ffmpeg fails, returns the path (maybe short: the caller checks) otherwise."""
        target = work_dir / "source.nut"
        partial = work_dir / "source.nut.part"
        args, env = section_command(ydl, info, start, length, partial, stall_timeout_s)
        self.run(args, env)
        if self.slow is None:
            os.replace(partial, target)
        return target

    def run(self, args: list[str], env: dict | None = None) -> None:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, text=True, errors="replace")
        written, errors = [0], deque(maxlen=WARNINGS_KEPT)

        def read_progress():
            for line in proc.stdout:
                key, _, value = line.strip().partition("=")
                if key == "total_size" and value.isdigit():
                    written[0] = int(value)

        readers = [threading.Thread(target=read_progress, daemon=True),
                   threading.Thread(target=lambda: errors.extend(line.rstrip() for line in proc.stderr), daemon=True)]
        for reader in readers:
            reader.start()
        samples, first = deque(), time.monotonic()
        try:
            while True:
                try:
                    proc.wait(0.5)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if self.min_rate and self._too_slow(samples, first, written[0]):
                    proc.kill()
                    proc.wait()
                    break
        finally:
            if proc.poll() is None:       # Ctrl-C or any error here: the ffmpeg this process started goes with it
                proc.kill()
                proc.wait()
            for reader in readers:
                reader.join()
        if self.slow is None:
            stopped_by_signal(proc.returncode, "ffmpeg (section read)", args[-1], "\n".join(list(errors)[-5:]))
        if self.slow is None and proc.returncode != 0:
            raise MediaError(f"ffmpeg exited with status {proc.returncode}: " + (errors[-1] if errors else "no message"))

    def _too_slow(self, samples: deque, first: float, written: int) -> bool:
        now = time.monotonic()
        samples.append((now, written))
        while len(samples) > 1 and now - samples[1][0] >= self.window_s:
            samples.popleft()           # keep the oldest sample at least a window old: the rate's start
        if now - first < 2 * self.window_s or now - samples[0][0] < 0.9 * self.window_s:
            return False
        rate = (written - samples[0][1]) / (now - samples[0][0])
        if rate >= self.min_rate:
            return False
        self.slow = f"section fetch at {rate / 1024:.0f} KiB/s, below the floor of {self.min_rate / 1024:.0f} KiB/s"
        return True


def section_command(ydl, info: dict, start: float, length: float, out: Path,
                    stall_timeout_s: float) -> tuple[list[str], dict | None]:
    """(ffmpeg arguments, environment) that read ``length`` seconds from ``start`` of the format yt-dlp chose in
    ``info`` into ``out`` (NUT, audio copied), sending what yt-dlp's ``FFmpegFD`` sends: the format's HTTP headers,
    the cookies yt-dlp holds for its URL, its proxy as ``http_proxy``. Progress goes to stdout (``-progress``)."""
    url = info["url"]
    args = [require_ffmpeg()[0], "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    cookies = ydl.cookiejar.get_cookies_for_url(url)
    if cookies:
        # ffmpeg matches a cookie's domain against the URL's "host:port" when the URL names a port (yt-dlp's
        # FFmpegFD sends the bare domain, which then never matches): give it what it compares
        port = urlsplit(url).port
        host_suffix = f":{port}" if port is not None else ""
        args += ["-cookies", "".join(f"{c.name}={c.value}; path={c.path}; domain={c.domain.lstrip('.')}{host_suffix};"
                                     "\r\n" for c in cookies)]
    if info.get("http_headers"):
        args += ["-headers", "".join(f"{key}: {value}\r\n" for key, value in info["http_headers"].items())]
    # a stalled read fails after stall_timeout_s instead of hanging (ffmpeg then stops early: the caller checks)
    args += ["-rw_timeout", str(int(stall_timeout_s * 1e6)), "-ss", f"{start:.3f}", "-t", f"{length:.3f}",
             "-i", url, "-map", "0:a:0", "-c", "copy", "-f", "nut", "-flush_packets", "1",
             "-progress", "pipe:1", "-stats_period", "0.5", "-nostats", str(out)]
    env = None
    proxy = ydl.params.get("proxy")
    if proxy:
        proxy = proxy if "://" in proxy else f"http://{proxy}"
        env = {**os.environ, "http_proxy": proxy, "HTTP_PROXY": proxy}
    return args, env


def fetch_media(url: str, work_dir, video_id: str, *, max_seconds: float | None, section: str, youtube: bool,
                options: dict, stall_timeout_s: float, fetch: str = "auto",
                section_min_rate: float = 0.0) -> FetchedMedia:
    """Download the audio we need of ``url`` into ``work_dir``.

    ``fetch`` (see ``choose_fetch``): ``whole`` fetches the whole audio stream with yt-dlp's native downloader in
    ``HTTP_CHUNK_SIZE`` chunks (the cut is made locally); ``sections`` fetches only the planned section with
    ffmpeg (``SectionFetch``), falling back to the whole stream when the section stalls, fails, comes out short
    or runs slower than ``section_min_rate`` bytes/s. Raises yt-dlp's ``DownloadError`` or ``MediaError``."""
    from yt_dlp import YoutubeDL

    work_dir = Path(work_dir)
    started = time.monotonic()
    fetched_before, fallback = 0, None
    with YoutubeDL({**options, "http_chunk_size": HTTP_CHUNK_SIZE}) as ydl:
        info = ydl.extract_info(url, download=False)
        source_duration, streamed = _source_duration(info, stall_timeout_s)
        start, length = plan_section(source_duration, max_seconds, section)
        meta = {key: info.get(key) for key in CHANNEL_FIELDS}
        if choose_fetch(fetch, youtube, ydl, info, length, source_duration, streamed) == "sections":
            # one second past the end: the exact cut is made locally, so codec frame boundaries cannot shorten it
            end = start + length + 1.0 if source_duration is None else min(source_duration, start + length + 1.0)
            section = SectionFetch(section_min_rate)
            try:
                media = section.fetch(ydl, info, start, end - start, work_dir, stall_timeout_s)
                got = None if section.slow else media_seconds(media)
                # A stalled read makes ffmpeg stop early and exit 0: a section shorter than planned is a failed
                # section, not a short video. A source of unknown duration may be shorter than the cap: what
                # ffmpeg read is all there is.
                complete = got is not None and (got >= length - 0.05 or source_duration is None)
                if complete:
                    size = media.stat().st_size
                    return FetchedMedia(media, "section", start, length, 0.0, source_duration, info.get("format_id"),
                                        size, "sections", size, round(time.monotonic() - started, 2), None, meta,
                                        info.get("language"), info.get("language_preference"))
                fallback = section.slow or ("section gave " + ("nothing" if got is None else f"{got:.1f} s")
                                            + f" of the {length:.1f} s planned")
            except (MediaError, OSError) as exc:  # a failed section (ffmpeg error): the whole-stream fetch decides
                first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
                fallback = f"section failed: {first_line[:200]}"
            logger.info("[%s] %s; fetching the whole stream for a local cut", video_id, fallback)
            for stale in work_dir.glob("source*"):
                fetched_before += stale.stat().st_size
                stale.unlink()
        ydl.process_ie_result(dict(info), download=True)
    media = _downloaded_file(work_dir)
    if media is None:
        raise MediaError("unable to download: yt-dlp finished without a media file")
    size = media.stat().st_size
    if size == 0:
        raise MediaError("empty media: the server sent a 0-byte file")
    return FetchedMedia(media, "full", start, length, start, source_duration, info.get("format_id"), size, "whole",
                        fetched_before + size, round(time.monotonic() - started, 2), fallback, meta,
                        info.get("language"), info.get("language_preference"))
