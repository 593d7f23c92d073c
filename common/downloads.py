"""The download stage's records as every stage reads them: one rule for which record of a video counts.

A download folder ``DIR`` holds ``DIR/manifest.jsonl`` (append-only, one record per finished attempt) and
``DIR/audio/<id>.flac``. Several folders may hold the same id (shards of one listing, a second machine, a re-run
into another folder). The rule, used by download (its own folder), prepare, eval and the benchmarks:

1. within one folder, the last record of an id wins: a later attempt supersedes an earlier one (a retry that
   succeeded, a broken file fetched again);
2. across folders, an ``ok`` record wins over a failure (the audio exists, a failure elsewhere does not undo it);
3. among records of the same kind, the latest ``finished_at`` wins; a record without it counts as the oldest; a
   tie goes to the folder given last.

Example::

    from common.downloads import latest_download_records
    for video_id, found in latest_download_records(["raw/shard1", "raw/shard2"]).items():
        print(video_id, found.directory, found.record["status"])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from common.jsonl import latest_records

MANIFEST = "manifest.jsonl"


@dataclass(frozen=True)
class FoundRecord:
    """The record of a video that counts, and the download folder it came from (its ``path`` is relative to it)."""
    directory: Path
    record: dict
    also_in: tuple[Path, ...] = ()      # the other folders with a record of this id (superseded by this one)


def latest_download_records(directories: Iterable, keep_keyless: bool = False) -> dict[str, FoundRecord]:
    """id -> the record that counts under the module's rule, over the manifests of ``directories`` (a folder
    without a manifest contributes nothing; callers that need one check it). ``keep_keyless`` keeps records
    without an id as ``"DIR/manifest.jsonl <line N without id>"`` (so a reader can report each of them)."""
    candidates: dict[str, list[tuple[tuple, Path, dict]]] = {}
    for order, directory in enumerate(map(Path, directories)):
        for video_id, record in latest_records(directory / MANIFEST, keep_keyless=keep_keyless).items():
            if record.get("id") is None:          # keyless: its own entry per folder, never merged with another's
                video_id = f"{directory / MANIFEST} {video_id}"
            rank = (record.get("status") == "ok", str(record.get("finished_at") or ""), order)
            candidates.setdefault(video_id, []).append((rank, directory, record))
    found = {}
    for video_id, options in candidates.items():
        _, directory, record = max(options, key=lambda option: option[0])
        found[video_id] = FoundRecord(directory, record, tuple(d for _, d, r in options if r is not record))
    return found
