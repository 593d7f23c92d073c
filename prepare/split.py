"""Video-level, class-stratified splitting and balancing; pure functions on ids and counts (no audio).

A video goes to exactly one split, so clips of one channel/video never sit on both sides of an evaluation.
With ``balance="videos"`` every class keeps the same number of videos (seeded undersampling to the smallest
class), hence the same number per split, and validation/test clips are equalised per class (chance = 1/K).

Example::

    from prepare.split import balance_videos, split_videos
    kept, undersampled = balance_videos({"food": ["a", "b", "c"], "travel": ["d", "e"]}, seed=0)
    splits = split_videos(kept, (0.5, 0.25, 0.25), seed=0)      # {"train": {"food": [...], ...}, ...}
"""

from __future__ import annotations

import math
import random

from common.data import SPLITS


class TooFewVideos(ValueError):
    pass


def _rng(seed: int, category: str) -> random.Random:
    # One stream per class: adding a class never reshuffles the others.
    return random.Random(f"{seed}:{category}")


def balance_videos(videos_by_class: dict[str, list[str]], seed: int) -> tuple[dict[str, list[str]], list[str]]:
    """Undersample every class to the size of the smallest one (seeded). Returns ``(kept, dropped_ids)``."""
    smallest = min(len(ids) for ids in videos_by_class.values())
    kept, dropped = {}, []
    for category, ids in sorted(videos_by_class.items()):
        shuffled = sorted(ids)
        _rng(seed, category).shuffle(shuffled)
        kept[category] = sorted(shuffled[:smallest])
        dropped += shuffled[smallest:]
    return kept, sorted(dropped)


def split_sizes(n_videos: int, fractions) -> tuple[int, ...]:
    """Videos per split for one class: largest-remainder rounding of ``n * fraction``, then at least one video in
    every split with a non-zero fraction (taken from the largest split)."""
    exact = [n_videos * f for f in fractions]
    sizes = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(fractions)), key=lambda i: (-(exact[i] - sizes[i]), i))
    for i in by_remainder[: n_videos - sum(sizes)]:
        sizes[i] += 1
    for i, fraction in enumerate(fractions):
        if fraction > 0 and sizes[i] == 0:
            largest = max(range(len(sizes)), key=lambda j: (sizes[j], -j))
            sizes[largest] -= 1
            sizes[i] += 1
    return tuple(sizes)


def min_videos_needed(fractions) -> int:
    return sum(1 for f in fractions if f > 0)


def require_videos(videos_by_class: dict[str, list[str]], fractions) -> None:
    """Stop, naming the class, when a class has too few videos to put one in every non-empty split."""
    needed = min_videos_needed(fractions)
    for category, ids in sorted(videos_by_class.items()):
        if len(ids) < needed:
            raise TooFewVideos(
                f"class {category!r} has {len(ids)} usable video(s); the split {tuple(fractions)} needs at least "
                f"{needed} per class (one per non-empty split). Add videos, or change --split."
            )


def split_videos(videos_by_class: dict[str, list[str]], fractions, seed: int) -> dict[str, dict[str, list[str]]]:
    """Assign each video of each class to one split, stratified by class; ids are shuffled with a per-class seed."""
    require_videos(videos_by_class, fractions)
    splits = {name: {} for name in SPLITS}
    for category, ids in sorted(videos_by_class.items()):
        shuffled = sorted(ids)
        _rng(seed + 1, category).shuffle(shuffled)
        offset = 0
        for name, size in zip(SPLITS, split_sizes(len(shuffled), fractions)):
            splits[name][category] = sorted(shuffled[offset: offset + size])
            offset += size
    return splits


def allocate_round_robin(available: list[int], total: int) -> list[int]:
    """Share ``total`` clips among videos one at a time, so videos end as even as possible (water-filling)."""
    assert total <= sum(available), (total, available)
    allocation = [0] * len(available)
    remaining = total
    while remaining:
        for i, count in enumerate(available):
            if remaining and allocation[i] < count:
                allocation[i] += 1
                remaining -= 1
    return allocation


def equalize_clips(clips_by_class: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Clips to keep per video so every class of a split has the same number of clips (that of the smallest class).

    ``clips_by_class[category][video_id]`` is the number of clips a video has; returns the same shape.
    """
    target = min(sum(videos.values()) for videos in clips_by_class.values())
    kept = {}
    for category, videos in clips_by_class.items():
        ids = sorted(videos)
        kept[category] = dict(zip(ids, allocate_round_robin([videos[i] for i in ids], target)))
    return kept
