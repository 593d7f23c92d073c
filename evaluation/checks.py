"""What the report checks before it claims anything: split overlap, the split used for checkpoint selection, the
null rate the accuracy is tested against, and whether there are enough test videos to call a difference.

Everything is computed from the dataset and the run record themselves, never assumed from how they were made. The
overlap of groups compares the dataset's ``group`` column (the split key prepare used: a channel id, not a display
name, so two channels that share a name are not taken for one); a dataset made before it has none, and then the
``channel`` column (display names) is compared, which the report says.

Example::

    from evaluation.checks import split_overlap, selection_check
    overlap = split_overlap(dataset, "test")
    overlap.videos.shared, overlap.groups.shared       # 0, 0 for a clean channel-disjoint split
    selection_check(run, "validation").flagged          # True: validation chose the checkpoint
"""

from __future__ import annotations

import logging

import numpy as np

from common.contract import RunRecord
from common.contract.evaluation import Checks, GroupOverlap, NullReference, Overlap, Selection, SharedCount

logger = logging.getLogger(__name__)

# Below this many test videos the intervals are wide: the report calls no difference significant.
MIN_VIDEOS_FOR_CLAIMS = 30
EXAMPLES = 5


def _distinct(values) -> set[str]:
    return {str(v) for v in values}


def split_overlap(dataset, split: str, channel_split: bool = False) -> Overlap:
    """How many videos and groups of ``split`` also appear in the other splits (read from ``video_id`` and the
    ``group`` column, else ``channel``; an empty value is unknown and never counts as shared)."""
    others = [name for name in dataset if name != split]
    videos = _distinct(dataset[split]["video_id"])
    elsewhere = set().union(*(_distinct(dataset[name]["video_id"]) for name in others))
    shared_videos = sorted(videos & elsewhere)
    video_count = SharedCount(n=len(videos), shared=len(shared_videos), examples=shared_videos[:EXAMPLES])
    key = next((column for column in ("group", "channel") if all(column in dataset[name].column_names
                                                                  for name in dataset)), None)
    if key is None:
        return Overlap(split, others, video_count, groups_missing="the dataset has no group or channel column (a "
                                                                  "dataset prepared before channel-aware splits)")
    group_of = dict(zip((str(v) for v in dataset[split]["video_id"]), (str(c) for c in dataset[split][key])))
    groups = {g for g in group_of.values() if g}
    groups_elsewhere = set().union(*(_distinct(dataset[name][key]) for name in others)) - {""}
    shared = sorted(groups & groups_elsewhere)
    return Overlap(split, others, video_count, groups=GroupOverlap(
        key=key, n=len(groups), shared=len(shared), examples=shared[:EXAMPLES],
        videos_in_shared_groups=sum(1 for g in group_of.values() if g in groups_elsewhere),
        videos_without_group=sum(1 for g in group_of.values() if not g), channel_split=channel_split))


def overlap_warnings(overlap: Overlap) -> list[str]:
    """One line per kind of leak (videos, groups), empty when the split is clean."""
    split, others = overlap.split, "/".join(overlap.other_splits) or "no other split"
    lines = []
    videos = overlap.videos
    if videos.shared:
        lines.append(f"{videos.shared} of {videos.n} {split} videos also appear in {others} "
                     f"(e.g. {', '.join(videos.examples)}): the scores are not on unseen videos")
    groups = overlap.groups
    if groups is not None and groups.shared:
        lines.append(f"{groups.shared} of {groups.n} {split} groups ({groups.key}) also appear in {others} "
                     f"({groups.videos_in_shared_groups} {split} videos; e.g. {', '.join(groups.examples)})"
                     ": the scores are partly on seen channels")
    return lines


def selection_check(run: RunRecord | None, split: str) -> Selection:
    """Was ``split`` the split training evaluated on to pick its checkpoint (and stop early)? From the run
    record's ``eval_split_name`` (and ``allow_test_selection``, which lets training select on test)."""
    if run is None:
        return Selection(flagged=False, missing="the model has no run record (run_config.json): the selection split "
                                                "is unknown")
    return Selection(flagged=run.eval_split_name == split and run.selects_checkpoint,
                     selection_split=run.eval_split_name if run.selects_checkpoint else None,
                     allow_test_selection=run.allow_test_selection)


def video_labels(split) -> list[int]:
    """One label per distinct video of a split (from the clip rows, no decoding; clips that disagree are an error)."""
    from common.data import split_video_labels

    return list(split_video_labels({"split": split})["split"].values())


def null_reference(video_labels, class_names) -> NullReference:
    """The accuracy a constant answer reaches on these videos: 1/K when every class has as many videos, else the
    share of the most frequent class (the majority-class rate), which is what a p-value must beat."""
    counts = np.bincount(np.asarray(video_labels, dtype=np.int64), minlength=len(class_names))
    if len(set(counts.tolist())) == 1:
        return NullReference(kind="chance", accuracy=1.0 / len(class_names), balanced=True)
    top = int(counts.argmax())
    return NullReference(kind="majority_rate", accuracy=float(counts[top] / counts.sum()), balanced=False,
                         class_name=class_names[top], videos_per_class=dict(zip(class_names, counts.tolist())))


def few_videos(n_videos: int) -> bool:
    return n_videos < MIN_VIDEOS_FOR_CLAIMS


def log_warnings(checks: Checks) -> None:
    """The lines a reader of the terminal must not miss (stderr through logging)."""
    for line in overlap_warnings(checks.overlap):
        logger.warning("LEAK: %s", line)
    selection = checks.selection
    if selection.flagged:
        logger.warning("evaluating on %r, the split training used to select its checkpoint (run_config.json "
                       "eval_split_name%s): the scores are optimistic", selection.selection_split,
                       ", allow_test_selection" if selection.allow_test_selection else "")
    if checks.few_videos:
        logger.warning("only %d %s videos (< %d): the intervals are wide; no difference is called significant",
                       checks.overlap.videos.n, checks.overlap.split, MIN_VIDEOS_FOR_CLAIMS)


def run_checks(dataset, split: str, run: RunRecord | None, class_names, channel_split: bool = False) -> Checks:
    """Every check, as stored under ``EvalRecord.checks``."""
    overlap = split_overlap(dataset, split, channel_split)
    checks = Checks(overlap=overlap, selection=selection_check(run, split),
                    null=null_reference(video_labels(dataset[split]), class_names),
                    few_videos=few_videos(overlap.videos.n), min_videos_for_claims=MIN_VIDEOS_FOR_CLAIMS)
    log_warnings(checks)
    return checks
