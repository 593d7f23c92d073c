"""The one rule for ids that become file names (``DIR/audio/<id>.flac``, Hub paths): used by download and prepare.

An id is 1-128 characters of ``[A-Za-z0-9_.-]``, does not start with a dot and holds no ``..``: it can never name
a file outside its folder, a hidden file, or a path with a separator. YouTube ids (11 characters, may start with
``-``) and the ids derived for other URLs and audio files all match it.

Example::

    from common.ids import check_safe_id, is_safe_id
    is_safe_id("dQw4w9WgXcQ"), is_safe_id("../etc/passwd")      # (True, False)
    check_safe_id("a/b")                                          # raises UnsafeIdError naming 'a/b'
"""

from __future__ import annotations

import re

SAFE_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}")
SAFE_ID_RULE = "1-128 characters of [A-Za-z0-9_.-], not starting with '.', without '..'"


class UnsafeIdError(ValueError):
    """An id that could escape the output folder or is not one we produce."""


def is_safe_id(video_id) -> bool:
    return isinstance(video_id, str) and SAFE_ID.fullmatch(video_id) is not None and ".." not in video_id


def check_safe_id(video_id) -> str:
    """Return ``video_id`` when it is safe to use as a file name, else raise ``UnsafeIdError`` naming it."""
    if not is_safe_id(video_id):
        raise UnsafeIdError(f"unsafe video id {video_id!r}: expected {SAFE_ID_RULE} (a YouTube id or a derived id)")
    return video_id
