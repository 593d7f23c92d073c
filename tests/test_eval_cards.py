"""The model card (training/report.py) and dataset card (prepare/hub.py): built with huggingface_hub's card classes
(a valid YAML header), and they say the split is channel-disjoint only when prepare_stats.json's grouping says so."""

import yaml

from common.contract import PrepareStats, RunRecord
from prepare.hub import dataset_card
from training.report import model_card

GROUPING = {"group_by": "channel", "group_source_counts": {"channel_id": 0, "listing_channel": 30, "video": 2},
            "max_videos_per_group": 5, "videos_dropped_by_cap": 51, "duplicate_sources": []}


def prepare_stats(grouping=None) -> PrepareStats:
    """A build record of the previous layout (no ``build``: it is read from ``config``), as older datasets hold."""
    stats = {
        "config": {"raw": ["raw"], "clip_seconds": 2.0, "hop_seconds": 2.0, "max_clips_per_video": 4,
                   "min_rms_db": -50.0, "split": "0.8,0.1,0.1", "seed": 0, "balance": "videos",
                   "group_by": "channel" if grouping else "video"},
        "class_names": ["food", "travel"],
        "inputs": {"manifests": [{"path": "raw/manifest.jsonl", "sha256": "ab" * 32, "records": 32}],
                   "videos_scanned": 32, "hours_scanned": 1.5, "source_files_sha256": "cd" * 32},
        "content_sha256": "ef" * 32,
        "splits": {split: {name: {"videos": 1, "clips": 2, "hours": 0.001} for name in ("food", "travel")}
                   for split in ("train", "validation", "test")},
        "dropped": {"videos": {"balance_undersampled": 3}, "clips": {}},
        "versions": {"datasets": "5.2"},
    }
    if grouping:
        stats["grouping"] = grouping
    return PrepareStats.from_json(stats)


def header(card: str) -> dict:
    return yaml.safe_load(card.split("---")[1])


def test_dataset_card_states_the_grouping():
    by_channel, by_video = dataset_card(prepare_stats(GROUPING)), dataset_card(prepare_stats())
    assert "channel-disjoint-split" in header(by_channel)["tags"]
    assert "video-level-split" in header(by_video)["tags"]
    assert ("no channel and no video is in two splits (channel-disjoint). Videos grouped by yt-dlp's channel_id: 0; "
            "by the listing's channel header: 30; alone, with no channel known: 2.") in by_channel
    assert "At most 5 videos per channel, capped before the split (51 videos dropped)." in by_channel
    assert "Split by video, stratified by class: no video is in two splits." in by_video
    assert "channel-disjoint" not in by_video
    assert "| test | travel | 1 | 2 | 0.001 |" in by_channel and "- video, balance_undersampled: 3" in by_channel


def run_config(prepare, **changes) -> RunRecord:
    return RunRecord.from_json({**{"training_args": {"output_dir": "runs/x", "learning_rate": 3e-5, "seed": 0},
            "base_model": "facebook/wav2vec2-base", "dataset_name": "me/yt-audio", "max_length_seconds": 4.0,
            "eval_window_seconds": 4.0, "model_args": {"freeze_feature_encoder": True},
            "data_args": {"class_weighting": "none", "eval_split_name": "validation", "allow_test_selection": False},
            "dataset_stats": {"splits": {"train": {"clips": 4, "per_class": {"food": 2, "travel": 2}}},
                              **({"prepare_stats": prepare.to_json()} if prepare else {})},
            "dataset_fingerprint": {"train": {"sha256": "12" * 32}},
            "hardware": {"n_processes": 1, "device": "cpu"}, "train_runtime_s": 12.0}, **changes})


def test_model_card_header_and_split_statement():
    card = model_card(run_config(prepare_stats(GROUPING)), {"eval_accuracy": 0.75}, ["food", "travel"], None)
    meta = header(card)
    assert meta["base_model"] == "facebook/wav2vec2-base" and meta["datasets"] == ["me/yt-audio"]
    assert meta["pipeline_tag"] == "audio-classification"
    assert "Split by channel, stratified by class" in card and "| eval_accuracy | 0.7500 |" in card
    assert "| food | 2 |" in card and "| **total** | 4 |" in card and "| allow_test_selection | False |" in card
    assert "## Results (validation split)" in card and "Warning" not in card
    on_test = run_config(None, eval_split_name="test", allow_test_selection=True)
    flagged = model_card(on_test, {}, ["food", "travel"], None)
    assert "## Results (test split)" in flagged and "used the test split (`--allow_test_selection`)" in flagged
    plain = model_card(run_config(None), {}, ["food", "travel"], "me/model")
    assert "# me/model" in plain and "Split by video" in plain and "channel" not in plain.split("## Data")[1][:200]
