"""Failure reason codes: which yt-dlp/ffmpeg errors are worth retrying, which are permanent, which stop the run.

The message is matched with its local paths and URLs removed (``error_text``): an output folder named
``classlist_raw`` must not make an error "ssl", nor a host name or file name make one "timeout" or "not found".

Example::

    from download.errors import classify_error
    classify_error("ERROR: [youtube] abc: Private video. Sign in if you've been granted access")
    # -> ('private', False)
"""

from __future__ import annotations

import re

# Connection-level failures: the network (or the host) is down, not the video. Always transient, and what the
# circuit breaker (download.breaker) counts.
NETWORK_PATTERNS = (
    r"connection (refused|reset|aborted)", r"failed to establish a new connection", r"failed to resolve",
    r"name or service not known", r"temporary failure in name resolution", r"nodename nor servname",
    r"no address associated with hostname", r"getaddrinfo failed", r"network is unreachable", r"no route to host",
    r"\btimed? ?out\b", r"read timed out", r"\bssl\b", r"sslerror", r"certificate verify failed",
    r"remote end closed", r"broken pipe", r"incompleteread", r"connectionerror", r"transporterror",
    r"giving up after \d+ (fragment )?retries",
)
# (reason, transient, patterns): first match wins, so the specific ones come first.
RULES: list[tuple[str, bool, tuple[str, ...]]] = [
    ("bot_check", False, (r"confirm you.?re not a bot", r"sign in to confirm you.?re not",
                          r"use --cookies-from-browser or --cookies for the authentication")),
    ("rate_limited", True, (r"\b429\b", r"too many requests", r"rate.?limit", r"try again later")),
    ("truncated", False, (r"^truncated:",)),
    ("empty_media", False, (r"did not get any data blocks", r"^empty media", r"the downloaded file is empty")),
    ("corrupt_media", False, (r"moov atom not found", r"invalid data found", r"could not (convert|decode)",
                              r"no audio stream", r"ffprobe failed", r"error while decoding",
                              r"does not contain any stream", r"failed to read frame size", r"postprocessing")),
    ("age_restricted", False, (r"confirm your age", r"age.?restricted", r"inappropriate for some users")),
    ("geo_restricted", False, (r"available in your country", r"geo.?restrict", r"blocked it in your country")),
    ("private", False, (r"private video", r"this video is private")),
    ("members_only", False, (r"members.?only", r"join this channel")),
    ("removed", False, (r"removed by the uploader", r"account .* terminated", r"copyright claim", r"has been removed",
                        r"violating youtube", r"no longer available")),
    ("live_or_premiere", False, (r"live event will begin", r"premieres in", r"this live event")),
    ("server_error", True, (r"http error 5\d\d", r"internal server error", r"bad gateway", r"service unavailable",
                            r"gateway time-?out")),
    ("not_found", False, (r"http error 404", r"\b404\b", r"http error 410", r"\bnot found\b")),
    ("forbidden", False, (r"http error 403", r"\b403\b", r"\bforbidden\b")),
    ("not_media", False, (r"unsupported url", r"no video formats found", r"is not a valid url")),
    ("format_unavailable", False, (r"requested format is not available",)),
    ("network", True, NETWORK_PATTERNS + (r"did not get any data", r"content too short",
                                          r"the downloaded file is too short", r"unable to download",
                                          r"end of file")),
    ("unavailable", False, (r"video unavailable", r"not available", r"\bunavailable\b")),
]
NETWORK = "network"

_QUOTED_PATH = re.compile(r"""(['"])[^'"\n]*[/\\][^'"\n]*\1""")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.])(?:file:)?(?:[A-Za-z]:)?(?:\.{0,2}[/\\])?(?:[\w.@+-]+[/\\])+[\w.@+-]*:?")
_PTR = re.compile(r"\[[\w,]+ @ 0x[0-9a-f]+\]\s*", re.IGNORECASE)     # ffmpeg's "[mp3 @ 0x55d5...]" context


class BotCheckError(RuntimeError):
    """YouTube asked to sign in to confirm we are not a bot: the whole run must stop (use cookies)."""


class FatalError(RuntimeError):
    """A condition that stops the run (no ffmpeg, bot check, unreadable listing); the message says what to do."""


class NetworkDown(FatalError):
    """The circuit breaker tripped: the network or the host is unreachable; nothing was lost."""


class RateLimited(FatalError):
    """HTTP 429 persisted through the back-off: the run stopped; nothing was lost."""


def error_text(message: str) -> str:
    """The message in lower case with local paths, URLs and ffmpeg's pointer tags replaced by ``<path>``/``<url>``:
    what the reason patterns see. ``HTTP Error 404``, ``[Errno 111]`` and the words of the error itself stay."""
    text = _PTR.sub("", message or "")
    text = _URL.sub("<url>", text)
    text = _QUOTED_PATH.sub("<path>", text)
    text = _PATH.sub("<path>", text)
    return text.lower()


def is_bot_check(message: str) -> bool:
    return classify_error(message)[0] == "bot_check"


def classify_error(message: str) -> tuple[str, bool]:
    """(reason code, transient?) for an error message; unknown errors are permanent ``error`` (recorded, not retried)."""
    text = error_text(message)
    for reason, transient, patterns in RULES:
        if any(re.search(p, text) for p in patterns):
            return reason, transient
    return "error", False


def is_network_failure(message: str) -> bool:
    """A connection-level failure (refused, name resolution, timeout, TLS, dropped): the host, not the video."""
    text = error_text(message)
    return classify_error(message)[0] == NETWORK and any(re.search(p, text) for p in NETWORK_PATTERNS)


BOT_CHECK_HELP = ("YouTube asked to confirm this is not a bot. Stopped. Pass cookies of a signed-in browser session: "
                  "--cookies cookies.txt (Netscape format) or --cookies-from-browser firefox|chrome|..., "
                  "and keep the default pacing (--sleep) or slow down further.")
COOKIES_ADVICE = ("pass cookies of a signed-in browser session (--cookies cookies.txt or --cookies-from-browser "
                  "firefox|chrome|...) and keep the default pacing (--sleep) or slow down further")
