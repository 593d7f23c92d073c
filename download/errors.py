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

from common.errors import ExpectedError

# Connection-level failures: the network (or the host) is down, not the video. Always transient, and what the
# network circuit breaker (download.breaker) counts.
NETWORK_PATTERNS = (
    r"connection (refused|reset|aborted)", r"failed to establish a new connection", r"failed to resolve",
    r"name or service not known", r"temporary failure in name resolution", r"nodename nor servname",
    r"no address associated with hostname", r"getaddrinfo failed", r"network is unreachable", r"no route to host",
    r"\btimed? ?out\b", r"read timed out", r"\bssl\b", r"sslerror", r"certificate verify failed",
    r"remote end closed", r"broken pipe", r"incompleteread", r"connectionerror", r"transporterror",
    r"giving up after \d+ (fragment )?retries",
)

# What a failure means for the run (the reason's ``kind``):
VIDEO = "video"               # the video's own, permanent: recorded, never retried without --retry-failed
RETRY = "retry"               # transient (network, 5xx, 429): retried with back-off, recorded as retryable
ENVIRONMENT = "environment"   # this machine or a YouTube change (formats hidden, 403 wave, broken client): never the
                              # video's; recorded as retryable, and N in a row stop the run (--environment-breaker)
STOP = "stop"                 # YouTube refuses this machine (bot check, blocked IP, captcha): the run stops at once,
                              # nothing is recorded for that video
PAUSE = "pause"               # YouTube's session rate limit: the whole pool waits (--rate-limit-wait), nothing recorded

# (reason, kind, patterns), matched against ``error_text`` (yt-dlp's login hint removed): first match wins, so the
# specific ones come first. Each pattern is a YouTube playability reason or a yt-dlp message as yt-dlp 2026.10.26
# words it (``yt_dlp/extractor/youtube/_video.py``, ``_real_extract``'s ``if not formats:`` block and
# ``_extract_player_responses``; ``YoutubeDL.process_video_result``); tests/test_download_youtube.py builds each one
# through yt-dlp's own code.
RULES: list[tuple[str, str, tuple[str, ...]]] = [
    ("bot_check", STOP, (r"confirm you.?re not a bot", r"sign in to confirm you.?re not")),
    ("ip_blocked", STOP, (r"your ip is likely being blocked", r"all player responses are invalid")),
    ("captcha", STOP, (r"requiring a captcha", r"captcha challenge")),
    ("session_rate_limited", PAUSE, (r"has been rate.?limited by youtube", r"this content isn.?t available, try again "
                                     r"later")),
    ("rate_limited", RETRY, (r"\b429\b", r"too many requests", r"rate.?limit", r"try again later")),
    ("truncated", VIDEO, (r"^truncated:",)),
    ("empty_media", VIDEO, (r"did not get any data blocks", r"^empty media", r"the downloaded file is empty")),
    ("corrupt_media", VIDEO, (r"moov atom not found", r"invalid data found", r"could not (convert|decode)",
                              r"no audio stream", r"ffprobe failed", r"error while decoding",
                              r"does not contain any stream", r"failed to read frame size", r"postprocessing")),
    ("age_restricted", VIDEO, (r"confirm your age", r"age.?restricted", r"inappropriate for some users",
                               r"age.?verification")),
    ("geo_restricted", VIDEO, (r"available in your country", r"geo.?restrict", r"blocked it in your country",
                               r"not available from your location")),
    ("private", VIDEO, (r"private video", r"this video is private")),
    ("members_only", VIDEO, (r"members.?only", r"join this channel", r"available to this channel.?s members")),
    ("pay_to_watch", VIDEO, (r"requires payment", r"rent this video", r"purchase this video", r"paid content")),
    ("account_terminated", VIDEO, (r"account .*(terminated|closed|suspended)",)),
    ("removed", VIDEO, (r"removed by the uploader", r"copyright claim", r"has been removed", r"violating youtube",
                        r"no longer available")),
    ("live_or_premiere", VIDEO, (r"live event will begin", r"premieres? in", r"this live event", r"premiere will "
                                 r"begin", r"live stream recording is not available")),
    ("drm", VIDEO, (r"drm protected",)),
    ("client_broken", ENVIRONMENT, (r"the following content is not available on this app",)),
    ("server_error", RETRY, (r"http error 5\d\d", r"internal server error", r"bad gateway", r"service unavailable",
                             r"gateway time-?out")),
    ("not_found", VIDEO, (r"http error 404", r"\b404\b", r"http error 410", r"\bnot found\b")),
    ("forbidden", ENVIRONMENT, (r"http error 403", r"\b403\b", r"\bforbidden\b")),
    ("not_media", VIDEO, (r"unsupported url", r"is not a valid url")),
    ("no_formats", ENVIRONMENT, (r"no video formats found",)),
    ("format_unavailable", ENVIRONMENT, (r"requested format is not available",)),
    ("network", RETRY, NETWORK_PATTERNS + (r"did not get any data", r"content too short",
                                           r"the downloaded file is too short", r"unable to download",
                                           r"end of file")),
    ("unavailable", VIDEO, (r"video unavailable", r"not available", r"\bunavailable\b")),
]
NETWORK = "network"
# On a URL that is not YouTube these say something about the file, not about this machine or a YouTube change.
GENERIC_KINDS = {"forbidden": VIDEO, "no_formats": VIDEO, "format_unavailable": VIDEO}

# yt-dlp's login hint (``InfoExtractor._login_hint`` + ``YoutubeBaseInfoExtractor._youtube_login_hint``), which it
# appends to every playability reason containing "sign in": age, private, members and the bot check alike. It says
# nothing about the video, so it is cut before matching (after URLs became "<url>").
_LOGIN_HINT = (re.compile(r"\.?\s*also\s+see\s+<url>\s+for\s+tips\s+on\s+effectively\s+exporting\s+youtube\s+cookies\.?"),
               re.compile(r"\.?\s*use --(?:cookies|username)\b.*?for how to manually pass cookies\.?", re.DOTALL),
               re.compile(r"\.?\s*use --(?:cookies|username)\b[^.|]*(?:for the authentication|account credentials)"
                          r"\.?"))
_QUOTED_PATH = re.compile(r"""(['"])[^'"\n]*[/\\][^'"\n]*\1""")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.])(?:file:)?(?:[A-Za-z]:)?(?:\.{0,2}[/\\])?(?:[\w.@+-]+[/\\])+[\w.@+-]*:?")
_PTR = re.compile(r"\[[\w,]+ @ 0x[0-9a-f]+\]\s*", re.IGNORECASE)     # ffmpeg's "[mp3 @ 0x55d5...]" context


class FatalError(ExpectedError, RuntimeError):
    """A condition that stops the run (no ffmpeg, bot check, unreadable listing); the message says what to do."""


class BotCheckError(FatalError):
    """YouTube refuses this machine (bot check, blocked IP, captcha): the whole run must stop (cookies, pacing)."""


class NetworkDown(FatalError):
    """The circuit breaker tripped: the network or the host is unreachable; nothing was lost."""


class RateLimited(FatalError):
    """YouTube's rate limit (or HTTP 429) outlasted every pause: the run stopped; nothing was lost."""


class EnvironmentBroken(FatalError):
    """The environment breaker tripped: videos in a row failed for this machine's or YouTube's reasons (formats
    hidden, 403s, a broken client), not their own; nothing was lost."""


class RateLimitPause(Exception):
    """Raised by one download when YouTube's session rate limit (or a 429 that outlasted the back-off) answers: the
    pool pauses and the video goes back to the queue, unrecorded. Not an error of the run."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


def error_text(message: str) -> str:
    """The message in lower case with yt-dlp's login hint, local paths, URLs and ffmpeg's pointer tags removed or
    replaced by ``<path>``/``<url>``: what the reason patterns see. ``HTTP Error 404``, ``[Errno 111]`` and the
    words of the error itself stay."""
    text = _PTR.sub("", message or "")
    text = _URL.sub("<url>", text).lower()
    for hint in _LOGIN_HINT:
        text = hint.sub("", text)
    text = _QUOTED_PATH.sub("<path>", text)
    return _PATH.sub("<path>", text)


def classify_failure(message: str, youtube: bool = False) -> tuple[str, str]:
    """(reason code, kind) for an error message: ``kind`` is one of VIDEO, RETRY, ENVIRONMENT, STOP, PAUSE.
    ``youtube``: the URL is YouTube's, where 403s and missing formats are this machine's (or a YouTube change's)
    problem; elsewhere they are the file's. Unknown errors are the video's own ``error``."""
    text = error_text(message)
    for reason, kind, patterns in RULES:
        if any(re.search(p, text) for p in patterns):
            return reason, kind if youtube else GENERIC_KINDS.get(reason, kind)
    return "error", VIDEO


def classify_error(message: str, youtube: bool = False) -> tuple[str, bool]:
    """(reason code, transient?): transient = worth trying again in a later run (every kind but VIDEO)."""
    reason, kind = classify_failure(message, youtube)
    return reason, kind != VIDEO


def is_bot_check(message: str) -> bool:
    """YouTube refuses this machine (bot check, blocked IP, captcha): the run must stop."""
    return classify_failure(message, youtube=True)[1] == STOP


def is_network_failure(message: str) -> bool:
    """A connection-level failure (refused, name resolution, timeout, TLS, dropped): the host, not the video."""
    text = error_text(message)
    return classify_failure(message)[0] == NETWORK and any(re.search(p, text) for p in NETWORK_PATTERNS)


BOT_CHECK_HELP = ("YouTube refuses this machine's requests. Stopped. Pass cookies of a signed-in browser session "
                  "(--cookies cookies.txt exported as docs/troubleshooting.md says, or --cookies-from-browser "
                  "firefox|chrome|...), keep the default pacing (--sleep) or slow down further, or use another IP "
                  "(--proxy); python -m download --check --online tells whether YouTube still refuses it.")
ENVIRONMENT_HELP = ("This is this machine's or a YouTube change's problem, not the videos': update yt-dlp (pip install "
                    "-U --pre 'yt-dlp[default]', the nightly), run python -m download --check --online, pass "
                    "cookies (--cookies), or a PO-token provider's arguments through --extractor-args "
                    "(docs/troubleshooting.md).")
COOKIES_ADVICE = ("pass cookies of a signed-in browser session (--cookies cookies.txt or --cookies-from-browser "
                  "firefox|chrome|...) and keep the default pacing (--sleep) or slow down further")
