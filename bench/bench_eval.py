"""Benchmarks of the eval stage: windowed inference throughput on CPU and peak memory on a 10-minute clip.

``python -m bench --only eval`` (or ``run(Path(tmp))``). Random weights are fine for timing: the cost of a forward
pass does not depend on the values of the weights.
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

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["art_music", "food", "history", "travel"]
REFERENCE_SECONDS = 80.0  # 8 windows of 10 s: exactly one full batch, so both clips reach the same batch size


def _tone_dataset(path: Path, n_clips: int, clip_seconds: float):
    from datasets import Dataset

    from common.audio import encode_flac
    from common.data import clip_features

    rng = np.random.default_rng(0)
    t = np.arange(int(clip_seconds * 16000)) / 16000
    rows = {name: [] for name in clip_features(NAMES)}
    for i in range(n_clips):
        wave = (0.4 * np.sin(2 * np.pi * 300 * (1 + i % 4) * t) + 0.05 * rng.standard_normal(t.shape)).astype(np.float32)
        rows["audio"].append({"bytes": encode_flac(wave), "path": f"{i}.flac"})
        rows["label"].append(i % 4)
        rows["video_id"].append(f"v{i // 2}")
        rows["channel"].append("")
        rows["start_s"].append(0.0)
        rows["duration_s"].append(clip_seconds)
        rows["title"].append("bench")
    return Dataset.from_dict(rows).cast(clip_features(NAMES))


def _save_base_architecture(path: Path) -> str:
    """wav2vec2-base's architecture (``Wav2Vec2Config()`` defaults, 95M parameters) with random weights."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

    torch.manual_seed(0)
    config = Wav2Vec2Config(num_labels=4, id2label=dict(enumerate(NAMES)), label2id={n: i for i, n in enumerate(NAMES)})
    Wav2Vec2ForSequenceClassification(config).save_pretrained(path)
    Wav2Vec2FeatureExtractor(sampling_rate=16000, return_attention_mask=False).save_pretrained(path)
    return str(path)


def _save_tiny(path: Path) -> str:
    import torch

    from common.modeling import load_feature_extractor, load_model
    from testing.tiny_models import save_tiny_model

    torch.manual_seed(0)
    base = save_tiny_model("wav2vec2", path / "base")
    load_model(base, class_names=NAMES).save_pretrained(path / "model")
    load_feature_extractor(base).save_pretrained(path / "model")
    return str(path / "model")


def throughput(model_path: str, dataset, window_s: float, batch_size: int) -> dict:
    """Audio seconds per second of ``infer_split`` (decoding + windowing + forward), and of a plain loop that runs
    each whole clip through extractor and model one at a time (the source notebooks' way), on the same clips."""
    import torch

    from common.data import clip_array
    from evaluation.inference import infer_split, load_eval_model

    model, extractor, columns = load_eval_model(model_path, NAMES)
    infer_split(model, extractor, columns, dataset.select([0]), window_s, batch_size, desc="warm-up")
    ours = infer_split(model, extractor, columns, dataset, window_s, batch_size, desc="bench eval")
    started = time.perf_counter()
    with torch.no_grad():
        for row in dataset:
            inputs = extractor(clip_array(row["audio"]), sampling_rate=16000, return_tensors="pt")
            model(**inputs)
    plain = ours.audio_seconds / (time.perf_counter() - started)
    return {"ours": ours.audio_seconds / ours.inference_seconds, "plain": plain, "audio_s": ours.audio_seconds}


def _status_mb(field: str) -> float:
    """``VmRSS``/``VmHWM`` of this process in MB. Not ``ru_maxrss``: that one survives ``exec`` and would report
    the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {field} (Linux only)")


def peak_memory_child(model_path: str, seconds: float, window_s: float, batch_size: int) -> None:
    """Run in a fresh process: peak RSS while evaluating one ``seconds``-long clip, printed as JSON."""
    import torch

    from common.modeling import predict_windows
    from evaluation.inference import load_eval_model

    torch.set_num_threads(1)
    model, extractor, _ = load_eval_model(model_path, NAMES)
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(int(seconds * 16000))).astype(np.float32)
    try:  # reset the high-water mark so the peak is that of inference alone (Linux >= 4.0)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    before = _status_mb("VmRSS")
    started = time.perf_counter()
    out = predict_windows(model, extractor, iter([samples]), window_s=window_s, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    print(json.dumps({"before_mb": before, "peak_mb": peak, "growth_mb": peak - before,
                      "windows": len(out.clip_index), "seconds": elapsed, "audio_s": seconds}))


def _peak_memory(model_path: str, seconds: float, window_s: float, batch_size: int) -> dict:
    code = (f"from bench.bench_eval import peak_memory_child; "
            f"peak_memory_child({model_path!r}, {seconds}, {window_s}, {batch_size})")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(tmp_dir: Path) -> dict:
    """Measures, on CPU with one thread: (1) eval throughput (audio seconds per second, decoding included) of the
    tiny test wav2vec2 on 40 x 10-s clips and of the wav2vec2-base architecture (random weights) on 6 x 10-s clips,
    each against a plain whole-clip loop on the same clips; (2) peak RSS of evaluating one 10-minute clip with
    10-s windows in batches of 8, against an 80-s clip (one full batch; target: ratio <= 1.2, memory independent of
    length)."""
    tmp_dir = Path(tmp_dir)
    tiny, base = _save_tiny(tmp_dir / "tiny"), _save_base_architecture(tmp_dir / "base")
    rows = []
    for name, path, n_clips in (("tiny wav2vec2", tiny, 40), ("wav2vec2-base arch", base, 6)):
        speed = throughput(path, _tone_dataset(tmp_dir / name, n_clips, 10.0), 10.0, 8)
        rows.append({"figure": f"eval throughput, {name}", "value": round(speed["ours"], 1),
                     "unit": "audio s/s", "reference": round(speed["plain"], 1),
                     "ratio": round(speed["ours"] / speed["plain"], 2), "target": "ratio >= 0.9"})
        logger.info("%s", rows[-1])
    memory = {}
    for name, path in (("tiny wav2vec2", tiny), ("wav2vec2-base arch", base)):
        for seconds in (REFERENCE_SECONDS, 600.0):
            memory[(name, seconds)] = _peak_memory(path, seconds, 10.0, 8)
            logger.info("%s, %.0f s clip: %s", name, seconds, memory[(name, seconds)])
        ten, one = memory[(name, 600.0)], memory[(name, REFERENCE_SECONDS)]
        rows.append({"figure": f"peak RSS, 10-min clip, {name}", "value": round(ten["peak_mb"]), "unit": "MB",
                     "reference": f"80-s clip {one['peak_mb']:.0f} MB", "ratio": round(ten["peak_mb"] / one["peak_mb"], 3),
                     "target": "ratio <= 1.2"})
        rows.append({"figure": f"eval throughput on the 10-min clip, {name}",
                     "value": round(ten["audio_s"] / ten["seconds"], 1), "unit": "audio s/s"})
    return {"rows": rows, "memory": {f"{n}, {s:.0f} s": v for (n, s), v in memory.items()}}


if __name__ == "__main__":
    import tempfile

    from common.cli import format_table, setup_logging

    setup_logging()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(Path(tmp))
    print(format_table(["figure", "value", "reference", "ratio", "target"],
                       [[r["figure"], f"{r['value']} {r.get('unit', '')}", r.get("reference"), r.get("ratio"),
                         r.get("target")] for r in result["rows"]]))
