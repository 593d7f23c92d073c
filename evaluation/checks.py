"""What the report checks before it claims anything: split overlap, the split used for checkpoint selection, the
null rate the accuracy is tested against, and whether there are enough test videos to call a difference.

Everything is computed from the dataset and the run files themselves, never assumed from how they were made.

Example::

    from evaluation.checks import split_overlap, selection_check, null_reference
    overlap = split_overlap(dataset, "test")
    overlap["videos"]["shared"], overlap["channels"].get("shared")   # 0, 0 for a clean channel-disjoint split
    selection_check(run_config, "validation")["flagged"]            # True: validation chose the checkpoint
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)

# Below this many test videos the intervals are wide: the report calls no difference significant.
MIN_VIDEOS_FOR_CLAIMS = 30
EXAMPLES = 5


def _distinct(values) -> set[str]:
    return {str(v) for v in values}


def split_overlap(dataset, split: str) -> dict:
    """How many videos and channels of ``split`` also appear in the other splits (read from ``video_id`` and, when
    the dataset has one, the ``channel`` column; an empty channel is unknown and never counts as shared)."""
    others = [name for name in dataset if name != split]
    videos = _distinct(dataset[split]["video_id"])
    elsewhere = set().union(*(_distinct(dataset[name]["video_id"]) for name in others))
    shared_videos = sorted(videos & elsewhere)
    result = {"split": split, "other_splits": others,
              "videos": {"n": len(videos), "shared": len(shared_videos), "examples": shared_videos[:EXAMPLES]}}
    without = [name for name in dataset if "channel" not in dataset[name].column_names]
    if without:
        result["channels"] = {"missing": f"split(s) {', '.join(without)} have no channel column (a dataset prepared "
                                         "before channel-aware splits)"}
        return result
    channel_of = dict(zip((str(v) for v in dataset[split]["video_id"]), (str(c) for c in dataset[split]["channel"])))
    channels = {c for c in channel_of.values() if c}
    channels_elsewhere = set().union(*(_distinct(dataset[name]["channel"]) for name in others)) - {""}
    shared_channels = sorted(channels & channels_elsewhere)
    result["channels"] = {
        "n": len(channels), "shared": len(shared_channels), "examples": shared_channels[:EXAMPLES],
        "videos_in_shared_channels": sum(1 for c in channel_of.values() if c in channels_elsewhere),
        "videos_without_channel": sum(1 for c in channel_of.values() if not c),
    }
    return result


def overlap_warnings(overlap: dict) -> list[str]:
    """One line per kind of leak (videos, channels), empty when the split is clean."""
    split, others = overlap["split"], "/".join(overlap["other_splits"]) or "no other split"
    lines = []
    videos = overlap["videos"]
    if videos["shared"]:
        lines.append(f"{videos['shared']} of {videos['n']} {split} videos also appear in {others} "
                     f"(e.g. {', '.join(videos['examples'])}): the scores are not on unseen videos")
    channels = overlap["channels"]
    if channels.get("shared"):
        lines.append(f"{channels['shared']} of {channels['n']} {split} channels also appear in {others} "
                     f"({channels['videos_in_shared_channels']} {split} videos; e.g. {', '.join(channels['examples'])})"
                     ": the scores are partly on seen channels")
    return lines


def selection_check(run_config: dict | None, split: str) -> dict:
    """Was ``split`` the split training evaluated on to pick its checkpoint (and stop early)? From run_config.json's
    ``data_args.eval_split_name`` (and ``allow_test_selection``, which lets training select on test)."""
    data_args = (run_config or {}).get("data_args")
    if not isinstance(data_args, dict) or "eval_split_name" not in data_args:
        return {"flagged": False, "selection_split": None,
                "missing": "run_config.json has no data_args.eval_split_name: the selection split is unknown"}
    selection_split = str(data_args["eval_split_name"])
    return {"flagged": selection_split == split, "selection_split": selection_split,
            "allow_test_selection": bool(data_args.get("allow_test_selection", False))}


def video_labels(split) -> list[int]:
    """One label per distinct video of a split (from the clip rows, no decoding; clips that disagree are an error)."""
    from common.data import split_video_labels

    return list(split_video_labels({"split": split})["split"].values())


def null_reference(video_labels, class_names) -> dict:
    """The accuracy a constant answer reaches on these videos: 1/K when every class has as many videos, else the
    share of the most frequent class (the majority-class rate), which is what a p-value must beat."""
    counts = np.bincount(np.asarray(video_labels, dtype=np.int64), minlength=len(class_names))
    if len(set(counts.tolist())) == 1:
        return {"kind": "chance", "accuracy": 1.0 / len(class_names), "balanced": True}
    top = int(counts.argmax())
    return {"kind": "majority_rate", "accuracy": float(counts[top] / counts.sum()), "balanced": False,
            "class": class_names[top], "videos_per_class": dict(zip(class_names, counts.tolist()))}


def few_videos(n_videos: int) -> bool:
    return n_videos < MIN_VIDEOS_FOR_CLAIMS


def log_warnings(checks: dict) -> None:
    """The lines a reader of the terminal must not miss (stderr through logging)."""
    for line in overlap_warnings(checks["overlap"]):
        logger.warning("LEAK: %s", line)
    selection = checks["selection"]
    if selection["flagged"]:
        logger.warning("evaluating on %r, the split training used to select its checkpoint (run_config.json "
                       "data_args.eval_split_name%s): the scores are optimistic", selection["selection_split"],
                       ", allow_test_selection" if selection.get("allow_test_selection") else "")
    if checks["few_videos"]:
        logger.warning("only %d %s videos (< %d): the intervals are wide; no difference is called significant",
                       checks["overlap"]["videos"]["n"], checks["overlap"]["split"], MIN_VIDEOS_FOR_CLAIMS)


def run_checks(dataset, split: str, run_config: dict | None, class_names) -> dict:
    """Every check, as stored under ``metrics["checks"]``."""
    overlap = split_overlap(dataset, split)
    checks = {"overlap": overlap, "selection": selection_check(run_config, split),
              "null": null_reference(video_labels(dataset[split]), class_names), "few_videos": few_videos(overlap["videos"]["n"]),
              "min_videos_for_claims": MIN_VIDEOS_FOR_CLAIMS}
    log_warnings(checks)
    return checks
