"""What the Trainer iterates over: random training crops (new ones each epoch), fixed evaluation windows, batches.

Training: every epoch each train row gives ``crops_per_row(...)`` random crops of ``max_length_seconds`` (one per
clip length of audio it holds: a 30-s row of a dataset of 10-s clips gives 3, a plain clip 1), each drawn from a
generator seeded with ``(seed, epoch, row[, draw])``: the crops do not depend on batch order, worker or process, so a
resumed run sees the same crops as an uninterrupted one. Evaluation: each clip is cut into fixed windows
(``common.modeling.window_bounds``), one row per window, so no batch ever holds more than
``per_device_eval_batch_size`` windows whatever the clip length; ``training.trainer.ClipMetrics`` averages the window
logits of each clip back into one clip prediction. Both read only the audio they need, by seeking inside the FLAC.

Example::

    from training.data import RandomCrops, train_crops, eval_windows, AudioCollator
    crops = RandomCrops(max_seconds=10.0, seed=42)
    train = train_crops(dataset["train"], crops, clip_seconds=10.0)   # one index row per crop of an epoch
    windows = eval_windows(dataset["validation"], window_seconds=10.0)
"""

from __future__ import annotations

import functools
import math
import os
from collections import Counter

import numpy as np
import torch

from common.audio import SAMPLING_RATE, audio_bytes_frames
from common.contract import PrepareStats
from common.contract.run import DatasetStats, SplitClips, SplitFingerprint
from common.data import clip_array, split_content_sha256
from common.modeling import featurize, window_bounds


class RandomCrops:
    """``with_transform`` function of a crop index (``train_crops``): read each crop out of its train row by seeking,
    at a random start seeded by (seed, epoch, row, draw).

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
        self.source = None                             # the train split's audio column, set by train_crops
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

    def start(self, n_samples: int, row: int, epoch: int | None = None, draw: int = 0) -> int:
        """First sample of crop ``draw`` of ``row`` in ``epoch`` (0 when the row is no longer than a crop). Draw 0
        is seeded by (seed, epoch, row) alone, so a row that gives one crop per epoch crops as it always did."""
        if n_samples <= self.max_samples:
            return 0
        epoch = self.epoch if epoch is None else epoch
        rng = np.random.default_rng([self.seed, epoch, row] + ([draw] if draw else []))
        return int(rng.integers(0, n_samples - self.max_samples + 1))

    def crop(self, samples: np.ndarray, row: int, epoch: int | None = None, draw: int = 0) -> np.ndarray:
        start = self.start(len(samples), row, epoch, draw)
        return samples[start:start + self.max_samples]

    def __call__(self, batch: dict) -> dict:
        if self.source is None:
            raise RuntimeError("RandomCrops reads crops of a train_crops(...) index; build the training set with it")
        epoch = self.epoch                             # one read per batch
        # only the crop is decoded: one open reads the row's length from its header, then seeks to the crop's start
        cells = source_cells(self.source, batch["row"])
        arrays = [clip_array(cell, frames=self.max_samples,
                             start=functools.partial(self.start, row=int(row), epoch=epoch, draw=int(draw)))
                  for cell, row, draw in zip(cells, batch["row"], batch["draw"])]
        return {"samples": arrays, "label": list(batch["label"])}


def source_cells(source, rows) -> list[dict]:
    """The audio cells of ``rows`` of an index's source split, in one read (one Arrow take per batch, not per row)."""
    return source[[int(row) for row in rows]]["audio"]


def crops_per_row(durations, clip_seconds: float) -> list[int]:
    """Crops per epoch of each train row: its length over ``clip_seconds`` (the dataset's clip length), rounded, at
    least 1. A train split of longer rows (prepare ``--train-clip-seconds``) then takes as many steps per epoch as
    one of ``clip_seconds`` clips of the same audio, each step on a new random crop."""
    if not clip_seconds > 0:
        raise ValueError(f"clip length {clip_seconds!r} s: expected a positive number of seconds")
    return [max(1, math.floor(float(d) / clip_seconds + 0.5)) for d in durations]


def train_crops(split, crops: RandomCrops, clip_seconds: float, per_row: int | None = None):
    """One index row per crop of an epoch (columns row, draw, label): ``per_row`` crops of each row of ``split``,
    or by default ``crops_per_row(duration_s, clip_seconds)``; reading goes through ``crops``."""
    from datasets import Dataset

    labels = list(split["label"])
    counts = ([per_row] * len(labels) if per_row else
              crops_per_row(split["duration_s"] if "duration_s" in split.column_names else [0.0] * len(labels),
                            clip_seconds))
    rows = [row for row, n in enumerate(counts) for _ in range(n)]
    draws = [draw for n in counts for draw in range(n)]
    crops.source = split.select_columns(["audio"])
    index = Dataset.from_dict({"row": rows, "draw": draws, "label": [labels[row] for row in rows]})
    return index.with_transform(crops)


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
        arrays = [clip_array(cell, start=int(start), frames=int(end) - int(start))
                  for cell, start, end in zip(source_cells(self.source, batch["row"]), batch["start"], batch["end"])]
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
    """Turns ``{"samples", "label"}`` rows into model inputs through the checkpoint's own feature extractor; inputs
    shorter than ``min_samples`` (the model's receptive field, ``common.modeling.min_input_samples``) are padded."""

    def __init__(self, extractor, min_samples: int = 0):
        self.extractor, self.min_samples = extractor, min_samples

    def __call__(self, rows: list[dict]) -> dict:
        inputs = dict(featurize(self.extractor, [row["samples"] for row in rows], self.min_samples))
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


def dataset_stats(dataset, prepare_stats: PrepareStats | None) -> DatasetStats:
    """Rows per split and class, with the dataset's build record (``prepare_stats.json``) when it has one."""
    splits = {}
    for split, ds in dataset.items():
        names = ds.features["label"].names
        counts = Counter(ds["label"])
        splits[split] = SplitClips(clips=len(ds), per_class={name: counts.get(i, 0) for i, name in enumerate(names)})
    return DatasetStats(splits=splits, prepare_stats=prepare_stats)


def random_subset(split, n: int | None, seed: int):
    """A seeded random subset of ``n`` rows (all rows when ``n`` is None). prepare writes rows ordered by class, so
    "the first N" of a quick run would hold one class."""
    if not n:
        return split
    return split.shuffle(seed=seed).select(range(min(n, len(split))))


def dataset_fingerprint(dataset) -> dict[str, SplitFingerprint]:
    """Per split: a sha256 of the Arrow files' bytes (the content hash; ``datasets``' own fingerprint is private);
    None for an empty split."""
    return {split: SplitFingerprint(split_content_sha256(ds)) for split, ds in dataset.items()}
