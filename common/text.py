"""Clean the descriptions scraped from YouTube search results (the Kaggle listing's ``description`` column).

The scraper copied the page text around each description, so a row reads::

    Tanya Khanijow            <- channel name
    671K subscribers          <- subscriber count (missing for some channels)
    JOIN                      <- membership button (some channels)
    SUBSCRIBE                 <- subscribe button
    The journey to Arunachal begins with ...   <- the description itself (cut by YouTube)
    SHOW MORE                 <- expand button (or SHOW LESS / LEARN MORE)

The rule (``clean_description``), applied in this order:

1. **Header**: a text that starts with the scraped channel header loses it: a channel name line, then optionally a
   subscriber count, then optionally ``JOIN``, then a line that is exactly ``SUBSCRIBE`` (so ``SUBSCRIBE`` is at line
   2, 3 or 4). In the shared copy of the listing all 3,599 rows have one (539 name only, 2,819 with a count, 240 with
   a count and JOIN, 1 with JOIN only). A ``SUBSCRIBE`` line after anything else (an author's own text) stays.
2. **Footer**: trailing lines that are exactly a button label (``SHOW MORE``, ``SHOW LESS``, ``LEARN MORE``) are
   dropped, repeatedly, together with the ``Try YouTube Kids`` advert line that comes with ``LEARN MORE``.
3. **Stray counts**: any other line that is only a subscriber count (``1.2M subscribers``) is dropped.
4. Whitespace: lines are stripped and runs of blank lines become one line break.

The rules are applied until nothing changes, so cleaning twice gives the same text: a description whose text itself
starts like a header (``Chan\\n1K subscribers\\nSUBSCRIBE\\nHi there\\nSUBSCRIBE\\nreal text``) loses both, since
``Hi there\\nSUBSCRIBE`` is indistinguishable from a channel with no subscriber count. Text without such a header (a
description written by hand) loses nothing but stray counts and button lines at its end.

Example::

    from common.text import clean_description, video_document
    clean_description("Mark Wiens\\n9.5M subscribers\\nSUBSCRIBE\\nThai street food tour!\\nSHOW MORE")
    # -> 'Thai street food tour!'
    video_document("Bangkok Street Food", "Mark Wiens\\nSUBSCRIBE\\nThai street food tour!")
    # -> 'Bangkok Street Food\\nThai street food tour!'
"""

from __future__ import annotations

import re

HEADER_LINES = 4
SUBSCRIBE = "SUBSCRIBE"
JOIN = "JOIN"
BUTTONS = frozenset({"SHOW MORE", "SHOW LESS", "LEARN MORE"})
ADVERTS = frozenset({"Try YouTube Kids"})
SUBSCRIBER_COUNT = re.compile(r"^\d[\d.,]*\s*[KMB]?\s+subscribers?$", re.IGNORECASE)


def clean_description(text: str | None) -> str:
    """The description without the scraped channel header, buttons and subscriber counts (rule in the module doc)."""
    lines = [line.strip() for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while True:  # each pass only removes lines, so this ends; the fixpoint makes cleaning idempotent
        cleaned = _clean_once(lines)
        if cleaned == lines:
            return "\n".join(lines).strip()
        lines = cleaned


def header_length(lines: list[str]) -> int:
    """How many leading lines are the scraped channel header (0 when the text does not start with one)."""
    if SUBSCRIBE not in lines[:HEADER_LINES]:
        return 0
    end = lines.index(SUBSCRIBE)
    name, between = lines[:1], lines[1:end]
    if end == 0 or not _is_channel_name(name[0]):
        return 0
    if between and SUBSCRIBER_COUNT.match(between[0]):
        between = between[1:]
    return end + 1 if between in ([], [JOIN]) else 0



def listing_channel(description: str | None) -> str | None:
    """The channel name of the scraped header ``description`` begins with (the header rule above), else ``None``."""
    lines = [line.strip() for line in (description or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return lines[0] if header_length(lines) else None

def _is_channel_name(line: str) -> bool:
    return bool(line) and line not in BUTTONS and line not in (SUBSCRIBE, JOIN) and not SUBSCRIBER_COUNT.match(line)


def _clean_once(lines: list[str]) -> list[str]:
    lines = lines[header_length(lines):]
    while lines and (lines[-1] in BUTTONS or lines[-1] in ADVERTS or not lines[-1]):
        lines = lines[:-1]
    kept: list[str] = []
    for line in lines:
        if SUBSCRIBER_COUNT.match(line):
            continue
        if line or (kept and kept[-1]):  # at most one blank line in a row, none at the start
            kept.append(line)
    return kept


def video_document(title: str | None, description: str | None) -> str:
    """What the text models read for one video: its title, then its cleaned description."""
    parts = [(title or "").strip(), clean_description(description)]
    return "\n".join(part for part in parts if part)
