"""The prepare stage: downloaded audio (or an audio folder) -> a balanced, leakage-free 16 kHz ``DatasetDict``.

Stages, top to bottom: read the sources; scan each video once in blocks (silence, clip plan); keep byte-identical
sources once; group videos by channel (or video), cap videos per group, split by group and balance; write each split's Arrow shards straight to disk while hashing the content; write the stats and the card;
rename the finished folder into place. Memory stays flat: one block of one file and a few encoded clips at a time.

Example::

    from prepare import prepare_dataset
    stats = prepare_dataset(raw=["demo_out/raw"], out="demo_out/dataset", clip_seconds=5)
    print(stats.content_sha256, stats.splits["test"], stats.build.command)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import soundfile as sf
from tqdm.auto import tqdm

from common.audio import SAMPLING_RATE, AudioError, FfmpegMissing, convert_to_flac, encode_flac
from common.cli import format_table
from common.contract import STATS as STATS_NAME, VIDEOS as VIDEOS_NAME, PrepareStats, VideoRow
from common.contract.dataset import BuildInputs, ClassCounts, DroppedCounts, DroppedItem, Grouping
from common.data import DATA_DIR, SPLITS, clip_features, write_split
from common.jsonl import atomic_write_text
from common.provenance import file_sha256, package_versions
from prepare.clips import VideoScan, pick_evenly, read_clip, scan_video
from prepare.config import PrepareConfig
from prepare.groups import GROUP_SOURCES, drop_duplicate_sources, resolve_groups
from prepare.sources import Dropped, VideoSource, audiofolder_fingerprint, read_audiofolder, read_download_dirs
from prepare.split import cap_groups, equalize_clips, split_groups

logger = logging.getLogger(__name__)


def prepare_dataset(config: PrepareConfig | None = None, **overrides) -> PrepareStats:
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
    logger.info("%s: %s rows in train/validation/test, content sha256 %s", out,
                "/".join(str(stats.split_clips(split)) for split in SPLITS), stats.content_sha256[:12])
    if config.push_to_hub:
        from prepare.hub import push_dataset
        push_dataset(out, config.push_to_hub)
    return stats


def _is_finished(out: Path) -> bool:
    return (out / STATS_NAME).is_file() and (out / "README.md").is_file() and (out / DATA_DIR).is_dir()


def _existing_stats(out: Path, config: PrepareConfig) -> PrepareStats:
    stats = PrepareStats.read(out / STATS_NAME)
    stored = {k: v for k, v in stats.config.items() if k not in ("out", "overwrite", "push_to_hub")}
    wanted = config.dataset_defining()
    if stored != wanted:
        differing = {k: (stored.get(k), wanted.get(k)) for k in wanted if stored.get(k) != wanted.get(k)}
        raise FileExistsError(f"{out} already holds a dataset built with other settings {differing} "
                              f"(stored, requested); pass --overwrite to rebuild it or choose another --out")
    if config.audiofolder:
        then = stats.inputs.audiofolder_fingerprint
        now = audiofolder_fingerprint(config.audiofolder, config.audiofolder_groups)
        if then is None or then.sha256 != now.sha256:
            raise FileExistsError(f"{out} was built from --audiofolder {config.audiofolder}, whose files have changed "
                                  f"since ({then.files if then else 'unknown'} files then, {now.files} now; paths, "
                                  "sizes or modification times differ): pass --overwrite to rebuild it, or choose "
                                  "another --out")
    for entry in stats.inputs.manifests:
        manifest = Path(entry.path)
        now = file_sha256(manifest) if manifest.is_file() else None
        if now != entry.sha256:
            raise FileExistsError(f"{out} was built from {manifest}, which has changed since ({entry.records} "
                                  f"records then{'' if now else ', missing now'}): pass --overwrite to rebuild it "
                                  "with the new downloads, or choose another --out")
    logger.info("%s is already prepared (content sha256 %s); skipping (use --overwrite to rebuild)",
                out, stats.content_sha256[:12])
    return stats


# ---------------------------------------------------------------- build ----------------------------------------

@dataclass
class Plan:
    """What the build decided before writing anything: which video goes where, and which audio each keeps."""
    class_names: list[str]
    assignment: dict[str, dict[str, list[str]]]   # split -> class -> video ids
    segments: dict[str, list[tuple[int, int]]]    # video id -> (start, samples) of each of its rows
    group_of: dict[str, str]                      # video id -> its split key (the `group` column)
    grouping: Grouping
    dropped: list[Dropped]
    dropped_clips: Counter

    def ids(self, split: str) -> list[str]:
        return [vid for category in self.class_names for vid in self.assignment[split][category]]


def _build(config: PrepareConfig, out: Path, started: float) -> PrepareStats:
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
    scans, dropped = _scan_all(videos, work, config, dropped)
    plan = _plan(videos, scans, config, dropped)

    features = clip_features(plan.class_names)
    by_id = {video.video_id: video for video in videos}
    split_hashes = {split: write_split(staging, split, _rows(plan, split, by_id, scans), features)
                    for split in SPLITS}
    shutil.rmtree(work)

    stats = _stats(config, plan, scans, BuildInputs(manifests, config.audiofolder, fingerprint), split_hashes,
                   started)
    _write_videos_table(staging / VIDEOS_NAME, plan, scans, by_id)
    from prepare.hub import dataset_card
    atomic_write_text(staging / "README.md", dataset_card(stats))
    stats.write(staging / STATS_NAME)
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


def _scan_all(videos, work, config, dropped):
    """Scan every video once (its clips, and its longer train rows when asked for); returns
    ``{video_id: (path to read, VideoScan, source sha256)}`` and the drops."""
    scans = {}
    dropped = list(dropped)
    clip_samples, hop_samples, row_samples = _samples(config)
    for video in tqdm(videos, desc="scanning videos", unit="video"):
        if video.path.stat().st_size == 0:
            dropped.append(Dropped(video.video_id, "empty_file", f"{video.path} is 0 bytes"))
            continue
        try:
            path = stream_path(video, work)
            scan = scan_video(path, clip_samples, hop_samples, config.max_clips_per_video, config.min_rms_db,
                              row_samples)
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


def _samples(config) -> tuple[int, int, int | None]:
    """(clip, hop, train row) lengths in samples; the row is None when train rows are plain clips."""
    clip = round(config.clip_seconds * SAMPLING_RATE)
    row = round(config.train_clip_seconds * SAMPLING_RATE)
    return clip, round(config.hop_seconds * SAMPLING_RATE), (row if row != clip else None)


def _plan(videos, scans, config, dropped) -> Plan:
    """Group, cap, split and balance the usable videos, and decide which audio each keeps: clips for validation
    and test (equal clips per class when balancing), rows for train (``VideoScan.rows`` when longer than clips)."""
    class_names = sorted({video.category for video in videos})
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
    grouping = Grouping(
        group_by=config.group_by,
        group_source_counts={s: sum(1 for v in source_of.values() if v == s) for s in GROUP_SOURCES
                             if s != "audiofolder_group" or config.audiofolder},
        max_videos_per_group=config.max_videos_per_group or None, videos_dropped_by_cap=len(capped),
        duplicate_sources=duplicate_sources,
        groups_per_split={split: len({group_of[vid] for ids in assignment[split].values() for vid in ids})
                          for split in SPLITS},
        test_videos_sharing_a_channel_with_train_or_validation=_shared_channels(assignment, usable))
    clip_samples = round(config.clip_seconds * SAMPLING_RATE)
    starts = {vid: list(scans[vid][1].starts) for split in SPLITS for ids in assignment[split].values() for vid in ids}
    dropped_clips = Counter()
    for vid in starts:
        scan: VideoScan = scans[vid][1]
        dropped_clips["silent"] += scan.silent_clips
        dropped_clips["over_cap"] += scan.over_cap_clips
        dropped_clips["short_remainder"] += int(scan.has_remainder)
    if config.balance == "videos":
        for split in ("validation", "test"):
            if not any(assignment[split].values()):
                continue
            counts = {c: {vid: len(starts[vid]) for vid in ids} for c, ids in assignment[split].items()}
            for category, per_video in equalize_clips(counts).items():
                for vid, keep in per_video.items():
                    dropped_clips["balance_clips"] += len(starts[vid]) - keep
                    starts[vid] = [starts[vid][i] for i in pick_evenly(len(starts[vid]), keep)] if keep else []
    segments = {vid: [(start, clip_samples) for start in kept] for vid, kept in starts.items()}
    for ids in assignment["train"].values():
        for vid in ids:
            if scans[vid][1].rows:
                segments[vid] = list(scans[vid][1].rows)
    return Plan(class_names, assignment, segments, group_of, grouping, dropped, dropped_clips)


def _shared_channels(assignment, videos) -> int:
    """Test videos whose (known) channel also has a video in train or validation: 0 with --group-by channel."""
    channel_of = {video.video_id: video.channel for video in videos}
    seen = {channel_of[vid] for split in ("train", "validation") for ids in assignment[split].values() for vid in ids}
    return sum(1 for ids in assignment["test"].values() for vid in ids if channel_of[vid] and channel_of[vid] in seen)


def _rows(plan: Plan, split: str, by_id, scans):
    """One dataset row per clip (or train row), in a fixed order (class, video id, start), encoded one at a time."""
    label_of = {name: index for index, name in enumerate(plan.class_names)}
    for vid in tqdm(plan.ids(split), desc=f"writing {split}", unit="video", leave=False):
        video, path = by_id[vid], scans[vid][0]
        for start, samples in plan.segments[vid]:
            start_s = video.section_start_s + start / SAMPLING_RATE
            yield {
                "audio": {"bytes": encode_flac(read_clip(path, start, samples)),
                          "path": f"{vid}_{round(start_s * 1000)}.flac"},
                "label": label_of[video.category],
                "video_id": vid,
                "channel": video.channel,
                "group": plan.group_of[vid],
                "start_s": start_s,
                "duration_s": samples / SAMPLING_RATE,
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

def _stats(config: PrepareConfig, plan: Plan, scans, inputs: BuildInputs, split_hashes: dict[str, str],
           started: float) -> PrepareStats:
    splits = {}
    for split in SPLITS:
        splits[split] = {}
        for category in plan.class_names:
            ids = [vid for vid in plan.assignment[split][category] if plan.segments[vid]]
            samples = sum(n for vid in ids for _, n in plan.segments[vid])
            splits[split][category] = ClassCounts(videos=len(ids), clips=sum(len(plan.segments[vid]) for vid in ids),
                                                  hours=round(samples / SAMPLING_RATE / 3600, 6))
    audio_digest = hashlib.sha256()
    for vid in sorted(scans):
        audio_digest.update(f"{vid}:{scans[vid][2]}\n".encode())
    input_hours = sum(scan.total_samples for _, scan, _ in scans.values()) / SAMPLING_RATE / 3600
    elapsed = time.time() - started
    content = hashlib.sha256("".join(split_hashes[s] for s in SPLITS).encode()).hexdigest()
    return PrepareStats(
        build=config.build(plan.class_names),
        class_names=plan.class_names,
        splits=splits,
        content_sha256=content,
        config=config.to_dict(),
        split_sha256=split_hashes,
        dropped=DroppedCounts(videos=dict(sorted(Counter(d.reason for d in plan.dropped).items())),
                              clips=dict(sorted((k, v) for k, v in plan.dropped_clips.items() if v))),
        dropped_examples=[DroppedItem(d.item, d.reason, d.message) for d in plan.dropped[:200]],
        grouping=plan.grouping,
        inputs=replace(inputs, videos_scanned=len(scans), source_files_sha256=audio_digest.hexdigest(),
                       hours_scanned=round(input_hours, 6)),
        versions=package_versions(["datasets", "pyarrow", "numpy", "soundfile"], ffmpeg=True),
        elapsed_s=round(elapsed, 3),
        x_real_time=round(input_hours * 3600 / elapsed, 1) if elapsed > 0 else None,
    )


def _write_videos_table(path: Path, plan: Plan, scans, by_id) -> None:
    """One record per video that made it in: its split, class, channel and split group, title and cleaned
    description (the text baselines read them here, once per video rather than in every clip row), rows and
    source hash (provenance)."""
    lines = []
    for split in SPLITS:
        for category, ids in plan.assignment[split].items():
            for vid in ids:
                segments = plan.segments[vid]
                row = VideoRow(video_id=vid, split=split, category=category, channel=by_id[vid].channel,
                               group=plan.group_of[vid], title=by_id[vid].title,
                               description=by_id[vid].description, clips=len(segments),
                               clip_seconds=max((n for _, n in segments), default=0) / SAMPLING_RATE,
                               source_seconds=scans[vid][1].total_samples / SAMPLING_RATE,
                               source_sha256=scans[vid][2])
                lines.append(json.dumps(row.to_json(), ensure_ascii=False, sort_keys=True))
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def summary_text(stats: PrepareStats) -> str:
    """The per split x class table (videos, rows, hours), how the split was grouped, and the dropped items."""
    rows = []
    for split, per_class in stats.splits.items():
        for category, counts in per_class.items():
            rows.append([f"{split}/{category}", counts.videos, counts.clips, counts.hours])
        rows.append([f"{split} total", sum(c.videos for c in per_class.values()),
                     sum(c.clips for c in per_class.values()), float(sum(c.hours for c in per_class.values()))])
    dropped = [[f"video: {reason}", count] for reason, count in stats.dropped.videos.items()]
    dropped += [[f"clip: {reason}", count] for reason, count in stats.dropped.clips.items()]
    grouping = stats.grouping  # None in datasets prepared before channel grouping
    grouped = [[f"groups by {grouping.group_by}, train/validation/test",
                "/".join(str(grouping.groups_per_split.get(s, 0)) for s in SPLITS)],
               *[[f"videos grouped by {source}", n] for source, n in grouping.group_source_counts.items()],
               ["test videos sharing a channel with train/validation",
                grouping.test_videos_sharing_a_channel_with_train_or_validation],
               ["byte-identical sources", len(grouping.duplicate_sources)]] if grouping else []
    build = stats.build
    made = [["clip seconds (validation, test)", build.clip_seconds],
            ["train row seconds (longest)", build.train_row_seconds]]
    return (format_table(["split/class", "videos", "rows", "hours"], rows) + "\n\n"
            + format_table(["build", "value"], made) + "\n\n"
            + (format_table(["grouping", "value"], grouped) + "\n\n" if grouped else "")
            + format_table(["dropped", "count"], dropped or [["nothing", 0]])
            + f"\n\ncontent sha256 {stats.content_sha256}\nrebuild with: {build.command}")
