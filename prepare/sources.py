"""Where the videos come from: download manifests (``DIR/manifest.jsonl`` of ``python -m download``) or a plain
``ROOT/<label>/<files>`` audio folder tree. Both give a list of ``VideoSource`` plus the items left out, with reasons.

Example::

    from prepare.sources import read_download_dirs, read_audiofolder
    videos, dropped, manifests = read_download_dirs(["data/raw_shard0", "data/raw_shard1"])
    videos, dropped = read_audiofolder("my_sounds")      # my_sounds/dog/a.wav, my_sounds/cat/b.mp3, ...
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from common.provenance import file_sha256
from common.ids import is_safe_id as is_valid_id  # noqa: F401 (the one id rule, also used by download/)
from common.jsonl import latest_records
from common.text import clean_description

logger = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
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


@dataclass(frozen=True)
class Dropped:
    item: str  # a video id, or a file path when no id could be derived
    reason: str
    message: str = ""


def safe_id(relative_path: str) -> str:
    """A file-name-safe id for a file of an audio folder: its readable path plus a hash, so ids never collide."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", relative_path).strip("_")[:80] or "file"
    return f"{slug}-{hashlib.sha1(relative_path.encode()).hexdigest()[:8]}"


def _latest_records(manifest: Path) -> dict[str, dict]:
    """The last record per id (a later record supersedes an earlier one, e.g. a retry that succeeded)."""
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest}: no download manifest here (expected DIR/{MANIFEST_NAME} written by "
                                f"`python -m download --out DIR`)")
    latest = latest_records(manifest, keep_keyless=True)
    if not latest:
        raise ValueError(f"{manifest}: the manifest is empty (no records); run the download stage first")
    return latest


def _source_from_record(directory: Path, video_id: str, record: dict) -> VideoSource | Dropped:
    if not is_valid_id(video_id):
        return Dropped(video_id, "bad_id", f"{directory / MANIFEST_NAME}: id {video_id!r} is not a safe video id")
    status = record.get("status")
    if status != "ok":
        return Dropped(video_id, f"download_{status or 'unknown'}", str(record.get("message") or ""))
    category = record.get("category")
    if not isinstance(category, str) or not category.strip():
        return Dropped(video_id, "no_category", f"{directory / MANIFEST_NAME}: record {video_id} has no category")
    relative = record.get("path")
    root = directory.resolve()
    path = (root / str(relative or "")).resolve()
    if not relative or root not in path.parents:
        return Dropped(video_id, "bad_path", f"path {relative!r} is not a file inside {directory}")
    if not path.is_file():
        return Dropped(video_id, "missing_file", f"{path} does not exist")
    return VideoSource(video_id, category.strip(), str(record.get("title") or ""), path,
                       float(record.get("section_start_s") or 0.0),
                       clean_description(str(record.get("description") or "")))


def read_download_dirs(directories) -> tuple[list[VideoSource], list[Dropped], list[dict]]:
    """The ok videos of one or more download directories (shards of one listing), each id once.

    Returns ``(videos, dropped, manifests)``; ``manifests`` holds each manifest's path, sha256 and record count.
    """
    videos: dict[str, VideoSource] = {}
    dropped: list[Dropped] = []
    manifests = []
    for directory in map(Path, directories):
        manifest = directory / MANIFEST_NAME
        records = _latest_records(manifest)
        manifests.append({"path": str(manifest), "sha256": file_sha256(manifest), "records": len(records)})
        for video_id, record in records.items():
            source = _source_from_record(directory, video_id, record)
            if isinstance(source, Dropped):
                dropped.append(source)
            elif video_id in videos:
                first = videos[video_id]
                dropped.append(Dropped(video_id, "duplicate_id", f"also in {first.path}; kept that one"
                                       + (f" (categories differ: {first.category!r} vs {source.category!r})"
                                          if first.category != source.category else "")))
            else:
                videos[video_id] = source
    if not videos:
        raise ValueError(f"no usable ok record in {[str(d) for d in directories]} "
                         f"({len(dropped)} records left out; first: {dropped[0] if dropped else None})")
    return sorted(videos.values(), key=lambda v: v.video_id), dropped, manifests


def read_audiofolder(root) -> tuple[list[VideoSource], list[Dropped]]:
    """Every audio file under ``ROOT/<label>/`` (nested folders allowed) as one video of class ``<label>``."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: audio folder not found (expected ROOT/<label>/<audio files>)")
    videos, dropped = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if len(relative.parts) < 2:
            dropped.append(Dropped(str(relative), "no_label", f"{path}: files must sit in ROOT/<label>/"))
        elif path.suffix.lower() not in AUDIO_EXTENSIONS:
            dropped.append(Dropped(str(relative), "not_audio", f"{path}: extension {path.suffix!r} is not audio"))
        else:
            videos.append(VideoSource(safe_id(relative.as_posix()), relative.parts[0], path.stem, path.resolve()))
    if not videos:
        raise ValueError(f"{root}: no audio files found in ROOT/<label>/ folders "
                         f"(extensions {sorted(AUDIO_EXTENSIONS)})")
    return videos, dropped
