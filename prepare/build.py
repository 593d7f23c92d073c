"""The prepare stage: downloaded audio (or an audio folder) -> a balanced, leakage-free 16 kHz ``DatasetDict``.

Stages, top to bottom: read the sources; scan each video once in blocks (silence, clip plan); keep byte-identical
sources once; group videos by channel (or video), cap videos per group, split by group and balance; write each split's Arrow shards straight to disk while hashing the content; write the stats and the card;
rename the finished folder into place. Memory stays flat: one block of one file and a few encoded clips at a time.

Example::

    from prepare import prepare_dataset
    stats = prepare_dataset(raw=["demo_out/raw"], out="demo_out/dataset", clip_seconds=5)
    print(stats["content_sha256"], stats["splits"]["test"])
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import soundfile as sf
from tqdm.auto import tqdm

from common.audio import SAMPLING_RATE, AudioError, FfmpegMissing, convert_to_flac, encode_flac
from common.cli import format_table
from common.data import DATA_DIR, SPLITS, clip_features, write_split
from common.jsonl import atomic_write_json, atomic_write_text
from common.provenance import file_sha256, package_versions
from prepare.clips import VideoScan, pick_evenly, read_clip, scan_video
from prepare.config import PrepareConfig
from prepare.groups import GROUP_SOURCES, drop_duplicate_sources, resolve_groups
from prepare.sources import Dropped, VideoSource, audiofolder_fingerprint, read_audiofolder, read_download_dirs
from prepare.split import cap_groups, equalize_clips, split_groups

logger = logging.getLogger(__name__)

STATS_NAME = "prepare_stats.json"
VIDEOS_NAME = "prepare_videos.jsonl"


def prepare_dataset(config: PrepareConfig | None = None, **overrides) -> dict:
    """Build the dataset described by ``config`` (or by keyword arguments of ``PrepareConfig``); return its stats.

    A finished dataset at ``config.out`` is kept and its stats returned, unless ``overwrite``.
    """
    config = config or PrepareConfig(**overrides)
    out = Path(config.out)
    started = time.time()
    recover_interrupted_replace(out)
    if _is_finished(out) and not config.overwrite:
        stats = _existing_stats(out, config)
    else:
        if out.exists() and not config.overwrite:
            missing = [name for name in (STATS_NAME, "README.md", f"{DATA_DIR}/") if not (out / name).exists()]
            old = " (a dataset in the older save_to_disk layout: it still loads, rebuild it to reuse it here)" \
                if (out / "dataset_dict.json").exists() else ""
            raise FileExistsError(f"{out} exists but is not a finished prepared dataset (no {', '.join(missing)})"
                                  f"{old}; remove it, choose another --out, or pass --overwrite")
        stats = _build(config, out, started)
    logger.info("%s: %s clips in train/validation/test, content sha256 %s", out,
                "/".join(str(sum(c["clips"] for c in stats["splits"][s].values())) for s in SPLITS),
                stats["content_sha256"][:12])
    if config.push_to_hub:
        from prepare.hub import push_dataset
        push_dataset(out, config.push_to_hub)
    return stats


def _is_finished(out: Path) -> bool:
    return (out / STATS_NAME).is_file() and (out / "README.md").is_file() and (out / DATA_DIR).is_dir()


def _existing_stats(out: Path, config: PrepareConfig) -> dict:
    stats = json.loads((out / STATS_NAME).read_text(encoding="utf-8"))
    stored = {k: v for k, v in stats["config"].items() if k not in ("out", "overwrite", "push_to_hub")}
    wanted = config.dataset_defining()
    if stored != wanted:
        differing = {k: (stored.get(k), wanted.get(k)) for k in wanted if stored.get(k) != wanted.get(k)}
        raise FileExistsError(f"{out} already holds a dataset built with other settings {differing} "
                              f"(stored, requested); pass --overwrite to rebuild it or choose another --out")
    if config.audiofolder:
        then = stats["inputs"].get("audiofolder_fingerprint") or {}
        now = audiofolder_fingerprint(config.audiofolder, config.audiofolder_groups)
        if then.get("sha256") != now["sha256"]:
            raise FileExistsError(f"{out} was built from --audiofolder {config.audiofolder}, whose files have changed "
                                  f"since ({then.get('files', 'unknown')} files then, {now['files']} now; paths, sizes "
                                  "or modification times differ): pass --overwrite to rebuild it, or choose another --out")
    for entry in stats["inputs"].get("manifests") or []:
        manifest = Path(entry["path"])
        now = file_sha256(manifest) if manifest.is_file() else None
        if now != entry["sha256"]:
            raise FileExistsError(f"{out} was built from {manifest}, which has changed since ({entry['records']} "
                                  f"records then{'' if now else ', missing now'}): pass --overwrite to rebuild it "
                                  "with the new downloads, or choose another --out")
    logger.info("%s is already prepared (content sha256 %s); skipping (use --overwrite to rebuild)",
                out, stats["content_sha256"][:12])
    return stats


# ---------------------------------------------------------------- build ----------------------------------------

def _build(config: PrepareConfig, out: Path, started: float) -> dict:
    fingerprint = None
    if config.raw:  # bad input stops here, before anything is written
        videos, dropped, manifests = read_download_dirs(config.raw, config.merge_label_case)
    else:
        fingerprint = audiofolder_fingerprint(config.audiofolder, config.audiofolder_groups)   # before reading it
        videos, dropped = read_audiofolder(config.audiofolder, config.audiofolder_groups, config.merge_label_case)
        manifests = []
    staging = _staging_path(out)
    if staging.exists():
        logger.warning("removing %s, left by an interrupted run", staging)
        shutil.rmtree(staging)
    work = staging / "_work"
    work.mkdir(parents=True)
    class_names = sorted({video.category for video in videos})
    clip_samples = round(config.clip_seconds * SAMPLING_RATE)
    hop_samples = round(config.hop_seconds * SAMPLING_RATE)

    scans, dropped = _scan_all(videos, work, config, clip_samples, hop_samples, dropped)
    assignment, clip_starts, dropped_clips, dropped, grouping = _assign(videos, scans, class_names, config, dropped)
    row_samples = _train_rows(assignment, scans, clip_starts, config, clip_samples)

    features = clip_features(class_names)
    label_of = {name: index for index, name in enumerate(class_names)}
    by_id = {video.video_id: video for video in videos}
    split_hashes = {}
    for split in SPLITS:
        ids = [vid for category in class_names for vid in assignment[split][category]]
        rows = _rows(ids, by_id, scans, clip_starts, label_of, row_samples, split)
        split_hashes[split] = write_split(staging, split, rows, features)
    shutil.rmtree(work)

    stats = _stats(config, class_names, assignment, clip_starts, row_samples, scans, dropped, dropped_clips,
                   manifests, split_hashes, grouping, started)
    stats["inputs"]["audiofolder_fingerprint"] = fingerprint
    _write_videos_table(staging / VIDEOS_NAME, assignment, clip_starts, row_samples, scans, by_id,
                        grouping["group_of"])
    from prepare.hub import dataset_card
    atomic_write_text(staging / "README.md", dataset_card(stats))
    atomic_write_json(staging / STATS_NAME, stats)
    _replace_atomically(staging, out)
    return stats


def stream_path(video: VideoSource, work: Path) -> Path:
    """A 16 kHz mono file to read clips from: the source itself when it already is one, else an ffmpeg conversion."""
    try:
        info = sf.info(str(video.path))
        if info.samplerate == SAMPLING_RATE and info.channels == 1:
            return video.path
    except Exception:  # soundfile cannot read it (m4a, webm, ...): ffmpeg decides below
        pass
    converted = work / f"{video.video_id}.flac"
    convert_to_flac(video.path, converted)
    return converted


def _scan_all(videos, work, config, clip_samples, hop_samples, dropped):
    """Scan every video once; returns ``{video_id: (path to read, VideoScan, source sha256)}`` and the drops."""
    scans = {}
    dropped = list(dropped)
    for video in tqdm(videos, desc="scanning videos", unit="video"):
        if video.path.stat().st_size == 0:
            dropped.append(Dropped(video.video_id, "empty_file", f"{video.path} is 0 bytes"))
            continue
        try:
            path = stream_path(video, work)
            scan = scan_video(path, clip_samples, hop_samples, config.max_clips_per_video, config.min_rms_db,
                              *_row_plan(config, clip_samples))
        except FfmpegMissing:
            raise  # not this file's fault: every later non-16 kHz file would fail the same way
        except (AudioError, RuntimeError, ValueError, sf.LibsndfileError) as exc:
            dropped.append(Dropped(video.video_id, "unreadable", f"{video.path}: {exc}"))
            continue
        if scan.grid_clips == 0:
            dropped.append(Dropped(video.video_id, "too_short", f"{video.path}: {scan.total_samples / SAMPLING_RATE:.2f} s "
                                   f"is shorter than one {config.clip_seconds:g}-s clip"))
        elif not scan.starts:
            dropped.append(Dropped(video.video_id, "silent", f"{video.path}: all {scan.grid_clips} clips are below "
                                   f"{config.min_rms_db:g} dBFS"))
        else:
            scans[video.video_id] = (path, scan, file_sha256(video.path))
    return scans, dropped


def _assign(videos, scans, class_names, config, dropped):
    """Group, cap, split and balance the usable videos, and decide which clip starts each keeps."""
    usable = [video for video in videos if video.video_id in scans]
    category_of = {video.video_id: video.category for video in usable}
    kept_ids, duplicates, duplicate_sources = drop_duplicate_sources(
        list(category_of), {vid: scans[vid][2] for vid in category_of}, category_of)
    kept_ids = set(kept_ids)
    usable = [video for video in usable if video.video_id in kept_ids]
    group_of, source_of = resolve_groups(usable, config.group_by)
    capped_videos, capped = cap_groups({video.video_id: (video.category, group_of[video.video_id])
                                        for video in usable}, config.max_videos_per_group, config.seed)
    assignment, undersampled = split_groups(capped_videos, config.split_fractions, config.seed,
                                            balance=config.balance == "videos", classes=class_names)
    dropped = (dropped + duplicates
               + [Dropped(vid, "group_capped", f"over --max-videos-per-group {config.max_videos_per_group} of group "
                                               f"{group_of[vid]}") for vid in capped]
               + [Dropped(vid, "balance_undersampled", "class undersampled to the smallest class")
                  for vid in undersampled])
    grouping = {"group_by": config.group_by,
                "group_source_counts": {s: sum(1 for v in source_of.values() if v == s) for s in GROUP_SOURCES
                                        if s != "audiofolder_group" or config.audiofolder},
                "max_videos_per_group": config.max_videos_per_group or None,
                "videos_dropped_by_cap": len(capped),
                "duplicate_sources": duplicate_sources,
                "groups_per_split": {split: len({group_of[vid] for ids in assignment[split].values() for vid in ids})
                                     for split in SPLITS},
                "test_videos_sharing_a_channel_with_train_or_validation": _shared_channels(assignment, usable),
                "group_of": group_of}

    clip_starts = {vid: list(scans[vid][1].starts) for split in SPLITS
                   for ids in assignment[split].values() for vid in ids}
    dropped_clips = Counter()
    for vid in clip_starts:
        scan: VideoScan = scans[vid][1]
        dropped_clips["silent"] += scan.silent_clips
        dropped_clips["over_cap"] += scan.over_cap_clips
        dropped_clips["short_remainder"] += int(scan.has_remainder)
    if config.balance == "videos":
        for split in ("validation", "test"):
            if not any(assignment[split].values()):
                continue
            counts = {c: {vid: len(clip_starts[vid]) for vid in ids} for c, ids in assignment[split].items()}
            for category, per_video in equalize_clips(counts).items():
                for vid, keep in per_video.items():
                    starts = clip_starts[vid]
                    dropped_clips["balance_clips"] += len(starts) - keep
                    clip_starts[vid] = [starts[i] for i in pick_evenly(len(starts), keep)] if keep else []
    return assignment, clip_starts, dropped_clips, dropped, grouping


def _row_plan(config, clip_samples: int) -> tuple[int | None, int]:
    """(samples per train row, rows per video at most) of ``--train-clip-seconds``; ``(None, 0)`` without longer
    rows. The cap holds the video's ``--max-clips-per-video`` clips, rounded up to whole rows."""
    row = round(config.train_clip_seconds * SAMPLING_RATE) if config.train_clip_seconds is not None else clip_samples
    if row == clip_samples:
        return None, 0
    return row, math.ceil(config.max_clips_per_video * clip_samples / row) if config.max_clips_per_video else 0


def _train_rows(assignment, scans, clip_starts, config, clip_samples: int) -> dict[str, int]:
    """Samples per row of every video: ``clip_samples``, except train videos with ``--train-clip-seconds`` rows
    (planned by the same scan, ``VideoScan.row_starts``), whose ``clip_starts`` become their row starts. A train
    video with no full loud row keeps its clips."""
    rows = {vid: clip_samples for vid in clip_starts}
    row, _ = _row_plan(config, clip_samples)
    for ids in assignment["train"].values():
        for vid in ids:
            if row and clip_starts[vid] and scans[vid][1].row_starts:
                clip_starts[vid], rows[vid] = list(scans[vid][1].row_starts), row
    return rows


def _shared_channels(assignment, videos) -> int:
    """Test videos whose (known) channel also has a video in train or validation: 0 with --group-by channel."""
    channel_of = {video.video_id: video.channel for video in videos}
    seen = {channel_of[vid] for split in ("train", "validation") for ids in assignment[split].values() for vid in ids}
    return sum(1 for ids in assignment["test"].values() for vid in ids if channel_of[vid] and channel_of[vid] in seen)


def _rows(ids, by_id, scans, clip_starts, label_of, row_samples, split):
    """One row per clip, in a fixed order (class, video id, start), encoded one clip at a time."""
    for vid in tqdm(ids, desc=f"writing {split}", unit="video", leave=False):
        video = by_id[vid]
        path = scans[vid][0]
        clip_samples = row_samples[vid]
        clip_seconds = clip_samples / SAMPLING_RATE
        for start in clip_starts[vid]:
            start_s = video.section_start_s + start / SAMPLING_RATE
            yield {
                "audio": {"bytes": encode_flac(read_clip(path, start, clip_samples)),
                          "path": f"{vid}_{round(start_s * 1000)}.flac"},
                "label": label_of[video.category],
                "video_id": vid,
                "channel": video.channel,
                "start_s": start_s,
                "duration_s": clip_seconds,
                "title": video.title,
            }


def _old_path(out: Path) -> Path:
    return out.parent / f".{out.name}.old"


def _staging_path(out: Path) -> Path:
    return out.parent / f".{out.name}.partial"


def _replace_atomically(staging: Path, out: Path) -> None:
    """Move the finished ``staging`` folder into place. An older output is renamed to ``.OUT.old`` first and removed
    only once the new one is at ``out``: at every instant ``out``, ``.OUT.old`` or a finished ``staging`` holds a
    finished dataset, and ``recover_interrupted_replace`` (run first by every prepare) puts it back."""
    old = _old_path(out)
    if out.exists():
        os.replace(out, old)
    os.replace(staging, out)
    shutil.rmtree(old, ignore_errors=True)


def recover_interrupted_replace(out: Path) -> None:
    """Finish or undo a replace that a kill interrupted between its two renames (``out`` missing): a finished
    staging folder (the new dataset, complete: its stats are written last) takes the place, else the previous
    dataset (``.OUT.old``) comes back. A ``.OUT.old`` beside a present ``out`` is a leftover and goes."""
    old, staging = _old_path(out), _staging_path(out)
    if not out.exists() and _is_finished(staging):
        logger.warning("%s: a previous run was killed while replacing it; its finished new dataset takes its place", out)
        os.replace(staging, out)
    elif not out.exists() and _is_finished(old):
        logger.warning("%s: a previous run was killed while replacing it; the previous dataset is restored", out)
        os.replace(old, out)
    if out.exists() and old.exists():
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- stats ----------------------------------------

def _stats(config, class_names, assignment, clip_starts, row_samples, scans, dropped, dropped_clips, manifests,
           split_hashes, grouping, started) -> dict:
    splits = {}
    for split in SPLITS:
        splits[split] = {}
        for category in class_names:
            ids = [vid for vid in assignment[split][category] if clip_starts[vid]]
            clips = sum(len(clip_starts[vid]) for vid in ids)
            samples = sum(len(clip_starts[vid]) * row_samples[vid] for vid in ids)
            splits[split][category] = {"videos": len(ids), "clips": clips,
                                       "hours": round(samples / SAMPLING_RATE / 3600, 6)}
    audio_digest = hashlib.sha256()
    for vid in sorted(scans):
        audio_digest.update(f"{vid}:{scans[vid][2]}\n".encode())
    input_hours = sum(scan.total_samples for _, scan, _ in scans.values()) / SAMPLING_RATE / 3600
    elapsed = time.time() - started
    return {
        "config": config.to_dict(),
        "class_names": class_names,
        "splits": splits,
        "dropped": {"videos": dict(sorted(Counter(d.reason for d in dropped).items())),
                    "clips": dict(sorted((k, v) for k, v in dropped_clips.items() if v))},
        "dropped_examples": [vars(d) for d in dropped[:200]],
        "grouping": {k: v for k, v in grouping.items() if k != "group_of"},
        "content_sha256": hashlib.sha256("".join(split_hashes[s] for s in SPLITS).encode()).hexdigest(),
        "split_sha256": split_hashes,
        "inputs": {"manifests": manifests, "audiofolder": config.audiofolder, "videos_scanned": len(scans),
                   "source_files_sha256": audio_digest.hexdigest(), "hours_scanned": round(input_hours, 6)},
        "versions": package_versions(["datasets", "pyarrow", "numpy", "soundfile"], ffmpeg=True),
        "elapsed_s": round(elapsed, 3),
        "x_real_time": round(input_hours * 3600 / elapsed, 1) if elapsed > 0 else None,
    }


def _write_videos_table(path: Path, assignment, clip_starts, row_samples, scans, by_id, group_of) -> None:
    """One record per video that made it in: its split, class, channel and split group, title and cleaned
    description (the text baselines read them here, once per video rather than in every clip row), clips and
    source hash (provenance)."""
    lines = []
    for split in SPLITS:
        for category, ids in assignment[split].items():
            for vid in ids:
                lines.append(json.dumps({"video_id": vid, "split": split, "category": category,
                                         "channel": by_id[vid].channel, "group": group_of[vid],
                                         "title": by_id[vid].title, "description": by_id[vid].description,
                                         "clips": len(clip_starts[vid]),
                                         "clip_seconds": row_samples[vid] / SAMPLING_RATE,
                                         "source_seconds": scans[vid][1].total_samples / SAMPLING_RATE,
                                         "source_sha256": scans[vid][2]}, ensure_ascii=False, sort_keys=True))
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def summary_text(stats: dict) -> str:
    """The per split x class table (videos, clips, hours), how the split was grouped, and the dropped items."""
    rows = []
    for split, per_class in stats["splits"].items():
        for category, counts in per_class.items():
            rows.append([f"{split}/{category}", counts["videos"], counts["clips"], float(counts["hours"])])
        rows.append([f"{split} total", sum(c["videos"] for c in per_class.values()),
                     sum(c["clips"] for c in per_class.values()), float(sum(c["hours"] for c in per_class.values()))])
    dropped = [[f"video: {reason}", count] for reason, count in stats["dropped"]["videos"].items()]
    dropped += [[f"clip: {reason}", count] for reason, count in stats["dropped"]["clips"].items()]
    grouping = stats.get("grouping") or {}  # absent in datasets prepared before channel grouping
    grouped = [[f"groups by {grouping['group_by']}, train/validation/test",
                "/".join(str(grouping["groups_per_split"][s]) for s in SPLITS)],
               *[[f"videos grouped by {source}", n] for source, n in grouping["group_source_counts"].items()],
               ["test videos sharing a channel with train/validation",
                grouping["test_videos_sharing_a_channel_with_train_or_validation"]],
               ["byte-identical sources", len(grouping["duplicate_sources"])]] if grouping else []
    return (format_table(["split/class", "videos", "clips", "hours"], rows) + "\n\n"
            + (format_table(["grouping", "value"], grouped) + "\n\n" if grouped else "")
            + format_table(["dropped", "count"], dropped or [["nothing", 0]])
            + f"\n\ncontent sha256 {stats['content_sha256']}")
