"""What the Trainer iterates over: random training crops (new ones each epoch), fixed evaluation windows, batches.

Training: every epoch each clip gives one random crop of ``max_length_seconds``, drawn from a generator seeded with
``(seed, epoch, row)``: the crops do not depend on batch order, worker or process, so a resumed run sees the same
crops as an uninterrupted one. Evaluation: each clip is cut into fixed windows (``common.modeling.window_bounds``),
one row per window, so no batch ever holds more than ``per_device_eval_batch_size`` windows whatever the clip length;
``training.trainer.ClipMetrics`` averages the window logits of each clip back into one clip prediction.

Example::

    from training.data import RandomCrops, eval_windows, AudioCollator
    crops = RandomCrops(max_seconds=10.0, seed=42)
    train = dataset["train"].add_column("row", list(range(len(dataset["train"])))).with_transform(crops)
    windows = eval_windows(dataset["validation"], window_seconds=10.0)
"""

from __future__ import annotations

import functools
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from common.audio import SAMPLING_RATE, audio_bytes_frames
from common.data import clip_array, split_content_sha256
from common.modeling import featurize, window_bounds


class RandomCrops:
    """``with_transform`` function: decode each clip and cut a random ``max_seconds`` crop seeded by (seed, epoch, row).

    ``epoch`` is set by ``training.trainer.CropEpochCallback`` at the start of every epoch, before the epoch's first
    batch is requested. It is kept in a small file that every copy of this object reads, so data-loader workers see
    it whether they are started for each epoch or kept (``--dataloader_persistent_workers``: a plain attribute
    reached only restarted workers, and kept workers repeated epoch 0's crops), forked or spawned; and the object
    pickles (datasets hashes its transforms, spawned workers receive a copy)."""

    def __init__(self, max_seconds: float, seed: int):
        import tempfile
        import weakref

        self.max_samples = int(round(max_seconds * SAMPLING_RATE))
        self.seed = seed
        handle, self._epoch_file = tempfile.mkstemp(prefix="ytac-crop-epoch-", suffix=".txt")
        os.write(handle, b"0")
        os.close(handle)
        weakref.finalize(self, _remove, self._epoch_file)   # the creating object only: copies never run __init__

    @property
    def epoch(self) -> int:
        with open(self._epoch_file, encoding="ascii") as handle:
            return int(handle.read() or 0)

    @epoch.setter
    def epoch(self, value: int) -> None:
        staged = f"{self._epoch_file}.{os.getpid()}"
        with open(staged, "w", encoding="ascii") as handle:
            handle.write(str(int(value)))
        os.replace(staged, self._epoch_file)          # a worker reads the old or the new value, never half of one

    def start(self, n_samples: int, row: int, epoch: int | None = None) -> int:
        """First sample of ``row``'s crop in ``epoch`` (0 when the clip is no longer than a crop)."""
        if n_samples <= self.max_samples:
            return 0
        rng = np.random.default_rng([self.seed, self.epoch if epoch is None else epoch, row])
        return int(rng.integers(0, n_samples - self.max_samples + 1))

    def crop(self, samples: np.ndarray, row: int, epoch: int | None = None) -> np.ndarray:
        start = self.start(len(samples), row, epoch)
        return samples[start:start + self.max_samples]

    def __call__(self, batch: dict) -> dict:
        epoch = self.epoch                             # one read per batch
        # only the crop is decoded: one open reads the clip's length from its header, then seeks to the crop's start
        arrays = [clip_array(cell, start=functools.partial(self.start, row=row, epoch=epoch), frames=self.max_samples)
                  for cell, row in zip(batch["audio"], batch["row"])]
        return {"samples": arrays, "label": list(batch["label"])}


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class WindowReader:
    """``with_transform`` function for a window index: read the window out of its source clip by seeking (the rest
    of the clip is not decoded)."""

    def __init__(self, source):
        self.source = source

    def __call__(self, batch: dict) -> dict:
        arrays = []
        for row, start, end in zip(batch["row"], batch["start"], batch["end"]):
            arrays.append(clip_array(self.source[int(row)]["audio"], start=int(start), frames=int(end) - int(start)))
        return {"samples": arrays, "label": list(batch["label"])}


def eval_windows(split, window_seconds: float):
    """One row per fixed window of every clip of ``split`` (columns row, start, end, label), decoding on access."""
    from datasets import Dataset

    window = int(round(window_seconds * SAMPLING_RATE))
    rows, starts, ends, labels = [], [], [], []
    row = 0
    for batch in split.select_columns(["audio", "label"]).iter(batch_size=64):
        for cell, label in zip(batch["audio"], batch["label"]):
            # The FLAC header gives the length without decoding the clip.
            n_samples = audio_bytes_frames(cell["bytes"], name=f"{split.split or 'split'} row {row} (audio cell {cell.get('path')!r})")
            for start, end in window_bounds(n_samples, window):
                rows.append(row), starts.append(start), ends.append(end), labels.append(label)
            row += 1
    index = Dataset.from_dict({"row": rows, "start": starts, "end": ends, "label": labels})
    return index.with_transform(WindowReader(split.select_columns(["audio"])))


class AudioCollator:
    """Turns ``{"samples", "label"}`` rows into model inputs through the checkpoint's own feature extractor."""

    def __init__(self, extractor):
        self.extractor = extractor

    def __call__(self, rows: list[dict]) -> dict:
        inputs = dict(featurize(self.extractor, [row["samples"] for row in rows]))
        if "input_features" in inputs:
            # Whisper's classifier takes no attention mask (featurize returns one for pooling elsewhere).
            inputs.pop("attention_mask", None)
        inputs["labels"] = torch.tensor([row["label"] for row in rows], dtype=torch.long)
        return inputs


def class_weights(labels, n_classes: int) -> torch.Tensor:
    """``n / (n_classes * count_c)`` (sklearn's "balanced"); a class absent from the split gets weight 0."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def dataset_stats(dataset, dataset_name: str) -> dict:
    """Clips per split and class, and ``prepare_stats.json`` of a local dataset folder when it has one."""
    stats = {}
    for split, ds in dataset.items():
        names = ds.features["label"].names
        counts = Counter(ds["label"])
        stats[split] = {"clips": len(ds), "per_class": {name: counts.get(i, 0) for i, name in enumerate(names)}}
    prepare_stats = Path(dataset_name) / "prepare_stats.json"
    result = {"splits": stats}
    if prepare_stats.is_file():
        result["prepare_stats"] = json.loads(prepare_stats.read_text(encoding="utf-8"))
    return result


def random_subset(split, n: int | None, seed: int):
    """A seeded random subset of ``n`` rows (all rows when ``n`` is None). prepare writes rows ordered by class, so
    "the first N" of a quick run would hold one class."""
    if not n:
        return split
    return split.shuffle(seed=seed).select(range(min(n, len(split))))


def dataset_fingerprint(dataset) -> dict:
    """Per split: a sha256 of the Arrow files' bytes (the content hash; ``datasets``' own fingerprint is private)."""
    return {split: {"sha256": split_content_sha256(ds)} for split, ds in dataset.items()}
