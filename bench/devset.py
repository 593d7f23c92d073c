"""A real-audio development set built from recordings that registry packages ship (no audio is committed here).

Three classes, each recording its own group (prepare keeps a group in one split):

- ``speech``: the 30-s conversational recordings of ``pyannote.audio`` 4.0.7's source distribution on PyPI
  (``tests/data/*.wav`` and ``src/pyannote/audio/sample/sample.wav``, 16 kHz; MIT), 15 recordings.
- ``music``: the 21 soundtrack pieces of Debian's ``colobot-common-sounds`` (``music/*.ogg``; GPL-3), 30 s from the
  middle of each.
- ``effects``: the game's 83 sound effects (``sounds/*.wav``, 101 s in all), concatenated in name order into 10
  recordings of about 10 s each.

``build_devset(out, cache)`` writes ``out/<label>/<name>.flac`` (16 kHz mono) and ``out/groups.csv``, for
``python -m prepare --audiofolder out``. The sources are fetched once into ``cache`` with pip and apt-get (the
machine reaches PyPI and Debian's archive): ``pip download --no-deps --no-binary :all: pyannote.audio==4.0.7`` and
``apt-get download colobot-common-sounds``. It is a small set (46 recordings, 20 min): differences between recipes
show up only when they are large, which is why the benchmark pairs runs on the same split and seeds.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import soundfile as sf

from common.audio import SAMPLING_RATE, convert_to_flac, probe

logger = logging.getLogger(__name__)

PYANNOTE = "pyannote.audio==4.0.7"
COLOBOT = "colobot-common-sounds"
SECONDS = 30.0                 # of each speech and music recording
EFFECT_GROUPS = 10


def fetch_pyannote(cache: Path) -> Path:
    """The folder of pyannote.audio's source tree in ``cache`` (downloaded and unpacked once)."""
    tree = cache / "pyannote"
    if not (tree / "done").exists():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", PYANNOTE,
                        "-d", str(tree)], check=True)
        (sdist,) = tree.glob("pyannote_audio-*.tar.gz")
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if m.name.endswith(".wav")]
            archive.extractall(tree, members=members, filter="data")
        (tree / "done").touch()
    return tree


def fetch_colobot(cache: Path) -> Path:
    """The unpacked ``colobot-common-sounds`` Debian package in ``cache`` (its ``usr/share/games/colobot``)."""
    tree = cache / "colobot"
    if not (tree / "done").exists():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        proc = subprocess.run(["apt-get", "download", COLOBOT], cwd=tree, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"apt-get download {COLOBOT} failed ({proc.stderr.strip()[-300:]}): the development "
                               "set needs Debian's archive; run `apt-get update` first")
        (deb,) = tree.glob("*.deb")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        (tree / "done").touch()
    return tree / "usr" / "share" / "games" / "colobot"


def build_devset(out: str | Path, cache: str | Path) -> Path:
    """Write the development set into ``out`` (see the module notes); returns ``out``."""
    out, cache = Path(out), Path(cache)
    rows = []
    speech, seen = [], set()
    for path in sorted(fetch_pyannote(cache).rglob("*.wav")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        # tests/data/empty.wav is silence; the sample ships twice (src/ and tutorials/)
        if digest not in seen and (probe(path)["duration_s"] or 0) >= SECONDS - 0.5:
            seen.add(digest)
            speech.append(path)
    colobot = fetch_colobot(cache)
    for index, path in enumerate(speech):   # numbered: one file name is not ASCII (tests/data/trñ00.wav)
        rows.append(_write(path, out / "speech" / f"speech_{index:02d}.flac", 0.0))
    for path in sorted((colobot / "music").glob("*.ogg")):
        length = probe(path)["duration_s"]
        rows.append(_write(path, out / "music" / f"{path.stem}.flac", max(0.0, (length - SECONDS) / 2)))
    effects = sorted((colobot / "sounds").rglob("*.wav"))
    for group in range(EFFECT_GROUPS):
        pieces = []
        for path in effects[group::EFFECT_GROUPS]:
            staged = out / ".staged.flac"
            convert_to_flac(path, staged)
            pieces.append(sf.read(str(staged), dtype="float32")[0])
            staged.unlink()
        target = out / "effects" / f"effects_{group:02d}.flac"
        target.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(target), np.concatenate(pieces), SAMPLING_RATE, format="FLAC", subtype="PCM_16")
        rows.append(target)
    with open(out / "groups.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "group"])
        writer.writerows([p.relative_to(out).as_posix(), p.stem] for p in rows)
    summary = {label: sum(1 for p in rows if p.parent.name == label) for label in ("speech", "music", "effects")}
    logger.info("development set in %s: %s recordings", out, summary)
    return out


def _write(src: Path, dst: Path, start_s: float) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    convert_to_flac(src, dst, start_s=start_s or None, duration_s=SECONDS)
    return dst
