"""The dataset card (README.md with a YAML header) and publishing a prepared dataset to the Hugging Face Hub.

A prepared folder is already in the Hub's dataset layout (``common.data``: Parquet shards under ``data/`` named by
the card's YAML ``configs``), so publishing uploads the folder as it is: the Hub repo and the local folder are the
same files, read by the same ``load_dataset`` call.

Example::

    from prepare.hub import push_dataset
    push_dataset("data/dataset", "me/youtube-audio-4cls")     # needs `huggingface-cli login` or HF_TOKEN
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from common.audio import SAMPLING_RATE
from common.contract import CARD_KEY, STATS, VIDEOS, PrepareStats
from common.data import DATA_DIR, card_configs, split_statement

logger = logging.getLogger(__name__)


def _size_category(clips: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if clips < limit:
            return name
    return "1M<n<10M"


DATASET_CARD = """
# {{ pretty_name }}

Fixed-length {{ khz }} kHz mono clips of videos, labelled with the video's category
({{ class_names | length }} classes: {{ class_names | join(', ') }}).

## Provenance
- Built from {{ source }}.
- Source audio: {{ inputs.videos_scanned }} files read, {{ '%.2f' | format(inputs.hours_scanned) }} hours,
  combined sha256 `{{ inputs.source_files_sha256 }}`.
- Content sha256 of this dataset: `{{ content_sha256 }}` (same inputs and seed give the same value).
- The audio belongs to the owners of the videos; this set is for research on audio classification.

## How it was built
`{{ command }}`

- Clips of {{ build.clip_seconds }} s every {{ build.hop_seconds }} s; the remainder shorter than a clip is
  dropped; clips quieter than {{ build.min_rms_db }} dBFS RMS are dropped; at most
  {{ build.max_clips_per_video or 'all' }} clips per video, spread evenly across it.
{% if not build.train_rows_are_clips %}- The train split holds the same audio per video in rows of up to
  {{ build.train_row_seconds }} s (the loud stretches of a video cut into rows; what is left of a stretch, when at
  least one clip long, is a shorter row), so that training draws new random crops from each row every epoch (one per
  clip length of the row).
{% endif %}- {{ split_statement }} Split fractions {{ build.split }}, seed {{ build.seed }}.
- Balance `{{ build.balance }}`: {{ balance }}.

## Counts
| split | class | videos | clips | hours |
|---|---|---:|---:|---:|
{% for split, per_class in splits.items() %}{% for category, c in per_class.items() -%}
| {{ split }} | {{ category }} | {{ c.videos }} | {{ c.clips }} | {{ '%.3f' | format(c.hours) }} |
{% endfor %}{% endfor %}
## Dropped
{% for line in dropped %}- {{ line }}
{% else %}- nothing
{% endfor %}
## Columns
- `audio`: `Audio(sampling_rate={{ sampling_rate }}, decode=False)`, FLAC bytes; decode with
  `soundfile.read(io.BytesIO(row["audio"]["bytes"]))` (or let `datasets` decode it where torchcodec works).
- `label`: `ClassLabel` with the names above; `video_id`; `channel` (the channel's display name); `group` (the
  split key: `channel_id:...`, `video:...`; no group is in two splits); `start_s` (seconds from the start of the
  original video); `duration_s`; `title`.

## Versions
```
{{ versions }}
```
"""


def dataset_card(stats: PrepareStats) -> str:
    """README.md for the dataset: a YAML header validated by ``huggingface_hub.DatasetCardData`` (with the build
    record under ``ytac_build``, so a Hub copy says how it was cut), provenance, counts, what was dropped and how it
    was built (including whether the split is channel-disjoint, and the command that rebuilds it)."""
    from huggingface_hub import DatasetCard, DatasetCardData

    build = stats.build
    total_clips = sum(stats.split_clips(split) for split in stats.splits)
    channel_split = build.group_by == "channel"
    card_data = DatasetCardData(pretty_name="YouTube audio clips by category", task_categories=["audio-classification"],
                                tags=["audio", "youtube", "channel-disjoint-split" if channel_split
                                      else "video-level-split"],
                                size_categories=[_size_category(total_clips)], license="other",
                                configs=card_configs(split for split in stats.splits if stats.split_clips(split)),
                                **{CARD_KEY: build.to_json()})
    if stats.inputs.manifests:
        source = "download manifests (`python -m download`): " + ", ".join(
            f"`{m.path}` (sha256 `{m.sha256[:12]}`, {m.records} records)" for m in stats.inputs.manifests)
    else:
        source = f"the audio folder `{stats.inputs.audiofolder}` (class = first folder under the root)"
    balance = ("equal videos per class (undersampled to the smallest class) and equal clips per class in validation "
               "and test, so chance is exactly 1/K; train keeps every clip of its videos"
               if build.balance == "videos" else "no balancing")
    dropped = ([f"video, {reason}: {n}" for reason, n in stats.dropped.videos.items()]
               + [f"clip, {reason}: {n}" for reason, n in stats.dropped.clips.items()])
    card = DatasetCard.from_template(
        card_data, template_str="---\n{{ card_data }}\n---\n" + DATASET_CARD, pretty_name=card_data.pretty_name,
        khz=SAMPLING_RATE // 1000, sampling_rate=SAMPLING_RATE, class_names=stats.class_names, source=source,
        inputs=stats.inputs, content_sha256=stats.content_sha256, command=build.command, build=build,
        split_statement=split_statement(stats), balance=balance, splits=stats.splits, dropped=dropped,
        versions=json.dumps(stats.versions, indent=2))
    return str(card)


UPLOADED = ["README.md", f"{DATA_DIR}/*.parquet", STATS, VIDEOS]


def push_dataset(dataset_dir, repo_id: str, token: str | None = None, private: bool | None = None) -> None:
    """Publish a prepared dataset folder to the Hub dataset repo ``repo_id``: its card, Parquet shards and records,
    in one commit (``HfApi.upload_folder``; large folders: ``HfApi.upload_large_folder`` takes the same files)."""
    from huggingface_hub import HfApi

    dataset_dir = Path(dataset_dir)
    if not (dataset_dir / DATA_DIR).is_dir() or not (dataset_dir / "README.md").is_file():
        raise FileNotFoundError(f"{dataset_dir}: no {DATA_DIR}/ Parquet shards and README.md to publish (expected a "
                                "folder written by `python -m prepare`)")
    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    # the shards of an earlier push that this one does not hold go in the same commit (a rebuilt dataset may have
    # fewer or other shards: left behind, load_dataset would read them as part of it)
    api.upload_folder(folder_path=str(dataset_dir), repo_id=repo_id, repo_type="dataset", allow_patterns=UPLOADED,
                      delete_patterns=[f"{DATA_DIR}/*.parquet"], commit_message="Dataset from python -m prepare")
    logger.info("pushed %s to https://huggingface.co/datasets/%s", dataset_dir, repo_id)
