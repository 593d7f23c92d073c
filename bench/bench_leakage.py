"""Channel leakage, measured on the real listing: the text baselines under video-disjoint and channel-disjoint splits.

``python -m bench --only leakage`` (or ``run(Path(tmp))``). No audio and no network: the Kaggle listing's own titles
and descriptions (``../shared/data/youtube-videos-dataset/youtube.csv``, its usable rows through
``download.listing``) are the documents; a video's channel is the name in its description's scraped header
(``prepare.groups.listing_channel``). For each seed the videos are split by ``prepare.split.split_groups`` (the
function ``python -m prepare`` uses: balanced classes, train/test 75/25) once with every video its own group and
once grouped by channel, and the text baselines of ``evaluation.text_baselines`` (TF-IDF + logistic regression; the
sentence encoder when it is installed) are fitted on train and scored on test. Rows give the mean over seeds with a
95% t-interval across seeds, the channel-minus-video difference (per seed, same seed for both splits), and how many
test videos of a video-disjoint split share their channel with a training video.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from statistics import mean, stdev

import numpy as np

logger = logging.getLogger(__name__)

SEEDS = (0, 1, 2, 3, 4)
FRACTIONS = (0.75, 0.0, 0.25)
SPLIT_KINDS = ("video", "channel")
T_975 = {2: 12.706, 3: 4.303, 4: 3.182, 5: 2.776, 6: 2.571, 7: 2.447, 8: 2.365, 9: 2.306, 10: 2.262}


def listing_videos(path) -> list[dict]:
    """The listing's usable videos: ``{"video_id", "category", "channel" (None without a header), "document"}``."""
    from common.text import video_document
    from download.listing import classify_listing, read_listing
    from prepare.groups import listing_channel

    listing = classify_listing(read_listing(path))
    return [{"video_id": v.id, "category": v.category, "channel": listing_channel(v.description),
             "document": video_document(v.title, v.description)} for v in listing.videos]


def split_assignment(videos: list[dict], kind: str, seed: int, max_per_group: int = 0) -> dict[str, list[str]]:
    """``{"train": ids, "test": ids}`` from prepare's group split; ``kind`` "video" or "channel" (a video without a
    channel is its own group)."""
    from prepare.split import cap_groups, split_groups

    grouped = {v["video_id"]: (v["category"], v["channel"] if kind == "channel" and v["channel"] else v["video_id"])
               for v in videos}
    grouped, _ = cap_groups(grouped, max_per_group, seed)
    splits, _ = split_groups(grouped, FRACTIONS, seed, balance=True)
    return {name: sorted(vid for ids in splits[name].values() for vid in ids) for name in ("train", "test")}


def score_seeds(videos: list[dict], seeds=SEEDS, embeddings: np.ndarray | None = None) -> dict:
    """Per split kind and text system, accuracy and macro-F1 per seed; plus the share of test videos whose channel
    has a training video. Returns ``{kind: {system: {"accuracy": [...], "macro_f1": [...]}, "shared": [...]}}``."""
    from sklearn.metrics import accuracy_score, f1_score

    from evaluation.text_baselines import make_embedding_model, make_tfidf_model

    index = {v["video_id"]: i for i, v in enumerate(videos)}
    classes = sorted({v["category"] for v in videos})
    labels = np.array([classes.index(v["category"]) for v in videos])
    documents = [v["document"] for v in videos]
    result = {kind: {"shared": []} for kind in SPLIT_KINDS}
    for kind in SPLIT_KINDS:
        for seed in seeds:
            split = split_assignment(videos, kind, seed)
            train, test = ([index[vid] for vid in split[name]] for name in ("train", "test"))
            train_channels = {videos[i]["channel"] for i in train if videos[i]["channel"]}
            result[kind]["shared"].append(sum(videos[i]["channel"] in train_channels for i in test) / len(test))
            systems = {"text_tfidf": (make_tfidf_model(seed), [documents[i] for i in train],
                                      [documents[i] for i in test])}
            if embeddings is not None:
                systems["text_encoder"] = (make_embedding_model(seed), embeddings[train], embeddings[test])
            for name, (model, x_train, x_test) in systems.items():
                predicted = model.fit(x_train, labels[train]).predict(x_test)
                scores = result[kind].setdefault(name, {"accuracy": [], "macro_f1": []})
                scores["accuracy"].append(float(accuracy_score(labels[test], predicted)))
                scores["macro_f1"].append(float(f1_score(labels[test], predicted, average="macro")))
    return result


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the mean across seeds."""
    centre = mean(values)
    half = T_975.get(len(values), 1.96) * stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return centre, centre - half, centre + half


def _row(figure: str, values: list[float], reference: float | None = None) -> dict:
    centre, low, high = interval(values)
    return {"figure": figure, "value": round(centre, 3), "unit": f"(95% CI {low:.3f} to {high:.3f})",
            "low": round(low, 4), "high": round(high, 4), "per_seed": [round(v, 4) for v in values],
            "reference": None if reference is None else round(reference, 3),
            "ratio": None if not reference else round(centre / reference, 3), "target": None}


def leakage_rows(result: dict, n_seeds: int) -> list[dict]:
    rows = []
    names = {"text_tfidf": "TF-IDF + logistic regression", "text_encoder": "sentence encoder + logistic regression"}
    for system in [s for s in names if s in result["video"]]:
        for metric, label in (("accuracy", "accuracy"), ("macro_f1", "macro-F1")):
            video, channel = result["video"][system][metric], result["channel"][system][metric]
            rows.append(_row(f"text {names[system]}, {label}, video-disjoint split ({n_seeds} seeds)", video))
            rows.append(_row(f"text {names[system]}, {label}, channel-disjoint split ({n_seeds} seeds); reference: "
                             f"video-disjoint", channel, reference=mean(video)))
            rows.append(_row(f"text {names[system]}, {label}: channel-disjoint minus video-disjoint (same seeds)",
                             [c - v for c, v in zip(channel, video)]))
    for kind in SPLIT_KINDS:
        rows.append(_row(f"test videos whose channel has a training video, {kind}-disjoint split",
                         result[kind]["shared"]))
    return rows


def run(tmp_dir) -> dict:
    """Text baselines on the real listing under video-disjoint vs channel-disjoint splits (5 seeds, offline)."""
    from evaluation.text_baselines import load_text_encoder
    from prepare.split import cap_groups
    from testing import SHARED

    started = time.perf_counter()
    videos = listing_videos(SHARED / "data" / "youtube-videos-dataset" / "youtube.csv")
    encoder, about = load_text_encoder("auto")
    embeddings = encoder.embed([v["document"] for v in videos]) if encoder else None
    logger.info("%d usable videos, %d channels; sentence encoder: %s", len(videos),
                len({v["channel"] for v in videos if v["channel"]}), about)
    rows = leakage_rows(score_seeds(videos, SEEDS, embeddings), len(SEEDS))
    channels = {v["video_id"]: (v["category"], v["channel"] or v["video_id"]) for v in videos}
    rows.append({"figure": "usable listing videos dropped by prepare's default --max-videos-per-group 10",
                 "value": len(cap_groups(channels, 10, 0)[1]), "unit": f"of {len(videos)}", "reference": None,
                 "ratio": None, "target": None})
    return {"rows": rows, "videos": len(videos), "encoder": about, "seconds": round(time.perf_counter() - started, 1)}
