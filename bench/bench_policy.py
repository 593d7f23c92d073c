"""What the known-good check costs: extra YouTube extractions per 1,000 videos, through the FAKE YouTube
(testing/fake_youtube.py: yt-dlp's own messages and extension point) and the real downloader, yt-dlp and ffmpeg.

Three runs of the same listing (``VIDEOS`` videos, ``REMOVED`` of them truly gone with YouTube's ambiguous words
"This content isn't available."):

- **steady**: nothing else goes wrong; the known-good video is extracted once per ``--check-batch`` (10) unsure
  failures held (or when nothing else is left);
- **block**: a session block (every video and the known-good one answer "This content isn't available.") for the
  first ``BLOCK_S`` seconds; the held videos go back to the queue and are extracted again after the pause;
- **reference**: the same listing without the removed videos (no unsure failure: no check).

Extra extractions = extractions made - videos in the listing. ``--check-interval`` (600 s) does not fire in a
run this fast; on YouTube's guest pacing (~300 videos an hour) it adds at most one check per 10 minutes, i.e. at
most 20 per 1,000 videos, when unsure failures trickle in slower than one batch per interval.

    python -m bench --only policy
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

logger = logging.getLogger(__name__)
VIDEOS, REMOVED, BLOCK_S = 200, 10, 4.0


def _id(n: int) -> str:
    return f"benchPol{n:03d}"


def _one_run(tmp: Path, name: str, plan: dict, sessions: list, config_kwargs: dict) -> dict:
    from download import DownloadConfig, download_videos
    from testing import fake_youtube
    from testing.fake_youtube import KNOWN_GOOD_ID, extractions, write_id_listing, write_scenarios

    work = tmp / name
    work.mkdir()
    listing = write_id_listing(work / "listing.csv", plan)
    log = work / "extractions.log"
    os.environ[fake_youtube.LOG_ENV] = str(log)
    # the block starts now, whatever the setup took
    sessions = [{**rule, "until": time.time() + BLOCK_S} for rule in sessions]
    os.environ[fake_youtube.ENV] = str(write_scenarios(work / "yt.json", {**plan, "_sessions": sessions}))
    started = time.perf_counter()
    summary = download_videos(str(listing), work / "raw", DownloadConfig(**config_kwargs))
    made = extractions(log)
    checks = sum(video == KNOWN_GOOD_ID for video, _ in made)
    permanent = sum(not record.ok and not record.transient for record in summary.records.values())
    return {"videos": len(plan), "extractions": len(made), "checks": checks, "ok": summary.ok,
            "permanent_failures": permanent, "wall_s": round(time.perf_counter() - started, 1)}


def run(tmp_dir: Path) -> dict:
    """Extra extractions per 1,000 videos that the known-good check costs (steady, under a session block)."""
    from testing.fake_youtube import healthy
    from testing.server import MediaServer
    from testing.synth import synthesize_small

    tmp_dir = Path(tmp_dir)
    media = tmp_dir / "media"
    videos = synthesize_small(media, videos_per_class=1, seconds=2.0, seed=3)
    saved = {key: os.environ.get(key) for key in ("YTAC_FAKE_YOUTUBE", "YTAC_FAKE_YOUTUBE_LOG")}
    config = dict(sleep=0, retries=0, backoff_s=0.01, http_retries=1, socket_timeout_s=5, stall_timeout_s=5,
                  rate_limit_wait=BLOCK_S / 2, rate_limit_pauses=20)
    removed = set(range(0, VIDEOS, VIDEOS // REMOVED))
    try:
        with MediaServer(media) as server:
            def plan(with_removed: bool) -> dict:
                return {_id(n): ({"playability": "content_unavailable"} if with_removed and n in removed
                                 else healthy(server.url(videos[n % len(videos)].path), 2))
                        for n in range(VIDEOS)}

            runs = {"reference": _one_run(tmp_dir, "reference", plan(False), [], config),
                    "steady": _one_run(tmp_dir, "steady", plan(True), [], config),
                    "block": _one_run(tmp_dir, "block", plan(True),
                                      [{"playability": "content_unavailable"}], config)}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    rows = []
    for name in ("steady", "block"):
        result = runs[name]
        extra = (result["extractions"] - result["videos"]) * 1000 / result["videos"]
        rows.append({"figure": f"{name}: extra extractions per 1,000 videos ({REMOVED} of {VIDEOS} removed"
                               + (f", a {BLOCK_S:.0f}-s session block first" if name == "block" else "") + ")",
                     "value": round(extra, 1), "unit": "extractions",
                     "reference": round((runs["reference"]["extractions"] - VIDEOS) * 1000 / VIDEOS, 1),
                     "ratio": None, "target": "bounded: 1 check per 10 unsure failures (or 600 s)"})
        rows.append({"figure": f"{name}: known-good checks / healthy videos recorded as failed",
                     "value": f"{result['checks']} / {result['permanent_failures'] - REMOVED}", "unit": "",
                     "reference": None, "ratio": None, "target": "0 healthy videos failed"})
    return {"rows": rows, "runs": runs}
