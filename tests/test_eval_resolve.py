"""Window length, device and model hash as evaluation resolves them (shared with predict via common.runs and
common.modeling)."""

import pytest

from common.contract import RunRecord
from common.modeling import pick_device
from common.provenance import files_sha256
from common.runs import DEFAULT_WINDOW_SECONDS, model_fingerprint, run_window
from evaluation.inputs import resolve_window
from evaluation.pipeline import EvalConfig


def _run(window: float) -> RunRecord:
    return RunRecord(base_model="b", dataset_name="d", max_length_seconds=5.0, eval_window_seconds=window)


def test_the_window_is_the_run_records_never_probed_from_keys():
    """Bug caught: the window was found by probing run_config.json keys (eval_window_seconds, else
    max_length_seconds), so a renamed key silently fell back to another length."""
    assert run_window(_run(3.0)) == (3.0, "run_config.json eval_window_seconds")
    assert run_window(None) == (DEFAULT_WINDOW_SECONDS, "default 10 s (the model has no run_config.json)")


def test_resolve_window_says_where_the_length_came_from():
    config = EvalConfig(model="m", dataset="d", out="o")
    assert resolve_window(config, _run(2.0)) == (2.0, "run_config.json eval_window_seconds")
    assert resolve_window(config, None)[1].startswith("default 10 s")
    flagged = EvalConfig(model="m", dataset="d", out="o", window_seconds=1.5)
    assert resolve_window(flagged, _run(5.0)) == (1.5, "--window_seconds")


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
