"""The whole pipeline, offline, on synthetic "videos": synthesize -> serve on loopback -> download -> prepare ->
train (tiny recipe) -> eval with the lab report -> predict on a held-back video.

Every stage is the real one, called through its library function; only the videos and the model size are toys.
Re-running resumes: finished downloads, the prepared dataset and finished training are found and reused.

Example::

    python -m demo --out demo_out                       # the full demo (about 44 videos, a few minutes on 2 cores)
    python -m demo --out /tmp/d --videos-per-class 4 --videos-per-channel 1 --min-seconds 20 --max-seconds 30 --epochs 2
    python -m demo --out demo_out --group-by video      # the same videos split by video: channels span the splits
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.cli import format_table
from common.values import check_number
from common.contract import MANIFEST

logger = logging.getLogger("demo")
GROUP_BY = ("channel", "video")
TINY_RECIPE = Path(__file__).resolve().parents[1] / "configs" / "tiny-cpu.yaml"


@dataclass
class DemoConfig:
    out: str = field(default="demo_out", metadata={"help": "Folder for everything the demo makes (media, raw "
                                                           "downloads, dataset, model run, report, predictions)."})
    videos_per_class: int = field(default=11, metadata={"help": "Synthetic videos per class in the listing (4 "
                                                                "classes); one more video is held back for predict."})
    videos_per_channel: int = field(default=2, metadata={
        "help": "Consecutive videos of a class that share a channel (its name in the listing, its signature sound)."})
    min_seconds: float = field(default=30.0, metadata={"help": "Shortest synthetic video, seconds."})
    max_seconds: float = field(default=180.0, metadata={"help": "Longest synthetic video, seconds."})
    max_seconds_per_video: float = field(default=120.0, metadata={
        "help": "The download stage's --max-seconds: the middle section kept of each longer video."})
    clip_seconds: float = field(default=5.0, metadata={"help": "prepare's --clip-seconds."})
    max_clips_per_video: int = field(default=12, metadata={"help": "prepare's --max-clips-per-video."})
    split: str = field(default="0.6,0.2,0.2", metadata={
        "help": "prepare's --split (more test videos than 0.8/0.1/0.1 give the small demo tighter intervals)."})
    group_by: str = field(default="channel", metadata={
        "help": "prepare's --group-by: channel (no channel on two sides of the split) or video (channels may span "
                "splits, so a model can score by recognising a channel's signature sound). video writes "
                "dataset-by-video/, run-by-video/, report-by-video/ and predict-by-video/ beside the channel ones and "
                "reuses the media and downloads."})
    epochs: float = field(default=20.0, metadata={"help": "Training epochs of the tiny recipe."})
    port: int = field(default=8765, metadata={"help": "Loopback port of the media server (fixed so that a re-run "
                                                     "finds the same URLs and resumes; 0 picks a free port)."})
    workers: int = field(default=4, metadata={"help": "Parallel downloads from the loopback server."})
    baselines: bool = field(default=True, metadata={"help": "Also score the MFCC, frozen-encoder and text baselines and the audio+text fusion "
                                                                 "(--no-baselines to skip)."})
    bootstrap: int = field(default=1000, metadata={"help": "Bootstrap resamples for the report's intervals."})
    lang: str = field(default="en", metadata={"help": "Language of the report: en or ru."})
    seed: int = field(default=0, metadata={"help": "Seed of the synthetic videos, the split and training."})

    def __post_init__(self):
        if self.videos_per_class < 3:
            raise ValueError(f"--videos-per-class {self.videos_per_class}: expected at least 3 (one per split)")
        check_number("--videos-per-class", self.videos_per_class, minimum=3, maximum=1000, integer=True,
                     allow_none=False)
        for flag, value in (("--min-seconds", self.min_seconds), ("--max-seconds", self.max_seconds)):
            check_number(flag, value, minimum=0, maximum=36_000, above=True, allow_none=False)
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ValueError(f"--min-seconds {self.min_seconds} / --max-seconds {self.max_seconds}: expected "
                             "0 < min <= max")
        check_number("--max-seconds-per-video", self.max_seconds_per_video, minimum=0, maximum=36_000,
                     allow_none=False)
        check_number("--clip-seconds", self.clip_seconds, minimum=0.025, maximum=3600, allow_none=False)
        check_number("--max-clips-per-video", self.max_clips_per_video, minimum=0, integer=True, allow_none=False)
        check_number("--epochs", self.epochs, minimum=0, maximum=1e4, allow_none=False)
        check_number("--port", self.port, minimum=0, maximum=65535, integer=True, allow_none=False)
        check_number("--workers", self.workers, minimum=1, maximum=64, integer=True, allow_none=False)
        check_number("--bootstrap", self.bootstrap, minimum=10, maximum=100_000, integer=True, allow_none=False)
        check_number("--seed", self.seed, minimum=0, integer=True, allow_none=False)
        if self.videos_per_channel < 1:
            raise ValueError(f"--videos-per-channel {self.videos_per_channel}: expected at least 1")
        if self.group_by not in GROUP_BY:
            raise ValueError(f"--group-by {self.group_by!r}: expected one of {list(GROUP_BY)}")


def _prepare_options(config: DemoConfig) -> dict:
    """prepare_dataset's keyword arguments."""
    return dict(clip_seconds=config.clip_seconds, max_clips_per_video=config.max_clips_per_video, split=config.split,
                seed=config.seed, group_by=config.group_by)


def split_channels(dataset, manifest: Path, videos) -> dict:
    """How channel-disjoint the prepared split is, from the demo's own knowledge of each video's channel (the
    synthetic listing), independent of what prepare recorded: test videos and channels, and how many of those
    channels (and of those videos) also have a video in train or validation."""
    from common.contract import read_manifest

    channel_of_path = {video.path: video.channel for video in videos}
    channel_of_id = {}
    for record in read_manifest(manifest).records:
        path = next((p for p in channel_of_path if (record.url or "").endswith("/" + p)), None)
        if path is not None:
            channel_of_id[record.id] = channel_of_path[path]
    test = {channel_of_id[v] for v in set(dataset["test"]["video_id"])}
    test_videos = set(dataset["test"]["video_id"])
    seen = {channel_of_id[v] for split in dataset if split != "test" for v in set(dataset[split]["video_id"])}
    return {"test_videos": len(test_videos), "test_channels": len(test),
            "test_channels_in_train_or_validation": len(test & seen),
            "test_videos_from_those_channels": sum(channel_of_id[v] in seen for v in test_videos)}


@dataclass
class HeldBack:
    """The video kept out of the listing, and what predict made of it."""
    video: str
    true: str
    predicted: str
    probability: float


@dataclass
class DemoResult:
    paths: dict[str, str]           # stage -> the folder it wrote
    metrics: object                 # the evaluation record (common.contract.EvalRecord)
    timings_s: dict[str, float]     # stage -> seconds
    split_by: str                   # --group-by
    split_channels: dict[str, int]  # how channel-disjoint the split is, by the demo's own knowledge of channels
    held_back: HeldBack


def run_demo(config: DemoConfig) -> DemoResult:
    """Run every stage; returns the paths it wrote and the headline metrics."""
    from common.data import load_prepared
    from testing.server import MediaServer
    from testing.synth import synthesize_videos, write_kaggle_listing
    from download import DownloadConfig, download_videos
    from evaluation.pipeline import EvalConfig, evaluate_run
    from predict import PredictConfig, predict_inputs
    from prepare import prepare_dataset
    from testing.tiny_models import save_demo_ast
    import train

    out = Path(config.out)
    suffix = "" if config.group_by == "channel" else f"-by-{config.group_by}"
    paths = {name: out / name for name in ("media", "raw", "tiny-ast")}
    paths.update({name: out / f"{name}{suffix}" for name in ("dataset", "run", "report", "predict")})
    timings = {}
    started = time.perf_counter()

    def done(stage):
        nonlocal started
        timings[stage] = round(time.perf_counter() - started, 1)
        logger.info("==== %s finished in %.1f s", stage, timings[stage])
        started = time.perf_counter()

    # ---------------------------------------------------------------- 1. synthetic videos, one held back
    # One extra video per class is made; the listing gets the first videos_per_class of each class, and one extra
    # (of a class picked by the seed) is what predict classifies at the end.
    per_class = config.videos_per_class + 1
    videos = synthesize_videos(paths["media"], videos_per_class=per_class, min_seconds=config.min_seconds,
                               max_seconds=config.max_seconds, seed=config.seed,
                               videos_per_channel=config.videos_per_channel)
    listed = [v for i, v in enumerate(videos) if i % per_class < config.videos_per_class]
    extras = [v for i, v in enumerate(videos) if i % per_class == config.videos_per_class]
    held_back = extras[config.seed % len(extras)]
    done("synthesize")

    with MediaServer(paths["media"], port=config.port) as server:
        # ------------------------------------------------------------ 2. download through yt-dlp from loopback
        listing = write_kaggle_listing(listed, server.base_url, out / "listing.csv")
        download_videos(str(listing), paths["raw"], DownloadConfig(max_seconds=config.max_seconds_per_video,
                                                                   workers=config.workers, sleep=0))
        done("download")

        # ------------------------------------------------------------ 3. prepare a balanced dataset
        prepare_dataset(raw=[str(paths["raw"])], out=str(paths["dataset"]), **_prepare_options(config))
        channels = split_channels(load_prepared(paths["dataset"]), paths["raw"] / MANIFEST, listed)
        logger.info("split by %s: %d test videos from %d channels; %d of those channels (%d test videos) also in "
                    "train or validation", config.group_by, *channels.values())
        done("prepare")

        # ------------------------------------------------------------ 4. train the tiny recipe
        # rebuilt every time (deterministic from the seed, under a second), so a demo_out/ from an older version of
        # the tiny model never hands its layout to a new run
        # train.run itself knows a finished run of these settings (it reuses it), an interrupted one (it resumes)
        # and one made otherwise (ChangedRunError, naming what differs)
        save_demo_ast(paths["tiny-ast"], seed=config.seed)
        train.run([str(TINY_RECIPE), "--model_name_or_path", str(paths["tiny-ast"]),
                   "--dataset_name", str(paths["dataset"]), "--output_dir", str(paths["run"]),
                   "--num_train_epochs", str(config.epochs), "--seed", str(config.seed)])
        done("train")

        # ------------------------------------------------------------ 5. evaluate and write the lab report
        metrics = evaluate_run(EvalConfig(model=str(paths["run"]), dataset=str(paths["dataset"]),
                                          out=str(paths["report"]), split="test", lang=config.lang,
                                          baselines=config.baselines, downloads=[str(paths["raw"])],
                                          base_model=str(paths["tiny-ast"]), bootstrap=config.bootstrap,
                                          seed=config.seed))
        done("eval")

        # ------------------------------------------------------------ 6. classify the held-back video by URL
        [prediction] = predict_inputs(PredictConfig(model=str(paths["run"]), inputs=[server.url(held_back.path)],
                                                    out=str(paths["predict"]), format="table"))
        done("predict")

    result = DemoResult(paths={k: str(v) for k, v in paths.items()}, metrics=metrics, timings_s=timings,
                        split_by=config.group_by, split_channels=channels,
                        held_back=HeldBack(video=held_back.path, true=held_back.category, predicted=prediction.label,
                                           probability=prediction.probabilities[prediction.label]))
    logger.info("stage timings (s):\n%s", format_table(["stage", "seconds"], list(timings.items())
                                                        + [["total", round(sum(timings.values()), 1)]]))
    return result
