"""Benchmark of ``python -m predict`` on CPU: real-time factor for a 10-minute input with the tiny test model and
with the wav2vec2-base architecture (random weights from ``Wav2Vec2Config()``, nothing downloaded), and peak
memory against input length (each length in a fresh process) for the streamed path and, for contrast, for decoding
the whole file first.

Example::

    flock /tmp/heavy.lock env OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python -m bench.bench_predict /tmp/bench_predict
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common.audio import SAMPLING_RATE  # noqa: E402
from common.cli import format_table, setup_logging  # noqa: E402

logger = logging.getLogger(__name__)
CLASS_NAMES = ["art_music", "food", "history", "travel"]
RTF_MINUTES = 10
MEMORY_MINUTES = (2, 10, 20, 40)  # from 2 min on every batch is full (8 x 10 s), so only the length varies
WINDOW_S, BATCH_SIZE = 10.0, 8

# Peak RSS of one predict call in a fresh process; "whole" decodes the file into memory first (what streaming avoids).
CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from predict import PredictConfig, predict_inputs
from predict.sources import read_all
from common.modeling import load_feature_extractor, load_model, predict_windows
run, path, mode = sys.argv[1:4]
began = time.perf_counter()
if mode == "stream":
    predict_inputs(PredictConfig(model=run, inputs=[path], window_seconds={window}, batch_size={batch}, device="cpu"))
else:
    predict_windows(load_model(run), load_feature_extractor(run), [read_all(path)], window_s={window}, batch_size={batch})
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec from the (large) parent; VmHWM starts fresh at exec.
hwm_kib = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"peak_rss_mib": hwm_kib / 1024,
                  "seconds": time.perf_counter() - began}}))
"""


def write_long_flac(path: Path, minutes: float, seed: int = 0) -> Path:
    """A long 16 kHz FLAC written block by block (tones changing every 30 s plus noise)."""
    rng = np.random.default_rng(seed)
    block = 30 * SAMPLING_RATE
    with sf.SoundFile(str(path), "w", SAMPLING_RATE, 1, subtype="PCM_16", format="FLAC") as handle:
        for index in range(int(round(minutes * 60 * SAMPLING_RATE)) // block):
            t = np.arange(block) / SAMPLING_RATE
            tone = 0.3 * np.sin(2 * np.pi * 200 * (1 + index % 4) * t)
            handle.write((tone + 0.05 * rng.standard_normal(block)).astype(np.float32))
    return path


def make_run(kind: str, path: Path) -> str:
    """A run folder with 4 class names: the tiny test model, or the wav2vec2-base architecture with random weights."""
    import torch
    import transformers as tf

    from common.modeling import load_model
    from testing.tiny_models import save_tiny_model

    if kind == "tiny":
        load_model(save_tiny_model("wav2vec2", path / "tiny"), class_names=CLASS_NAMES).save_pretrained(path / "run")
        tf.Wav2Vec2FeatureExtractor(sampling_rate=SAMPLING_RATE).save_pretrained(path / "run")
        return str(path / "run")
    torch.manual_seed(0)
    config = tf.Wav2Vec2Config(num_labels=len(CLASS_NAMES), id2label=dict(enumerate(CLASS_NAMES)),
                               label2id={n: i for i, n in enumerate(CLASS_NAMES)})
    tf.Wav2Vec2ForSequenceClassification(config).save_pretrained(path / "run")
    tf.Wav2Vec2FeatureExtractor(sampling_rate=SAMPLING_RATE, return_attention_mask=False).save_pretrained(path / "run")
    return str(path / "run")


def measure_child(run: str, audio: Path, mode: str, fixed_mmap_threshold: bool = False) -> dict:
    code = CHILD.format(root=str(ROOT), window=WINDOW_S, batch=BATCH_SIZE)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    if fixed_mmap_threshold:
        # glibc raises its mmap threshold after big frees, so later big tensors come from the heap and fragment it:
        # RSS creeps up with the number of batches though nothing is kept. A fixed threshold shows the data's share.
        env["MALLOC_MMAP_THRESHOLD_"] = "131072"
    proc = subprocess.run([sys.executable, "-c", code, run, str(audio), mode], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child ({mode}, {audio.name}) failed: {proc.stderr[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def real_time_factor(run: str, audio: Path) -> dict:
    import torch

    from predict import PredictConfig, predict_inputs

    torch.set_num_threads(1)
    began = time.perf_counter()
    [result] = predict_inputs(PredictConfig(model=run, inputs=[str(audio)], window_seconds=WINDOW_S,
                                            batch_size=BATCH_SIZE, device="cpu"))
    seconds = time.perf_counter() - began
    return {"audio_s": result.duration_s, "seconds": round(seconds, 2), "rtf": round(seconds / result.duration_s, 5),
            "windows": len(result.timeline)}


def run(tmp_dir) -> dict:
    """Predict's real-time factor on a 10-minute input (tiny model, wav2vec2-base architecture) and its peak memory
    against input length, streamed vs whole-file decoding, each in a fresh process."""
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    audio = {m: write_long_flac(tmp_dir / f"noise_{m}min.flac", m) for m in sorted({RTF_MINUTES, *MEMORY_MINUTES})}
    runs = {kind: make_run(kind, tmp_dir / kind) for kind in ("tiny", "wav2vec2-base")}
    results = {"window_s": WINDOW_S, "batch_size": BATCH_SIZE, "threads": 1, "rtf": {}, "memory": []}
    for kind, run_dir in runs.items():
        results["rtf"][kind] = real_time_factor(run_dir, audio[RTF_MINUTES])
        logger.info("RTF %s: %s", kind, results["rtf"][kind])
    for minutes in MEMORY_MINUTES:
        row = {"minutes": minutes}
        for mode in ("stream", "whole"):
            row[f"{mode}_peak_rss_mib"] = round(measure_child(runs["tiny"], audio[minutes], mode)["peak_rss_mib"], 1)
        row["stream_fixed_mmap_peak_rss_mib"] = round(
            measure_child(runs["tiny"], audio[minutes], "stream", fixed_mmap_threshold=True)["peak_rss_mib"], 1)
        results["memory"].append(row)
        logger.info("memory %s", row)
    results["rows"] = figure_rows(results)
    return results


def figure_rows(results: dict) -> list[dict]:
    """The bench report's rows: RTF per model, and memory growth from the shortest to the longest input, streamed
    (the reference is the same predictions after decoding the whole file, measured in the same run)."""
    rows = [{"figure": f"predict RTF, {RTF_MINUTES}-min input, {kind}, CPU 1 thread", "value": v["rtf"],
             "unit": "s per audio s", "reference": None, "ratio": None, "target": "< 1 (faster than real time)"}
            for kind, v in results["rtf"].items()]
    first, last = results["memory"][0], results["memory"][-1]
    stream = round(last["stream_peak_rss_mib"] - first["stream_peak_rss_mib"], 1)
    whole = round(last["whole_peak_rss_mib"] - first["whole_peak_rss_mib"], 1)
    rows.append({"figure": f"peak RSS growth {first['minutes']}->{last['minutes']} min input, streamed (ref: whole-file decode)",
                 "value": stream, "unit": "MiB", "reference": whole, "ratio": round(stream / whole, 3) if whole else None,
                 "target": "flat (growth << whole-file growth)"})
    second = results["memory"][1]
    fixed = round(last["stream_fixed_mmap_peak_rss_mib"] - second["stream_fixed_mmap_peak_rss_mib"], 1)
    rows.append({"figure": f"peak RSS growth {second['minutes']}->{last['minutes']} min, streamed, MALLOC_MMAP_THRESHOLD_ fixed",
                 "value": fixed, "unit": "MiB", "reference": None, "ratio": None, "target": "~0 (nothing kept per window)"})
    return rows


def main() -> None:
    setup_logging()
    results = run(sys.argv[1] if len(sys.argv) > 1 else "bench_out/predict")
    print(format_table(["model", "audio s", "seconds", "RTF", "windows"],
                       [[k, v["audio_s"], v["seconds"], f"{v['rtf']:.4f}", v["windows"]] for k, v in results["rtf"].items()]))
    print(format_table(["minutes", "streamed peak MiB", "whole-file peak MiB", "streamed, fixed mmap threshold"],
                       [[r["minutes"], r["stream_peak_rss_mib"], r["whole_peak_rss_mib"],
                         r["stream_fixed_mmap_peak_rss_mib"]] for r in results["memory"]]))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
