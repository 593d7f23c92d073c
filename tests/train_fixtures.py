"""Shared set-up of the train tests and bench: a small prepared dataset of tones and the argv of a few-step CPU run.

Like ``tests.synthetic.make_prepared_dataset`` (same tones, same schema), plus ``train_counts`` for an unbalanced
train split of any size.
"""

from __future__ import annotations

import numpy as np

from common.audio import encode_flac
from common.data import clip_features
from tests.synthetic import CLASS_NAMES, tone_clip


def prepared_dataset(path, videos_per_class=(2, 1, 1), clips_per_video=2, clip_seconds=1.5,
                     class_names=CLASS_NAMES, train_counts=None, seed=0):
    """Save a DatasetDict of class-dependent tones with ``common.data.clip_features``; ``train_counts`` (one count
    per class) makes the train split unbalanced."""
    from datasets import Dataset, DatasetDict

    rng = np.random.default_rng(seed)
    features = clip_features(class_names)
    splits = {}
    for split, n_videos in zip(("train", "validation", "test"), videos_per_class):
        rows = {name: [] for name in features}
        for label, name in enumerate(class_names):
            n_clips = train_counts[label] if (split == "train" and train_counts) else n_videos * clips_per_video
            for c in range(n_clips):
                video_id = f"{split}-{name}-{c // clips_per_video}"
                rows["audio"].append({"bytes": encode_flac(tone_clip(label, clip_seconds, rng)),
                                      "path": f"{video_id}_{c}.flac"})
                rows["label"].append(label)
                rows["video_id"].append(video_id)
                rows["start_s"].append(float(c * clip_seconds))
                rows["duration_s"].append(float(clip_seconds))
                rows["title"].append(f"{name} video")
        splits[split] = Dataset.from_dict(rows).cast(features)
    dataset = DatasetDict(splits)
    dataset.save_to_disk(str(path))
    return str(path)


def run_argv(dataset, model, output_dir, *extra) -> list[str]:
    """The tiny CPU recipe pointed at test data, shortened to seconds."""
    return ["configs/tiny-cpu.yaml", "--dataset_name", str(dataset), "--model_name_or_path", str(model),
            "--output_dir", str(output_dir), "--max_length_seconds", "1.0", "--per_device_train_batch_size", "4",
            "--num_train_epochs", "2", *map(str, extra)]
