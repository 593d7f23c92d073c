"""``python -m download --check [--online]``: what a real run needs, known in seconds before a long run.

Offline (never contacts YouTube or any host): yt-dlp's version, the JS runtime yt-dlp will use (as yt-dlp itself
reports it) and its version, ffmpeg's version, and whether cookies are set, with one warning line per missing piece.
``--online`` then resolves and connects once to each host of the listing (www.youtube.com when there is none).

Example::

    from download.check import environment_report, reach_hosts
    lines, warnings = environment_report(DownloadConfig())
    lines, warnings = reach_hosts([("www.youtube.com", 443)], timeout_s=5)
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from common.provenance import ffmpeg_version, package_versions
from download.ytdlp import js_runtime_info, youtube_readiness

DEFAULT_HOST = "www.youtube.com"


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
