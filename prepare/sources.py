"""Where the videos come from: download manifests (``DIR/manifest.jsonl`` of ``python -m download``) or a plain
``ROOT/<label>/<files>`` audio folder tree. Both give a list of ``VideoSource`` plus the items left out, with reasons.

A video's channel comes from its manifest record (``channel_id``/``channel`` from yt-dlp, ``listing_channel`` from
the listing's description header); in an audio folder, groups come from ``ROOT/groups.csv`` (columns ``path,group``)
or, with ``--audiofolder-groups subfolder``, from the first folder under ``ROOT/<label>/``. Labels that differ only
in case or surrounding spaces (``Food`` / ``food``) are an error naming both, unless ``--merge-label-case``.

Example::

    from prepare.sources import read_download_dirs, read_audiofolder
    videos, dropped, manifests = read_download_dirs(["data/raw_shard0", "data/raw_shard1"])
    videos, dropped = read_audiofolder("my_sounds")      # my_sounds/dog/a.wav, my_sounds/cat/b.mp3, ...
    videos, dropped = read_audiofolder("my_sounds", groups="subfolder")   # my_sounds/dog/<recording>/a.wav
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from common.contract import MANIFEST as MANIFEST_NAME, DownloadRecord, ManifestRead, latest_download_records
from common.contract.dataset import FolderFingerprint, ManifestInput
from common.contract.downloads import read_manifest
from common.ids import is_safe_id as is_valid_id  # noqa: F401 (the one id rule, also used by download/)
from common.provenance import file_sha256
from common.text import clean_description

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS = {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".webm", ".mp4", ".mka",
                    ".aiff", ".aif", ".wma", ".weba"}


@dataclass(frozen=True)
class VideoSource:
    video_id: str
    category: str
    title: str
    path: Path
    section_start_s: float = 0.0  # where the file starts in the original video (download sections)
    description: str = ""          # the listing's description, scraped boilerplate removed (common.text)
    channel_id: str | None = None  # yt-dlp's channel id (manifest)
    channel: str = ""              # the channel's name: yt-dlp's, else the listing's, else the audio folder's group
    listing_channel: str | None = None  # the channel named by the listing's description header (manifest)
    folder_group: str | None = None     # an audio folder's group (groups.csv or the subfolder)
    origin: str = ""               # where the label was read (manifest path, or folder), for error messages


@dataclass(frozen=True)
class Dropped:
    item: str  # a video id, or a file path when no id could be derived
    reason: str
    message: str = ""


def safe_id(relative_path: str) -> str:
    """A file-name-safe id for a file of an audio folder: its readable path plus a hash, so ids never collide."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", relative_path).strip("_")[:80] or "file"
    return f"{slug}-{hashlib.sha1(relative_path.encode()).hexdigest()[:8]}"


def _check_manifest(manifest: Path) -> ManifestRead:
    """One folder's manifest, read; a missing or empty manifest is an error naming it."""
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest}: no download manifest here (expected DIR/{MANIFEST_NAME} written by "
                                f"`python -m download --out DIR`)")
    read = read_manifest(manifest)
    if not read.records and not read.problems:
        raise ValueError(f"{manifest}: the manifest is empty (no records); run the download stage first")
    return read


def _source_from_record(directory: Path, record: DownloadRecord) -> VideoSource | Dropped:
    video_id = record.id
    if not is_valid_id(video_id):
        return Dropped(video_id, "bad_id", f"{directory / MANIFEST_NAME}: id {video_id!r} is not a safe video id")
    if not record.ok:
        return Dropped(video_id, f"download_{record.status or 'unknown'}", record.message or "")
    category = record.category
    if not category or not category.strip():
        return Dropped(video_id, "no_category", f"{directory / MANIFEST_NAME}: record {video_id} has no category")
    listing_channel = _text_or_none(record.listing_channel)
    relative = record.path
    root = directory.resolve()
    path = (root / str(relative or "")).resolve()
    if not relative or root not in path.parents:
        return Dropped(video_id, "bad_path", f"path {relative!r} is not a file inside {directory}")
    if not path.is_file():
        return Dropped(video_id, "missing_file", f"{path} does not exist")
    return VideoSource(video_id, category, record.title or "", path, record.section_start_s or 0.0,
                       clean_description(record.description or ""),
                       channel_id=_text_or_none(record.channel_id),
                       channel=_text_or_none(record.channel) or listing_channel or "",
                       listing_channel=listing_channel, origin=f"{directory / MANIFEST_NAME}, id {video_id}")


def _text_or_none(value) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def read_download_dirs(directories, merge_label_case: bool = False
                       ) -> tuple[list[VideoSource], list[Dropped], list[ManifestInput]]:
    """The ok videos of one or more download directories (shards of one listing), labels unified; an id in several
    folders is one video, its record chosen by ``common.contract``' rule (and not counted as dropped).

    Returns ``(videos, dropped, manifests)``; ``manifests`` holds each manifest's path, sha256 and record count.
    """
    directories = [Path(d) for d in directories]
    manifests, reads = [], {}
    for directory in directories:
        manifest = directory / MANIFEST_NAME
        reads[directory] = read = _check_manifest(manifest)
        manifests.append(ManifestInput(str(manifest), file_sha256(manifest), len(read.latest()) + len(read.problems)))
    videos: dict[str, VideoSource] = {}
    problems: list[str] = []
    # one rule for an id found in several folders (common.contract): ok beats a failure, then the latest finished
    found_records = latest_download_records(directories, problems, reads)
    dropped: list[Dropped] = [Dropped(problem.split(": ", 1)[0], "bad_record", problem) for problem in problems]
    for video_id, found in found_records.items():
        source = _source_from_record(found.directory, found.record)
        if isinstance(source, Dropped):
            dropped.append(source)
            continue
        if found.also_in:
            logger.info("%s: recorded in %d download folders; using %s", video_id, 1 + len(found.also_in),
                        found.directory / MANIFEST_NAME)
        videos[video_id] = source
    if not videos:
        raise ValueError(f"no usable ok record in {[str(d) for d in directories]} "
                         f"({len(dropped)} records left out; first: {dropped[0] if dropped else None})")
    return unify_labels(sorted(videos.values(), key=lambda v: v.video_id), merge_label_case), dropped, manifests


GROUPS_CSV = "groups.csv"


def read_audiofolder(root, groups: str = "auto", merge_label_case: bool = False
                     ) -> tuple[list[VideoSource], list[Dropped]]:
    """Every audio file under ``ROOT/<label>/`` (nested folders allowed) as one video of class ``<label>``.

    ``groups``: ``auto`` reads ``ROOT/groups.csv`` when it exists (else every file is its own group); ``subfolder``:
    the first folder under ``ROOT/<label>/`` is the group (files directly in it are their own group); ``file``: every
    file is its own group; anything else is the path of a CSV with columns ``path`` (relative to ROOT) and ``group``.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: audio folder not found (expected ROOT/<label>/<audio files>)")
    groups_csv = _groups_csv_path(root, groups)
    given = read_groups_csv(groups_csv, root) if groups_csv else {}
    videos, dropped = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or relative.as_posix() == GROUPS_CSV:
            continue
        if len(relative.parts) < 2:
            dropped.append(Dropped(str(relative), "no_label", f"{path}: files must sit in ROOT/<label>/"))
        elif path.suffix.lower() not in AUDIO_EXTENSIONS:
            dropped.append(Dropped(str(relative), "not_audio", f"{path}: extension {path.suffix!r} is not audio"))
        else:
            group = given.pop(relative.as_posix(), None)
            if groups == "subfolder" and len(relative.parts) > 2:
                group = relative.parts[1]
            videos.append(VideoSource(safe_id(relative.as_posix()), relative.parts[0], path.stem, path.resolve(),
                                      channel=group or "", folder_group=group, origin=f"{root / relative.parts[0]}/"))
    if given:
        path, _ = next(iter(given.items()))
        raise ValueError(f"{groups_csv}: {len(given)} row(s) name files that are not audio files under "
                         f"{root}/<label>/ (first: {path!r}); expected paths relative to {root}")
    if not videos:
        raise ValueError(f"{root}: no audio files found in ROOT/<label>/ folders "
                         f"(extensions {sorted(AUDIO_EXTENSIONS)})")
    return unify_labels(videos, merge_label_case), dropped


def audiofolder_fingerprint(root, groups: str = "auto") -> FolderFingerprint:
    """What a finished dataset built from an audio folder was built from: a sha256 over every file's relative path,
    size and modification time under ``root`` (hidden files aside) and the groups CSV's, and the file count. A file
    added, removed, replaced or rewritten changes it; reading no audio keeps the check cheap."""
    root = Path(root)
    digest, files = hashlib.sha256(), 0
    paths = sorted(p for p in root.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    groups_csv = _groups_csv_path(root, groups) if groups not in ("auto", "subfolder", "file") else None
    for path in paths + ([groups_csv] if groups_csv else []):
        stat = path.stat()
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else f"groups:{path.resolve()}"
        digest.update(f"{name}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
        files += 1
    return FolderFingerprint(digest.hexdigest(), files)


def _groups_csv_path(root: Path, groups: str) -> Path | None:
    if groups == "auto":
        return root / GROUPS_CSV if (root / GROUPS_CSV).is_file() else None
    if groups in ("subfolder", "file"):
        return None
    if not Path(groups).is_file():
        raise FileNotFoundError(f"--audiofolder-groups {groups!r}: expected one of auto, subfolder, file or the path "
                                f"of a CSV file with columns path,group")
    return Path(groups)


def read_groups_csv(path: Path, root: Path) -> dict[str, str]:
    """``{relative path: group}`` from a CSV with columns ``path`` and ``group``; a bad row is an error naming it."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"path", "group"} <= set(reader.fieldnames or []):
            raise ValueError(f"{path}: expected a header with columns path,group, got {reader.fieldnames}")
        result = {}
        for number, row in enumerate(reader, start=2):
            relative, group = (row.get("path") or "").strip(), (row.get("group") or "").strip()
            if not relative or not group:
                raise ValueError(f"{path}, line {number}: expected a path and a group, got {relative!r}, {group!r}")
            if relative in result and result[relative] != group:
                raise ValueError(f"{path}, line {number}: {relative!r} is given groups {result[relative]!r} and "
                                 f"{group!r}; expected one group per file")
            result[relative] = group
    return result


def unify_labels(videos: list[VideoSource], merge: bool = False) -> list[VideoSource]:
    """Strip the labels; labels that differ only in case or surrounding spaces are an error naming every spelling
    and where it was read, or (``merge``) become the most common spelling, with a warning."""
    spellings: dict[str, Counter] = defaultdict(Counter)
    origin: dict[str, str] = {}
    for video in videos:
        spellings[video.category.strip().casefold()][video.category] += 1
        origin.setdefault(video.category, video.origin)
    canonical = {}
    for key, counts in spellings.items():
        stripped = Counter()
        for spelling, n in counts.items():
            stripped[spelling.strip()] += n
        chosen = min(stripped, key=lambda name: (-stripped[name], name))
        if len(counts) > 1:
            listed = ", ".join(f"{spelling!r} ({n} videos, e.g. {origin[spelling]})"
                               for spelling, n in sorted(counts.items()))
            if not merge:
                raise ValueError(f"labels that differ only in case or surrounding spaces: {listed}; fix the labels "
                                 f"or pass --merge-label-case to merge them into {chosen!r}")
            logger.warning("merging labels %s into %r (--merge-label-case)", listed, chosen)
        canonical.update({spelling: chosen for spelling in counts})
    return [replace(video, category=canonical[video.category]) for video in videos]
