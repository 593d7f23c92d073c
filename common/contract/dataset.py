"""prepare -> train and eval: what a prepared dataset says about itself.

- ``DatasetBuild``: the facts every later stage reads instead of guessing them back (clip length, train row length,
  hop, how the split keeps groups apart, the class names, the command that rebuilds the dataset). It is stored in
  ``prepare_stats.json`` (``build``) and in the dataset card's YAML header (``ytac_build``), so a dataset on the
  Hub carries it too.
- ``PrepareStats``: ``prepare_stats.json``, the build record: counts per split and class, what was dropped and why,
  the grouping, hashes of inputs and content, versions.
- ``VideoRow``: one line of ``prepare_videos.jsonl`` (one per video used).

The clip rows themselves are the dataset's columns (``common.data.clip_features``).

Example::

    from common.contract.dataset import PrepareStats, read_build
    stats = PrepareStats.read("data/dataset/prepare_stats.json")
    stats.build.clip_seconds, stats.build.train_row_seconds, stats.splits["test"]["food"].videos
    read_build("data/dataset").command        # also for a Hub dataset id
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.contract.base import ContractError, Part, Record, doc

STATS = "prepare_stats.json"
VIDEOS = "prepare_videos.jsonl"
CARD_KEY = "ytac_build"          # the dataset card's YAML key holding the DatasetBuild


@dataclass(frozen=True)
class DatasetBuild(Record):
    """How the dataset was cut and split: what train, eval and predict read instead of guessing."""

    VERSION = 2
    FILE = f"{STATS} (build) / README.md YAML ({CARD_KEY})"

    clip_seconds: float = field(metadata=doc("length of every validation and test clip (prepare --clip-seconds)"))
    hop_seconds: float = field(metadata=doc("distance between clip starts"))
    train_row_seconds: float = field(metadata=doc(
        "the longest train row (--train-clip-seconds); equal to clip_seconds when train rows are clips. A video's "
        "last row may be shorter (a whole number of clips), so no clip-length of audio is lost"))
    group_by: str = field(metadata=doc("`channel` (no channel in two splits) or `video`; the `group` column holds "
                                       "each row's key"))
    class_names: list[str] = field(metadata=doc("the ClassLabel names, in label order"))
    command: str | None = field(default=None, metadata=doc(
        "the command that rebuilds this dataset from the same inputs (every non-default flag); null in datasets "
        "built before it was recorded"))
    sampling_rate: int = field(default=16000, metadata=doc("samples per second of every clip"))
    split: str = field(default="0.8,0.1,0.1", metadata=doc("train,validation,test fractions of videos per class"))
    seed: int = field(default=0, metadata=doc("seed of the group cap, undersampling and split"))
    balance: str = field(default="videos", metadata=doc("`videos` (equal videos per class) or `none`"))
    max_clips_per_video: int = field(default=0, metadata=doc("clips kept per video at most (0: all)"))
    max_videos_per_group: int = field(default=0, metadata=doc("videos kept per group at most (0: all)"))
    min_rms_db: float = field(default=float("-inf"), metadata=doc("clips quieter than this (dBFS) were dropped"))

    @property
    def train_rows_are_clips(self) -> bool:
        return abs(self.train_row_seconds - self.clip_seconds) < 1e-9


@dataclass(frozen=True)
class ClassCounts(Part):
    videos: int = field(metadata=doc("videos of this class in this split"))
    clips: int = field(metadata=doc("rows (clips, or train rows)"))
    hours: float = field(metadata=doc("hours of audio in those rows"))


@dataclass(frozen=True)
class DroppedCounts(Part):
    videos: dict[str, int] = field(default_factory=dict, metadata=doc("videos left out, by reason"))
    clips: dict[str, int] = field(default_factory=dict, metadata=doc("clips left out, by reason"))


@dataclass(frozen=True)
class DroppedItem(Part):
    item: str = field(metadata=doc("a video id, or a file path where no id could be derived"))
    reason: str = field(metadata=doc("why it was left out"))
    message: str = field(default="", metadata=doc("the details"))


@dataclass(frozen=True)
class DuplicateSource(Part):
    source_sha256: str = field(metadata=doc("sha256 of the audio file found under several ids"))
    video_ids: list[str] = field(metadata=doc("the ids holding it"))
    kept: str | None = field(metadata=doc("the id kept (null: labels conflict, none kept)"))
    categories: list[str] = field(metadata=doc("the labels of those ids"))


@dataclass(frozen=True)
class Grouping(Part):
    group_by: str = field(metadata=doc("`channel` or `video`"))
    group_source_counts: dict[str, int] = field(default_factory=dict, metadata=doc(
        "videos grouped by channel_id, listing_channel, audiofolder_group or alone (video)"))
    max_videos_per_group: int | None = field(default=None, metadata=doc("the cap (null: none)"))
    videos_dropped_by_cap: int = field(default=0, metadata=doc("videos over the cap"))
    duplicate_sources: list[DuplicateSource] = field(default_factory=list, metadata=doc(
        "byte-identical audio under several ids"))
    groups_per_split: dict[str, int] = field(default_factory=dict, metadata=doc("groups in each split"))
    test_videos_sharing_a_channel_with_train_or_validation: int = field(default=0, metadata=doc(
        "0 with --group-by channel"))


@dataclass(frozen=True)
class ManifestInput(Part):
    path: str = field(metadata=doc("a download manifest read"))
    sha256: str = field(metadata=doc("its sha256 when read"))
    records: int = field(metadata=doc("its records (by id)"))


@dataclass(frozen=True)
class FolderFingerprint(Part):
    sha256: str = field(metadata=doc("sha256 over every file's relative path, size and modification time"))
    files: int = field(metadata=doc("files counted"))


@dataclass(frozen=True)
class BuildInputs(Part):
    manifests: list[ManifestInput] = field(default_factory=list, metadata=doc("download manifests read"))
    audiofolder: str | None = field(default=None, metadata=doc("the --audiofolder root"))
    audiofolder_fingerprint: FolderFingerprint | None = field(default=None, metadata=doc(
        "what an --audiofolder held when read"))
    videos_scanned: int = field(default=0, metadata=doc("source files read"))
    source_files_sha256: str = field(default="", metadata=doc("one sha256 over every source file's sha256"))
    hours_scanned: float = field(default=0.0, metadata=doc("hours of source audio read"))


@dataclass(frozen=True)
class PrepareStats(Record):
    """The build record of a prepared dataset."""

    VERSION = 2
    FILE = STATS

    build: DatasetBuild = field(metadata=doc("the facts later stages read (`DatasetBuild`)"))
    class_names: list[str] = field(metadata=doc("the class names"))
    splits: dict[str, dict[str, ClassCounts]] = field(metadata=doc("split -> class -> counts"))
    content_sha256: str = field(metadata=doc("sha256 of every row's fields and audio: same inputs and seed give "
                                             "the same value"))
    config: dict[str, Any] = field(default_factory=dict, metadata=doc("prepare's resolved flags, as given"))
    split_sha256: dict[str, str] = field(default_factory=dict, metadata=doc("content sha256 of each split"))
    dropped: DroppedCounts = field(default_factory=DroppedCounts, metadata=doc("what was left out, by reason"))
    dropped_examples: list[DroppedItem] = field(default_factory=list, metadata=doc("the first 200 dropped items"))
    grouping: Grouping | None = field(default=None, metadata=doc("how videos were grouped for the split (null in "
                                                                 "datasets made before channels)"))
    inputs: BuildInputs = field(default_factory=BuildInputs, metadata=doc("what it was built from"))
    versions: dict[str, str | None] = field(default_factory=dict, metadata=doc("package versions"))
    elapsed_s: float | None = field(default=None, metadata=doc("seconds the build took"))
    x_real_time: float | None = field(default=None, metadata=doc("seconds of audio read per second"))

    @classmethod
    def migrate(cls, data: dict, version: int) -> dict:
        """Version 1 (no ``build``): the facts are read from the flags it stored (``config``), never guessed."""
        config = data.get("config") if isinstance(data.get("config"), dict) else {}
        if "build" not in data and config:
            clip = config.get("clip_seconds")
            grouping = data.get("grouping") if isinstance(data.get("grouping"), dict) else {}
            data["build"] = {
                "clip_seconds": clip, "hop_seconds": config.get("hop_seconds") or clip,
                "train_row_seconds": config.get("train_clip_seconds") or clip,
                "group_by": grouping.get("group_by") or config.get("group_by") or "video",
                "class_names": data.get("class_names", []), "command": None,
                "split": config.get("split", "0.8,0.1,0.1"), "seed": config.get("seed", 0),
                "balance": config.get("balance", "videos"),
                "max_clips_per_video": config.get("max_clips_per_video") or 0,
                "max_videos_per_group": config.get("max_videos_per_group") or 0,
                "min_rms_db": config.get("min_rms_db", float("-inf"))}
        inputs = data.get("inputs")
        if isinstance(inputs, dict) and "audiofolder_fingerprint" not in inputs:
            data["inputs"] = {**inputs, "audiofolder_fingerprint": None}
        return data

    def split_clips(self, split: str) -> int:
        return sum(counts.clips for counts in self.splits.get(split, {}).values())


@dataclass(frozen=True)
class VideoRow(Record):
    """A video used: its split, group and text (one line of the file)."""

    VERSION = 2
    FILE = VIDEOS

    video_id: str = field(metadata=doc("the video"))
    split: str = field(metadata=doc("train, validation or test"))
    category: str = field(metadata=doc("its class"))
    channel: str = field(default="", metadata=doc("the channel's display name (\"\" where unknown)"))
    group: str = field(default="", metadata=doc("the split key: `channel_id:UC...`, `listing_channel:NAME`, "
                                                "`audiofolder_group:G` or `video:ID`"))
    title: str = field(default="", metadata=doc("the listing's title"))
    description: str | None = field(default=None, metadata=doc("the description, boilerplate removed (null in "
                                                               "tables written before descriptions)"))
    clips: int = field(default=0, metadata=doc("rows of this video"))
    clip_seconds: float | None = field(default=None, metadata=doc("length of its longest row"))
    source_seconds: float | None = field(default=None, metadata=doc("seconds of source audio"))
    source_sha256: str | None = field(default=None, metadata=doc("sha256 of the source audio file"))


def read_video_rows(path) -> list[VideoRow]:
    """Every row of a ``prepare_videos.jsonl`` (a bad line is an error naming it: prepare wrote the file whole)."""
    import json

    rows = []
    path = Path(path)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                data = json.loads(line)
            except json.JSONDecodeError as error:
                raise ContractError(f"{path}:{number}: not JSON ({error})") from None
            rows.append(VideoRow.from_json(data, f"{path}:{number}"))
    return rows


def read_build(name_or_path: str) -> PrepareStats | None:
    """The ``prepare_stats.json`` of a prepared dataset: a local folder's, or a Hub dataset's (from the Hub, or its
    local cache offline); ``None`` when the dataset has none (not made by prepare). A malformed one is an error."""
    path = Path(name_or_path)
    if path.exists():
        file = path / STATS
        return PrepareStats.read(file) if file.is_file() else None
    try:
        from huggingface_hub import hf_hub_download

        local = hf_hub_download(name_or_path, STATS, repo_type="dataset")
    except Exception:   # not on the Hub, not cached, offline: the dataset says nothing about its build
        return None
    return PrepareStats.read(local)
