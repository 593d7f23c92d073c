"""What every stage records beside its outputs: content hashes of inputs and package/tool versions.

Example::

    from common.provenance import file_sha256, package_versions
    file_sha256("data/raw/manifest.jsonl")                  # streamed, any size
    package_versions(["torch", "transformers"])             # {"python": "3.11.7", "torch": "2.13.0", ...}
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Iterable

# The packages whose versions decide what a stage computes; a stage may ask for others.
CORE_PACKAGES = ("torch", "transformers", "datasets", "evaluate", "accelerate", "numpy", "soundfile",
                 "huggingface_hub", "yt-dlp", "scikit-learn", "librosa")


def file_sha256(path, chunk_bytes: int = 1 << 20) -> str:
    """sha256 of a file, read in chunks (memory does not grow with its size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def files_sha256(paths: Iterable) -> str:
    """One sha256 over several files in the order given (e.g. a checkpoint's config and weight files)."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(Path(path).name.encode())
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@lru_cache(maxsize=1)
def ffmpeg_version() -> str | None:
    """ffmpeg's first ``-version`` line, or None when ffmpeg is not on PATH."""
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        return None
    return subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n")[0].strip()


def package_versions(packages: Iterable[str] = CORE_PACKAGES, ffmpeg: bool = False) -> dict[str, str | None]:
    """Installed versions of ``packages`` (None when missing), the Python version, and optionally ffmpeg's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    if ffmpeg:
        versions["ffmpeg"] = ffmpeg_version()
    return versions
