"""Video ids and URLs: parse every common YouTube link form, derive collision-free ids for other URLs, and refuse
ids that could name a file outside the output folder.

Example::

    from download.ids import parse_link
    parse_link("https://youtu.be/dQw4w9WgXcQ?t=42").video_id      # 'dQw4w9WgXcQ'
    parse_link("http://127.0.0.1:8000/a/tone.webm").video_id       # 'tone-webm-<10 hex>'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from common.ids import SAFE_ID, UnsafeIdError, check_safe_id, is_safe_id  # noqa: F401 (re-exported)

YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
# Every id we turn into a file name passes common.ids.check_safe_id. Generic ids are 12+ characters of [A-Za-z0-9_-],
# so they never look like (or collide with) a YouTube id.
# The Kaggle scraper ran `url.strip('https://www.youtube.com/watch?v=')`: str.strip removes any of these characters.
STRIP_CHARS = "https://www.youtube.com/watch?v="
STRIP_SET = frozenset(STRIP_CHARS)
YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtube-nocookie.com",
                 "www.youtube-nocookie.com", "gaming.youtube.com"}
SHORT_HOSTS = {"youtu.be", "www.youtu.be"}
PATH_ID_PREFIXES = ("shorts", "embed", "v", "live", "e")
SPREADSHEET_ERROR = "#NAME?"

# Row kinds, in report order.
YOUTUBE, GENERIC, DAMAGED, NAME_ERROR, EMPTY, UNPARSEABLE = "youtube", "generic", "damaged", "name_error", "empty", "unparseable"


@dataclass(frozen=True)
class ParsedLink:
    kind: str                 # one of YOUTUBE, GENERIC, DAMAGED, NAME_ERROR, EMPTY, UNPARSEABLE
    video_id: str | None      # validated id (YOUTUBE, GENERIC) or the damaged fragment (DAMAGED)
    url: str | None           # what yt-dlp is given (YOUTUBE, GENERIC)
    reason: str = ""          # why a link is not usable


def youtube_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def kaggle_strip(video_id: str) -> str:
    """What the Kaggle scraper's ``str.strip`` made of a real id (the damage is deterministic)."""
    return video_id.strip(STRIP_CHARS)


def is_damaged_fragment(text: str) -> bool:
    """A 1-10 character id-like string that ``kaggle_strip`` could have produced (no strip character at either end)."""
    return (0 < len(text) < 11 and re.fullmatch(r"[A-Za-z0-9_-]+", text) is not None
            and text[0] not in STRIP_SET and text[-1] not in STRIP_SET)


def generic_id(url: str) -> str:
    """A file-safe id for a non-YouTube URL: the last path part's safe characters plus a 10-hex hash of the whole URL.

    The hash makes ``a/tone.webm`` and ``b/tone.webm`` distinct (yt-dlp's own archive id would be ``tone`` for both).
    """
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", last).strip("-_")[:40]
    return f"{slug or 'url'}-{digest}"


def _youtube_id_from_url(parts) -> str | None:
    host = (parts.hostname or "").lower()
    segments = [s for s in parts.path.split("/") if s]
    if host in SHORT_HOSTS:
        return segments[0] if segments else None
    if host not in YOUTUBE_HOSTS:
        return None
    if segments[:1] == ["watch"] or not segments:
        values = parse_qs(parts.query).get("v")
        return values[0] if values else None
    if len(segments) >= 2 and segments[0] in PATH_ID_PREFIXES:
        return segments[1]
    return None


def parse_link(raw: str | None) -> ParsedLink:
    """Classify one listing cell: a bare id, a YouTube URL in any common form, another http(s) URL, or a bad value."""
    text = (raw or "").strip()
    if not text:
        return ParsedLink(EMPTY, None, None, "empty link")
    if text == SPREADSHEET_ERROR:
        return ParsedLink(NAME_ERROR, None, None, "spreadsheet error #NAME? instead of an id")
    if YOUTUBE_ID.fullmatch(text):
        return ParsedLink(YOUTUBE, text, youtube_url(text))
    candidate = text
    if re.match(r"(?i)^(www\.|m\.|music\.)?(youtube\.com|youtu\.be|youtube-nocookie\.com)/", candidate):
        candidate = "https://" + candidate
    if re.match(r"(?i)^https?://", candidate):
        parts = urlsplit(candidate)
        host = (parts.hostname or "").lower()
        if host in YOUTUBE_HOSTS or host in SHORT_HOSTS:
            video_id = _youtube_id_from_url(parts)
            if video_id and YOUTUBE_ID.fullmatch(video_id):
                return ParsedLink(YOUTUBE, video_id, youtube_url(video_id))
            return ParsedLink(UNPARSEABLE, None, None, f"YouTube URL without a valid 11-character video id: {text!r}")
        if not host:
            return ParsedLink(UNPARSEABLE, None, None, f"URL without a host: {text!r}")
        return ParsedLink(GENERIC, generic_id(candidate), candidate)
    if is_damaged_fragment(text):
        return ParsedLink(DAMAGED, text, None, f"id cut short to {len(text)} characters (expected 11)")
    return ParsedLink(UNPARSEABLE, None, None, f"neither an 11-character YouTube id nor an http(s) URL: {text[:80]!r}")
