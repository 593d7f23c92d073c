"""What the text baselines read: each video's title and description, once per video (never per clip), from, in
order, the dataset's ``prepare_videos.jsonl``, the download manifests (``--downloads``), the dataset's ``title``
column; boilerplate removed by ``common.text``. Also the file of what was read (``texts.jsonl``, for checking by eye).

Example::

    from evaluation.text_inputs import read_video_texts, documents
    texts, sources = read_video_texts(dataset, "data/dataset", ["data/raw"])
    docs = documents(["vid1", "vid2"], texts)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from common.contract import VIDEOS as VIDEOS_TABLE, latest_download_records, read_video_rows
from common.text import video_document


class VideoText(NamedTuple):
    title: str
    description: str


def read_video_texts(dataset, dataset_path: str | None, downloads: list[str]
                     ) -> tuple[dict[str, VideoText], dict[str, int]]:
    """``{video_id: VideoText}`` for the dataset's videos, and how many came from each source."""
    wanted = {str(vid) for data in dataset.values() for vid in data["video_id"]}
    texts: dict[str, VideoText] = {}
    sources = {VIDEOS_TABLE: 0, "download manifests": 0, "title column": 0}
    table = Path(dataset_path or "") / VIDEOS_TABLE
    if dataset_path and table.is_file():
        for row in read_video_rows(table):
            if row.video_id in wanted and row.description is not None:  # an older table without descriptions
                texts[row.video_id] = VideoText(row.title, row.description)
                sources[VIDEOS_TABLE] += 1
    for vid, found in latest_download_records(downloads or []).items():
        record = found.record
        if vid in wanted and vid not in texts and (record.title or record.description):
            texts[vid] = VideoText(record.title or "", record.description or "")
            sources["download manifests"] += 1
    for data in dataset.values():
        if "title" not in data.column_names:
            continue
        for vid, title in zip(data["video_id"], data["title"]):
            if str(vid) not in texts:
                texts[str(vid)] = VideoText(str(title or ""), "")
                sources["title column"] += 1
    return texts, sources


def documents(video_ids, texts: dict[str, VideoText]) -> list[str]:
    return [video_document(*texts.get(vid, VideoText("", ""))) for vid in video_ids]


# ---------------------------------------------------------------- models


def save_texts(path: Path, video_ids, texts: dict[str, VideoText]) -> None:
    """What the text models read, one JSON line per video (for checking by eye)."""
    with open(path, "w", encoding="utf-8") as handle:
        for vid in video_ids:
            handle.write(json.dumps({"video_id": vid, "document": video_document(*texts.get(vid, VideoText("", "")))},
                                    ensure_ascii=False) + "\n")
