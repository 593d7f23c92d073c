"""Small synthetic data for tests: class-dependent tones+noise, written as a prepared DatasetDict.

Each class k is a tone at a class-specific frequency plus noise, so a tiny model can separate them in a few steps.
"""

from __future__ import annotations

import numpy as np

from common.audio import SAMPLING_RATE, encode_flac
from common.data import clip_features

CLASS_NAMES = ["art_music", "food", "history", "travel"]


def tone_clip(label: int, seconds: float, rng: np.random.Generator, sampling_rate: int = SAMPLING_RATE) -> np.ndarray:
    t = np.arange(int(round(seconds * sampling_rate))) / sampling_rate
    freq = 300.0 * (label + 1) + rng.uniform(-20, 20)
    wave = 0.4 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.shape)
    return wave.astype(np.float32)


def make_prepared_dataset(path, videos_per_class=(2, 1, 1), clips_per_video=2, clip_seconds=1.5,
                          class_names=CLASS_NAMES, train_counts=None, seed=0, channels=None, video_ids=None,
                          train_row_seconds=None) -> str:
    """Save a DatasetDict of class-dependent tones with ``common.data.clip_features`` to ``path``; returns the path.

    ``videos_per_class`` gives the videos per class of train/validation/test; ``train_counts`` (one clip count per
    class) makes the train split unbalanced. Video ids are ``{split}-{class}-{index}`` and each video has its own
    channel ``channel-{video id}``; ``channels={video_id: name}`` sets a video's channel (``""`` = unknown) and
    ``video_ids={video_id: other id}`` renames a video, e.g. to build a deliberate overlap between splits;
    ``train_row_seconds`` makes the train rows that long (prepare's longer train rows), the others ``clip_seconds``::

        make_prepared_dataset(tmp / "leaky", channels={"train-food-0": "Mark", "test-food-0": "Mark"},
                              video_ids={"test-travel-0": "train-travel-0"})
    """
    from datasets import Dataset, DatasetDict

    rng = np.random.default_rng(seed)
    features = clip_features(class_names)
    splits = {}
    for split, n_videos in zip(("train", "validation", "test"), videos_per_class):
        rows = {name: [] for name in features}
        seconds = train_row_seconds if split == "train" and train_row_seconds else clip_seconds
        for label, name in enumerate(class_names):
            n_clips = train_counts[label] if (split == "train" and train_counts) else n_videos * clips_per_video
            for c in range(n_clips):
                default_id = f"{split}-{name}-{c // clips_per_video}"
                video_id = (video_ids or {}).get(default_id, default_id)
                rows["audio"].append({"bytes": encode_flac(tone_clip(label, seconds, rng)),
                                      "path": f"{video_id}_{c}.flac"})
                rows["label"].append(label)
                rows["video_id"].append(video_id)
                rows["channel"].append((channels or {}).get(default_id, f"channel-{default_id}"))
                rows["start_s"].append(float((c % clips_per_video) * seconds))
                rows["duration_s"].append(float(seconds))
                rows["title"].append(f"{name} video {c // clips_per_video}")
        # from_dict(features=Audio(...)) would encode through torchcodec; casting the FLAC-bytes layout does not
        splits[split] = Dataset.from_dict(rows).cast(features)
    DatasetDict(splits).save_to_disk(str(path))
    return str(path)


def corrupt_audio(src, dst, split: str, row: int = 0) -> str:
    """Copy the prepared dataset ``src`` to ``dst`` with the audio bytes of ``split``'s row ``row`` replaced by
    bytes no decoder reads (a truncated download, a disk error): for the bad-input paths of train and eval."""
    from datasets import load_from_disk

    dataset = load_from_disk(str(src))

    def spoil(example, index):
        if index == row:
            example["audio"] = {"bytes": b"this is not FLAC" * 8, "path": example["audio"]["path"]}
        return example

    dataset[split] = dataset[split].map(spoil, with_indices=True)
    dataset.save_to_disk(str(dst))
    return str(dst)
