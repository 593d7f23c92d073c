"""Benchmark of prepare/: speed (x real time) on 16 kHz lossless downloads, peak memory and disk for 1 h vs 10 h of input,
and the first load of the written dataset by datasets' public loader (``common.data.load_prepared``: the Parquet
shards are converted into datasets' Arrow cache once; its time, memory and disk are what train/eval pay first).

The reference, measured in the same run on the same files, is the source notebooks' approach: ``librosa.load(path,
sr=16000)`` per file, then slicing into the same capped 10-s clips kept in a list. Each measurement runs in a fresh
subprocess that reports its own peak RSS (``ru_maxrss``, children included). The reference does less work than
prepare (no FLAC encoding, nothing written), so its speed is an upper bound for that approach.

    python -m bench --only prepare            # or: python bench/bench_prepare.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("art_music", "food", "history", "travel")
VIDEO_SECONDS = 300
DISTINCT_SOURCES = 8  # base signals; each video gets its own samples (prepare keeps one of byte-identical files)

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
args = json.loads(sys.argv[2])
if args["mode"] == "prepare":
    import datasets, pyarrow  # imports are not part of the timing, for either side
    from prepare import prepare_dataset
    started = time.perf_counter()
    stats = prepare_dataset(raw=[args["raw"]], out=args["out"])
    seconds = time.perf_counter() - started
    clips = sum(c["clips"] for per_class in stats["splits"].values() for c in per_class.values())
elif args["mode"] == "load":
    import datasets, pyarrow
    from common.data import load_prepared
    started = time.perf_counter()
    dataset = load_prepared(args["out"])
    clips = sum(len(dataset[split]) for split in dataset)
    seconds = time.perf_counter() - started
else:
    import librosa, numpy as np
    from pathlib import Path
    from common.contract import MANIFEST, read_manifest
    records = read_manifest(Path(args["raw"]) / MANIFEST).records
    librosa.load(str(Path(args["raw"]) / records[0].path), sr=16000, duration=1.0)  # warm-up: lazy imports, JIT
    started = time.perf_counter()
    kept = []
    for record in records:
        y, sr = librosa.load(str(Path(args["raw"]) / record.path), sr=16000)
        clip = 10 * sr
        pieces = [y[s:s + clip] for s in range(0, len(y) - clip + 1, clip)]
        step = len(pieces) / 20
        kept += [pieces[int((i + 0.5) * step)] for i in range(min(20, len(pieces)))] if len(pieces) > 20 else pieces
    seconds = time.perf_counter() - started
    clips = len(kept)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_kib / 1024, "clips": clips}))
"""


def _source(seed: int) -> np.ndarray:
    """A 5-minute 16 kHz signal: tone segments of changing pitch and level over noise, with a quiet intro."""
    from common.audio import SAMPLING_RATE

    rng = np.random.default_rng(seed)
    n = VIDEO_SECONDS * SAMPLING_RATE
    freq = np.repeat(rng.uniform(150, 2000, VIDEO_SECONDS // 5), 5 * SAMPLING_RATE)
    level = np.repeat(rng.uniform(0.05, 0.4, VIDEO_SECONDS // 5), 5 * SAMPLING_RATE)
    wave = level * np.sin(2 * np.pi * np.cumsum(freq) / SAMPLING_RATE) + 0.02 * rng.standard_normal(n)
    wave[: 10 * SAMPLING_RATE] *= 0.001  # silent intro: dropped by --min-rms-db
    return wave.astype(np.float32)


def make_downloads(directory: Path, hours: float, sources: list[np.ndarray]) -> Path:
    """A download directory (manifest.jsonl + audio/<id>.flac) holding ``hours`` of 5-minute videos, 4 classes. Each
    video is a base signal with a few samples of its own, so no two files are byte-identical: prepare keeps one of
    byte-identical sources (``duplicate_source``), and byte copies would measure a tenth of the work."""
    from common.audio import encode_flac
    from common.contract import DownloadRecord, append_record

    (directory / "audio").mkdir(parents=True)
    videos = round(hours * 3600 / VIDEO_SECONDS)
    for i in range(videos):
        video_id = f"bench{i:06d}"
        samples = sources[i % len(sources)].copy()
        samples[20 * 16000 + i: 20 * 16000 + i + 8] += 0.01        # after the silent intro: a per-video mark
        (directory / "audio" / f"{video_id}.flac").write_bytes(encode_flac(samples))
        append_record(directory, DownloadRecord(
            id=video_id, url=f"https://www.youtube.com/watch?v={video_id}", category=CLASSES[i % 4],
            title=f"video {i}", status="ok", message="", path=f"audio/{video_id}.flac", sample_rate=16000,
            duration_s=VIDEO_SECONDS, section_start_s=0.0, source_duration_s=VIDEO_SECONDS, bytes_downloaded=0,
            attempts=1))
    return directory


def _tree_bytes(paths) -> int:
    total = 0
    for path in paths:
        for folder, _, files in os.walk(path):
            for name in files:
                try:
                    total += os.stat(os.path.join(folder, name)).st_size
                except OSError:       # renamed or removed while walking
                    pass
    return total


def _measure(mode: str, raw: Path, out: Path | None = None, watch=(), cache: Path | None = None) -> dict:
    """Run one measurement in a fresh process; ``watch``: folders whose total size is sampled every 0.2 s while it
    runs (the peak disk it uses besides its input)."""
    import threading

    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TQDM_DISABLE": "1", **({"HF_DATASETS_CACHE": str(cache)} if cache else {})}
    peak, done = [0], threading.Event()

    def sample():
        while not done.wait(0.2):
            peak[0] = max(peak[0], _tree_bytes(watch))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), json.dumps(
            {"mode": mode, "raw": str(raw), "out": str(out) if out else None})], capture_output=True, text=True,
            env=env, cwd=ROOT)
    finally:
        done.set()
        sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {mode} on {raw} failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if watch:
        result["peak_disk_mib"] = round(max(peak[0], _tree_bytes(watch)) / 2 ** 20, 1)
    return result


def run(tmp_dir) -> dict:
    """prepare's speed (audio seconds per wall second) on 1 h and 10 h of 16 kHz FLAC downloads, and its peak memory
    for 10 h vs 1 h, against librosa.load + slicing measured on the same files in the same run; disk at peak, and the
    first load of the written dataset."""
    tmp_dir = Path(tmp_dir)
    sources = [_source(seed) for seed in range(DISTINCT_SOURCES)]
    figures = {}
    for hours in (1, 10):
        raw = make_downloads(tmp_dir / f"raw_{hours}h", hours, sources)
        out, cache = tmp_dir / f"dataset_{hours}h", tmp_dir / f"cache_{hours}h"
        baseline = _measure("librosa", raw)
        ours = _measure("prepare", raw, out, watch=[out, out.parent / f".{out.name}.partial"])
        ours["dataset_mib"] = round(_tree_bytes([out]) / 2 ** 20, 1)
        loaded = _measure("load", raw, out, watch=[out, cache], cache=cache)
        figures[hours] = {"prepare": ours, "librosa": baseline, "first_load": loaded}
        shutil.rmtree(raw)
        shutil.rmtree(out)
        shutil.rmtree(cache, ignore_errors=True)

    def speed(result, hours):
        return round(hours * 3600 / result["seconds"], 1)

    rows = []
    for hours in (1, 10):
        ours, ref = speed(figures[hours]["prepare"], hours), speed(figures[hours]["librosa"], hours)
        rows.append({"figure": f"speed, {hours} h of 16 kHz FLAC", "value": ours, "unit": "x real time",
                     "reference": f"{ref} x (librosa.load + slicing)", "ratio": round(ours / ref, 2),
                     "target": ">= 300 x"})
    for mode in ("prepare", "librosa", "first_load"):
        one, ten = figures[1][mode]["peak_rss_mib"], figures[10][mode]["peak_rss_mib"]
        rows.append({"figure": f"peak RSS 10 h / 1 h ({mode})", "value": round(ten / one, 3), "unit": "",
                     "reference": f"{one:.0f} MiB -> {ten:.0f} MiB", "ratio": None,
                     "target": {"prepare": "<= 1.2", "librosa": "reference",
                                "first_load": "reference (datasets' Parquet -> Arrow conversion)"}[mode]})
    for hours in (1, 10):
        written, load = figures[hours]["prepare"], figures[hours]["first_load"]
        rows.append({"figure": f"disk at peak, {hours} h: prepare / first load", "value": written["peak_disk_mib"],
                     "unit": "MiB", "reference": f"{load['peak_disk_mib']} MiB with datasets' Arrow cache "
                     f"(dataset {written['dataset_mib']} MiB)", "ratio": None, "target": "reference"})
        rows.append({"figure": f"first load, {hours} h (Parquet -> Arrow cache)", "value": round(load["seconds"], 2),
                     "unit": "s", "reference": f"{load['clips']} clips", "ratio": None, "target": "reference"})
    return {"rows": rows, "raw": {f"{h}h": figures[h] for h in figures}}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench_prepare_") as tmp:
        print(json.dumps(run(Path(tmp)), indent=2))
