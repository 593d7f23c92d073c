"""``python -m download --check [--online]``: what a real run needs, known in seconds before a long run.

Offline (never contacts YouTube or any host): yt-dlp's version, the JS runtime yt-dlp will use (as yt-dlp itself
reports it) and its version, ffmpeg's version, and whether cookies are set, with one warning line per missing piece.
It also warns when the installed yt-dlp is older than ``MAX_YTDLP_AGE_DAYS`` (YouTube breaks old versions; yt-dlp's
README says to update) and when the installed yt-dlp-ejs is not the one that yt-dlp pins (yt-dlp ignores solver
scripts whose major.minor differs from its own). ``--online`` extracts one known public YouTube video with the run's
own options (cookies, extractor args, proxy, JS runtime) and says what YouTube answered this machine, and resolves
and connects once to each other host of the listing.

Example::

    from download.check import environment_report, reach_hosts, youtube_extraction
    lines, warnings = environment_report(DownloadConfig())
    lines, warnings = reach_hosts([("example.com", 443)], timeout_s=5)
    lines, warnings = youtube_extraction(DownloadConfig(cookies="cookies.txt"))
"""

from __future__ import annotations

import re
import socket
import tempfile
import time
from datetime import date
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

from common.provenance import ffmpeg_version, package_versions
from download.policy import CHECK_VIDEO
from download.ytdlp import js_runtime_info, youtube_readiness

DEFAULT_HOST = "www.youtube.com"
MAX_YTDLP_AGE_DAYS = 60
CHALLENGE_FAILED = ("n challenge solving failed", "signature solving failed")


def ytdlp_age_days(version: str | None, today: date | None = None) -> int | None:
    """Days since the release of a yt-dlp version (``2026.10.26``, ``2026.10.26.123456`` for nightlies)."""
    match = re.match(r"(\d{4})\.(\d{1,2})\.(\d{1,2})", version or "")
    if not match:
        return None
    return ((today or date.today()) - date(*map(int, match.groups()))).days


def ejs_mismatch(installed: str | None = None, required: str | None = None) -> str | None:
    """A warning when the installed yt-dlp-ejs is not the major.minor that yt-dlp pins (its ``default`` extra in
    the package metadata), else ``None``."""
    if required is None:
        pins = [re.search(r"yt-dlp-ejs\s*==\s*([\w.]+)", r) for r in (metadata.requires("yt-dlp") or [])]
        required = next((m.group(1) for m in pins if m), None)
    if installed is None:
        installed = package_versions(["yt-dlp-ejs"])["yt-dlp-ejs"]
    if not required or not installed:
        return None
    if installed.split(".")[:2] != required.split(".")[:2]:
        return (f"yt-dlp-ejs {installed} is installed, yt-dlp expects {required}: yt-dlp ignores solver scripts of "
                "another major.minor, so YouTube formats go missing; pip install -U 'yt-dlp[default]'")
    return None


def environment_report(config, youtube: bool = True) -> tuple[list[str], list[str]]:
    """(one line per item, one warning per missing piece); ``youtube``: also warn about what YouTube needs."""
    versions = package_versions(["yt-dlp", "yt-dlp-ejs", "deno"])
    runtime = js_runtime_info()
    ffmpeg = ffmpeg_version()
    ffmpeg = ffmpeg and " ".join(ffmpeg.split()[2:3]) or ffmpeg    # "ffmpeg version 5.1.9-0+deb12u1 Copyright..."
    if config.cookies:
        cookies = f"cookies file {config.cookies}"
    elif config.cookies_from_browser:
        cookies = f"cookies from browser {config.cookies_from_browser}"
    else:
        cookies = "no cookies (guest session)"
    lines = [f"yt-dlp {versions['yt-dlp'] or 'missing'} (solver scripts yt-dlp-ejs {versions['yt-dlp-ejs'] or 'missing'})",
             "JS runtime: " + (f"{runtime['name']} {runtime['version']} at {runtime['path']}" if runtime else "none"),
             f"ffmpeg: {ffmpeg or 'missing'}",
             f"cookies: {cookies}"]
    warnings = []
    if versions["yt-dlp"] is None:
        warnings.append("yt-dlp is not installed: make venv (or pip install -r requirements.txt)")
    if ffmpeg is None:
        warnings.append("ffmpeg is missing: apt-get install -y ffmpeg (Debian/Ubuntu) or brew install ffmpeg")
    if youtube:
        warnings += youtube_readiness()
        age = ytdlp_age_days(versions["yt-dlp"])
        if age is not None and age > MAX_YTDLP_AGE_DAYS:
            warnings.append(f"yt-dlp {versions['yt-dlp']} is {age} days old: YouTube breaks old versions; update it "
                            "(pip install -U --pre 'yt-dlp[default]', the nightly)")
        mismatch = ejs_mismatch(versions["yt-dlp-ejs"]) if versions["yt-dlp"] else None
        if mismatch:
            warnings.append(mismatch)
    return lines, warnings


def listing_endpoints(urls) -> list[tuple[str, int]]:
    """The distinct (host, port) of ``urls`` in first-seen order (port from the URL, else 80/443 by scheme);
    ``www.youtube.com:443`` when there are none."""
    endpoints = []
    for url in urls:
        parts = urlsplit(url)
        if parts.hostname:
            endpoints.append((parts.hostname, parts.port or (80 if parts.scheme == "http" else 443)))
    return list(dict.fromkeys(endpoints)) or [(DEFAULT_HOST, 443)]


def reach_hosts(endpoints, timeout_s: float = 5.0) -> tuple[list[str], list[str]]:
    """Resolve each (host, port) and open one TCP connection to it; one line (or warning) each."""
    lines, warnings = [], []
    for host, port in endpoints:
        started = time.monotonic()
        try:
            address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4]
        except OSError as exc:
            warnings.append(f"{host}: name does not resolve ({exc}): check DNS / the network")
            continue
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                pass
        except OSError as exc:
            warnings.append(f"{host}:{port} ({address[0]}): cannot connect ({exc}): a firewall, no route, "
                            "or the host refuses this machine")
            continue
        lines.append(f"{host}:{port} ({address[0]}): reachable in {(time.monotonic() - started) * 1000:.0f} ms")
    return lines, warnings


def youtube_extraction(config, url: str = CHECK_VIDEO) -> tuple[list[str], list[str]]:
    """Extract ``url`` (no download) with the run's own yt-dlp options and report what YouTube answered: reachable
    or not, bot check or not, the player client, the audio formats offered and the one chosen, whether the JS
    challenge was solved; then one verdict line. (lines, warnings): a warning per problem."""
    from yt_dlp import YoutubeDL
    from yt_dlp.utils import DownloadError

    from download.policy import ENVIRONMENT, PAUSE, STOP, classify_failure, is_network_failure
    from download.ytdlp import choose_audio_format, worker_cookies, ydl_options

    lines, warnings = [], []
    with tempfile.TemporaryDirectory(prefix="ytac-check-") as work:
        options = ydl_options(Path(work), "check", youtube=True, sleep_s=0, limit_rate=None,
                              cookies=worker_cookies(config.cookies, Path(work)),
                              cookies_from_browser=config.cookies_from_browser,
                              stall_timeout_s=config.stall_timeout_s, socket_timeout_s=config.socket_timeout_s,
                              http_retries=1, extra=config.ytdlp_extra)
        log = options["logger"]
        offered: list[dict] = []

        def selector(ctx):
            offered.extend(ctx["formats"])
            chosen = choose_audio_format(ctx["formats"])
            return [chosen] if chosen else []

        options["format"] = selector
        started = time.monotonic()
        try:
            with YoutubeDL(options) as ydl:
                ydl.extract_info(url, download=False)
            error = None
        except DownloadError as exc:
            error = " ".join(str(exc).split())
    elapsed = f"{(time.monotonic() - started) * 1000:.0f} ms"
    warned = list(log.warnings)
    failed = [w for w in warned if any(c in w.lower() for c in CHALLENGE_FAILED)]
    challenge = "failed: " + failed[0][:160] if failed else "solved (no solver warning)"
    audio = [f for f in offered if f.get("vcodec") == "none" and f.get("acodec") not in (None, "none")]
    lines.append(f"youtube: extracted {url} in {elapsed}" if error is None else f"youtube: {url}: {error[:300]}")
    if error is not None:
        reason, kind = classify_failure(error, youtube=True)
        reachable = not is_network_failure(error)
        lines.append(f"youtube: reachable: {'yes' if reachable else 'no'}; bot check: "
                     f"{'yes (' + reason + ')' if kind == STOP else 'no'}")
        verdict = {STOP: "YouTube refuses this machine: pass cookies (docs/troubleshooting.md), slow down, or use "
                         "another IP (--proxy)",
                   PAUSE: "YouTube rate-limits this session: wait an hour before the run",
                   ENVIRONMENT: "YouTube answers but offers this machine no usable audio: update yt-dlp, then see "
                                "docs/troubleshooting.md (player clients, PO tokens)"}.get(
            kind, "YouTube cannot be reached from here: check the network or the proxy" if not reachable
            else f"the check video failed ({reason})")
    else:
        chosen = choose_audio_format(offered)
        client = (chosen or {}).get("_client") or next((f.get("_client") for f in offered if f.get("_client")),
                                                         None)
        lines.append("youtube: reachable: yes; bot check: no")
        lines.append(f"youtube: player client: {client or 'unknown'}")
        lines.append(f"youtube: {len(audio)} audio format(s) offered"
                     + (": " + ", ".join(f"{f.get('format_id')} ({f.get('acodec')}, {f.get('abr') or '?'} kbps, "
                                         f"{f.get('language') or '?'})" for f in audio[:8]) if audio else ""))
        lines.append("youtube: chosen: " + (f"{chosen.get('format_id')} ({chosen.get('acodec')}, "
                                            f"{chosen.get('abr') or '?'} kbps, language {chosen.get('language') or '?'})"
                                            if chosen else "none"))
        verdict = None if chosen and not challenge.startswith("failed") else (
            "YouTube answers but the JS challenge failed: formats may be missing; update yt-dlp and yt-dlp-ejs"
            if chosen else "YouTube answers but offers no audio format: update yt-dlp, see docs/troubleshooting.md")
    lines.append(f"youtube: JS challenge: {challenge}")
    for warning in warned:
        lines.append(f"youtube: yt-dlp warned: {warning[:300]}")
    if verdict is None:
        lines.append("youtube: verdict: ready: YouTube serves audio to this machine with these options")
    else:
        warnings.append(f"youtube verdict: {verdict}")
    return lines, warnings
