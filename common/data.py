"""The prepared dataset's schema (declared once), its on-disk layout, the writer, and how every later stage loads it.

A prepared dataset (train/validation/test) is stored in the Hugging Face Hub's own dataset layout: Parquet shards
``data/<split>-NNNNN-of-NNNNN.parquet`` whose schema carries the ``datasets`` features, and a ``README.md`` whose
YAML ``configs`` name them. So the local folder and the same folder uploaded to the Hub are read by datasets' public
loader, ``datasets.load_dataset`` (``load_prepared`` here); an empty split has no file and comes back empty. A
``save_to_disk`` folder (``dataset_dict.json``) loads too. The ``audio`` column holds 16 kHz mono FLAC bytes in the
``datasets.Audio`` layout, cast with ``decode=False``: it is a proper ``Audio`` column on the Hub, and it decodes
here with soundfile (no torchcodec needed).

Example::

    from common.data import load_prepared, clip_array
    ds = load_prepared("demo_out/dataset")             # or a Hub dataset id
    samples = clip_array(ds["train"][0]["audio"])      # float32 numpy array at 16 kHz
    names = ds["train"].features["label"].names
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Iterable

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
            "channel": Value("string"),  # the video's channel display name ("" where unknown)
            "group": Value("string"),    # the split key (channel_id:UC..., video:ID, ...): no group spans two splits
            "start_s": Value("float32"),
            "duration_s": Value("float32"),
            "title": Value("string"),
        }
    )


DATA_DIR = "data"
ROWS_PER_GROUP = 32                 # rows per Parquet row group: encoded clips held in memory before they are written
MAX_SHARD_BYTES = 500 * 1024 ** 2   # about save_to_disk's and push_to_hub's default shard size


def write_split(out, split: str, rows: Iterable[dict], features, max_shard_bytes: int = MAX_SHARD_BYTES) -> str:
    """Write ``rows`` (dicts of ``features``' columns) as ``OUT/data/<split>-NNNNN-of-NNNNN.parquet``, streaming:
    ``ROWS_PER_GROUP`` rows at a time, whatever the split's size; an empty split writes no file. Returns the split's
    content sha256 (over every row's fields and audio bytes). The schema is
    ``features.arrow_schema``, which carries the features (``Audio``, ``ClassLabel``) for ``load_dataset``."""
    import os

    import pyarrow as pa
    import pyarrow.parquet as pq

    data_dir = Path(out) / DATA_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    schema = features.arrow_schema
    digest = hashlib.sha256()
    staged, writer, shard_bytes, batch = [], None, 0, []

    def flush():
        nonlocal shard_bytes
        table = pa.Table.from_pylist(batch, schema=schema)
        writer.write_table(table)
        shard_bytes += table.nbytes
        batch.clear()

    for row in rows:
        if writer is None:
            staged.append(data_dir / f".{split}-{len(staged)}.parquet.partial")
            writer, shard_bytes = pq.ParquetWriter(str(staged[-1]), schema), 0
        digest.update(json.dumps({k: v for k, v in row.items() if k != "audio"}, sort_keys=True).encode())
        digest.update(row["audio"]["path"].encode() + row["audio"]["bytes"])
        batch.append(row)
        if len(batch) == ROWS_PER_GROUP:
            flush()
            if shard_bytes >= max_shard_bytes:
                writer.close()
                writer = None
    if batch:
        flush()
    if writer is not None:
        writer.close()
    for i, path in enumerate(staged):
        os.replace(path, data_dir / f"{split}-{i:05d}-of-{len(staged):05d}.parquet")
    return digest.hexdigest()


def card_configs(splits: Iterable[str]) -> list[dict]:
    """The dataset card's YAML ``configs`` entry naming the Parquet files of each (non-empty) split."""
    return [{"config_name": "default",
             "data_files": [{"split": split, "path": f"{DATA_DIR}/{split}-*.parquet"} for split in splits]}]


def card_header(splits: Iterable[str]) -> str:
    """The smallest dataset card that makes a folder of ``write_split`` shards a dataset: its YAML ``configs``."""
    import yaml

    return "---\n" + yaml.safe_dump({"configs": card_configs(splits)}, sort_keys=False) + "---\n"


def load_prepared(name_or_path: str):
    """Load a prepared ``DatasetDict`` (a local folder written by prepare, a ``save_to_disk`` folder, or a Hub
    dataset id), audio left undecoded; every split of ``SPLITS`` present (an empty one as an empty split)."""
    from datasets import Audio, DatasetDict, load_dataset, load_from_disk

    path = Path(name_or_path)
    if path.exists():
        if (path / "dataset_dict.json").exists():
            dataset = load_from_disk(str(path))
        elif (path / DATA_DIR).is_dir() and (path / "README.md").is_file():
            # the card's configs name these same files; absolute paths keep datasets' Arrow cache of this folder
            # apart from that of another folder with the same layout (its cache key hashes the data_files given)
            files = {split: sorted(str(f.resolve()) for f in (path / DATA_DIR).glob(f"{split}-*.parquet"))
                     for split in SPLITS}
            dataset = load_dataset("parquet", data_files={split: names for split, names in files.items() if names})
        else:
            raise FileNotFoundError(f"{path}: not a prepared dataset (no {DATA_DIR}/ Parquet files with a README.md, "
                                    f"no dataset_dict.json); make one with `python -m prepare --out {path}`")
    else:
        dataset = load_dataset(name_or_path)
    if not isinstance(dataset, DatasetDict):
        raise ValueError(f"{name_or_path}: expected a DatasetDict with splits {SPLITS}, got {type(dataset).__name__}")
    template = next(iter(dataset.values()), None)
    if template is not None and set(dataset) <= set(SPLITS):
        dataset = DatasetDict({split: dataset[split] if split in dataset else template.select([]) for split in SPLITS})
    return DatasetDict(
        {split: ds.cast_column("audio", Audio(sampling_rate=SAMPLING_RATE, decode=False)) for split, ds in dataset.items()}
    )


def split_content_sha256(split) -> str | None:
    """sha256 of the Arrow files behind a loaded split (``Dataset.cache_files``, public): the same content gives the
    same value; None for an empty split (``load_prepared`` makes one as an empty selection of another split, whose
    files it still names) or one held only in memory."""
    from common.provenance import files_sha256

    if not len(split):
        return None
    files = sorted(c["filename"] for c in split.cache_files)
    return files_sha256(files) if files else None


def clip_array(audio_cell: dict, sampling_rate: int = SAMPLING_RATE, start: int | Callable[[int], int] = 0,
               frames: int = -1) -> np.ndarray:
    """Decode one ``audio`` cell (``{"bytes", "path"}``) to float32 samples, checking its sampling rate; with
    ``start``/``frames`` only that stretch, read by seeking (``common.audio.decode_audio_bytes``)."""
    if audio_cell.get("bytes") is None:
        raise ValueError(f"audio cell {audio_cell.get('path')!r} holds no bytes (expected FLAC bytes from prepare)")
    samples, rate = decode_audio_bytes(audio_cell["bytes"], name=f"audio cell {audio_cell.get('path')!r}",
                                       start=start, frames=frames)
    if rate != sampling_rate:
        raise ValueError(f"audio cell {audio_cell.get('path')!r}: sampling rate {rate} Hz, expected {sampling_rate} Hz")
    return samples


GROUP_SOURCE_WORDS = {"channel_id": "by yt-dlp's channel_id", "listing_channel": "by the listing's channel header",
                      "audiofolder_group": "by the audio folder's groups", "video": "alone, with no channel known"}


def clip_pieces(split, samples: int | None) -> tuple[list[int], list[int]]:
    """``(rows, starts)``: the rows of ``split`` cut into pieces of ``samples`` back to back (what a row holds past its
    last whole piece is left out, as prepare leaves a video's remainder out of its clips; a row shorter than one
    piece is one piece of its own length); ``None`` keeps each row whole. Lengths come from the FLAC headers:
    nothing is decoded. For clips of the evaluated length cut from longer train rows (eval's baselines, train's
    linear probe)."""
    from common.audio import audio_bytes_frames

    rows, starts = [], []
    for index, cell in enumerate(split.select_columns(["audio"])["audio"]):
        if samples is None:
            offsets = [0]
        else:
            n = audio_bytes_frames(cell["bytes"], name=f"{split.split or 'split'} row {index}")
            offsets = list(range(0, n - samples + 1, samples)) or [0]
        rows += [index] * len(offsets)
        starts += offsets
    return rows, starts


def read_pieces(split, rows: list[int], starts: list[int], samples: int | None):
    """Each piece of ``clip_pieces``, decoded by seeking inside its row's FLAC (only its own samples)."""
    cells = split.select_columns(["audio"])
    for row, start in zip(rows, starts):
        yield clip_array(cells[row]["audio"], start=start, frames=samples or -1)


def split_statement(stats) -> str:
    """How the splits keep groups apart, from a ``PrepareStats`` (None, or no grouping: a video-level split)."""
    grouping = stats.grouping if stats is not None else None
    if grouping is None or grouping.group_by != "channel":
        return "Split by video, stratified by class: no video is in two splits."
    sources = "; ".join(f"{GROUP_SOURCE_WORDS.get(source, source)}: {count}"
                        for source, count in grouping.group_source_counts.items())
    text = ("Split by channel, stratified by class: no channel and no video is in two splits (channel-disjoint). "
            f"Videos grouped {sources}.")
    if grouping.max_videos_per_group:
        text += (f" At most {grouping.max_videos_per_group} videos per channel, capped before the split "
                 f"({grouping.videos_dropped_by_cap} videos dropped).")
    return text


def split_video_labels(dataset, splits=None) -> dict[str, dict[str, int]]:
    """``{split: {video_id: label}}`` from the clip rows' ``video_id`` and ``label`` columns (no audio decoding),
    for ``splits`` (default: all)."""
    result = {}
    for split, data in dataset.items():
        if splits is not None and split not in splits:
            continue
        labels: dict[str, int] = {}
        for video_id, label in zip(data["video_id"], data["label"]):
            if labels.setdefault(str(video_id), int(label)) != int(label):
                raise ValueError(f"split {split!r}: video {video_id!r} has clips with labels "
                                 f"{labels[str(video_id)]} and {label}")
        result[split] = labels
    return result
