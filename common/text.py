"""Clean the descriptions scraped from YouTube search results (the Kaggle listing's ``description`` column).

The scraper copied the page text around each description, so a row reads::

    Tanya Khanijow            <- channel name
    671K subscribers          <- subscriber count (missing for some channels)
    JOIN                      <- membership button (some channels)
    SUBSCRIBE                 <- subscribe button
    The journey to Arunachal begins with ...   <- the description itself (cut by YouTube)
    SHOW MORE                 <- expand button (or SHOW LESS / LEARN MORE)

The rule (``clean_description``), applied in this order:

1. **Header**: when a line that is exactly ``SUBSCRIBE`` is among the first ``HEADER_LINES`` lines, that line and every
   line before it are dropped (channel name, subscriber count, ``JOIN``). In the shared copy of the listing all 3,599
   rows have it, at line 2, 3 or 4.
2. **Footer**: trailing lines that are exactly a button label (``SHOW MORE``, ``SHOW LESS``, ``LEARN MORE``) are
   dropped, repeatedly, together with the ``Try YouTube Kids`` advert line that comes with ``LEARN MORE``.
3. **Stray counts**: any other line that is only a subscriber count (``1.2M subscribers``) is dropped.
4. Whitespace: lines are stripped and runs of blank lines become one line break.

Text that has no such header (a description written by hand, or one cleaned already) loses nothing but stray counts
and button lines at its end, so cleaning twice gives the same text.

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
BUTTONS = frozenset({"SHOW MORE", "SHOW LESS", "LEARN MORE"})
ADVERTS = frozenset({"Try YouTube Kids"})
SUBSCRIBER_COUNT = re.compile(r"^\d[\d.,]*\s*[KMB]?\s+subscribers?$", re.IGNORECASE)


def clean_description(text: str | None) -> str:
    """The description without the scraped channel header, buttons and subscriber counts (rule in the module doc)."""
    lines = [line.strip() for line in (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    head = lines[:HEADER_LINES]
    if SUBSCRIBE in head:
        lines = lines[head.index(SUBSCRIBE) + 1:]
    while lines and (lines[-1] in BUTTONS or lines[-1] in ADVERTS or not lines[-1]):
        lines.pop()
    kept: list[str] = []
    for line in lines:
        if SUBSCRIBER_COUNT.match(line):
            continue
        if line or (kept and kept[-1]):  # at most one blank line in a row, none at the start
            kept.append(line)
    return "\n".join(kept).strip()


def video_document(title: str | None, description: str | None) -> str:
    """What the text models read for one video: its title, then its cleaned description."""
    parts = [(title or "").strip(), clean_description(description)]
    return "\n".join(part for part in parts if part)
