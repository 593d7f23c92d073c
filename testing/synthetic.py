"""Small synthetic data for tests: class-dependent tones+noise, written as a prepared dataset in the layout prepare
writes (Parquet shards through ``common.data.write_split``, the card's YAML ``configs``, and ``prepare_stats.json``
with the build record), so every train and eval test reads what users' datasets hold.

Each class k is a tone at a class-specific frequency plus noise, so a tiny model can separate them in a few steps.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from common.audio import SAMPLING_RATE, encode_flac
from common.contract import STATS, DatasetBuild, PrepareStats
from common.contract.dataset import ClassCounts
from common.data import SPLITS, card_header, clip_features, write_split

CLASS_NAMES = ["art_music", "food", "history", "travel"]


def tone_clip(label: int, seconds: float, rng: np.random.Generator, sampling_rate: int = SAMPLING_RATE) -> np.ndarray:
    t = np.arange(int(round(seconds * sampling_rate))) / sampling_rate
    freq = 300.0 * (label + 1) + rng.uniform(-20, 20)
    wave = 0.4 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.shape)
    return wave.astype(np.float32)


def write_prepared(dataset, path, clip_seconds: float | None = None, train_row_seconds: float | None = None,
                   group_by: str = "channel") -> str:
    """Write a ``DatasetDict`` of prepared rows to ``path`` as prepare does: shards, card, ``prepare_stats.json``.
    ``clip_seconds`` (default: the longest validation/test row) and ``train_row_seconds`` (default: the longest
    train row) go into the build record."""
    class_names = list(next(data for data in dataset.values() if len(data)).features["label"].names)
    longest = {split: max((float(d) for d in (dataset[split]["duration_s"] if split in dataset else [])), default=0.0)
               for split in SPLITS}
    clip = clip_seconds or max(longest["validation"], longest["test"]) or longest["train"]
    return write_prepared_rows(path, class_names, {split: iter(dataset[split]) if split in dataset else iter(())
                                                   for split in SPLITS},
                               clip, train_row_seconds or max(longest["train"], clip), group_by,
                               {split: list(dataset[split].features["label"].names) for split in dataset
                                if len(dataset[split])})


def write_prepared_rows(path, class_names: list[str], rows: dict, clip_seconds: float, train_row_seconds: float,
                        group_by: str = "channel", split_class_names: dict[str, list[str]] | None = None) -> str:
    """Stream ``rows`` (split -> iterable of row dicts of ``clip_features``; a missing ``group`` becomes the
    channel's, else the video's) to ``path`` through ``common.data.write_split``, with the card and a
    ``prepare_stats.json`` whose build record says ``clip_seconds`` and ``train_row_seconds``.
    ``split_class_names`` gives a split other label names (a deliberately broken dataset)."""
    path = Path(path)
    hashes, splits = {}, {}
    for split in SPLITS:
        features = clip_features((split_class_names or {}).get(split, class_names))
        counts = {name: [set(), 0, 0.0] for name in class_names}

        def counted(stream):
            for row in stream:
                row = {name: row.get(name) for name in features}
                row["group"] = row["group"] or (f"channel:{row['channel']}" if row["channel"]
                                                else f"video:{row['video_id']}")
                entry = counts[class_names[row["label"]]]
                entry[0].add(row["video_id"])
                entry[1] += 1
                entry[2] += float(row["duration_s"])
                yield row

        hashes[split] = write_split(path, split, counted(rows.get(split, ())), features)
        splits[split] = {name: ClassCounts(videos=len(ids), clips=n, hours=seconds / 3600)
                         for name, (ids, n, seconds) in counts.items()}
    build = DatasetBuild(clip_seconds=clip_seconds, hop_seconds=clip_seconds, train_row_seconds=train_row_seconds,
                         group_by=group_by, class_names=list(class_names),
                         command="(synthetic test data: testing.synthetic)")
    stats = PrepareStats(build=build, class_names=list(class_names), splits=splits, split_sha256=hashes,
                         content_sha256=hashlib.sha256("".join(hashes[s] for s in SPLITS).encode()).hexdigest())
    (path / "README.md").write_text(card_header(split for split in SPLITS if stats.split_clips(split)))
    stats.write(path / STATS)
    return str(path)


def make_prepared_dataset(path, videos_per_class=(2, 1, 1), clips_per_video=2, clip_seconds=1.5,
                          class_names=CLASS_NAMES, train_counts=None, seed=0, channels=None, video_ids=None,
                          train_row_seconds=None) -> str:
    """Write a prepared dataset of class-dependent tones to ``path`` (``write_prepared``); returns the path.

    ``videos_per_class`` gives the videos per class of train/validation/test; ``train_counts`` (one clip count per
    class) makes the train split unbalanced. Video ids are ``{split}-{class}-{index}`` and each video has its own
    channel ``channel-{video id}`` (its group ``channel:channel-{video id}``); ``channels={video_id: name}`` sets a
    video's channel (``""`` = unknown, then its group is the video) and ``video_ids={video_id: other id}`` renames a
    video, e.g. to build a deliberate overlap between splits; ``train_row_seconds`` makes the train rows that long
    (prepare's longer train rows), the others ``clip_seconds``::

        make_prepared_dataset(tmp / "leaky", channels={"train-food-0": "Mark", "test-food-0": "Mark"},
                              video_ids={"test-travel-0": "train-travel-0"})
    """
    from datasets import Dataset, DatasetDict

    rng = np.random.default_rng(seed)
    features = clip_features(class_names)
    splits = {}
    for split, n_videos in zip(SPLITS, videos_per_class):
        rows = {name: [] for name in features}
        seconds = train_row_seconds if split == "train" and train_row_seconds else clip_seconds
        for label, name in enumerate(class_names):
            n_clips = train_counts[label] if (split == "train" and train_counts) else n_videos * clips_per_video
            for c in range(n_clips):
                default_id = f"{split}-{name}-{c // clips_per_video}"
                video_id = (video_ids or {}).get(default_id, default_id)
                channel = (channels or {}).get(default_id, f"channel-{default_id}")
                rows["audio"].append({"bytes": encode_flac(tone_clip(label, seconds, rng)),
                                      "path": f"{video_id}_{c}.flac"})
                rows["label"].append(label)
                rows["video_id"].append(video_id)
                rows["channel"].append(channel)
                rows["group"].append(f"channel:{channel}" if channel else f"video:{video_id}")
                rows["start_s"].append(float((c % clips_per_video) * seconds))
                rows["duration_s"].append(float(seconds))
                rows["title"].append(f"{name} video {c // clips_per_video}")
        # from_dict(features=Audio(...)) would encode through torchcodec; casting the FLAC-bytes layout does not
        splits[split] = Dataset.from_dict(rows).cast(features)
    return write_prepared(DatasetDict(splits), path, clip_seconds=clip_seconds,
                          train_row_seconds=train_row_seconds or clip_seconds)


def corrupt_audio(src, dst, split: str, row: int = 0) -> str:
    """Copy the prepared dataset ``src`` to ``dst`` with the audio bytes of ``split``'s row ``row`` replaced by
    bytes no decoder reads (a truncated download, a disk error): for the bad-input paths of train and eval."""
    from common.data import load_prepared

    dataset = load_prepared(str(src))

    def spoil(example, index):
        if index == row:
            example["audio"] = {"bytes": b"this is not FLAC" * 8, "path": example["audio"]["path"]}
        return example

    dataset[split] = dataset[split].map(spoil, with_indices=True)
    stats = PrepareStats.read(Path(src) / STATS)
    return write_prepared(dataset, dst, clip_seconds=stats.build.clip_seconds,
                          train_row_seconds=stats.build.train_row_seconds)
