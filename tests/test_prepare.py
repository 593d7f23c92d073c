"""Tests of prepare/: exact clip counts, exact resampling, video-level splits, balance, determinism, bad input,
audio folders, resume, the card and a fresh-process load. All audio is synthesized here (1-s clips, a few seconds
per video) so the file runs in well under a minute."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from common.audio import SAMPLING_RATE, encode_flac
from common.contract import DatasetBuild, PrepareStats
from common.data import SPLITS, clip_array, load_prepared
from common.jsonl import append_jsonl, read_jsonl
from prepare import PrepareConfig, prepare_dataset, summary_text
from prepare.__main__ import main as cli_main
from prepare.clips import grid_starts, pick_evenly, scan_video
from prepare.sources import read_download_dirs, safe_id
from prepare.split import TooFewVideos, cap_groups, equalize_clips, split_groups, split_sizes

from testing import ROOT


def tone(seconds, freq=440.0, sampling_rate=SAMPLING_RATE, seed=0, channels=1):
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sampling_rate)) / sampling_rate
    wave = (0.3 * np.sin(2 * np.pi * freq * t) + 0.02 * rng.standard_normal(t.shape)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def add_video(raw: Path, video_id, category, seconds=None, status="ok", samples=None, data: bytes | None = None,
              section_start_s=0.0, **channel):
    """Write one download-stage record (and its 16 kHz mono FLAC) the way download/ does; ``channel`` may give
    ``channel_id``, ``channel`` and ``listing_channel`` (absent: the loopback extractor's null)."""
    record = {"id": video_id, "url": f"https://www.youtube.com/watch?v={video_id}", "category": category,
              "title": f"title of {video_id}", "status": status,
              "description": f"Some Channel\n1.2K subscribers\nSUBSCRIBE\nabout {video_id}\nSHOW MORE", "message": "" if status == "ok" else "gone",
              "sample_rate": SAMPLING_RATE, "duration_s": seconds, "section_start_s": section_start_s,
              "source_duration_s": seconds, "bytes_downloaded": 0, "attempts": 1,
              "channel_id": None, "channel": None, "listing_channel": None, **channel}
    if status == "ok":
        record["path"] = f"audio/{video_id}.flac"
        (raw / "audio").mkdir(parents=True, exist_ok=True)
        if data is None:
            if samples is None:
                # a seed per id: videos of one class and length must not be byte-identical (they would count once)
                samples = tone(seconds, freq=200 + 100 * (sum(map(ord, category)) % 7), seed=zlib.crc32(video_id.encode()))
            data = encode_flac(samples)
        (raw / record["path"]).write_bytes(data)
    append_jsonl(raw / "manifest.jsonl", record)


def make_raw(raw: Path, spec: dict[str, list[float]]) -> Path:
    for category, durations in spec.items():
        for i, seconds in enumerate(durations):
            add_video(raw, f"{category[:4]}{i:03d}vid", category, seconds)
    return raw


# 3 classes with unequal video counts and lengths: undersampling and clip equalisation both have work to do.
SPEC = {"food": [3, 4, 5, 6, 3, 4], "music": [2, 6, 3, 5, 4, 2, 3], "travel": [5, 5, 2, 3, 4]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("prep")
    raw = make_raw(base / "raw", SPEC)
    config = dict(raw=[str(raw)], clip_seconds=1.0, max_clips_per_video=4, split="0.6,0.2,0.2", seed=0)
    stats = prepare_dataset(out=str(base / "ds"), **config)
    return base, raw, config, stats


# ---------------------------------------------------------------- clips ----------------------------------------

def test_clip_counts_exact_from_known_durations(tmp_path):
    cases = [  # seconds, clip, hop, cap, expected grid clips, expected kept clips
        (3.0, 1.0, 1.0, 0, 3, 3),
        (5.5, 2.0, 2.0, 0, 2, 2),      # the 1.5-s remainder is dropped
        (10.0, 2.0, 2.0, 3, 5, 3),     # capped
        (5.5, 2.0, 1.0, 0, 4, 4),      # overlapping hop: floor((5.5 - 2) / 1) + 1
        (1.5, 2.0, 2.0, 0, 0, 0),      # shorter than one clip
    ]
    for seconds, clip, hop, cap, grid, kept in cases:
        path = tmp_path / f"{seconds}.flac"
        sf.write(path, tone(seconds), SAMPLING_RATE, subtype="PCM_16")
        scan = scan_video(path, round(clip * SAMPLING_RATE), round(hop * SAMPLING_RATE), cap, -50)
        assert (scan.grid_clips, len(scan.starts)) == (grid, kept), seconds
        assert scan.total_samples == round(seconds * SAMPLING_RATE)
    assert list(grid_starts(16000 * 5, 16000, 16000)) == [0, 16000, 32000, 48000, 64000]


def test_silent_clips_dropped_and_cap_spreads_evenly(tmp_path):
    samples = np.concatenate([np.zeros(3 * SAMPLING_RATE, np.float32), tone(7.0)])  # 3 s digital silence intro
    path = tmp_path / "intro.flac"
    sf.write(path, samples, SAMPLING_RATE, subtype="PCM_16")
    scan = scan_video(path, SAMPLING_RATE, SAMPLING_RATE, 0, -50)
    assert (scan.grid_clips, scan.silent_clips) == (10, 3)
    assert scan.starts == tuple(s * SAMPLING_RATE for s in range(3, 10))
    capped = scan_video(path, SAMPLING_RATE, SAMPLING_RATE, 3, -50)
    # 7 loud clips, 3 wanted: the centres of three equal parts (never biased to the start)
    assert capped.starts == tuple(SAMPLING_RATE * (3 + i) for i in (1, 3, 5))
    assert capped.over_cap_clips == 4
    assert pick_evenly(10, 10) == list(range(10)) and pick_evenly(3, 0) == [0, 1, 2]


def test_dataset_clip_counts_match_durations(tmp_path):
    raw = make_raw(tmp_path / "raw", {"a": [3.0, 2.5, 4.9], "b": [1.0, 2.0, 3.7]})
    stats = prepare_dataset(raw=[str(raw)], out=str(tmp_path / "ds"), clip_seconds=1.0, max_clips_per_video=0,
                            split="0.34,0.33,0.33", balance="none", train_clip_seconds=1.0)   # clips in train too
    dataset = load_prepared(str(tmp_path / "ds"))
    per_video = {}
    for split in SPLITS:
        for row in dataset[split]:
            per_video[row["video_id"]] = per_video.get(row["video_id"], 0) + 1
            assert len(clip_array(row["audio"])) == SAMPLING_RATE and row["duration_s"] == 1.0
    assert per_video == {"a000vid": 3, "a001vid": 2, "a002vid": 4, "b000vid": 1, "b001vid": 2, "b002vid": 3}
    assert stats.dropped.clips["short_remainder"] == 3  # 2.5, 4.9 and 3.7 s leave a remainder


# ---------------------------------------------------------------- splits -------------------------------------

def _sides(splits, videos):
    """{group: set of splits it sits in} over the splits' videos."""
    sides = {}
    for split in SPLITS:
        for ids in splits[split].values():
            for vid in ids:
                sides.setdefault(videos[vid][1], set()).add(split)
    return sides


@settings(max_examples=80, deadline=None)
@given(
    counts=st.dictionaries(st.sampled_from(["art", "food", "history", "music", "travel"]),
                           st.integers(min_value=3, max_value=40), min_size=2, max_size=5),
    fractions=st.sampled_from([(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (0.5, 0.5, 0.0), (0.34, 0.33, 0.33)]),
    seed=st.integers(0, 10_000),
    balance=st.booleans(),
)
def test_no_video_in_two_splits_property(counts, fractions, seed, balance):
    # every video its own group (--group-by video): the split sizes are exact
    videos = {f"{c}-{i}": (c, f"{c}-{i}") for c, n in counts.items() for i in range(n)}
    splits, dropped = split_groups(videos, fractions, seed, balance)
    seen = [vid for split in SPLITS for ids in splits[split].values() for vid in ids]
    assert len(seen) == len(set(seen)), "a video landed in two splits"
    assert sorted(seen + dropped) == sorted(videos)
    smallest = min(counts.values())
    for c, n in counts.items():
        # the promise, checked without split_sizes (the function under test): each class's sizes add up to its
        # videos (or the smallest class's, balanced), each non-empty split gets a video, and where every non-empty
        # split's share is at least one video, each size is within one video of n * fraction
        n = smallest if balance else n
        sizes = [len(splits[split][c]) for split in SPLITS]
        assert sum(sizes) == n and all((size >= 1) == (f > 0) for size, f in zip(sizes, fractions)), (c, sizes)
        if all(n * f >= 1 for f in fractions if f > 0):
            assert all(abs(size - n * f) < 1 for size, f in zip(sizes, fractions)), (c, sizes, n)
    rng = np.random.default_rng(seed)
    clips = {c: {vid: int(rng.integers(1, 6)) for vid in splits["test"][c]} for c in counts}
    if all(clips.values()):
        kept_clips = equalize_clips(clips)
        totals = {sum(v.values()) for v in kept_clips.values()}
        assert totals == {min(sum(v.values()) for v in clips.values())}
        assert all(kept_clips[c][v] <= clips[c][v] for c in clips for v in clips[c])


@st.composite
def grouped_listings(draw):
    """Classes of 6-60 videos in channels of skewed sizes (one may hold half a class), some spanning two classes."""
    classes = draw(st.lists(st.sampled_from(["art", "food", "history", "travel"]), min_size=2, max_size=4,
                            unique=True))
    videos = {}
    for c in classes:
        sizes = draw(st.lists(st.integers(1, 12), min_size=3, max_size=12))
        for g, size in enumerate(sizes):
            for i in range(size):
                videos[f"{c}-{g}-{i}"] = (c, f"{c}-ch{g}")
    shared = draw(st.integers(0, 3))  # a few videos of a channel of another class: channels spanning classes
    for i in range(shared):
        videos[f"x-{i}"] = (classes[i % len(classes)], f"{classes[(i + 1) % len(classes)]}-ch0")
    return videos


@settings(max_examples=120, deadline=None)
@given(videos=grouped_listings(), fractions=st.sampled_from([(0.8, 0.1, 0.1), (0.6, 0.2, 0.2), (0.5, 0.5, 0.0)]),
       seed=st.integers(0, 10_000), balance=st.booleans(), cap=st.sampled_from([0, 3, 10]))
def test_no_channel_in_two_splits_property(videos, fractions, seed, balance, cap):
    capped, over_cap = cap_groups(videos, cap, seed)
    splits, dropped = split_groups(capped, fractions, seed, balance)  # >= 3 channels per class: always possible
    sides = _sides(splits, videos)
    assert all(len(s) == 1 for s in sides.values()), {g: s for g, s in sides.items() if len(s) > 1}
    seen = [vid for split in SPLITS for ids in splits[split].values() for vid in ids]
    assert sorted(seen + dropped + over_cap) == sorted(videos) and len(seen) == len(set(seen))
    if cap:
        assert max(Counter(g for _, g in capped.values()).values()) <= cap
    for split, fraction in zip(SPLITS, fractions):
        sizes = [len(ids) for ids in splits[split].values()]
        assert (min(sizes) >= 1) == (fraction > 0), (split, sizes)
        if balance:
            assert len(set(sizes)) == 1, f"{split}: unequal videos per class {sizes}"
    assert split_groups(capped, fractions, seed, balance) == (splits, dropped), "not deterministic for a seed"


def test_big_channel_is_capped_and_never_lands_in_test():
    # the listing's worst case: one channel holds 56 of a class's videos (CrashCourse in the real listing)
    videos = {f"hist-big-{i}": ("history", "CrashCourse") for i in range(56)}
    videos.update({f"hist-{i}": ("history", f"hist-ch{i // 2}") for i in range(120)})
    videos.update({f"food-{i}": ("food", f"food-ch{i // 3}") for i in range(200)})
    uncapped, _ = split_groups(videos, (0.8, 0.1, 0.1), 0, balance=True)
    big_in = {s for s in SPLITS if any(v.startswith("hist-big") for v in uncapped[s]["history"])}
    assert big_in <= {"train"}, "a 56-video channel must not swamp a 17-video test split"
    capped, over_cap = cap_groups(videos, 10, 0)
    assert len(over_cap) == 46 and all(v.startswith("hist-big") for v in over_cap)
    splits, _ = split_groups(capped, (0.8, 0.1, 0.1), 0, balance=True)
    train = splits["train"]["history"]
    assert sum(v.startswith("hist-big") for v in train) <= 10
    assert {len(splits[s]["history"]) for s in SPLITS} != {0} and len(train) == len(splits["train"]["food"])
    assert cap_groups(videos, 10, 0) == (capped, over_cap) and cap_groups(videos, 10, 1)[1] != over_cap


def test_what_the_split_does_not_promise_with_channels():
    """docs/prepare.md's example, so the documented limit stays true (bug caught: the doc promised that a big
    channel never swamps a small split, which greedy placement cannot keep). One class: a 32-video channel, a
    5-video channel and 3 single videos at 0.8/0.1/0.1 (targets 32/4/4): validation is the 5-video channel."""
    videos = {f"big{i}": ("c", "big") for i in range(32)}
    videos.update({f"mid{i}": ("c", "mid") for i in range(5)})
    videos.update({f"one{i}": ("c", f"single{i}") for i in range(3)})
    splits, _ = split_groups(videos, (0.8, 0.1, 0.1), 0, balance=False)
    assert {s: len(splits[s]["c"]) for s in SPLITS} == {"train": 32, "validation": 5, "test": 3}
    assert set(splits["validation"]["c"]) == {f"mid{i}" for i in range(5)}


def test_split_sizes_and_too_few_videos_error():
    assert split_sizes(109, (0.8, 0.1, 0.1)) == (87, 11, 11)
    assert split_sizes(3, (0.8, 0.1, 0.1)) == (1, 1, 1)
    one_each = {"a": ("food", "a"), "b": ("food", "b"), "c": ("music", "c"), "d": ("music", "d"), "e": ("music", "e")}
    with pytest.raises(TooFewVideos, match=r"class 'food' has 2 usable video\(s\).*at least 3"):
        split_groups(one_each, (0.8, 0.1, 0.1), 0, balance=False)
    two_channels = {**{k: (c, "X") for k, (c, _) in one_each.items() if c == "music"},
                    "f": ("music", "Y"), "a": ("food", "a"), "b": ("food", "b"), "g": ("food", "g")}
    with pytest.raises(TooFewVideos, match=r"class 'music' has 4 usable video\(s\) in 2 group.*--group-by video"):
        split_groups(two_channels, (0.8, 0.1, 0.1), 0, balance=False)
    with pytest.raises(TooFewVideos, match=r"class 'travel' has 0 usable video"):  # every video of it unreadable
        split_groups(one_each, (0.5, 0.5, 0.0), 0, balance=True, classes=["food", "music", "travel"])


def test_too_few_videos_stops_the_build_naming_the_class(tmp_path):
    raw = make_raw(tmp_path / "raw", {"food": [2, 2, 2], "music": [2, 2]})
    with pytest.raises(TooFewVideos, match=r"'music' has 2 usable.*at least 3"):
        prepare_dataset(raw=[str(raw)], out=str(tmp_path / "ds"), clip_seconds=1.0)
    assert not (tmp_path / "ds").exists()


def test_balanced_validation_and_test(built):
    base, _, _, stats = built
    dataset = load_prepared(str(base / "ds"))
    names = dataset["train"].features["label"].names
    assert names == sorted(SPEC)
    for split in SPLITS:
        videos = {}
        for row in dataset[split]:
            videos.setdefault(names[row["label"]], set()).add(row["video_id"])
        assert {len(v) for v in videos.values()} == {stats.splits[split]["food"].videos}  # equal videos
    for split in ("validation", "test"):
        labels = np.bincount(dataset[split]["label"], minlength=len(names))
        assert len(set(labels)) == 1 and labels[0] > 0, f"{split} clips per class {labels}"
    all_ids = [set(dataset[s]["video_id"]) for s in SPLITS]
    assert not (all_ids[0] & all_ids[1] or all_ids[0] & all_ids[2] or all_ids[1] & all_ids[2])
    assert stats.dropped.videos["balance_undersampled"] == 7 - 5 + 6 - 5
    assert stats.dropped.clips["balance_clips"] > 0


def test_videos_table_carries_title_and_cleaned_description_once_per_video(built):
    base, _, _, stats = built
    records = list(read_jsonl(base / "ds" / "prepare_videos.jsonl"))
    dataset = load_prepared(str(base / "ds"))
    assert sorted(r["video_id"] for r in records) == sorted({v for s in SPLITS for v in dataset[s]["video_id"]})
    for record in records:
        assert record["title"] == f"title of {record['video_id']}"
        assert record["description"] == f"about {record['video_id']}"  # channel, count, buttons stripped
    assert "description" not in dataset["train"].column_names  # text lives per video, not in every clip row


def test_same_seed_same_hash_other_seed_other_hash(built, tmp_path):
    _, raw, config, stats = built
    again = prepare_dataset(out=str(tmp_path / "again"), **config)
    other = prepare_dataset(out=str(tmp_path / "other"), **{**config, "seed": 1})
    assert again.content_sha256 == stats.content_sha256
    assert other.content_sha256 != stats.content_sha256


# ---------------------------------------------------------------- inputs -------------------------------------

def test_corrupt_empty_missing_files_are_skipped_with_reasons(tmp_path):
    raw = make_raw(tmp_path / "raw", {"food": [2, 2, 2], "music": [2, 2, 2]})
    good = encode_flac(tone(3.0))
    add_video(raw, "corruptvid1", "food", 3, data=b"this is not audio at all" * 40)
    add_video(raw, "emptyvideo1", "food", 3, data=b"")
    add_video(raw, "truncated01", "music", 3, data=good[: len(good) // 3])
    add_video(raw, "silentvideo", "music", 3, samples=np.zeros(3 * SAMPLING_RATE, np.float32))
    add_video(raw, "shortvideo1", "music", 0.5)
    add_video(raw, "missingfile", "food", 3)
    (raw / "audio" / "missingfile.flac").unlink()
    add_video(raw, "privatevid1", "food", 3, status="private")
    stats = prepare_dataset(raw=[str(raw)], out=str(tmp_path / "ds"), clip_seconds=1.0, balance="none")
    reasons = {d.item: d.reason for d in stats.dropped_examples}
    assert reasons == {"corruptvid1": "unreadable", "emptyvideo1": "empty_file", "truncated01": "unreadable",
                       "silentvideo": "silent", "shortvideo1": "too_short", "missingfile": "missing_file",
                       "privatevid1": "download_private"}
    dataset = load_prepared(str(tmp_path / "ds"))
    assert sum(sum(dataset[s]["duration_s"]) for s in SPLITS) == 6 * 2      # 2 s of each of the 6 good videos


def test_missing_and_empty_manifest_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nothing" / "manifest.jsonl")):
        prepare_dataset(raw=[str(tmp_path / "nothing")], out=str(tmp_path / "ds"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "manifest.jsonl").write_text("")
    with pytest.raises(ValueError, match=r"empty/manifest.jsonl: the manifest is empty"):
        prepare_dataset(raw=[str(tmp_path / "empty")], out=str(tmp_path / "ds"))


def test_shards_merge_later_record_wins_and_duplicates_count_once(tmp_path):
    shard1 = make_raw(tmp_path / "s1", {"food": [2, 2]})
    shard2 = make_raw(tmp_path / "s2", {"food": [2]})  # food000vid again: same id in two shards
    add_video(shard2, "late0000001", "music", 2, status="http_429")
    add_video(shard2, "late0000001", "music", 2)       # a retry that succeeded supersedes the failure
    videos, dropped, manifests = read_download_dirs([shard1, shard2])
    assert [v.video_id for v in videos] == ["food000vid", "food001vid", "late0000001"]
    assert dropped == []                                 # a video in two shards is one video, not a dropped one
    assert [m.records for m in manifests] == [2, 2]


def test_one_precedence_rule_across_folders_for_prepare_and_eval(tmp_path):
    """Bug caught: an id that failed in one download folder and succeeded in another was used by prepare *and*
    counted as dropped; prepare kept the first folder's record and eval's download table the last. One rule now
    (common.contract): within a folder the last record wins, across folders ok beats a failure, then the latest
    finished_at; prepare and eval read the same record."""
    from common.contract import latest_download_records
    from evaluation.inputs import read_downloads

    a, b = tmp_path / "a", tmp_path / "b"
    add_video(a, "okThenFail1", "food", 2, finished_at="2026-01-01T10:00:00+00:00")
    add_video(b, "okThenFail1", "food", 2, status="network", finished_at="2026-01-02T10:00:00+00:00")
    add_video(a, "failThenOk1", "music", 2, status="private", finished_at="2026-01-02T10:00:00+00:00")
    add_video(b, "failThenOk1", "music", 2, finished_at="2026-01-01T10:00:00+00:00")
    add_video(a, "twoOks00001", "music", 2, finished_at="2026-01-03T10:00:00+00:00")
    add_video(b, "twoOks00001", "travel", 2, finished_at="2026-01-01T10:00:00+00:00")   # older: a's record counts
    add_video(a, "twoFails001", "food", 2, status="network", finished_at="2026-01-01T10:00:00+00:00")
    add_video(b, "twoFails001", "food", 2, status="private", finished_at="2026-01-05T10:00:00+00:00")
    for order in ([a, b], [b, a]):                       # the folder order does not change which record counts
        found = latest_download_records(order)
        assert {k: (f.directory.name, f.record.status) for k, f in found.items()} == {
            "okThenFail1": ("a", "ok"), "failThenOk1": ("b", "ok"), "twoOks00001": ("a", "ok"),
            "twoFails001": ("b", "private")}
        videos, dropped, _ = read_download_dirs(order)
        assert {v.video_id: v.category for v in videos} == {"okThenFail1": "food", "failThenOk1": "music",
                                                             "twoOks00001": "music"}
        assert [(d.item, d.reason) for d in dropped] == [("twoFails001", "download_private")]
        report, _ = read_downloads([str(d) for d in order])
        assert {c: (e.ok, e.failed) for c, e in report.per_category.items()} == {
            "food": (1, 1), "music": (2, 0)}


def test_audiofolder_any_format_rate_channels(tmp_path):
    root = tmp_path / "sounds"
    for label, rate, channels, ext in (("cat", 44_100, 2, "wav"), ("cat", 22_050, 1, "ogg"), ("cat", 16_000, 1, "flac"),
                                       ("dog", 48_000, 2, "flac"), ("dog", 8_000, 1, "wav"), ("dog", 16_000, 2, "wav")):
        folder = root / label / ("nested" if ext == "ogg" else "")
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"{label} {rate}.{ext}", tone(2.5, sampling_rate=rate, channels=channels), rate)
    (root / "dog" / "notes.txt").write_text("not audio")
    stats = prepare_dataset(audiofolder=str(root), out=str(tmp_path / "ds"), clip_seconds=1.0,
                            split="0.34,0.33,0.33", balance="none")
    assert stats.dropped.videos == {"not_audio": 1}
    dataset = load_prepared(str(tmp_path / "ds"))
    rows = [row for split in SPLITS for row in dataset[split]]
    # 2.5 s -> exactly 40,000 samples at 16 kHz -> two 1-s clips each (in train: one 2-s row)
    assert sum(row["duration_s"] for row in rows) == 6 * 2
    assert all(len(clip_array(row["audio"])) == row["duration_s"] * SAMPLING_RATE for row in rows)
    assert dataset["train"].features["label"].names == ["cat", "dog"]
    assert safe_id("cat/nested/cat 22050.ogg") in {row["video_id"] for row in rows}
    assert stats.inputs.hours_scanned == pytest.approx(6 * 2.5 / 3600, abs=1e-6)


def test_train_rows_longer_than_clips_keep_the_same_seconds_per_video(tmp_path):
    """Issue 20 item 2: with 10-s clips and 10-s crops every epoch saw the same audio. The train split now has
    longer rows (new random crops each epoch), by default 3 clips long (--train-clip-seconds), holding the same
    seconds per video as the clips would (the --max-clips-per-video cap in seconds), while validation and test keep
    --clip-seconds. A video shorter than one row keeps its audio as one shorter row; --train-clip-seconds equal to
    --clip-seconds gives the train split plain clips."""
    root = tmp_path / "sounds"
    for label, freq in (("cat", 300.0), ("dog", 900.0)):
        (root / label).mkdir(parents=True)
        for index in range(4):
            seconds = 2.5 if (label, index) == ("dog", 0) else 12.0
            sf.write(root / label / f"{label}{index}.wav", tone(seconds, freq=freq, seed=index), SAMPLING_RATE)
    common = dict(audiofolder=str(root), clip_seconds=1.0, max_clips_per_video=6, split="0.5,0.25,0.25", seed=0,
                  balance="none")
    clips = prepare_dataset(out=str(tmp_path / "clips"), train_clip_seconds=1.0, **common)
    rows = prepare_dataset(out=str(tmp_path / "rows"), **common)                  # the default: 3 x --clip-seconds
    assert rows.build.train_row_seconds == 3.0 and rows.config["train_clip_seconds"] == 3.0
    assert set(load_prepared(str(tmp_path / "clips"))["train"]["duration_s"]) == {1.0}
    by_clips, by_rows = load_prepared(str(tmp_path / "clips")), load_prepared(str(tmp_path / "rows"))
    for split in ("validation", "test"):
        assert by_rows[split]["start_s"] == by_clips[split]["start_s"] and set(by_rows[split]["duration_s"]) == {1.0}
    train_ids = set(by_rows["train"]["video_id"])
    assert train_ids == set(by_clips["train"]["video_id"]) and safe_id("dog/dog0.wav") in train_ids   # seed 0
    for vid in train_ids:
        lengths = [d for d, v in zip(by_rows["train"]["duration_s"], by_rows["train"]["video_id"]) if v == vid]
        if vid == safe_id("dog/dog0.wav"):
            assert lengths == [2.0]                          # 2.5 s: shorter than one row, its two clips' audio
        else:
            assert lengths == [3.0, 3.0]                     # 6 clips of 1 s = 6 s = two rows of 3 s
    assert all(len(clip_array(r["audio"])) == round(r["duration_s"] * SAMPLING_RATE) for r in by_rows["train"])
    assert rows.splits["train"]["cat"].hours == clips.splits["train"]["cat"].hours
    with pytest.raises(ValueError, match="--train-clip-seconds must be >= --clip-seconds"):
        PrepareConfig(out="x", train_clip_seconds=0.5, **common)


def test_resampled_length_exact_for_44k_stereo(tmp_path):
    from prepare.build import stream_path
    from prepare.sources import VideoSource

    src = tmp_path / "in.wav"
    sf.write(src, tone(2.5, sampling_rate=44_100, channels=2), 44_100)
    converted = stream_path(VideoSource("v", "c", "", src), tmp_path)
    info = sf.info(str(converted))
    assert (info.frames, info.samplerate, info.channels) == (40_000, SAMPLING_RATE, 1)


# ---------------------------------------------------------------- outputs ------------------------------------

def test_fresh_process_loads_and_decodes(built):
    base = built[0]
    code = ("import sys; sys.path.insert(0, sys.argv[2]); from common.data import load_prepared, clip_array; "
            "d = load_prepared(sys.argv[1]); a = clip_array(d['test'][0]['audio']); "
            "print(len(a), a.dtype, d['test'].features['label'].names, d['test'][0]['audio']['path'])")
    out = subprocess.run([sys.executable, "-c", code, str(base / "ds"), str(ROOT)], capture_output=True, text=True,
                         check=True, cwd=base).stdout.split()
    assert out[:2] == ["16000", "float32"] and out[-1].endswith(".flac")


def test_stats_card_and_resume(built, tmp_path, monkeypatch):
    base, raw, config, stats = built
    saved = PrepareStats.read(base / "ds" / "prepare_stats.json")
    assert saved == stats and saved.build.max_clips_per_video == 4
    dataset = load_prepared(str(base / "ds"))        # the stats describe the dataset on disk, counted here
    for split in SPLITS:
        assert sum(c.clips for c in saved.splits[split].values()) == len(dataset[split])
        assert sum(c.videos for c in saved.splits[split].values()) == len(set(dataset[split]["video_id"]))
    assert set(saved.versions) >= {"datasets", "pyarrow", "soundfile", "numpy"}
    assert saved.inputs.manifests[0].sha256 and saved.inputs.source_files_sha256
    card = (base / "ds" / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert header["task_categories"] == ["audio-classification"]
    assert f"| test | food | {stats.splits['test']['food'].videos} |" in card
    assert DatasetBuild.from_json(header["ytac_build"]) == stats.build       # the card carries the build record

    # an interrupted build leaves no complete-looking output, and the next run finishes it
    import prepare.build as build

    out = tmp_path / "ds"

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(build, "_replace_atomically", crash)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(out=str(out), **config)
    assert not out.exists()
    monkeypatch.undo()
    first = prepare_dataset(out=str(out), **config)
    assert first.content_sha256 == stats.content_sha256
    stamp = (out / "prepare_stats.json").stat().st_mtime_ns
    assert prepare_dataset(out=str(out), **config).content_sha256 == stats.content_sha256
    assert (out / "prepare_stats.json").stat().st_mtime_ns == stamp, "a finished dataset was rebuilt"
    with pytest.raises(FileExistsError, match="seed"):
        prepare_dataset(out=str(out), **{**config, "seed": 3})
    rebuilt = prepare_dataset(out=str(out), **{**config, "seed": 3, "overwrite": True})
    assert rebuilt.content_sha256 != stats.content_sha256

    # new downloads since the build: the finished dataset is not silently reused
    shutil.copytree(raw, tmp_path / "raw2")
    moved = {**config, "raw": [str(tmp_path / "raw2")]}
    prepare_dataset(out=str(tmp_path / "ds2"), **moved)
    with open(tmp_path / "raw2" / "manifest.jsonl", "a") as handle:
        handle.write(json.dumps({"id": "new-video", "status": "not_found", "category": "food"}) + "\n")
    with pytest.raises(FileExistsError, match=r"raw2/manifest.jsonl, which has changed since .*--overwrite"):
        prepare_dataset(out=str(tmp_path / "ds2"), **moved)


def test_a_kill_between_the_two_renames_of_overwrite_loses_no_dataset(built, tmp_path, monkeypatch):
    """Bug caught: --overwrite renamed the finished dataset to .OUT.old, then moved the new one in; a kill between
    the two left no OUT, and the next run deleted .OUT.old: the previous dataset was lost. Now the next run puts a
    finished dataset back (the new one when it was complete), and a kill in the window never loses both."""
    import os as os_module

    import prepare.build as build

    base, raw, config, stats = built
    out = tmp_path / "ds"
    prepare_dataset(out=str(out), **config)
    real_replace, calls = os_module.replace, []

    def killed_before_the_second_rename(src, dst):
        if Path(dst).parent != tmp_path:     # the writer's own renames inside the staging folder
            return real_replace(src, dst)
        calls.append((Path(src).name, Path(dst).name))
        if len(calls) == 2:
            raise KeyboardInterrupt          # after OUT -> .OUT.old, before .OUT.partial -> OUT
        real_replace(src, dst)

    monkeypatch.setattr(build.os, "replace", killed_before_the_second_rename)
    with pytest.raises(KeyboardInterrupt):
        prepare_dataset(out=str(out), **{**config, "seed": 5, "overwrite": True})
    monkeypatch.undo()
    assert calls == [("ds", ".ds.old"), (".ds.partial", "ds")]
    assert not out.exists() and (tmp_path / ".ds.old").is_dir()          # the window the bug lived in

    def no_rebuild(*args, **kwargs):
        raise AssertionError("a finished dataset was on disk: it must be put back, not rebuilt (or lost)")

    monkeypatch.setattr(build, "_build", no_rebuild)
    # the new dataset was complete: the next run finishes the swap and reuses it
    again = prepare_dataset(out=str(out), **{**config, "seed": 5})
    assert again.build.seed == 5 and not (tmp_path / ".ds.old").exists()
    assert load_prepared(str(out))["train"].num_rows > 0
    # without a finished new one (killed before it was complete), the previous dataset comes back
    os_module.replace(out, tmp_path / ".ds.old")
    kept = prepare_dataset(out=str(out), **{**config, "seed": 5})
    assert kept.content_sha256 == again.content_sha256 and not (tmp_path / ".ds.old").exists()


def test_a_finished_audiofolder_dataset_is_not_reused_after_its_files_change(tmp_path):
    """Bug caught: only download manifests were fingerprinted, so a finished --audiofolder dataset was silently
    reused after files were added, replaced or removed. Paths, sizes and modification times are now recorded."""
    root = tmp_path / "sounds"
    for label in ("cat", "dog"):
        for i in range(3):
            (root / label).mkdir(parents=True, exist_ok=True)
            sf.write(root / label / f"{i}.wav", tone(2.0, freq=300 + 200 * i + (label == "dog") * 90), SAMPLING_RATE)
    config = dict(audiofolder=str(root), out=str(tmp_path / "ds"), clip_seconds=1.0, split="0.34,0.33,0.33")
    first = prepare_dataset(**config)
    assert prepare_dataset(**config).content_sha256 == first.content_sha256          # unchanged: reused
    sf.write(root / "cat" / "0.wav", tone(2.0, freq=1234), SAMPLING_RATE)           # a file replaced
    with pytest.raises(FileExistsError, match=r"--audiofolder .*sounds, whose files have changed.*--overwrite"):
        prepare_dataset(**config)
    rebuilt = prepare_dataset(**config, overwrite=True)
    assert rebuilt.content_sha256 != first.content_sha256
    (root / "dog" / "2.wav").unlink()                                                 # a file removed
    with pytest.raises(FileExistsError, match="6 files then, 5 now"):
        prepare_dataset(**config)


def test_push_to_hub_uploads_the_folder_that_load_dataset_reads(built, monkeypatch, tmp_path):
    """The prepared folder is the Hub's dataset layout: publishing uploads its files as they are (a FAKE
    upload_folder copies them into a stand-in repo, deleting first what ``delete_patterns`` names and the upload
    does not replace, as huggingface_hub does), and datasets' public ``load_dataset`` reads that repo with the
    project's features and every row, as it reads the local folder. Bug caught (issue 29): a re-push left the
    shards of an earlier, larger build on the Hub, which load_dataset then read as part of the dataset."""
    import fnmatch

    from datasets import load_dataset
    from huggingface_hub import HfApi

    calls, repo = {}, tmp_path / "hub-repo"

    def fake_create_repo(self, repo_id, **kwargs):
        calls["create_repo"] = (repo_id, kwargs.get("repo_type"))

    def fake_upload_folder(self, folder_path, repo_id, allow_patterns, delete_patterns=(), **kwargs):
        calls["upload_folder"] = (repo_id, kwargs.get("repo_type"))
        uploaded = {p.relative_to(folder_path).as_posix() for p in Path(folder_path).rglob("*") if p.is_file()}
        for path in list(repo.rglob("*")):
            relative = path.relative_to(repo).as_posix()
            if path.is_file() and relative not in uploaded and any(fnmatch.fnmatch(relative, pattern)
                                                                      for pattern in delete_patterns):
                path.unlink()
        for path in Path(folder_path).rglob("*"):
            relative = path.relative_to(folder_path).as_posix()
            if path.is_file() and any(fnmatch.fnmatch(relative, pattern) for pattern in allow_patterns):
                (repo / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, repo / relative)

    monkeypatch.setattr(HfApi, "create_repo", fake_create_repo)
    monkeypatch.setattr(HfApi, "upload_folder", fake_upload_folder)
    base, _, config, stats = built
    stale = repo / "data" / "train-00001-of-00002.parquet"          # a shard of an earlier push
    stale.parent.mkdir(parents=True)
    shutil.copyfile(next((base / "ds" / "data").glob("train-*.parquet")), stale)
    prepare_dataset(out=str(base / "ds"), push_to_hub="me/yt-audio", **config)
    assert not stale.exists()
    assert calls == {"create_repo": ("me/yt-audio", "dataset"), "upload_folder": ("me/yt-audio", "dataset")}
    card = (repo / "README.md").read_text()
    header = yaml.safe_load(card.split("---")[1])
    assert header["size_categories"] == ["n<1K"] and header["configs"][0]["data_files"][0]["path"] == "data/train-*.parquet"
    assert stats.content_sha256 in card and "Split by channel" in card and "no channel and no video is in two splits" in card
    assert sorted(p.name for p in repo.iterdir()) == ["README.md", "data", "prepare_stats.json", "prepare_videos.jsonl"]
    hub = load_dataset(str(repo))
    local = load_prepared(str(base / "ds"))
    clips = {s: stats.split_clips(s) for s in SPLITS}
    assert {s: len(hub[s]) for s in SPLITS} == {s: len(local[s]) for s in SPLITS} == clips
    assert hub["train"].features["label"].names == stats.class_names == local["train"].features["label"].names
    assert hub["train"].features["audio"].sampling_rate == SAMPLING_RATE
    assert hub["test"][0]["video_id"] == local["test"][0]["video_id"]


def test_cli_flags_reach_the_config(tmp_path, capsys):
    raw = make_raw(tmp_path / "raw", {"a": [2, 2, 2], "b": [3, 3, 3]})
    code = cli_main(["--raw", str(raw), "--out", str(tmp_path / "ds"), "--clip-seconds", "1", "--hop-seconds", "0.5",
                     "--max-clips-per-video", "2", "--min-rms-db", "-60", "--split", "0.34,0.33,0.33", "--seed", "5",
                     "--balance", "none", "--group-by", "video", "--max-videos-per-group", "3", "--merge-label-case",
                     "--audiofolder-groups", "file"])
    assert code == 0
    assert "train/a" in capsys.readouterr().out
    config = json.loads((tmp_path / "ds" / "prepare_stats.json").read_text())["config"]
    assert config == {**PrepareConfig(raw=[str(raw)], out=str(tmp_path / "ds"), clip_seconds=1.0, hop_seconds=0.5,
                                      max_clips_per_video=2, min_rms_db=-60.0, split="0.34,0.33,0.33", seed=5,
                                      balance="none", group_by="video", max_videos_per_group=3,
                                      merge_label_case=True, audiofolder_groups="file").to_dict()}
    for flags, message in ((["--group-by", "uploader"], "--group-by: invalid choice: 'uploader'"),
                           (["--max-videos-per-group", "-1"], "--max-videos-per-group must be >= 0"),
                           (["--audiofolder-groups", "folders"], "--audiofolder-groups must be one of")):
        assert cli_main(["--raw", str(raw), "--out", str(tmp_path / "z"), *flags]) == 2
        assert message in capsys.readouterr().err
    assert cli_main(["--raw", str(tmp_path / "missing"), "--out", str(tmp_path / "x")]) == 2
    assert cli_main(["--raw", str(raw), "--out", str(tmp_path / "y"), "--split", "0.5,0.6,0.1"]) == 2
    assert "python -m prepare: error: --split must be three fractions" in capsys.readouterr().err


# ---------------------------------------------------------------- channels and groups -------------------------

def make_channel_raw(raw: Path) -> Path:
    """Three classes; channels of 2-4 videos given three ways: yt-dlp's channel_id, only the listing's channel name,
    or nothing (each such video is its own group)."""
    for category in ("food", "music", "travel"):
        for c in range(5):
            for i in range(2 + c % 3):
                vid = f"{category[:2]}{c}{i}ch"
                if c < 2:
                    add_video(raw, vid, category, 2, channel_id=f"UC{category}{c}", channel=f"{category} chan {c}",
                              listing_channel=f"{category} chan {c}")
                elif c < 4:
                    add_video(raw, vid, category, 2, listing_channel=f"{category} listed {c}")
                else:
                    add_video(raw, vid, category, 2)
    return raw


def channel_sides(dataset) -> dict[str, set]:
    sides = {}
    for split in SPLITS:
        for channel in dataset[split]["channel"]:
            sides.setdefault(channel, set()).add(split)
    return sides


def test_channel_disjoint_split_end_to_end(tmp_path):
    raw = make_channel_raw(tmp_path / "raw")
    config = dict(raw=[str(raw)], clip_seconds=1.0, split="0.34,0.33,0.33", seed=3, max_videos_per_group=3)
    stats = prepare_dataset(out=str(tmp_path / "by_channel"), **config)
    dataset = load_prepared(str(tmp_path / "by_channel"))
    sides = channel_sides(dataset)
    shared = {channel: s for channel, s in sides.items() if channel and len(s) > 1}
    assert not shared, f"channels in two splits: {shared}"
    grouping = stats.grouping
    # per class: channels of 2 and 3 videos with channel_id, of 4 and 2 with only the listing's name, 3 videos
    # without a channel; the 4-video channel loses one to the cap of 3
    assert grouping.group_source_counts == {"channel_id": 15, "listing_channel": 18, "video": 9}
    assert (grouping.group_by, grouping.max_videos_per_group, grouping.videos_dropped_by_cap) == \
        ("channel", 3, 3)
    assert stats.dropped.videos["group_capped"] == 3
    records = list(read_jsonl(tmp_path / "by_channel" / "prepare_videos.jsonl"))
    for record in records:
        expected_channel = {"0": "food chan 0", "1": "food chan 1", "2": "food listed 2", "3": "food listed 3",
                            "4": ""}[record["video_id"][2]] if record["video_id"].startswith("fo") else None
        if expected_channel is not None:
            assert record["channel"] == expected_channel, record
        assert record["group"].startswith({"0": "channel_id:", "1": "channel_id:", "2": "listing_channel:",
                                           "3": "listing_channel:", "4": "video:"}[record["video_id"][2]])
    groups = {}
    for record in records:
        groups.setdefault(record["group"], set()).add(record["split"])
    assert all(len(s) == 1 for s in groups.values())
    group_of = {record["video_id"]: record["group"] for record in records}       # every row carries its split key
    assert all(group_of[v] == g for split in SPLITS for v, g in zip(dataset[split]["video_id"], dataset[split]["group"]))

    # the same videos split by video only: some channel ends up on two sides (what the channel split prevents)
    by_video = prepare_dataset(out=str(tmp_path / "by_video"), **{**config, "group_by": "video"})
    assert by_video.grouping.group_source_counts == {"channel_id": 0, "listing_channel": 0, "video": 42}
    assert by_video.grouping.videos_dropped_by_cap == 0
    assert any(c and len(s) > 1 for c, s in channel_sides(load_prepared(str(tmp_path / "by_video"))).items())
    shared = "test_videos_sharing_a_channel_with_train_or_validation"
    assert getattr(grouping, shared) == 0 and getattr(by_video.grouping, shared) > 0
    assert re.search(rf"^test videos sharing a channel with train/validation +{getattr(by_video.grouping, shared)}$",
                     summary_text(by_video), re.M)


def test_listing_channel_joins_the_channel_id_of_the_same_name():
    from prepare.groups import resolve_groups
    from prepare.sources import VideoSource

    videos = [VideoSource("a", "food", "", Path("a"), channel_id="UC1", channel="Mark", listing_channel="Mark"),
              VideoSource("b", "food", "", Path("b"), channel="Mark", listing_channel="Mark"),
              VideoSource("c", "food", "", Path("c"), channel="Anna", listing_channel="Anna"),
              VideoSource("d", "food", "", Path("d"))]
    groups, sources = resolve_groups(videos, "channel")
    assert groups == {"a": "channel_id:UC1", "b": "channel_id:UC1", "c": "listing_channel:Anna", "d": "video:d"}
    assert sources == {"a": "channel_id", "b": "listing_channel", "c": "listing_channel", "d": "video"}
    assert set(resolve_groups(videos, "video")[1].values()) == {"video"}


def test_byte_identical_sources_never_sit_on_two_sides(tmp_path):
    raw = make_raw(tmp_path / "raw", {"food": [2, 2, 2], "music": [2, 2, 2]})
    same = encode_flac(tone(3.0, freq=999, seed=7))
    for vid in ("copyfood01", "copyfood02", "copyfood03"):   # one file under three ids, one label
        add_video(raw, vid, "food", 3, data=same)
    other = encode_flac(tone(3.0, freq=555, seed=8))
    add_video(raw, "clashfood1", "food", 3, data=other)     # one file under two labels: neither can be right
    add_video(raw, "clashmusic", "music", 3, data=other)
    stats = prepare_dataset(raw=[str(raw)], out=str(tmp_path / "ds"), clip_seconds=1.0, balance="none",
                            split="0.34,0.33,0.33")
    ids = {vid for split in SPLITS for vid in load_prepared(str(tmp_path / "ds"))[split]["video_id"]}
    assert {"copyfood01"} == ids & {"copyfood01", "copyfood02", "copyfood03"}
    assert not ids & {"clashfood1", "clashmusic"}
    assert stats.dropped.videos == {"duplicate_source": 2, "duplicate_source_conflicting_labels": 2}
    duplicates = stats.grouping.duplicate_sources
    assert [(d.video_ids, d.kept, d.categories) for d in duplicates] == [
        (["clashfood1", "clashmusic"], None, ["food", "music"]),
        (["copyfood01", "copyfood02", "copyfood03"], "copyfood01", ["food"])]


def test_labels_differing_in_case_or_spaces_are_an_error_or_merged(tmp_path, capsys, caplog):
    raw = make_raw(tmp_path / "raw", {"food": [2, 2, 2], "music": [2, 2, 2]})
    add_video(raw, "upperfood1", "Food", 2)
    add_video(raw, "spacedfood", " food ", 2)
    with pytest.raises(ValueError, match=r"' food ' \(1 videos, e.g. .*manifest.jsonl, id spacedfood\), 'Food' \(1 "
                                         r"videos.*id upperfood1\), 'food' \(3 videos.*--merge-label-case"):
        prepare_dataset(raw=[str(raw)], out=str(tmp_path / "ds"), clip_seconds=1.0)
    assert cli_main(["--raw", str(raw), "--out", str(tmp_path / "ds"), "--clip-seconds", "1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    stats = prepare_dataset(raw=[str(raw)], out=str(tmp_path / "ds"), clip_seconds=1.0, merge_label_case=True,
                            balance="none", split="0.34,0.33,0.33")
    assert stats.class_names == ["food", "music"]
    assert sum(stats.splits[s]["food"].videos for s in SPLITS) == 5
    assert "merging labels" in caplog.text + capsys.readouterr().err  # (the CLI run above set up its own handler)
    # one spelling with stray spaces is no conflict: it is stripped
    lone = make_raw(tmp_path / "lone", {"music": [2, 2, 2]})
    for i in range(3):
        add_video(lone, f"spaced{i}", " food", 2)
    assert prepare_dataset(raw=[str(lone)], out=str(tmp_path / "lone_ds"), clip_seconds=1.0).class_names == \
        ["food", "music"]


def write_tones(root: Path, relative_paths, seconds: float = 2.0) -> None:
    for number, relative in enumerate(relative_paths):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, tone(seconds, seed=number), SAMPLING_RATE, subtype="PCM_16")


def test_audiofolder_groups_from_subfolders_csv_or_none(tmp_path):
    root = tmp_path / "sounds"
    files = [f"{label}/{rec}/{i}.wav" for label in ("cat", "dog") for rec in ("r1", "r2", "r3") for i in range(3)]
    write_tones(root, files)

    def channels_of(name, **kwargs):
        stats = prepare_dataset(audiofolder=str(root), out=str(tmp_path / name), clip_seconds=1.0, balance="none",
                                split="0.34,0.33,0.33", **kwargs)
        return stats, channel_sides(load_prepared(str(tmp_path / name)))

    # default, no groups.csv: nested folders are not groups, every file is its own (no channel recorded)
    stats, sides = channels_of("plain")
    assert set(sides) == {""} and stats.grouping.group_source_counts["video"] == 18
    stats, sides = channels_of("sub", audiofolder_groups="subfolder")
    assert set(sides) == {"r1", "r2", "r3"} and stats.grouping.group_source_counts["audiofolder_group"] == 18
    # one name is one group under every label (the same speaker or room recorded for two classes)
    assert stats.grouping.groups_per_split == {"train": 1, "validation": 1, "test": 1}
    (root / "groups.csv").write_text("path,group\n" + "".join(f"{f},{f.split('/')[0]}-{f[-5]}\n" for f in files))
    stats, sides = channels_of("csv")  # auto: ROOT/groups.csv wins, and is not taken for an audio file
    assert set(sides) == {f"{label}-{i}" for label in ("cat", "dog") for i in "012"}
    records = list(read_jsonl(tmp_path / "csv" / "prepare_videos.jsonl"))
    splits_of = {}
    for record in records:
        splits_of.setdefault(record["group"], set()).add(record["split"])
    assert len(splits_of) == 6 and all(len(s) == 1 for s in splits_of.values())
    (root / "groups.csv").write_text("path,group\ncat/r1/0.wav,a\ncat/nothere.wav,b\n")
    with pytest.raises(ValueError, match=r"groups.csv: 1 row\(s\) name files that are not audio.*'cat/nothere.wav'"):
        channels_of("bad")
    (root / "groups.csv").write_text("path,group\ncat/r1/0.wav,\n")
    with pytest.raises(ValueError, match=r"groups.csv, line 2: expected a path and a group"):
        channels_of("bad2")


def test_contract_lists_every_dropped_reason_the_code_writes():
    """Bug caught: docs/contract.md's list of dropped reasons lacked duplicate_source,
    duplicate_source_conflicting_labels and group_capped. Every constant reason given to ``Dropped`` in prepare/ is
    listed there, and the list names none the code no longer writes."""
    import ast
    import re

    root = Path(__file__).resolve().parents[1]
    written = set()
    for path in (root / "prepare").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Dropped" and len(node.args) > 1:
                reason = node.args[1]
                if isinstance(reason, ast.Constant):
                    written.add(reason.value)
                elif isinstance(reason, ast.JoinedStr):        # f"download_{status}"
                    written.add(reason.values[0].value + "<status>")
    clips = set(re.findall(r'dropped_clips\["([a-z_]+)"\]', (root / "prepare" / "build.py").read_text()))
    assert clips >= {"over_cap", "short_remainder", "balance_clips"}
    text = (root / "docs" / "contract.md").read_text()
    listed = text[text.index("the dropped items\nby reason"):text.index("the first 200 dropped items")]
    documented = set(re.findall(r"`([a-z_<>]+)`", listed))
    assert (written | clips) - documented == set(), "reasons the code writes that docs/contract.md does not list"
    assert documented - written - clips == set(), "reasons docs/contract.md lists that the code no longer writes"


def test_a_dataset_of_the_older_layout_is_not_silently_rebuilt_over(tmp_path):
    """A folder from the earlier save_to_disk writer (dataset_dict.json, no data/ shards) is named as such: prepare
    does not rebuild over it without --overwrite, and the folder still loads."""
    from testing.synthetic import make_prepared_dataset

    load_prepared(make_prepared_dataset(tmp_path / "new")).save_to_disk(str(tmp_path / "old"))  # the older layout
    old = str(tmp_path / "old")
    (tmp_path / "old" / "prepare_stats.json").write_text("{}")
    raw = make_raw(tmp_path / "raw", {"a": [2, 2, 2], "b": [2, 2, 2]})
    with pytest.raises(FileExistsError, match=r"no README.md, data/\) \(a dataset in the older save_to_disk layout"):
        prepare_dataset(raw=[str(raw)], out=old, clip_seconds=1.0, split="0.34,0.33,0.33")
    assert len(load_prepared(old)["train"]) > 0


def test_records_without_an_id_in_two_folders_are_reported_once_each(tmp_path):
    """Bug caught (in this change's own merge rule): keyless records were keyed "<line N without id>", so the same
    line number in two shards collapsed into one and only one of them was reported. Each bad line is now its own
    dropped item, named by file and line."""
    a, b = make_raw(tmp_path / "a", {"food": [2, 2, 2]}), make_raw(tmp_path / "b", {"music": [2, 2, 2]})
    for folder in (a, b):
        with open(folder / "manifest.jsonl", "a") as handle:
            handle.write(json.dumps({"status": "ok", "category": "food"}) + "\n")      # line 4 of both, no id
    _, dropped, _ = read_download_dirs([a, b])
    keyless = [d for d in dropped if d.reason == "bad_record"]
    assert sorted(d.item for d in keyless) == sorted([f"{a}/manifest.jsonl:4", f"{b}/manifest.jsonl:4"])
    assert all("missing field 'id'" in d.message for d in keyless)


def test_train_rows_keep_every_second_the_clips_keep(tmp_path):
    """Bug caught (issue 29): rows on their own grid dropped a video's remainder: 59-s recordings with 10-s clips
    kept 30 s per train video in 30-s rows against 50 s in clips. The remainder is now a shorter last row of whole
    clips (30 s + 20 s)."""
    root = tmp_path / "sounds"
    for label, freq in (("cat", 300.0), ("dog", 900.0)):
        (root / label).mkdir(parents=True)
        for index in range(3):
            sf.write(root / label / f"{index}.flac", tone(59.0, freq=freq, seed=index), SAMPLING_RATE)
    common = dict(audiofolder=str(root), clip_seconds=10.0, split="0.34,0.33,0.33", balance="none")
    rows = prepare_dataset(out=str(tmp_path / "rows"), **common)                  # 30-s rows, the default
    clips = prepare_dataset(out=str(tmp_path / "clips"), train_clip_seconds=10.0, **common)
    by_rows, by_clips = load_prepared(str(tmp_path / "rows"))["train"], load_prepared(str(tmp_path / "clips"))["train"]
    for data in (by_rows, by_clips):
        seconds = {}
        for video, duration in zip(data["video_id"], data["duration_s"]):
            seconds[video] = seconds.get(video, 0.0) + duration
        assert set(seconds.values()) == {50.0}
    assert sorted(set(by_rows["duration_s"])) == [20.0, 30.0]
    assert rows.splits["train"]["cat"].hours == clips.splits["train"]["cat"].hours


def test_the_cards_command_rebuilds_the_identical_dataset(tmp_path, capsys):
    """Bug caught (issue 29): the dataset card's command left out --train-clip-seconds, --merge-label-case and
    --audiofolder-groups, so running it built another dataset. It is now generated from every flag that differs
    from what the command would otherwise resolve to."""
    import shlex

    root = tmp_path / "sounds"
    files = [f"{label}/{rec}/{i}.wav" for label in ("cat", "Cat ", "dog") for rec in ("r1", "r2", "r3")
             for i in range(2)]
    write_tones(root, files, seconds=4.0)
    argv = ["--audiofolder", str(root), "--out", str(tmp_path / "first"), "--clip-seconds", "1.5",
            "--train-clip-seconds", "2.5", "--merge-label-case", "--audiofolder-groups", "subfolder", "--seed", "4",
            "--split", "0.34,0.33,0.33", "--min-rms-db=-inf", "--max-clips-per-video", "3"]
    assert cli_main(argv) == 0
    first = PrepareStats.read(tmp_path / "first" / "prepare_stats.json")
    command = first.build.command
    for flag in ("--train-clip-seconds 2.5", "--merge-label-case", "--audiofolder-groups subfolder",
                 "--min-rms-db=-inf", "--seed 4"):
        assert flag in command, (flag, command)
    card = yaml.safe_load((tmp_path / "first" / "README.md").read_text().split("---")[1])
    assert card["ytac_build"]["command"] == command
    rebuild = shlex.split(command)[3:]                  # after "python -m prepare"
    rebuild[rebuild.index("--out") + 1] = str(tmp_path / "again")
    assert cli_main(rebuild) == 0
    again = PrepareStats.read(tmp_path / "again" / "prepare_stats.json")
    assert again.content_sha256 == first.content_sha256 and again.build.command != command


def test_channels_that_share_a_display_name_stay_apart_by_id_from_prepare_to_eval(tmp_path):
    """Bug caught (issue 29): 16 channels with distinct ids named "Channel 0".."Channel 3" (one of each name per
    class) were split by id, but the dataset kept only the names, and eval counted 3 channels shared by a split
    that shares none. Every row now carries its split key, and eval compares that."""
    from evaluation.checks import split_overlap

    raw = tmp_path / "raw"
    for c, category in enumerate(("food", "music", "travel", "history")):
        for k in range(4):
            for v in range(2):
                add_video(raw, f"c{c}k{k}v{v}vid", category, 2, channel_id=f"UC{c}{k}{'x' * 20}",
                          channel=f"Channel {k}")
    prepare_dataset(raw=[str(raw)], out=str(tmp_path / "ds"), clip_seconds=1.0, split="0.5,0.25,0.25", seed=1)
    dataset = load_prepared(str(tmp_path / "ds"))
    assert {g.split(":")[0] for split in SPLITS for g in dataset[split]["group"]} == {"channel_id"}
    overlap = split_overlap(dataset, "test")
    assert overlap.groups.key == "group" and overlap.groups.shared == 0
    by_name = split_overlap(dataset.remove_columns("group"), "test")       # what comparing names said
    assert by_name.groups.shared > 0
