"""Which group each video belongs to for the split, and byte-identical sources kept once.

With ``--group-by channel`` a video's group is, in this order: its manifest ``channel_id`` (yt-dlp); else the
channel named by the listing's description header (``listing_channel``; when another video of that name has a
``channel_id``, that channel); else an audio folder's group (``groups.csv`` or the subfolder); else the video itself.
``--group-by video`` makes every video its own group (the split of earlier versions). How many videos got which
source is reported in ``prepare_stats.json`` (``grouping.group_source_counts``).

Example::

    from prepare.groups import resolve_groups
    groups, sources = resolve_groups(videos, "channel")   # {video_id: "channel_id:UC..."}, {video_id: "channel_id"}
"""

from __future__ import annotations

import logging
from collections import defaultdict

from common.contract.dataset import DuplicateSource
from prepare.sources import Dropped, VideoSource

logger = logging.getLogger(__name__)

GROUP_SOURCES = ("channel_id", "listing_channel", "audiofolder_group", "video")


def resolve_groups(videos: list[VideoSource], group_by: str) -> tuple[dict[str, str], dict[str, str]]:
    """``({video_id: group key}, {video_id: source of the key})``; the source is one of ``GROUP_SOURCES``."""
    known_ids = {}  # a channel name -> its channel_id, learnt from videos that have both
    for video in videos:
        if video.channel_id:
            for name in (video.listing_channel, video.channel):
                if name:
                    known_ids.setdefault(name, video.channel_id)
    groups, sources = {}, {}
    for video in videos:
        vid = video.video_id
        if group_by == "video":
            groups[vid], sources[vid] = f"video:{vid}", "video"
        elif video.channel_id:
            groups[vid], sources[vid] = f"channel_id:{video.channel_id}", "channel_id"
        elif video.listing_channel:
            channel_id = known_ids.get(video.listing_channel)
            groups[vid] = f"channel_id:{channel_id}" if channel_id else f"listing_channel:{video.listing_channel}"
            sources[vid] = "listing_channel"
        elif video.folder_group:
            groups[vid], sources[vid] = f"audiofolder_group:{video.folder_group}", "audiofolder_group"
        else:
            groups[vid], sources[vid] = f"video:{vid}", "video"
    return groups, sources


def drop_duplicate_sources(video_ids: list[str], sha256_of: dict[str, str], category_of: dict[str, str]
                           ) -> tuple[list[str], list[Dropped], list[DuplicateSource]]:
    """Keep each byte-identical source file once (the smallest id), so the same audio never sits on two sides.

    When the copies carry different labels none is kept (the audio cannot be both). Returns
    ``(kept_ids, dropped, duplicate_sources)``, the last one entry per duplicated file for the stats."""
    by_hash = defaultdict(list)
    for vid in sorted(video_ids):
        by_hash[sha256_of[vid]].append(vid)
    kept, dropped, report = [], [], []
    for digest, ids in sorted(by_hash.items(), key=lambda item: item[1][0]):
        categories = sorted({category_of[vid] for vid in ids})
        if len(ids) == 1:
            kept.append(ids[0])
            continue
        keep = ids[0] if len(categories) == 1 else None
        kept += [keep] if keep else []
        for vid in ids:
            if vid == keep:
                continue
            if keep:
                dropped.append(Dropped(vid, "duplicate_source", f"byte-identical to {keep} (sha256 {digest[:12]}); "
                                                                f"kept that one"))
            else:
                dropped.append(Dropped(vid, "duplicate_source_conflicting_labels",
                                       f"byte-identical to {[i for i in ids if i != vid]} under labels {categories}"))
        report.append(DuplicateSource(source_sha256=digest, video_ids=ids, kept=keep, categories=categories))
    if report:
        logger.warning("%d source file(s) appear under more than one id (e.g. %s); each is kept once",
                       len(report), report[0].video_ids)
    return sorted(kept), dropped, report
