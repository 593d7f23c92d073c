"""Clip planning on one 16 kHz mono file, read in blocks so memory does not grow with the file's length.

A video is cut on a grid of ``clip`` samples every ``hop`` samples; the remainder shorter than a clip is dropped,
silent clips (RMS below ``min_rms_db`` dBFS) are dropped, and at most ``max_clips`` of the rest are taken evenly
across the video (centred picks, so a cap never favours the intro or the outro).

Example::

    from prepare.clips import scan_video, read_clip
    scan = scan_video("audio/abc.flac", clip_samples=160_000, hop_samples=160_000, max_clips=20, min_rms_db=-50)
    first = read_clip("audio/abc.flac", scan.starts[0], 160_000)     # int16 samples of the first clip
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from common.audio import SAMPLING_RATE

BLOCK_SECONDS = 30  # decoding block: large enough to be fast, small enough that memory stays flat


@dataclass(frozen=True)
class VideoScan:
    total_samples: int
    starts: tuple[int, ...]  # kept clip starts, in samples, ascending
    grid_clips: int          # full clips on the grid before dropping silence and capping
    silent_clips: int
    over_cap_clips: int
    has_remainder: bool      # audio after the end of the last full clip (too short to be a clip)
    rows: tuple[tuple[int, int], ...] = ()  # kept (start, samples) of longer rows (``row_samples``), when asked for


def grid_starts(total_samples: int, clip_samples: int, hop_samples: int) -> range:
    """Starts of every full clip: ``floor((total - clip) / hop) + 1`` of them when the file holds one clip."""
    return range(0, total_samples - clip_samples + 1, hop_samples)


def pick_evenly(available: int, wanted: int) -> list[int]:
    """``wanted`` distinct indices of ``range(available)`` spread evenly (centre of each of ``wanted`` equal parts)."""
    if wanted <= 0 or wanted >= available:
        return list(range(available))
    return [math.floor((i + 0.5) * available / wanted) for i in range(wanted)]


def frame_energies(path, frame_samples: int) -> tuple[np.ndarray, int]:
    """Sum of squared samples (full scale = 1.0) per whole ``frame_samples`` frame, and the number of samples read.

    Blocks are whole frames, so only the file's last block can end in a partial frame (never part of a clip).
    """
    block_samples = max(1, SAMPLING_RATE * BLOCK_SECONDS // frame_samples) * frame_samples
    energies, total = [], 0
    with sf.SoundFile(str(path)) as handle:
        if handle.channels != 1:
            raise ValueError(f"{path}: expected mono audio, got {handle.channels} channels")
        while len(block := handle.read(block_samples, dtype="float32")):
            total += len(block)
            frames = block[: len(block) // frame_samples * frame_samples].reshape(-1, frame_samples)
            energies.append(np.einsum("ij,ij->i", frames, frames, dtype=np.float64))
    return (np.concatenate(energies) if energies else np.zeros(0)), total


def scan_video(path, clip_samples: int, hop_samples: int, max_clips: int, min_rms_db: float,
               row_samples: int | None = None) -> VideoScan:
    """Plan the clips of one 16 kHz mono file: read it once, in blocks, and keep only clip starts. With
    ``row_samples``, the same read also plans longer rows (``plan_rows``): ``rows``."""
    frame = math.gcd(clip_samples, hop_samples)  # every clip and every cell of the row grid: whole frames
    energies, total = frame_energies(path, frame)
    starts = grid_starts(total, clip_samples, hop_samples)
    loud = _loud(energies, frame, starts, clip_samples, min_rms_db)
    kept = [loud[i] for i in pick_evenly(len(loud), max_clips)]
    rows = ()
    if row_samples:
        cells = _loud(energies, frame, grid_starts(total, clip_samples, clip_samples), clip_samples, min_rms_db)
        rows = plan_rows(cells, clip_samples, row_samples, max_clips)
    last_end = (starts[-1] + clip_samples) if len(starts) else 0
    return VideoScan(total, tuple(kept), len(starts), len(starts) - len(loud), len(loud) - len(kept),
                     has_remainder=total > last_end, rows=rows)


def plan_rows(loud_cells: list[int], clip_samples: int, row_samples: int, max_clips: int) -> tuple[tuple[int, int], ...]:
    """Longer train rows that keep the audio the clips keep: ``loud_cells`` are the starts of the loud clips on the
    non-overlapping clip grid; each run of consecutive ones is cut into rows of ``row_samples``, and what is left of
    the run, when at least one clip long, becomes a shorter last row (whole clips). So a video loses no clip length
    of audio to the row grid (a 59-s video of 10-s clips keeps a 30-s and a 20-s row: 50 s, as its clips do). With
    ``max_clips`` (0: no cap) rows are picked evenly across the video until they hold ``max_clips`` clips' worth of
    audio, rounded up to whole rows. Returns ``(start, samples)`` pairs in order."""
    runs, run = [], []
    for start in loud_cells:
        if run and start != run[-1] + clip_samples:
            runs.append(run)
            run = []
        run.append(start)
    if run:
        runs.append(run)
    rows = []
    for run in runs:
        position, end = run[0], run[-1] + clip_samples
        while end - position >= row_samples:
            rows.append((position, row_samples))
            position += row_samples
        left = (end - position) // clip_samples * clip_samples
        if left:
            rows.append((position, left))
    budget = max_clips * clip_samples
    if not max_clips or sum(n for _, n in rows) <= budget:
        return tuple(rows)
    for wanted in range(1, len(rows) + 1):
        picked = [rows[i] for i in pick_evenly(len(rows), wanted)]
        if sum(n for _, n in picked) >= budget:
            return tuple(picked)
    return tuple(rows)


def _loud(energies: np.ndarray, frame: int, starts, length: int, min_rms_db: float) -> list[int]:
    """The ``starts`` whose ``length`` samples have an RMS level of at least ``min_rms_db`` dBFS."""
    loud = []
    for start in starts:
        energy = energies[start // frame: (start + length) // frame].sum()
        if 10 * math.log10(energy / length + 1e-20) >= min_rms_db:
            loud.append(start)
    return loud


def read_clip(path, start: int, clip_samples: int) -> np.ndarray:
    """The int16 samples of one clip (bit-exact copy of the source)."""
    with sf.SoundFile(str(path)) as handle:
        handle.seek(start)
        samples = handle.read(clip_samples, dtype="int16")
    if len(samples) != clip_samples:
        raise ValueError(f"{path}: clip at sample {start} has {len(samples)} samples, expected {clip_samples}")
    return samples


