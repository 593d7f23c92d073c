"""Failure reason codes: which yt-dlp/ffmpeg errors are worth retrying, which are permanent, which stop the run.

Example::

    from download.errors import classify_error
    classify_error("ERROR: [youtube] abc: Private video. Sign in if you've been granted access")
    # -> ('private', False)
"""

from __future__ import annotations

import re

# (reason, transient, patterns): first match wins, so the specific ones come first.
RULES: list[tuple[str, bool, tuple[str, ...]]] = [
    ("bot_check", False, (r"confirm you.?re not a bot", r"sign in to confirm you.?re not",
                          r"use --cookies-from-browser or --cookies for the authentication")),
    ("rate_limited", True, (r"\b429\b", r"too many requests", r"rate.?limit", r"try again later")),
    ("age_restricted", False, (r"confirm your age", r"age.?restricted", r"inappropriate for some users")),
    ("geo_restricted", False, (r"available in your country", r"geo.?restrict", r"blocked it in your country")),
    ("private", False, (r"private video", r"this video is private")),
    ("members_only", False, (r"members.?only", r"join this channel")),
    ("removed", False, (r"removed by the uploader", r"account .* terminated", r"copyright claim", r"has been removed",
                        r"violating youtube", r"no longer available")),
    ("live_or_premiere", False, (r"live event will begin", r"premieres in", r"this live event")),
    ("not_found", False, (r"\b404\b", r"not found", r"\b410\b")),
    ("forbidden", False, (r"\b403\b", r"forbidden")),
    ("not_media", False, (r"unsupported url", r"no video formats found", r"is not a valid url")),
    ("format_unavailable", False, (r"requested format is not available",)),
    ("server_error", True, (r"http error 5\d\d", r"internal server error", r"bad gateway", r"service unavailable",
                            r"gateway time-?out")),
    ("unavailable", False, (r"video unavailable", r"not available", r"unavailable")),
    ("network", True, (r"connection (refused|reset|aborted)", r"timed? ?out", r"incompleteread", r"remote end closed",
                       r"temporary failure in name resolution", r"network is unreachable", r"broken pipe",
                       r"giving up after", r"did not get any data blocks", r"content too short",
                       r"the downloaded file is too short", r"unable to download", r"end of file",
                       r"connectionerror", r"transporterror", r"ssl")),
    ("corrupt_media", False, (r"invalid data found", r"could not (convert|decode)", r"moov atom not found",
                              r"no audio stream", r"ffprobe failed", r"error while decoding", r"postprocessing")),
]


class BotCheckError(RuntimeError):
    """YouTube asked to sign in to confirm we are not a bot: the whole run must stop (use cookies)."""


class FatalError(RuntimeError):
    """A condition that stops the run (no ffmpeg, bot check, unreadable listing); the message says what to do."""


def is_bot_check(message: str) -> bool:
    return classify_error(message)[0] == "bot_check"


def classify_error(message: str) -> tuple[str, bool]:
    """(reason code, transient?) for an error message; unknown errors are permanent ``error`` (recorded, not retried)."""
    text = (message or "").lower()
    for reason, transient, patterns in RULES:
        if any(re.search(p, text) for p in patterns):
            return reason, transient
    return "error", False


BOT_CHECK_HELP = ("YouTube asked to confirm this is not a bot. Stopped. Pass cookies of a signed-in browser session: "
                  "--cookies cookies.txt (Netscape format) or --cookies-from-browser firefox|chrome|..., "
                  "and keep the default pacing (--sleep) or slow down further.")
