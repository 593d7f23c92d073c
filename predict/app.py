"""Try a trained model in the browser: ``python -m predict.app MODEL [--host 127.0.0.1] [--port 7860] [--share]``.

MODEL is a run folder written by train.py or a Hub model id. The page takes an uploaded or recorded file, or a
YouTube (any yt-dlp) URL, and shows the label with its class probabilities, the probability of each class over
time (one point per window), the audio, and the timeline as a CSV download. It runs the predict stage's own path
(``predict.classify.predict_inputs``: the same windows, the same scores as ``python -m predict`` and the lab
report); URLs go through the download stage with its pacing and its failure policy. Bad input (not audio, a
private or refused URL) is one readable message in the page. Offline by default: loopback only, no share link,
no analytics.

A Hub Space in one command: ``--push-space USER/SPACE`` writes ``app.py``, ``requirements.txt`` and a README with
the Spaces YAML (the model loaded from the Hub by id, this project's packages copied beside them) and uploads them;
``--write-space DIR`` only writes them.

Example::

    python -m predict.app demo_out/run --port 7860             # then open http://127.0.0.1:7860
    python -m predict.app me/yt-audio-wav2vec2 --push-space me/yt-audio-demo
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.cli import LoggingArguments, description_of, parse_config, run_cli, setup_logging
from common.errors import ExpectedError
from common.values import check_number

PROG = "python -m predict.app"
logger = logging.getLogger(__name__)
# Packages a Space needs beside its app.py (the predict path and the download stage it fetches URLs with).
SPACE_PACKAGES = ("common", "predict", "download")
SPACE_REQUIREMENTS = ("torch", "transformers>=5.0", "soundfile>=0.13", "numpy>=1.26", "scipy>=1.13", "pandas>=2.2",
                      "plotly>=5.24", "tqdm>=4.66", "pyyaml>=6.0", "huggingface_hub>=1.0", "yt-dlp[default]",
                      "deno>=2.6.6", "librosa>=0.11", "gradio>=5.0")


@dataclass
class AppConfig:
    model: str = field(metadata={"positional": True, "metavar": "MODEL", "help": "Run folder written by train.py, "
                                 "or a Hub id of an audio-classification model."})
    host: str = field(default="127.0.0.1", metadata={"help": "Address to serve on (127.0.0.1: this machine only; "
                                                             "0.0.0.0: every interface)."})
    port: int = field(default=7860, metadata={"help": "Port to serve on."})
    share: bool = field(default=False, metadata={"help": "Also open a public gradio.live link (needs the "
                                                         "internet; off by default)."})
    work_dir: str | None = field(default=None, metadata={
        "help": "Where predictions and URL downloads go (default: a temporary folder removed at exit)."})
    window_seconds: float | None = field(default=None, metadata={
        "help": "Window length in seconds; default: the run record's eval_window_seconds."})
    batch_size: int = field(default=8, metadata={"help": "Windows per forward pass."})
    device: str = field(default="auto", metadata={"help": "torch device: auto, cpu, cuda:0, ..."})
    write_space: str | None = field(default=None, metadata={
        "help": "Write a Hugging Face Space (app.py, requirements.txt, README.md, the project's packages) for "
                "MODEL (a Hub id) into this folder, and exit."})
    push_space: str | None = field(default=None, metadata={
        "help": "Write the Space and upload it to this Space repository (USER/SPACE; created when missing), and "
                "exit. The token comes from `hf auth login` or HF_TOKEN."})

    def __post_init__(self):
        check_number("--port", self.port, minimum=1, maximum=65535, integer=True, allow_none=False)
        check_number("--batch-size", self.batch_size, minimum=1, maximum=4096, integer=True, allow_none=False)
        check_number("--window-seconds", self.window_seconds, minimum=0.025, maximum=3600)
        if self.push_space and self.push_space.count("/") != 1:
            raise ValueError(f"--push-space {self.push_space!r}: expected USER/SPACE")
        if (self.write_space or self.push_space) and Path(self.model).exists():
            raise ValueError(f"--write-space/--push-space: MODEL {self.model!r} is a local folder; a Space loads its "
                             "model from the Hub: push the run first (train.py --push_to_hub) and give its Hub id")


ARGUMENTS = (AppConfig, LoggingArguments)  # its command line (docs: bench.docgen)


# ---------------------------------------------------------------- what the page shows

def timeline_figure(result):
    """The probability of each class over time: one line per class, one point per window (at its middle)."""
    import plotly.graph_objects as go

    middles = [(row["start_s"] + row["end_s"]) / 2 for row in result.timeline]
    figure = go.Figure()
    for name in result.probabilities:
        figure.add_trace(go.Scatter(x=middles, y=[row["probabilities"][name] for row in result.timeline],
                                    mode="lines+markers", name=name))
    figure.update_layout(title=f"{result.label} ({result.probabilities[result.label]:.0%}): class probability "
                               "per window", xaxis_title="time (s)", yaxis_title="probability",
                         yaxis_range=[0, 1], height=360, margin=dict(l=50, r=20, t=50, b=40))
    return figure


class Classifier:
    """The model, loaded once, and the predict path for one input at a time."""

    def __init__(self, config: AppConfig):
        from predict.loading import load_classifier

        self.config = config
        self.loaded = load_classifier(config.model, config.device)
        self.names = [self.loaded[0].config.id2label[i] for i in range(self.loaded[0].config.num_labels)]
        self.work = Path(config.work_dir or tempfile.mkdtemp(prefix="ytac-app-"))
        self.work.mkdir(parents=True, exist_ok=True)

    def __call__(self, upload: str | None, url: str | None):
        """(label probabilities, timeline figure, audio to play, timeline CSV path, warnings) for one input;
        ``ExpectedError``/``ValueError``/``OSError`` carry a readable message."""
        from predict.classify import PredictConfig, predict_inputs

        text = (url or "").strip()
        if not upload and not text:
            raise ValueError("give a file (upload or record one) or a URL")
        source = text or upload
        config = PredictConfig(model=self.config.model, inputs=[source], out=str(self.work),
                               window_seconds=self.config.window_seconds, batch_size=self.config.batch_size,
                               device=self.config.device)
        started = time.perf_counter()
        (result,) = predict_inputs(config, loaded=self.loaded)
        logger.info("%s: %s in %.1f s", source, result.label, time.perf_counter() - started)
        csv = self.work / "timelines" / f"{result.id}.csv"
        notes = "\n".join(f"- {warning}" for warning in result.warnings)
        return result.probabilities, timeline_figure(result), result.media_path, str(csv), notes


def build(config: AppConfig, classifier: Classifier | None = None):
    """The page (a ``gradio.Blocks``); ``classifier`` defaults to one loading ``config.model``."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    classifier = classifier or Classifier(config)

    def classify(upload, url, progress=gr.Progress(track_tqdm=True)):
        try:
            return classifier(upload, url)
        except (ExpectedError, ValueError, OSError) as exc:
            raise gr.Error(" ".join(str(exc).split()), print_exception=False) from None

    with gr.Blocks(title=f"{Path(config.model).name or config.model}: audio classifier",
                   analytics_enabled=False) as page:
        gr.Markdown(f"## What is this video about?\nModel `{config.model}`; classes: "
                    + ", ".join(f"`{name}`" for name in classifier.names)
                    + ". Upload or record audio, or paste a YouTube link.")
        with gr.Row():
            with gr.Column():
                upload = gr.Audio(sources=["upload", "microphone"], type="filepath", label="audio or video file",
                                  elem_id="upload")
                url = gr.Textbox(label="or a YouTube (any yt-dlp) URL", placeholder="https://www.youtube.com/watch?v=...",
                                 elem_id="url")
                button = gr.Button("Classify", variant="primary", elem_id="classify")
            with gr.Column():
                label = gr.Label(label="class", num_top_classes=len(classifier.names), elem_id="label")
                notes = gr.Markdown(elem_id="notes")
        plot = gr.Plot(label="class probability over time", elem_id="timeline")
        with gr.Row():
            player = gr.Audio(label="the audio", type="filepath", interactive=False, elem_id="player")
            csv = gr.File(label="timeline (CSV)", elem_id="csv")
        button.click(classify, inputs=[upload, url], outputs=[label, plot, player, csv, notes])
    page.classifier = classifier
    return page


# ---------------------------------------------------------------- a Hub Space

SPACE_APP = '''"""A Hugging Face Space for {model}: written by `python -m predict.app {model} --write-space DIR` (yt-audio-classify).
The packages beside this file are the project's own predict path."""
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
from predict.app import AppConfig, build

build(AppConfig(model="{model}", host="0.0.0.0")).launch(server_name="0.0.0.0", server_port=7860)
'''

SPACE_README = '''---
title: {title}
emoji: 🎧
colorFrom: indigo
colorTo: blue
sdk: gradio
app_file: app.py
pinned: false
models:
- {model}
tags:
- audio-classification
---

# {model}

Upload or record audio, or paste a YouTube link: the class of the recording and the probability of each class over
time, computed by the [model]({url}) with the same windows as its lab report. Written by
`python -m predict.app {model} --write-space DIR`.
'''


def write_space(model: str, folder, root: Path | None = None) -> list[Path]:
    """Write a Space for Hub model ``model`` into ``folder``: app.py, requirements.txt, README.md (Spaces YAML) and
    the project's packages it imports (``SPACE_PACKAGES``, Python files only). Returns the files written."""
    root = root or Path(__file__).resolve().parents[1]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for package in SPACE_PACKAGES:
        for source in sorted((root / package).rglob("*.py")):
            if "__pycache__" in source.parts:
                continue
            target = folder / source.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            written.append(target)
    files = {"app.py": SPACE_APP.format(model=model),
             "requirements.txt": "\n".join(SPACE_REQUIREMENTS) + "\n",
             "README.md": SPACE_README.format(model=model, title=model.split("/")[-1][:30],
                                              url=f"https://huggingface.co/{model}")}
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        written.append(folder / name)
    return written


def push_space(model: str, space: str, folder=None, api=None) -> str:
    """Write the Space (into ``folder`` or a temporary one) and upload it to ``space`` (created when missing, SDK
    gradio); returns the Space's URL. ``api``: a ``huggingface_hub.HfApi`` (tests pass a fake)."""
    from huggingface_hub import HfApi

    api = api or HfApi()
    with tempfile.TemporaryDirectory(prefix="ytac-space-") as tmp:
        target = Path(folder or tmp)
        write_space(model, target)
        api.create_repo(space, repo_type="space", space_sdk="gradio", exist_ok=True)
        api.upload_folder(folder_path=str(target), repo_id=space, repo_type="space",
                          commit_message=f"Space for {model} (yt-audio-classify)",
                          ignore_patterns=["**/__pycache__/**"])
    return f"https://huggingface.co/spaces/{space}"


# ---------------------------------------------------------------- the command

def run(argv=None) -> int:
    config, logs = parse_config(ARGUMENTS, argv, prog=PROG, description=description_of(__doc__))
    setup_logging(logs.verbose)
    if config.write_space or config.push_space:
        if config.push_space:
            print(f"Space: {push_space(config.model, config.push_space, config.write_space)}")
        else:
            files = write_space(config.model, config.write_space)
            print(f"wrote {len(files)} files into {config.write_space}; upload with --push-space USER/SPACE")
        return 0
    page = build(config)
    print(f"serving {config.model} at http://{config.host}:{config.port} (Ctrl-C to stop)")
    try:
        page.launch(server_name=config.host, server_port=config.port, share=config.share, show_error=False,
                    quiet=True)
    finally:
        if not config.work_dir:
            shutil.rmtree(page.classifier.work, ignore_errors=True)
    return 0


def main(argv=None) -> int:
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
