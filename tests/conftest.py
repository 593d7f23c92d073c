"""Test-wide settings (offline Hub, one torch thread on 2 shared cores) and fixtures shared by several test modules.
The project is installed editable (`make`), so tests import it (and the `testing` helpers) like any package."""

import os
import tempfile

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# load_dataset converts a prepared folder's Parquet shards into an Arrow cache: keep the tests' copies out of ~/.cache
os.environ.setdefault("HF_DATASETS_CACHE", tempfile.mkdtemp(prefix="ytac-test-datasets-cache-"))


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """Synthetic media for the download tests: one short video per class plus a 10-min webm (``long/tone.webm``)."""
    from testing.synth import synthesize_small, tone_source

    root = tmp_path_factory.mktemp("media")
    videos = synthesize_small(root, videos_per_class=1, seconds=3.0, seed=1)
    tone_source(root / "long" / "tone.webm", 600)
    return root, videos
