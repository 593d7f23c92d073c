"""End to end: a reduced demo through the real stages (yt-dlp from loopback, ffmpeg, datasets, Trainer, report)."""

import json

import pytest

from common.data import load_prepared
from common.jsonl import read_jsonl
from demo.pipeline import DemoConfig, run_demo
from testing.server import free_port


def test_reduced_demo_runs_every_stage(tmp_path):
    # the same port on both runs: generic video ids derive from the URL, and the second run must find them done
    config = DemoConfig(out=str(tmp_path / "demo"), videos_per_class=3, min_seconds=12, max_seconds=20,
                        clip_seconds=4, epochs=2, port=free_port(), bootstrap=50, baselines=False, split="0.34,0.33,0.33")
    result = run_demo(config)
    paths = result["paths"]

    records = list(read_jsonl(f"{paths['raw']}/manifest.jsonl"))
    assert len(records) == 12 and all(r["status"] == "ok" and r["sample_rate"] == 16000 for r in records)

    dataset = load_prepared(paths["dataset"])
    assert dataset["train"].features["label"].names == ["art_music", "food", "history", "travel"]
    split_videos = {split: set(dataset[split]["video_id"]) for split in dataset}
    assert not (split_videos["train"] & split_videos["test"]) and not (split_videos["validation"] & split_videos["test"])
    assert sorted(dataset["test"]["label"]).count(0) == sorted(dataset["test"]["label"]).count(3)

    for name in ("config.json", "all_results.json", "trainer_state.json", "run_config.json", "training_curves.png"):
        assert (tmp_path / "demo" / "run" / name).exists(), name
    metrics = json.loads((tmp_path / "demo" / "report" / "metrics.json").read_text())
    # 4 test videos: video accuracy is a multiple of 1/4, and the report states the number it computed
    assert metrics["n_videos"] == 4 and (metrics["video"]["accuracy"] * 4) == pytest.approx(round(metrics["video"]["accuracy"] * 4))
    report = (tmp_path / "demo" / "report" / "report.md").read_text()
    assert f"{metrics['video']['accuracy']:.3f}" in report and "XX" not in report
    predictions = list(read_jsonl(tmp_path / "demo" / "predict" / "predictions.jsonl"))
    assert [p["label"] for p in predictions] == [result["held_back"]["predicted"]]
    assert predictions[0]["n_windows"] >= 1
    assert set(result["timings_s"]) == {"synthesize", "download", "prepare", "train", "eval", "predict"}

    # a second run resumes: nothing is downloaded, prepared or trained again
    stamps = {name: (tmp_path / "demo" / name).stat().st_mtime_ns
              for name in ("raw/manifest.jsonl", "dataset/prepare_stats.json", "run/model.safetensors")}
    again = run_demo(config)
    assert again["video_accuracy"] == pytest.approx(result["video_accuracy"])
    assert len(list(read_jsonl(f"{paths['raw']}/manifest.jsonl"))) == 12
    assert {name: (tmp_path / "demo" / name).stat().st_mtime_ns for name in stamps} == stamps
    # ... but not with other training settings
    with pytest.raises(FileExistsError, match="trained with .*'epochs': 2.0.*remove"):
        run_demo(DemoConfig(**{**config.__dict__, "epochs": 3}))
