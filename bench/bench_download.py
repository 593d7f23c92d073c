"""Benchmarks of the download stage, on the loopback server (testing.server) with real yt-dlp and ffmpeg.

``python -m bench --only download`` (or ``run(Path(tmp))``).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from pathlib import Path

import soundfile as sf

from common.audio import require_ffmpeg
from testing.server import MediaServer, Throttle
from testing.synth import synthesize_videos, tone_source, write_kaggle_listing
from download import DownloadConfig, download_videos

logger = logging.getLogger(__name__)


def _listing(path: Path, urls: list[str]) -> Path:
    path.write_text("link,category\n" + "".join(f"{url},bench\n" for url in urls))
    return path


def opus_source(dst: Path, seconds: float, kbps: int = 64) -> Path:
    """A constant-bitrate opus webm (YouTube's itag 250 is ~64 kbps opus): 30 s encoded once, repeated by copy."""
    ffmpeg, _ = require_ffmpeg()
    piece = dst.with_name(dst.stem + ".piece.webm")
    dst.parent.mkdir(parents=True, exist_ok=True)
    for cmd in ([ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                 "anoisesrc=color=pink:sample_rate=48000:amplitude=0.3:duration=30", "-c:a", "libopus", "-b:a",
                 f"{kbps}k", "-vbr", "off", str(piece)],
                [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-stream_loop", str(int(seconds // 30) - 1), "-i",
                 str(piece), "-c", "copy", str(dst)]):
        subprocess.run(cmd, check=True, capture_output=True)
    piece.unlink()
    return dst


def throttled_fetch(tmp_dir: Path, sources: int = 8, seconds: float = 1200, max_seconds: float = 600,
                    workers: int = 4) -> dict:
    """Wall time of --fetch auto (defaults) against --fetch sections (the section path, no speed floor)
    on a server that throttles like YouTube (testing.server.Throttle: 32 KiB/s after 1 MiB for un-chunked
    requests). On these generic URLs auto fetches the whole stream: a 600-s cut of a 1200-s source saves only half."""
    media = tmp_dir / "throttled"
    first = opus_source(media / "src_0.webm", seconds)
    for index in range(1, sources):
        shutil.copyfile(first, media / f"src_{index}.webm")
    walls = {}
    with MediaServer(media, throttle=Throttle()) as server:
        listing = _listing(tmp_dir / "throttled.csv", [server.url(f"src_{i}.webm") for i in range(sources)])
        for fetch in ("auto", "sections"):
            out = tmp_dir / f"out_throttled_{fetch}"
            started = time.perf_counter()
            floor = {} if fetch == "auto" else {"section_min_rate": "0"}     # sections: the section path, no floor
            summary = download_videos(str(listing), out, DownloadConfig(
                max_seconds=max_seconds, workers=workers, fetch=fetch, sleep=0, retries=0, **floor))
            walls[fetch] = time.perf_counter() - started
            assert summary.ok == sources, f"--fetch {fetch}: only {summary.ok} of {sources} ok"
            for record in summary.records.values():
                info = sf.info(str(out / record["path"]))
                assert (info.frames, info.samplerate, info.channels) == (max_seconds * 16000, 16000, 1), record
    return {"figure": f"wall time, {sources} x {seconds / 60:.0f}-min 64 kbps opus, throttled like YouTube, "
                      f"--max-seconds {max_seconds:.0f}, {workers} workers: --fetch auto (vs sections)",
            "value": round(walls["auto"], 1), "unit": "s", "reference": round(walls["sections"], 1),
            "ratio": round(walls["sections"] / walls["auto"], 1), "target": ">= 5",
            "source_size": first.stat().st_size}


def run(tmp_dir: Path) -> dict:
    """Measures (0) the wall time of --fetch auto against --fetch sections with 8 sources of 20 minutes of
    64 kbps opus on a server throttled like YouTube (see ``throttled_fetch``; target: auto >= 5x faster, every
    output exactly 600.0 s of 16 kHz mono); (1) the bytes the server really sent (16 KiB send buffers, see testing.server) to fetch 60 s of a
    60-minute webm/opus source with --max-seconds 60 (a middle-section download by the section ffmpeg)
    against a full download of it (target: >= 20x fewer), for webm/opus and m4a/aac; and (2) the wall time to
    download 20 short synthetic videos with 1 and with 4 workers when the server adds 200 ms to every request
    (target: >= 3x faster with 4)."""
    tmp_dir = Path(tmp_dir)
    media = tmp_dir / "media"
    rows = [throttled_fetch(tmp_dir)]
    fast = dict(sleep=0, retries=0, http_retries=3)

    # 1. section vs full download of a 60-minute source
    for ext, rate in (("webm", 48_000), ("m4a", 44_100)):
        name = f"long/hour.{ext}"
        tone_source(media / name, 3600, rate=rate, ext=ext)
        sent = {}
        with MediaServer(media) as server:
            listing = _listing(tmp_dir / f"hour_{ext}.csv", [server.url(name)])
            for label, max_seconds in (("section", 60), ("full", 0)):
                server.reset_counters()
                summary = download_videos(str(listing), tmp_dir / f"out_{ext}_{label}",
                                          DownloadConfig(max_seconds=max_seconds, **fast))
                assert summary.ok == 1, f"{label} download of {name} failed: {summary.records}"
                sent[label] = server.bytes_sent
        file_size = (media / name).stat().st_size
        rows.append({"figure": f"bytes served, 60 s of a 60-min {ext} (--max-seconds 60)", "value": sent["section"],
                     "unit": "B", "reference": sent["full"], "ratio": round(sent["full"] / sent["section"], 1),
                     "target": ">= 20", "file_size": file_size})

    # 2. 20 videos, 200 ms per request: 1 vs 4 workers
    videos = synthesize_videos(media / "twenty", videos_per_class=5, min_seconds=8, max_seconds=12, seed=7)
    walls = {}
    with MediaServer(media / "twenty", latency_s=0.2) as server:
        listing = write_kaggle_listing(videos, server.base_url, tmp_dir / "twenty.csv")
        for workers in (1, 4):
            started = time.perf_counter()
            summary = download_videos(str(listing), tmp_dir / f"out_twenty_{workers}",
                                      DownloadConfig(workers=workers, max_seconds=600, **fast))
            walls[workers] = time.perf_counter() - started
            assert summary.ok == 20, f"{workers} workers: only {summary.ok} of 20 ok"
        requests_per_video = server.requests / 40
    rows.append({"figure": "wall time, 20 videos, 200 ms/request, 4 workers", "value": round(walls[4], 2),
                 "unit": "s", "reference": round(walls[1], 2), "ratio": round(walls[1] / walls[4], 2),
                 "target": ">= 3", "requests_per_video": round(requests_per_video, 1)})
    return {"rows": rows}
