"""Group-aware, class-stratified splitting and balancing; pure functions on ids, classes and groups (no audio).

Every video belongs to a *group* (its channel, or itself): a group goes to exactly one split, so neither a video nor
a channel's voice, jingle or microphone sits on both sides of an evaluation. Per class, the videos of each split
follow ``--split`` (largest-remainder rounding, at least one video of every class in every non-empty split).
With ``balance=True`` every class keeps the same number of videos in each split (seeded undersampling), so that
validation/test clips can then be equalised per class (``equalize_clips``; chance = 1/K).

How groups are placed (``split_groups``): groups are taken largest first (ties in a seeded random order) and each
goes to the split where it overshoots the per-class targets least, then to the one whose targets are least filled
for its classes. With balancing, a fourth bin "unused" holds the surplus of the larger classes, so a big channel
usually lands in train or is left out. When every group is one video, every video fits and the split sizes are
exact; with channels the sizes are not guaranteed (a channel larger than a small split's target can be that whole
split: docs/prepare.md gives the example), then each split is undersampled to its smallest class. A cap on videos per group (``cap_groups``, before the split) keeps one prolific
channel from dominating a class.

Example::

    from prepare.split import cap_groups, split_groups
    videos = {"a": ("food", "chan1"), "b": ("food", "chan1"), "c": ("food", "chan2"), "d": ("travel", "chan3"),
              "e": ("travel", "chan4"), "f": ("travel", "chan5"), "g": ("food", "chan6")}
    kept, capped = cap_groups(videos, max_per_group=10, seed=0)
    splits, undersampled = split_groups(kept, (0.34, 0.33, 0.33), seed=0, balance=True)
    # splits["train"]["food"] -> sorted ids; no group in two splits
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict

from common.data import SPLITS

UNUSED = "unused"  # the bin of videos left out to balance the classes


class TooFewVideos(ValueError):
    pass


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


def cap_groups(videos: dict[str, tuple[str, str]], max_per_group: int, seed: int
               ) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """Keep at most ``max_per_group`` videos of each group (a seeded random choice; 0 = no cap).

    ``videos[video_id] = (category, group)``. Returns ``(kept, dropped_ids)``."""
    if not max_per_group:
        return dict(videos), []
    members = defaultdict(list)
    for video_id in sorted(videos):
        members[videos[video_id][1]].append(video_id)
    dropped = []
    for group, ids in members.items():
        if len(ids) > max_per_group:
            dropped += sorted(set(ids) - set(random.Random(f"{seed}:cap:{group}").sample(ids, max_per_group)))
    over_cap = set(dropped)
    return {vid: value for vid, value in videos.items() if vid not in over_cap}, sorted(dropped)


def _require_groups(videos: dict[str, tuple[str, str]], fractions, classes) -> None:
    """Stop, naming the class, when a class has too few videos (or groups) to put one in every non-empty split."""
    needed = sum(1 for f in fractions if f > 0)
    ids, groups = defaultdict(set), defaultdict(set)
    for video_id, (category, group) in videos.items():
        ids[category].add(video_id)
        groups[category].add(group)
    for category in sorted(classes):
        if len(groups[category]) < needed:
            grouped = (f" in {len(groups[category])} group(s) (channels); no group may sit in two splits"
                       if len(groups[category]) < len(ids[category]) else "")
            raise TooFewVideos(
                f"class {category!r} has {len(ids[category])} usable video(s){grouped}; the split {tuple(fractions)} "
                f"needs at least {needed} per class (one per non-empty split). Add videos, or change --split"
                + (", or use --group-by video" if grouped else "") + ".")


def split_groups(videos: dict[str, tuple[str, str]], fractions, seed: int, balance: bool, classes=None
                 ) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """Assign every group (with all its videos) to one split, stratified by class; see the module doc.

    ``videos[video_id] = (category, group)``; ``classes`` (default: those of ``videos``) must all have videos.
    Returns ``({split: {category: sorted ids}}, undersampled_ids)``; with ``balance`` every class has the same
    number of videos in each split."""
    classes = sorted(classes or {category for category, _ in videos.values()})
    _require_groups(videos, fractions, classes)
    per_class = Counter(category for category, _ in videos.values())
    bins = list(SPLITS) + ([UNUSED] if balance else [])
    smallest = min(per_class.values())
    target = {c: list(split_sizes(smallest if balance else per_class[c], fractions))
              + ([per_class[c] - smallest] if balance else []) for c in classes}

    members = defaultdict(list)
    for video_id in sorted(videos):
        members[videos[video_id][1]].append(video_id)
    order = sorted(members)
    random.Random(f"{seed}:groups").shuffle(order)
    order.sort(key=lambda g: -len(members[g]))  # stable: equal sizes keep the seeded order

    placed = {g: 0 for g in members}
    filled = {b: Counter() for b in range(len(bins))}

    def cost(group: str, b: int) -> tuple:
        need = Counter(videos[v][0] for v in members[group])
        overshoot = sum(max(0, filled[b][c] + n - target[c][b]) - max(0, filled[b][c] - target[c][b])
                        for c, n in need.items())
        fill = sum(n * filled[b][c] / target[c][b] if target[c][b] else math.inf for c, n in need.items())
        return overshoot, fill, b

    for group in order:
        placed[group] = min(range(len(bins)), key=lambda b: cost(group, b))
        filled[placed[group]].update(videos[v][0] for v in members[group])
    _cover_every_split(members, videos, placed, filled, fractions, classes, seed)

    splits = {name: {c: [] for c in classes} for name in SPLITS}
    undersampled = []
    for group, b in placed.items():
        for video_id in members[group]:
            if bins[b] == UNUSED:
                undersampled.append(video_id)
            else:
                splits[bins[b]][videos[video_id][0]].append(video_id)
    for name in SPLITS:
        keep = min(len(ids) for ids in splits[name].values())
        for c, ids in splits[name].items():
            ids.sort()
            if balance and len(ids) > keep:
                random.Random(f"{seed}:{name}:{c}").shuffle(ids)
                undersampled += ids[keep:]
                del ids[keep:]
                ids.sort()
    return splits, sorted(undersampled)


def _cover_every_split(members, videos, placed, filled, fractions, classes, seed) -> None:
    """Move small groups so that every class has a video in every split with a non-zero fraction."""
    for b, fraction in enumerate(fractions):
        for c in classes:
            if fraction <= 0 or filled[b][c]:
                continue

            def movable(group):  # leaves its own split with a video of every class it needs there
                source = placed[group]
                counts = Counter(videos[v][0] for v in members[group])
                return source != b and c in counts and all(
                    source >= len(fractions) or fractions[source] <= 0 or filled[source][k] > n for k, n in counts.items())

            candidates = sorted((g for g in members if movable(g)),
                                key=lambda g: (len(members[g]), random.Random(f"{seed}:{g}").random(), g))
            if not candidates:
                raise TooFewVideos(f"class {c!r}: no group (channel) can be moved into the {SPLITS[b]} split without "
                                   f"emptying another split of a class; add videos, or change --split or --group-by")
            group = candidates[0]
            counts = Counter(videos[v][0] for v in members[group])
            filled[placed[group]].subtract(counts)
            filled[b].update(counts)
            placed[group] = b


def allocate_round_robin(available: list[int], total: int) -> list[int]:
    """Share ``total`` clips among videos one at a time, so videos end as even as possible (water-filling)."""
    if total > sum(available):
        raise ValueError(f"cannot share {total} clips among videos holding {sum(available)} ({available})")
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
