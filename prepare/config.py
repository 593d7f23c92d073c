"""The prepare stage's arguments, declared once: the CLI flags (``common.cli``) are generated from these fields and their ``help``.

Example::

    from prepare.config import PrepareConfig
    config = PrepareConfig(raw=["data/raw"], out="data/dataset", max_clips_per_video=10)
"""

from __future__ import annotations

import math
import shlex
from dataclasses import asdict, dataclass, field, fields
from typing import Literal

from common.audio import SAMPLING_RATE
from common.contract import DatasetBuild
from common.values import check_number

BALANCE_CHOICES = ("videos", "none")
GROUP_BY_CHOICES = ("channel", "video")
AUDIOFOLDER_GROUPS = ("auto", "subfolder", "file")


# Train rows are this many clips long by default, so that train.py's crops differ every epoch (one per clip length
# of a row, the same steps as clips). Measured on real Whisper weights and real audio (python -m bench --only crops,
# docs/train.md): no gain and no loss against clips of the same audio, at the same cost.
TRAIN_ROW_CLIPS = 3
MIN_CLIP_SECONDS = 0.025       # 400 samples: one 25-ms frame of AST's and Whisper's features (common.modeling)
MAX_CLIP_SECONDS = 3600.0      # an hour: a clip is encoded in memory as one FLAC


@dataclass
class PrepareConfig:
    raw: list[str] = field(
        default_factory=list,
        metadata={"help": "A download directory holding manifest.jsonl (repeat the flag for shards of one listing)."},
    )
    audiofolder: str | None = field(
        default=None, metadata={"help": "Instead of --raw: a folder tree ROOT/<label>/<audio files> in any format."}
    )
    audiofolder_groups: str = field(
        default="auto",
        metadata={"help": "Groups of an --audiofolder (files of one group never sit in two splits). auto: "
                          "ROOT/groups.csv (columns path,group) when it exists, else every file is its own group; "
                          "subfolder: ROOT/<label>/<group>/<files>; file: every file its own group; or a CSV's path."},
    )
    out: str = field(default="", metadata={"help": "Where the dataset (Parquet shards in the Hub's layout, with its card) and its stats go."})
    clip_seconds: float = field(default=10.0, metadata={"help": "Length of every clip in seconds."})
    hop_seconds: float | None = field(
        default=None, metadata={"help": "Distance between clip starts in seconds (default: --clip-seconds, no overlap)."}
    )
    train_clip_seconds: float | None = field(
        default=None,
        metadata={"help": f"Length of the train split's rows in seconds (default: {TRAIN_ROW_CLIPS} x --clip-seconds; "
                          "--clip-seconds itself gives the train split clips like the others). train.py draws new "
                          "random --max_length_seconds crops from each row every epoch, one per clip length. The "
                          "rows keep the audio the clips keep: each loud stretch of a video is cut into rows this "
                          "long and what is left of it, when at least one clip long, is a shorter last row (whole "
                          "clips); at most --max-clips-per-video x --clip-seconds of audio per video, rounded up to "
                          "whole rows. Validation and test keep --clip-seconds."},
    )
    max_clips_per_video: int = field(
        default=20,
        metadata={"help": "At most this many clips per video, spread evenly across it (0 = no cap). The default 20 "
                          "(200 s of a 600-s download) keeps long videos from dominating a class."},
    )
    min_rms_db: float = field(
        default=-50.0, metadata={"help": "Drop clips quieter than this RMS level in dBFS (--min-rms-db=-inf keeps every clip)."}
    )
    split: str = field(default="0.8,0.1,0.1", metadata={"help": "Train,validation,test fractions of videos per class."})
    group_by: Literal["channel", "video"] = field(
        default="channel",
        metadata={"help": "channel: no channel in two splits (group = the manifest's channel_id, else the listing's "
                          "channel, else the video itself; audio folders: their groups); video: split by video only."},
    )
    max_videos_per_group: int = field(
        default=10,
        metadata={"help": "At most this many videos per channel (group), chosen at random (seeded) before the split "
                          "(0 = no cap). The default 10 keeps one channel under ~4% of a class of ~300 videos."},
    )
    merge_label_case: bool = field(
        default=False,
        metadata={"help": "Merge labels that differ only in case or surrounding spaces (Food, food) into the most "
                          "common spelling, with a warning, instead of stopping with an error."},
    )
    seed: int = field(default=0, metadata={"help": "Seed of the group cap, the video undersampling and the split."})
    balance: Literal["videos", "none"] = field(
        default="videos",
        metadata={"help": "'videos': equal videos per class (undersampled to the smallest class) and equal clips "
                          "per class in validation and test; 'none': keep everything."},
    )
    overwrite: bool = field(default=False, metadata={"help": "Rebuild even when --out already holds a finished dataset."})
    push_to_hub: str | None = field(
        default=None, metadata={"help": "Also publish the dataset with its card to this Hub dataset repo (user/name)."}
    )

    def __post_init__(self):
        if bool(self.raw) == bool(self.audiofolder):
            raise ValueError("give either --raw DIR (one or more) or --audiofolder ROOT, not both and not neither")
        if not self.out:
            raise ValueError("--out is required: the folder the prepared dataset is written to")
        check_number("--clip-seconds", self.clip_seconds, minimum=MIN_CLIP_SECONDS, maximum=MAX_CLIP_SECONDS,
                     allow_none=False, why="the shortest input the supported encoders take is 25 ms")
        if self.hop_seconds is None:
            self.hop_seconds = self.clip_seconds
        if self.train_clip_seconds is None:
            self.train_clip_seconds = TRAIN_ROW_CLIPS * self.clip_seconds
        check_number("--train-clip-seconds", self.train_clip_seconds, maximum=MAX_CLIP_SECONDS, allow_none=False)
        if not self.train_clip_seconds >= self.clip_seconds:
            raise ValueError(f"--train-clip-seconds must be >= --clip-seconds ({self.clip_seconds:g}), "
                             f"got {self.train_clip_seconds}")
        check_number("--hop-seconds", self.hop_seconds, minimum=1 / SAMPLING_RATE, maximum=MAX_CLIP_SECONDS,
                      allow_none=False, why="at least one sample")
        if self.max_clips_per_video < 0:
            raise ValueError(f"--max-clips-per-video must be >= 0 (0 = no cap), got {self.max_clips_per_video}")
        check_number("--max-clips-per-video", self.max_clips_per_video, minimum=0, integer=True, allow_none=False)
        if math.isnan(self.min_rms_db):
            raise ValueError("--min-rms-db must be a number in dBFS such as -50, got nan")
        check_number("--min-rms-db", self.min_rms_db, maximum=0, allow_inf="-inf", allow_none=False,
                     why="a level in dBFS such as -50; --min-rms-db=-inf keeps every clip")
        check_number("--seed", self.seed, minimum=0, integer=True, allow_none=False)
        if self.balance not in BALANCE_CHOICES:
            raise ValueError(f"--balance must be one of {BALANCE_CHOICES}, got {self.balance!r}")
        if self.group_by not in GROUP_BY_CHOICES:
            raise ValueError(f"--group-by must be one of {GROUP_BY_CHOICES}, got {self.group_by!r}")
        if self.max_videos_per_group < 0:
            raise ValueError(f"--max-videos-per-group must be >= 0 (0 = no cap), got {self.max_videos_per_group}")
        check_number("--max-videos-per-group", self.max_videos_per_group, minimum=0, integer=True, allow_none=False)
        if self.audiofolder_groups not in AUDIOFOLDER_GROUPS and not self.audiofolder_groups.endswith(".csv"):
            raise ValueError(f"--audiofolder-groups must be one of {AUDIOFOLDER_GROUPS} or the path of a .csv file, "
                             f"got {self.audiofolder_groups!r}")
        self.split_fractions  # validates --split early

    @property
    def split_fractions(self) -> tuple[float, float, float]:
        try:
            parts = tuple(float(p) for p in str(self.split).split(","))
        except ValueError:
            parts = ()
        if len(parts) != 3 or any(not (p >= 0) for p in parts) or abs(sum(parts) - 1) > 1e-6 or parts[0] <= 0:
            raise ValueError(
                f"--split must be three fractions train,validation,test >= 0 summing to 1 with train > 0 "
                f"(e.g. 0.8,0.1,0.1), got {self.split!r}"
            )
        return parts

    def to_dict(self) -> dict:
        return asdict(self)

    def dataset_defining(self) -> dict:
        """The fields that decide the dataset's content (not where it goes or whether it is published)."""
        return {k: v for k, v in self.to_dict().items() if k not in NOT_DATASET_DEFINING}

    def command(self) -> str:
        """The command that builds this dataset again: ``python -m prepare`` with every flag whose value differs
        from what the command would otherwise resolve to (so derived defaults such as ``--hop-seconds`` stay out
        unless they were set), in the fields' order."""
        given = {"raw": self.raw, "audiofolder": self.audiofolder, "out": self.out}
        for f in fields(self):
            if f.name in given or f.name in NOT_DATASET_DEFINING:
                continue
            if getattr(PrepareConfig(**given), f.name) != getattr(self, f.name):
                given[f.name] = getattr(self, f.name)
        assert PrepareConfig(**given).dataset_defining() == self.dataset_defining(), "bug: the command differs"
        argv = ["python", "-m", "prepare"]
        for name, value in given.items():
            flag = "--" + name.replace("_", "-")
            if isinstance(value, list):
                argv += [item for entry in value for item in (flag, str(entry))]
            elif isinstance(value, bool):
                argv += [flag] if value else [flag, "false"]
            elif value is not None:
                text = repr(value) if isinstance(value, float) else str(value)
                argv += [f"{flag}={text}"] if text.startswith("-") else [flag, text]   # "-inf" is not a flag
        return shlex.join(argv)

    def build(self, class_names: list[str]) -> DatasetBuild:
        """The facts later stages read about a dataset built with this config (``common.contract``)."""
        return DatasetBuild(clip_seconds=self.clip_seconds, hop_seconds=self.hop_seconds,
                            train_row_seconds=self.train_clip_seconds, group_by=self.group_by,
                            class_names=list(class_names), command=self.command(), split=self.split, seed=self.seed,
                            balance=self.balance, max_clips_per_video=self.max_clips_per_video,
                            max_videos_per_group=self.max_videos_per_group, min_rms_db=self.min_rms_db)


# Where the dataset goes and whether it is published: not part of what it holds.
NOT_DATASET_DEFINING = ("out", "overwrite", "push_to_hub")
