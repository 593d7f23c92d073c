"""Inputs of the predict commands: local media files and URLs, named by safe ids and decoded as a stream.

A local file is read block by block (soundfile for 16 kHz wav/flac/ogg, else one ffmpeg process piping 16 kHz
float samples), so memory stays flat however long the recording is. URLs go through the ``download`` stage (same
section and pacing rules as the dataset download) and are then read from the FLAC it wrote.

Example::

    from predict.sources import resolve_inputs, stream_blocks
    [source] = resolve_inputs(["talk.m4a"], download_dir="predict_out/downloads")
    total = sum(len(block) for block in stream_blocks(source.path))   # samples at 16 kHz
"""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import soundfile as sf

from common.audio import SAMPLING_RATE, SOUNDFILE_EXTENSIONS, AudioError, require_ffmpeg

logger = logging.getLogger(__name__)
BLOCK_SECONDS = 10.0
URL_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class Source:
    input: str           # what the user gave (path or URL)
    id: str              # safe file-name stem for this input's outputs
    path: str            # local media file to decode
    url: str | None = None
    offset_s: float = 0.0  # where the decoded audio starts in the original (the download stage's section start)


def is_url(text: str) -> bool:
    return text.lower().startswith(URL_SCHEMES)


def local_id(path: Path) -> str:
    """``<stem>-<8 hex of the absolute path>``: readable, and two ``a.wav`` from different folders never collide."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem)[:40].strip("_") or "input"
    return f"{stem}-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"


def resolve_local(text: str) -> Source:
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(f"input {text!r}: no such file (expected a media file or an http(s):// URL)")
    if not path.is_file():
        raise IsADirectoryError(f"input {text!r}: is a directory, expected a media file")
    return Source(input=text, id=local_id(path), path=str(path))


def resolve_inputs(inputs: Sequence[str], download_dir=None) -> list[Source]:
    """Local files as they are; URLs downloaded (once, resumably) into ``download_dir`` by the download stage."""
    urls = [text for text in inputs if is_url(text)]
    downloaded = fetch_urls(urls, download_dir) if urls else {}
    return [downloaded[text] if is_url(text) else resolve_local(text) for text in inputs]


def fetch_urls(urls: Sequence[str], download_dir) -> dict[str, Source]:
    from predict.urls import download_urls

    if download_dir is None:
        raise ValueError(f"{len(urls)} URL input(s) given but no download folder: pass --out DIR")
    return download_urls(urls, download_dir)


def stream_blocks(path, block_samples: int = int(BLOCK_SECONDS * SAMPLING_RATE)) -> Iterator[np.ndarray]:
    """Mono float32 blocks at 16 kHz, in order; only one block is in memory at a time."""
    path = Path(path)
    blocks = None
    if path.suffix.lower() in SOUNDFILE_EXTENSIONS:
        try:
            info = sf.info(str(path))
        except Exception as exc:  # soundfile raises LibsndfileError or RuntimeError depending on version
            raise AudioError(f"{path}: unreadable audio file ({exc})") from exc
        if info.samplerate == SAMPLING_RATE:
            blocks = _soundfile_blocks(path, block_samples)
    for block in blocks or _ffmpeg_blocks(path, block_samples):
        if not np.isfinite(block).all():
            raise AudioError(f"{path}: holds NaN or infinite samples (float audio never clipped to [-1, 1]); "
                             "expected finite samples")
        yield block


def _soundfile_blocks(path: Path, block_samples: int) -> Iterator[np.ndarray]:
    with sf.SoundFile(str(path)) as handle:
        while True:
            block = handle.read(block_samples, dtype="float32", always_2d=True)
            if not len(block):
                return
            yield block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]


def _ffmpeg_blocks(path: Path, block_samples: int) -> Iterator[np.ndarray]:
    ffmpeg, _ = require_ffmpeg()
    # "file:" + absolute path: a name starting with "-" or holding "pipe:"/"concat:" is then only ever a file name.
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "file:" + str(path.resolve()),
           "-vn", "-ac", "1", "-ar", str(SAMPLING_RATE), "-f", "f32le", "-"]
    # stderr to a file, not a pipe: a full stderr pipe would block ffmpeg while we only read stdout.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors)
        try:
            n_bytes = block_samples * 4
            while True:
                data = proc.stdout.read(n_bytes)
                if not data:
                    break
                usable = len(data) - len(data) % 4
                yield np.frombuffer(data[:usable], dtype=np.float32).copy()
        finally:
            proc.stdout.close()
            returncode = proc.wait()
        if returncode != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()[-300:]
            raise AudioError(f"{path}: ffmpeg could not decode it: {message or f'exit status {returncode}'}")


def read_all(path) -> np.ndarray:
    blocks = list(stream_blocks(path))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
