"""Window length, device and model hash as evaluation resolves them (shared with predict via common.runs and common.modeling)."""

import pytest

from common.modeling import pick_device
from common.runs import DEFAULT_WINDOW_SECONDS, default_window_seconds, model_fingerprint
from common.provenance import files_sha256
from evaluation.inputs import resolve_window
from evaluation.pipeline import EvalConfig


@pytest.mark.parametrize("run_config, expected", [
    (None, DEFAULT_WINDOW_SECONDS),
    ({}, DEFAULT_WINDOW_SECONDS),
    ({"max_length_seconds": 5}, 5.0),
    ({"eval_window_seconds": 3.0, "max_length_seconds": 5}, 3.0),
    ({"eval_window_seconds": 0, "max_length_seconds": 4.0}, 4.0),      # not positive: skipped
    ({"eval_window_seconds": True, "max_length_seconds": None}, DEFAULT_WINDOW_SECONDS),  # a bool is not a length
    ({"eval_window_seconds": "7"}, DEFAULT_WINDOW_SECONDS),
])
def test_default_window_seconds(run_config, expected):
    assert default_window_seconds(run_config) == expected


def test_resolve_window_says_where_the_length_came_from():
    config = EvalConfig(model="m", dataset="d", out="o")
    assert resolve_window(config, {"eval_window_seconds": 2, "max_length_seconds": 5}) == (
        2.0, "run_config.json eval_window_seconds")
    assert resolve_window(config, {"max_length_seconds": 5}) == (5.0, "run_config.json max_length_seconds")
    assert resolve_window(config, {"eval_window_seconds": -1})[1].startswith("default 10 s")
    flagged = EvalConfig(model="m", dataset="d", out="o", window_seconds=1.5)
    assert resolve_window(flagged, {"max_length_seconds": 5}) == (1.5, "--window_seconds")


def test_pick_device():
    import torch

    assert pick_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == "cpu" and pick_device("cuda:1") == "cuda:1"


def test_a_hub_models_fingerprint_is_its_cached_snapshot_commit(tmp_path, monkeypatch):
    """Bug caught: a Hub id's fingerprint must follow the snapshot in the local cache (so a resumed eval notices a
    new revision) and say ``unknown`` when none is cached. An empty cache and a cache with one snapshot are built
    here, so the check is about the code, not about what this machine happens to have downloaded."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    assert model_fingerprint("facebook/wav2vec2-base") == "hub:facebook/wav2vec2-base@unknown"
    repo = tmp_path / "cache" / "models--facebook--wav2vec2-base"
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    (repo / "snapshots" / "0123abcd" / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    assert model_fingerprint("facebook/wav2vec2-base") == "hub:facebook/wav2vec2-base@0123abcd"


def test_model_fingerprint_covers_config_weights_and_preprocessing_only(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "README.md").write_text("not hashed")
    before = model_fingerprint(str(tmp_path))
    assert before == "sha256:" + files_sha256([tmp_path / "config.json", tmp_path / "model.safetensors"])
    (tmp_path / "README.md").write_text("changed")
    assert model_fingerprint(str(tmp_path)) == before
    (tmp_path / "model.safetensors").write_bytes(b"other weights")
    assert model_fingerprint(str(tmp_path)) != before
