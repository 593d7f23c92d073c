"""Audio I/O at the project's single sampling rate, through ffmpeg (argument lists, never a shell) and soundfile.

The sampling rate is declared here once (``SAMPLING_RATE``); every stage reads it from here or from the
feature extractor of the model it uses.

Example::

    from common.audio import require_ffmpeg, convert_to_flac, probe
    require_ffmpeg()
    convert_to_flac("talk.m4a", "talk.flac")          # 16 kHz mono 16-bit FLAC, written atomically
    probe("talk.flac")                                 # {"duration_s": ..., "sample_rate": 16000, "channels": 1, ...}
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

from common.errors import ExpectedError

SAMPLING_RATE = 16_000
# soundfile reads these itself; everything else (m4a, webm, opus-in-webm, mp4, ...) goes through ffmpeg.
SOUNDFILE_EXTENSIONS = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif"}


class AudioError(ExpectedError, RuntimeError):
    """A file that ffmpeg/soundfile cannot read; the message names the file and what went wrong."""


class ChildStopped(AudioError):
    """ffmpeg or ffprobe was stopped by a signal (Ctrl-C reaching the process group, the OOM killer, a ``kill``):
    nothing is known about the file; the work is worth doing again."""


def stopped_by_signal(returncode: int, program: str, path, stderr: str = "") -> None:
    """Raise ``ChildStopped`` naming ``program``, the signal and ``path`` when a child ended by a signal: killed (a
    negative status), or ffmpeg's own way of ending on SIGINT/SIGTERM: status 255 (fftools: ``received_nb_signals ?
    255 : ...``; its "Exiting normally, received signal N" is info-level, so ``-loglevel error`` hides it). Its
    output then holds whatever it had written: a short file that is nobody's fault."""
    import re
    import signal

    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
    elif returncode == 255 and program.startswith("ffmpeg"):
        match = re.search(r"received signal (\d+)", stderr or "")
        name = signal.Signals(int(match.group(1))).name if match and int(match.group(1)) in (2, 15) else \
            "SIGINT or SIGTERM (exit status 255)"
    else:
        return
    raise ChildStopped(f"{path}: {program} was stopped by {name} (killed by a signal): nothing is known about "
                       "the file; run the same command again")


class FfmpegMissing(ExpectedError, RuntimeError):
    """ffmpeg or ffprobe is not on PATH; the message says how to install it."""


def require_ffmpeg() -> tuple[str, str]:
    """Return the paths of ffmpeg and ffprobe, or raise with how to install them."""
    ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
    if not ffmpeg or not ffprobe:
        missing = " and ".join(name for name, path in (("ffmpeg", ffmpeg), ("ffprobe", ffprobe)) if not path)
        raise FfmpegMissing(
            f"{missing} not found on PATH. Install it: `apt-get install -y ffmpeg` (Debian/Ubuntu), "
            "`brew install ffmpeg` (macOS) or `conda install -c conda-forge ffmpeg`."
        )
    return ffmpeg, ffprobe


def media_input(path: str | os.PathLike) -> str:
    """How to name ``path`` to ffmpeg: URLs as they are, local files as ``file:/abs/path`` so that a name starting
    with ``-`` or looking like a protocol (``pipe:``, ``concat:``) is never read as an option or protocol."""
    text = str(path)
    if text.startswith(("http://", "https://")):
        return text
    return "file:" + str(Path(text).resolve())


def probe(path: str | os.PathLike, timeout_s: float = 120.0) -> dict:
    """ffprobe's view of a media file or URL: ``{"duration_s", "sample_rate", "channels", "codec"}`` of its first
    audio stream. A URL read that stalls for ``timeout_s`` fails instead of hanging."""
    _, ffprobe = require_ffmpeg()
    network = ["-rw_timeout", str(int(timeout_s * 1e6))] if str(path).startswith(("http://", "https://")) else []
    cmd = [ffprobe, "-v", "error", *network, "-select_streams", "a:0", "-show_entries",
           "stream=sample_rate,channels,codec_name,duration:format=duration", "-of", "json", media_input(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s * 2)
    except subprocess.TimeoutExpired as exc:
        raise AudioError(f"{path}: ffprobe gave no answer within {timeout_s * 2:.0f} s") from exc
    stopped_by_signal(proc.returncode, "ffprobe", path, proc.stderr)
    if proc.returncode != 0:
        raise AudioError(f"{path}: ffprobe failed: {proc.stderr.strip()[-300:] or 'no output'}")
    info = json.loads(proc.stdout or "{}")
    streams = info.get("streams") or []
    if not streams:
        raise AudioError(f"{path}: no audio stream found")
    stream = streams[0]
    duration = stream.get("duration") or (info.get("format") or {}).get("duration")
    return {
        "duration_s": float(duration) if duration not in (None, "N/A") else None,
        "sample_rate": int(stream.get("sample_rate") or 0),
        "channels": int(stream.get("channels") or 0),
        "codec": stream.get("codec_name"),
    }


def _ffmpeg_input_args(path, start_s: float | None, duration_s: float | None) -> list[str]:
    args = []
    if start_s:
        args += ["-ss", f"{start_s:.3f}"]
    if duration_s is not None:
        args += ["-t", f"{duration_s:.3f}"]
    return args + ["-i", media_input(path)]


def convert_to_flac(src, dst, start_s: float | None = None, duration_s: float | None = None,
                    sampling_rate: int = SAMPLING_RATE) -> None:
    """Transcode any media file to mono 16-bit FLAC at ``sampling_rate`` (ffmpeg's band-limited resampler).

    Writes ``dst`` atomically: a temporary name in the same folder, renamed when ffmpeg succeeded.
    """
    ffmpeg, _ = require_ffmpeg()
    dst = Path(dst)
    tmp = dst.with_name(dst.name + ".tmp.flac")
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
           *_ffmpeg_input_args(src, start_s, duration_s),
           "-vn", "-ac", "1", "-ar", str(sampling_rate), "-sample_fmt", "s16", "-c:a", "flac", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode < 0 or proc.returncode == 255:
        tmp.unlink(missing_ok=True)
        stopped_by_signal(proc.returncode, "ffmpeg", src, proc.stderr)
    if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size == 0:
        tmp.unlink(missing_ok=True)
        raise AudioError(f"{src}: ffmpeg could not convert it to FLAC: {proc.stderr.strip()[-300:] or 'empty output'}")
    os.replace(tmp, dst)


def encode_flac(samples: np.ndarray, sampling_rate: int = SAMPLING_RATE) -> bytes:
    """16-bit FLAC bytes of mono samples (the layout of a ``datasets.Audio`` cell's ``bytes``): int16 samples are
    stored exactly (lossless), float samples in [-1, 1] are quantized to 16 bits."""
    samples = np.asarray(samples)
    buffer = io.BytesIO()
    sf.write(buffer, samples if samples.dtype == np.int16 else samples.astype(np.float32), sampling_rate,
             format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


@contextlib.contextmanager
def _bytes_named(name: str):
    """soundfile's errors on undecodable bytes (a bare ``RuntimeError``) as an ``AudioError`` naming ``name``."""
    try:
        yield
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{name}: cannot decode it ({exc}); expected 16 kHz FLAC/WAV bytes as prepare writes them")


def decode_audio_bytes(data: bytes, name: str = "audio bytes", start: int | Callable[[int], int] = 0,
                       frames: int = -1) -> tuple[np.ndarray, int]:
    """Decode the bytes of a ``datasets.Audio`` cell (FLAC/WAV/OGG) to (mono float32 samples, sampling rate);
    undecodable bytes raise ``AudioError`` naming ``name``.

    ``start``/``frames`` read only samples ``[start, start + frames)``: soundfile seeks there (FLAC's seek points and
    frame headers) and decodes from it, instead of decoding the audio before it (10 s inside a 30-s FLAC clip:
    1.86 ms against 4.88 ms for the whole clip, bit-exact; ../shared/FACTS.md). ``start`` may be a function of the
    clip's length in samples (a random crop's start), which the same open reads from the header."""
    with _bytes_named(name):
        with sf.SoundFile(io.BytesIO(data)) as handle:
            start = start(handle.frames) if callable(start) else start
            if start:
                handle.seek(start)
            samples = handle.read(frames, dtype="float32", always_2d=True)
            rate = handle.samplerate
    return (samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]), rate


def audio_bytes_frames(data: bytes, name: str = "audio bytes") -> int:
    """The number of samples in encoded audio bytes, from the header (no decoding); ``AudioError`` names ``name``."""
    with _bytes_named(name):
        return sf.info(io.BytesIO(data)).frames
