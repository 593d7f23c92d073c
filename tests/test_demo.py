"""End to end: a reduced demo through the real stages (yt-dlp from loopback, ffmpeg, datasets, Trainer, report), and
the demo's synthetic channels (listing headers, shared signature sounds, the split's channel overlap count)."""

import csv
import json
import math

import numpy as np
import pytest
import soundfile as sf

from common.audio import convert_to_flac
from common.data import load_prepared
from common.contract import DownloadRecord, EvalRecord, PrepareStats, RunRecord, VideoRow
from common.jsonl import append_jsonl, read_jsonl
from common.text import header_length
from demo.pipeline import DemoConfig, run_demo, split_channels
from testing.server import free_port
from testing.synth import SynthVideo, synthesize_videos

CLASS_NAMES = ["art_music", "food", "history", "travel"]


def test_reduced_demo_runs_every_stage(tmp_path):
    # 6 videos per class in channels of 2: three channels per class, so a channel-disjoint split has one channel per
    # class in each split. The same port on both runs: generic video ids derive from the URL, and the second run
    # must find them done.
    config = DemoConfig(out=str(tmp_path / "demo"), videos_per_class=6, videos_per_channel=2, min_seconds=8,
                        max_seconds=12, clip_seconds=4, epochs=2, port=free_port(), bootstrap=50, baselines=False,
                        split="0.34,0.33,0.33")
    result = run_demo(config)
    paths = result.paths
    out = tmp_path / "demo"

    records = list(read_jsonl(f"{paths['raw']}/manifest.jsonl"))
    assert len(records) == 24 and all(r["status"] == "ok" and r["sample_rate"] == 16000 for r in records)

    # the listing: every description opens with the scraped channel header; 12 channels of 2 videos, one class each
    with open(out / "listing.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert all(header_length(row["description"].split("\n")) == 3 for row in rows)
    channel_rows = {}
    for row in rows:
        channel_rows.setdefault(row["description"].split("\n")[0], []).append(row["category"])
    assert len(channel_rows) == 12 and all(len(c) == 2 and len(set(c)) == 1 for c in channel_rows.values())

    dataset = load_prepared(paths["dataset"])
    assert dataset["train"].features["label"].names == CLASS_NAMES
    split_videos = {split: set(dataset[split]["video_id"]) for split in dataset}
    assert not split_videos["train"] & split_videos["test"] and not split_videos["validation"] & split_videos["test"]
    assert sorted(dataset["test"]["label"]).count(0) == sorted(dataset["test"]["label"]).count(3)
    channels = result.split_channels
    assert channels["test_videos"] == len(split_videos["test"]) == 8
    # the default --group-by channel: prepare's split is channel-disjoint, as the demo counts it from its own listing
    assert channels["test_channels"] == 4 and channels["test_channels_in_train_or_validation"] == 0

    for name in ("config.json", "all_results.json", "trainer_state.json", "run_config.json", "training_curves.png"):
        assert (out / "run" / name).exists(), name
    # every hand-off file the real stages wrote reads back as its record and writes back the same JSON
    for record, path in ((PrepareStats, out / "dataset" / "prepare_stats.json"), (RunRecord, out / "run" / "run_config.json"),
                         (RunRecord, out / "run" / "resume_config.json"), (EvalRecord, out / "report" / "metrics.json")):
        assert record.read(path).to_json() == json.loads(path.read_text()), path
    for line in (out / "raw" / "manifest.jsonl").read_text().splitlines():
        assert DownloadRecord.from_json(json.loads(line)).to_json() == json.loads(line)
    for line in (out / "dataset" / "prepare_videos.jsonl").read_text().splitlines():
        assert VideoRow.from_json(json.loads(line)).to_json() == json.loads(line)
    metrics = EvalRecord.read(out / "report" / "metrics.json")
    assert metrics == result.metrics and metrics.n_videos == 8 and metrics.split == "test"
    # the report's video table holds exactly the test videos, and its accuracy is the share of its correct rows
    with open(out / "report" / "predictions_videos.csv", newline="", encoding="utf-8") as handle:
        video_rows = list(csv.DictReader(handle))
    assert {row["video_id"] for row in video_rows} == split_videos["test"]
    assert all(row["predicted"] in CLASS_NAMES for row in video_rows)
    correct = sum(row["predicted"] == row["label"] for row in video_rows)
    assert metrics.video.accuracy == pytest.approx(correct / 8)
    report = (out / "report" / "report.md").read_text()
    assert f"{metrics.video.accuracy:.3f}" in report and "XX" not in report

    # the held-back video (never listed) is classified into one of the classes, with a distribution over them
    predictions = list(read_jsonl(out / "predict" / "predictions.jsonl"))
    assert len(predictions) == 1 and predictions[0]["label"] == result.held_back.predicted
    assert sorted(predictions[0]["probabilities"]) == CLASS_NAMES
    assert math.fsum(predictions[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert predictions[0]["label"] == max(predictions[0]["probabilities"], key=predictions[0]["probabilities"].get)
    assert result.held_back.video not in {row["link"].split("/", 3)[-1] for row in rows}
    assert predictions[0]["n_windows"] >= 1
    assert set(result.timings_s) == {"synthesize", "download", "prepare", "train", "eval", "predict"}

    # a second run resumes: nothing is downloaded, prepared or trained again
    stamps = {name: (out / name).stat().st_mtime_ns
              for name in ("raw/manifest.jsonl", "dataset/prepare_stats.json", "run/model.safetensors")}
    again = run_demo(config)
    assert again.metrics.video.accuracy == pytest.approx(result.metrics.video.accuracy)
    assert len(list(read_jsonl(f"{paths['raw']}/manifest.jsonl"))) == 24
    assert {name: (out / name).stat().st_mtime_ns for name in stamps} == stamps
    # ... but not with other training settings: train.run's own check names what differs (the demo has no copy of it)
    from training.checkpoints import ChangedRunError
    with pytest.raises(ChangedRunError, match=r"num_train_epochs: 2\.0 -> 3\.0"):
        run_demo(DemoConfig(**{**config.__dict__, "epochs": 3}))


def _opening_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Peak normalised cross-correlation over all lags: near 1 when both hold the same sound, whatever its offset."""
    n = 2 * len(a)
    corr = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    return float(np.abs(corr).max() / np.sqrt((a @ a) * (b @ b)))


def test_videos_of_a_channel_share_its_signature_sound(tmp_path):
    # 4 outdoor-ambience videos, channels of 2: each video's own noise differs, the channel's sting and room tone
    # (in every opening) do not
    videos = synthesize_videos(tmp_path / "media", videos_per_class=4, min_seconds=4, max_seconds=4, seed=3,
                               classes=("travel",), videos_per_channel=2)
    channels = [video.channel for video in videos]
    assert channels[::2] == channels[1::2] and channels[0] != channels[2]
    openings = []
    for video in videos:
        flac = tmp_path / f"{video.id}.flac"
        convert_to_flac(tmp_path / "media" / video.path, flac)
        samples, rate = sf.read(flac)
        openings.append(samples[: int(1.25 * rate)])
    same = [_opening_similarity(openings[0], openings[1]), _opening_similarity(openings[2], openings[3])]
    other = [_opening_similarity(openings[i], openings[j]) for i in (0, 1) for j in (2, 3)]
    assert min(same) > 2 * max(other), (same, other)


def _video(path: str, channel: str) -> SynthVideo:
    return SynthVideo(id=path, category=path.split("/")[0], path=path, title="t",
                      description=f"{channel}\nSUBSCRIBE\nx", channel=channel, duration_s=10, sample_rate=48000,
                      ext="webm")


def test_split_channels_counts_test_channels_seen_in_training(tmp_path):
    videos = [_video("food/a.webm", "Kettle"), _video("food/b.webm", "Kettle"), _video("food/c.webm", "Pan"),
              _video("food/d.webm", "Oven"), _video("food/e.webm", "Oven")]
    for video in videos:
        append_jsonl(tmp_path / "manifest.jsonl",
                     {"id": f"id-{video.path[5]}", "status": "ok", "url": f"http://127.0.0.1:1/{video.path}"})
    # a and b share channel Kettle across train and test (a deliberate overlap); c (Pan) is only in test
    dataset = {"train": {"video_id": ["id-a", "id-a", "id-d"]}, "validation": {"video_id": ["id-e"]},
               "test": {"video_id": ["id-b", "id-c", "id-c"]}}
    assert split_channels(dataset, tmp_path / "manifest.jsonl", videos) == {
        "test_videos": 2, "test_channels": 2, "test_channels_in_train_or_validation": 1,
        "test_videos_from_those_channels": 1}
    dataset["test"] = {"video_id": ["id-c"]}
    assert split_channels(dataset, tmp_path / "manifest.jsonl", videos)["test_channels_in_train_or_validation"] == 0


def test_demo_config_names_bad_values():
    with pytest.raises(ValueError, match="--group-by 'album'.*channel"):
        DemoConfig(group_by="album")
    with pytest.raises(ValueError, match="--videos-per-channel 0"):
        DemoConfig(videos_per_channel=0)
