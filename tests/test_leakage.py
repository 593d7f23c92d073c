"""Tests of the honest-split guards: the leakage benchmark's core on a small synthetic listing (channel boilerplate
that gives the class away within a channel and nowhere else), and train.py refusing to select checkpoints on test."""

from __future__ import annotations

import csv
from statistics import mean

import numpy as np
import pytest

from bench.bench_leakage import leakage_rows, listing_videos, score_seeds, split_assignment

CLASSES = ["art_music", "food", "history", "travel"]


def write_listing(path, channels_per_class=10, videos_per_channel=4, seed=0):
    """A Kaggle-format listing: every channel repeats its own made-up word (its boilerplate) in every description;
    the class's own word appears in only 35% of them (otherwise a random class's word). A model that has seen a
    channel knows its class; one that has not can only use the weak class words."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["link", "title", "description", "category"])
        for k, category in enumerate(CLASSES):
            for c in range(channels_per_class):
                channel = f"Channel {category} {c}"
                for v in range(videos_per_channel):
                    word = f"cls{k}" if rng.random() < 0.35 else f"cls{rng.integers(len(CLASSES))}"
                    description = (f"{channel}\n{rng.integers(1, 900)}K subscribers\nSUBSCRIBE\n"
                                   f"sig{k}x{c}q welcome back {word} thanks for watching\nSHOW MORE")
                    writer.writerow([f"{k:02d}{c:03d}{v:02d}abcd"[:11], f"episode {v}", description, category])
        writer.writerow(["zzzzzzzzzzz", "no header", "just a description someone wrote", "food"])
    return path


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    return listing_videos(write_listing(tmp_path_factory.mktemp("listing") / "listing.csv"))


def test_listing_videos_take_the_channel_from_the_header(videos):
    by_id = {v["video_id"]: v for v in videos}
    assert len(videos) == 4 * 10 * 4 + 1
    assert by_id["0000300abcd"]["channel"] == "Channel art_music 3"
    assert by_id["zzzzzzzzzzz"]["channel"] is None
    assert "Channel art_music 3" not in by_id["0000300abcd"]["document"]  # the header is not part of the text


def test_channel_split_removes_what_the_video_split_leaks(videos):
    for seed in (0, 1):
        channel = split_assignment(videos, "channel", seed)
        train_channels = {v["channel"] for v in videos if v["video_id"] in set(channel["train"]) and v["channel"]}
        test_channels = {v["channel"] for v in videos if v["video_id"] in set(channel["test"]) and v["channel"]}
        assert not train_channels & test_channels
    result = score_seeds(videos, seeds=(0, 1, 2))
    assert result["channel"]["shared"] == [0.0, 0.0, 0.0]
    assert min(result["video"]["shared"]) > 0.5  # 4 videos per channel, 25% test: most test channels are in train
    video_accuracy, channel_accuracy = (mean(result[k]["text_tfidf"]["accuracy"]) for k in ("video", "channel"))
    # seen channels give the class away (~1.0); unseen ones leave the 35% class words (~0.5)
    assert video_accuracy > 0.9 and channel_accuracy < video_accuracy - 0.2, (video_accuracy, channel_accuracy)

    rows = {row["figure"]: row for row in leakage_rows(result, 3)}
    difference = rows["text TF-IDF + logistic regression, accuracy: channel-disjoint minus video-disjoint (same seeds)"]
    assert difference["high"] < 0 and difference["low"] <= difference["value"] <= difference["high"]
    # channel minus video (not the reverse), one value per seed, averaging to the gap of the two means above
    assert len(difference["per_seed"]) == 3
    assert difference["value"] == pytest.approx(channel_accuracy - video_accuracy, abs=1e-3)


# ---------------------------------------------------------------- checkpoint selection on test (train.py)

def test_training_refuses_to_select_on_test(tmp_path):
    from testing.train_runs import run_argv
    from training.args import parse_args
    from training.report import run_config

    argv = run_argv(tmp_path / "dataset", "tiny-model", tmp_path / "run", "--eval_split_name", "test")
    with pytest.raises(ValueError, match=r"^--eval_split_name test: .*optimistic.*--allow_test_selection"):
        parse_args(argv)
    model_args, data_args, training_args = parse_args(argv + ["--allow_test_selection"])
    assert data_args.eval_split_name == "test" and data_args.allow_test_selection is True
    from common.contract.run import DatasetStats

    config = run_config(model_args, data_args, training_args, DatasetStats(), {})
    assert config.allow_test_selection is True and config.eval_split_name == "test"
    assert parse_args(run_argv(tmp_path / "dataset", "tiny-model", tmp_path / "run"))[1].allow_test_selection is False
