"""The prepared dataset's schema (declared once) and how every later stage loads it.

A prepared dataset is a ``DatasetDict`` (train/validation/test) saved with ``save_to_disk`` or pushed to the Hub.
Its ``audio`` column holds 16 kHz mono FLAC bytes in the ``datasets.Audio`` layout, cast with ``decode=False``:
it is a proper ``Audio`` column on the Hub, and it decodes here with soundfile (no torchcodec needed).

Example::

    from common.data import load_prepared, clip_array
    ds = load_prepared("demo_out/dataset")             # or a Hub dataset id
    samples = clip_array(ds["train"][0]["audio"])      # float32 numpy array at 16 kHz
    names = ds["train"].features["label"].names
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.audio import SAMPLING_RATE, decode_audio_bytes

SPLITS = ("train", "validation", "test")


def clip_features(class_names: list[str]):
    """The ``datasets.Features`` of a prepared split; ``class_names`` become the ``ClassLabel`` names in that order."""
    from datasets import Audio, ClassLabel, Features, Value

    return Features(
        {
            "audio": Audio(sampling_rate=SAMPLING_RATE, decode=False),
            "label": ClassLabel(names=list(class_names)),
            "video_id": Value("string"),
            "channel": Value("string"),  # the video's channel name ("" where unknown); no channel spans two splits
            "start_s": Value("float32"),
            "duration_s": Value("float32"),
            "title": Value("string"),
        }
    )


def load_prepared(name_or_path: str):
    """Load a prepared ``DatasetDict`` from a ``save_to_disk`` folder or a Hub dataset id, audio left undecoded."""
    from datasets import Audio, DatasetDict, load_dataset, load_from_disk

    path = Path(name_or_path)
    if path.exists():
        if not (path / "dataset_dict.json").exists():
            raise FileNotFoundError(
                f"{path}: not a prepared dataset (no dataset_dict.json); make one with `python -m prepare --out {path}`"
            )
        dataset = load_from_disk(str(path))
    else:
        dataset = load_dataset(name_or_path)
    if not isinstance(dataset, DatasetDict):
        raise ValueError(f"{name_or_path}: expected a DatasetDict with splits {SPLITS}, got {type(dataset).__name__}")
    return DatasetDict(
        {split: ds.cast_column("audio", Audio(sampling_rate=SAMPLING_RATE, decode=False)) for split, ds in dataset.items()}
    )


def clip_array(audio_cell: dict, sampling_rate: int = SAMPLING_RATE) -> np.ndarray:
    """Decode one ``audio`` cell (``{"bytes", "path"}``) to float32 samples, checking its sampling rate."""
    if audio_cell.get("bytes") is None:
        raise ValueError(f"audio cell {audio_cell.get('path')!r} holds no bytes (expected FLAC bytes from prepare)")
    samples, rate = decode_audio_bytes(audio_cell["bytes"], name=f"audio cell {audio_cell.get('path')!r}")
    if rate != sampling_rate:
        raise ValueError(f"audio cell {audio_cell.get('path')!r}: sampling rate {rate} Hz, expected {sampling_rate} Hz")
    return samples
