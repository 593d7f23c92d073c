"""download -> prepare: one line of ``DIR/manifest.jsonl`` (``DownloadRecord``), and the one rule for which record of a
video counts when several folders (shards of one listing, a second machine, a re-run elsewhere) hold it.

The manifest is append-only: one record per finished attempt, written after its audio file is in place. A line that
is not a JSON object, or whose fields do not have their declared types, is skipped with a warning naming the file
and the line, and counted (``ManifestRead.problems``): one bad line never stops a stage nor hides the others.

The rule (``latest_download_records``), used by download (its own folder), prepare, eval, predict and the benchmarks:

1. within one folder, the last record of an id wins: a later attempt supersedes an earlier one;
2. across folders, an ``ok`` record wins over a failure (the audio exists, a failure elsewhere does not undo it);
3. among records of the same kind, the latest ``finished_at`` wins; a record without it counts as the oldest; a
   tie goes to the folder given last.

Example::

    from common.contract.downloads import DownloadRecord, latest_download_records
    for video_id, found in latest_download_records(["raw/shard1", "raw/shard2"]).items():
        print(video_id, found.directory, found.record.status)
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from common.contract.base import ContractError, Record, doc

logger = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
OK = "ok"


@dataclass(frozen=True)
class DownloadRecord(Record):
    """One finished attempt at one video: its audio file (`status: ok`) or why there is none (one line)."""

    VERSION = 2
    FILE = MANIFEST

    id: str = field(metadata=doc("the video id (YouTube's 11 characters, or a safe id derived from a URL)"))
    status: str = field(metadata=doc("`ok` or a reason code of the failure policy (docs/troubleshooting.md)"))
    url: str | None = field(default=None, metadata=doc("the URL fetched"))
    category: str | None = field(default=None, metadata=doc("the listing's label of the video"))
    title: str | None = field(default=None, metadata=doc("the listing row's title"))
    description: str | None = field(default=None, metadata=doc("the listing row's raw description (docs/text.md)"))
    message: str | None = field(default=None, metadata=doc("what happened, in one line (yt-dlp's or ffmpeg's words "
                                                           "for a failure)"))
    whose: str | None = field(default=None, metadata=doc(
        "whose the failure is: `video` (permanent), `environment`/`unsure` (retryable), `interrupted`; null for ok"))
    transient: bool = field(default=False, metadata=doc("a later run tries this video again (every failure that "
                                                        "is not the video's own)"))
    checked: str | None = field(default=None, metadata=doc(
        "for a failure recorded as the video's after a known-good video was extracted fine: that check, in words"))
    path: str | None = field(default=None, metadata=doc("the audio file, relative to DIR (`audio/<id>.flac`, "
                                                        "16 kHz mono 16-bit FLAC); null for a failure"))
    sample_rate: int | None = field(default=None, metadata=doc("16000"))
    duration_s: float | None = field(default=None, metadata=doc("seconds of audio in the file"))
    section_start_s: float | None = field(default=None, metadata=doc("where the file starts in the video, seconds"))
    source_duration_s: float | None = field(default=None, metadata=doc("the whole video's length, where known"))
    size: int | None = field(default=None, metadata=doc("bytes of the FLAC file as written"))
    sha256: str | None = field(default=None, metadata=doc("sha256 of the FLAC file as written"))
    method: str | None = field(default=None, metadata=doc("`section` or `full` (older name of `fetch`)"))
    fetch: str | None = field(default=None, metadata=doc("`whole` (the stream, cut locally) or `sections`"))
    fetch_fallback: str | None = field(default=None, metadata=doc("why a section fetch fell back to the whole "
                                                                  "stream"))
    bytes_downloaded: int | None = field(default=None, metadata=doc("size of the media file fetched"))
    bytes_fetched: int | None = field(default=None, metadata=doc("every byte the fetch wrote, an abandoned section "
                                                                 "included"))
    fetch_s: float | None = field(default=None, metadata=doc("seconds from the first request to the media file"))
    format_id: str | None = field(default=None, metadata=doc("yt-dlp's id of the audio format fetched"))
    audio_language: str | None = field(default=None, metadata=doc("the audio track's language, where known"))
    audio_language_preference: int | None = field(default=None, metadata=doc(
        "yt-dlp's: 10 the original track, 5 the default, -1 a dub"))
    channel_id: str | None = field(default=None, metadata=doc("yt-dlp's channel id (null where the extractor has "
                                                              "none; never invented)"))
    channel: str | None = field(default=None, metadata=doc("yt-dlp's channel name"))
    uploader_id: str | None = field(default=None, metadata=doc("yt-dlp's uploader id"))
    upload_date: str | None = field(default=None, metadata=doc("yt-dlp's upload date, YYYYMMDD"))
    duration: float | None = field(default=None, metadata=doc("yt-dlp's duration of the video, seconds"))
    listing_channel: str | None = field(default=None, metadata=doc(
        "the channel named by the listing's description header (common/text.py's rule), else null"))
    listing_rows: list[int] = field(default_factory=list, metadata=doc("the listing rows naming this video"))
    repaired_from: str | None = field(default=None, metadata=doc("the damaged link this id was repaired from"))
    proxy: str | None = field(default=None, metadata=doc("the proxy that fetched it (credentials redacted), null "
                                                         "without one"))
    attempts: int | None = field(default=None, metadata=doc("attempts made in this run"))
    elapsed_s: float | None = field(default=None, metadata=doc("seconds spent on this video in this run"))
    warnings: list[str] = field(default_factory=list, metadata=doc("yt-dlp's last warnings for a failure"))
    refetched: str | None = field(default=None, metadata=doc("why an earlier ok file was fetched again"))
    finished_at: str | None = field(default=None, metadata=doc("when the attempt ended (UTC, ISO 8601): orders "
                                                               "records of one id across folders"))

    @property
    def ok(self) -> bool:
        return self.status == OK


@dataclass
class ManifestRead:
    """The records of one manifest, in file order, and the lines that were skipped (file, line, why)."""
    path: Path
    records: list[DownloadRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def latest(self) -> dict[str, DownloadRecord]:
        """id -> its last record in this file."""
        return {record.id: record for record in self.records}


def read_manifest(path) -> ManifestRead:
    """Every valid record of the manifest ``path`` (a missing file gives none). A torn last line (a killed write),
    a line that is not a JSON object, or one whose fields have the wrong types is skipped with a warning naming the
    file and line, and listed in ``problems``."""
    path = Path(path)
    read = ManifestRead(path)
    if not path.is_file():
        return read
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                read.problems.append(f"{where}: skipped a line that is not JSON (a torn write?)")
                continue
            try:
                read.records.append(DownloadRecord.from_json(data, where))
            except ContractError as error:
                read.problems.append(f"{error}; line skipped")
    for problem in read.problems:
        logger.warning(problem)
    return read


def append_record(directory, record: DownloadRecord) -> None:
    """Append ``record`` to ``DIR/manifest.jsonl`` (flushed and fsync'ed before it returns)."""
    from common.jsonl import append_jsonl

    append_jsonl(Path(directory) / MANIFEST, record.to_json())


@dataclass(frozen=True)
class FoundRecord:
    """The record of a video that counts, and the download folder it came from (its ``path`` is relative to it)."""
    directory: Path
    record: DownloadRecord
    also_in: tuple[Path, ...] = ()      # the other folders with a record of this id (superseded by this one)


def latest_download_records(directories: Iterable, problems: list[str] | None = None,
                            reads: dict[Path, ManifestRead] | None = None) -> dict[str, FoundRecord]:
    """id -> the record that counts under the module's rule, over the manifests of ``directories`` (a folder
    without a manifest contributes nothing; callers that need one check it). Skipped lines go to ``problems``;
    ``reads`` (directory -> its ``read_manifest``) spares a second read of manifests a caller has read."""
    candidates: dict[str, list[tuple[tuple, Path, DownloadRecord]]] = {}
    for order, directory in enumerate(map(Path, directories)):
        read = (reads or {}).get(directory) or read_manifest(directory / MANIFEST)
        if problems is not None:
            problems.extend(read.problems)
        for video_id, record in read.latest().items():
            rank = (record.ok, record.finished_at or "", order)
            candidates.setdefault(video_id, []).append((rank, directory, record))
    found = {}
    for video_id, options in candidates.items():
        _, directory, record = max(options, key=lambda option: option[0])
        found[video_id] = FoundRecord(directory, record, tuple(d for _, d, r in options if r is not record))
    return found
