"""The dataset card (README.md with a YAML header) and publishing a prepared dataset to the Hugging Face Hub.

The card is uploaded first; ``DatasetDict.push_to_hub`` then adds its ``dataset_info``/``configs`` metadata to that
card's YAML and keeps our text.

Example::

    from prepare.hub import push_dataset
    push_dataset("data/dataset", "me/youtube-audio-4cls")     # needs `huggingface-cli login` or HF_TOKEN
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import yaml

from common.audio import SAMPLING_RATE

logger = logging.getLogger(__name__)


def _size_category(clips: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if clips < limit:
            return name
    return "1M<n<10M"


def dataset_card(stats: dict) -> str:
    """README.md for the dataset: provenance, counts, what was dropped and how it was built."""
    config = stats["config"]
    total_clips = sum(c["clips"] for per_class in stats["splits"].values() for c in per_class.values())
    header = {
        "pretty_name": "YouTube audio clips by category",
        "task_categories": ["audio-classification"],
        "tags": ["audio", "youtube", "video-level-split"],
        "size_categories": [_size_category(total_clips)],
        "license": "other",
    }
    counts = ["| split | class | videos | clips | hours |", "|---|---|---:|---:|---:|"]
    for split, per_class in stats["splits"].items():
        for category, c in per_class.items():
            counts.append(f"| {split} | {category} | {c['videos']} | {c['clips']} | {c['hours']:.3f} |")
    dropped = [f"- video, {reason}: {n}" for reason, n in stats["dropped"]["videos"].items()]
    dropped += [f"- clip, {reason}: {n}" for reason, n in stats["dropped"]["clips"].items()]
    if config.get("raw"):
        source = "download manifests (`python -m download`): " + ", ".join(
            f"`{m['path']}` (sha256 `{m['sha256'][:12]}`, {m['records']} records)" for m in stats["inputs"]["manifests"])
    else:
        source = f"the audio folder `{config.get('audiofolder')}` (class = first folder under the root)"
    command = " ".join(["python -m prepare"] + [f"--raw {d}" for d in config.get("raw") or []]
                       + ([f"--audiofolder {config['audiofolder']}"] if config.get("audiofolder") else [])
                       + [f"--{key.replace('_', '-')} {config[key]}" for key in
                          ("clip_seconds", "hop_seconds", "max_clips_per_video", "min_rms_db", "split", "seed", "balance")])
    body = f"""# YouTube audio clips by category

Fixed-length {SAMPLING_RATE // 1000} kHz mono clips of videos, labelled with the video's category
({len(stats['class_names'])} classes: {', '.join(stats['class_names'])}).

## Provenance
- Built from {source}.
- Source audio: {stats['inputs']['videos_scanned']} files read, {stats['inputs']['hours_scanned']:.2f} hours,
  combined sha256 `{stats['inputs']['source_files_sha256']}`.
- Content sha256 of this dataset: `{stats['content_sha256']}` (same inputs and seed give the same value).
- The audio belongs to the owners of the videos; this set is for research on audio classification.

## How it was built
`{command}`

- Clips of {config['clip_seconds']} s every {config['hop_seconds']} s; the remainder shorter than a clip is
  dropped; clips quieter than {config['min_rms_db']} dBFS RMS are dropped; at most
  {config['max_clips_per_video'] or 'all'} clips per video, spread evenly across it.
- Split by {config.get('group_by', 'video')}, stratified by class ({config['split']}, seed {config['seed']}): no {config.get('group_by', 'video')} is in two splits.
- Balance `{config['balance']}`: {"equal videos per class (undersampled to the smallest class) and equal clips per class in validation and test, so chance is exactly 1/K; train keeps every clip of its videos" if config['balance'] == 'videos' else "no balancing"}.

## Counts
{chr(10).join(counts)}

## Dropped
{chr(10).join(dropped) or '- nothing'}

## Columns
- `audio`: `Audio(sampling_rate={SAMPLING_RATE}, decode=False)`, FLAC bytes; decode with
  `soundfile.read(io.BytesIO(row["audio"]["bytes"]))` (or let `datasets` decode it where torchcodec works).
- `label`: `ClassLabel` with the names above; `video_id`; `start_s` (seconds from the start of the original
  video); `duration_s`; `title`.

## Versions
```
{json.dumps(stats['versions'], indent=2)}
```
"""
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n\n" + body


def push_dataset(dataset_dir, repo_id: str, token: str | None = None, private: bool | None = None) -> None:
    """Publish a prepared dataset folder to the Hub dataset repo ``repo_id``, card first, then the data."""
    from huggingface_hub import HfApi

    from common.data import load_prepared

    dataset_dir = Path(dataset_dir)
    card = (dataset_dir / "README.md").read_text(encoding="utf-8")
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    api.upload_file(path_or_fileobj=card.encode("utf-8"), path_in_repo="README.md", repo_id=repo_id,
                    repo_type="dataset", commit_message="Dataset card from python -m prepare")
    dataset = load_prepared(str(dataset_dir))
    dataset.push_to_hub(repo_id, token=token, commit_message="Data from python -m prepare")
    logger.info("pushed %s to https://huggingface.co/datasets/%s", dataset_dir, repo_id)
