"""Crash safety and preflight checks (issue 13): which checkpoint a rerun may resume from, the Hub push preflight,
one-line user errors of train.py and prepare's --push-to-hub. Whole training runs are in test_train.py; the
kill -9 loop over download, prepare and train runs here with one kill each (bench/bench_chaos.py, which
``python -m bench --only chaos`` runs with four)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from safetensors.torch import save_file
from transformers.trainer_utils import get_last_checkpoint

import common.hub
from common.contract import RunRecord
from common.contract.run import SplitFingerprint
from common.hub import check_hub_push
from training.checkpoints import (ChangedRunError, check_finished, check_resume, checkpoint_problem,
                                  last_complete_checkpoint)


def write_checkpoint(folder, step: int):
    """A checkpoint folder with every file the Trainer writes, each complete and readable."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    save_file({"w": torch.arange(64, dtype=torch.float32).reshape(8, 8), "b": torch.zeros(8)},
              folder / "model.safetensors")
    torch.save({"state": {0: {"exp_avg": torch.ones(8)}}, "param_groups": []}, folder / "optimizer.pt")
    torch.save({"last_epoch": step}, folder / "scheduler.pt")
    torch.save({"python": 1}, folder / "rng_state.pth")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step, "log_history": []}))
    return folder


def truncate(path, keep: float = 0.5):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def remove(path):
    path.unlink()


@pytest.mark.parametrize("damage, words", [
    (lambda f: [remove(p) for p in f.iterdir() if p.name != "config.json"], "no model weights"),  # the case
    (lambda f: truncate(f / "model.safetensors"), "model.safetensors"),
    (lambda f: truncate(f / "model.safetensors", keep=0.99), "truncated"),       # header intact, data short
    (lambda f: (f / "model.safetensors").write_bytes(b""), "model.safetensors: 0 bytes"),
    (lambda f: remove(f / "optimizer.pt"), "optimizer.pt: missing"),
    (lambda f: truncate(f / "optimizer.pt", keep=0.9), "optimizer.pt: not a complete torch archive"),
    (lambda f: truncate(f / "scheduler.pt", keep=0.9), "scheduler.pt"),
    (lambda f: remove(f / "trainer_state.json"), "trainer_state.json: missing"),
    (lambda f: truncate(f / "trainer_state.json"), "trainer_state.json: not valid JSON"),
    (lambda f: (f / "trainer_state.json").write_text('{"global_step": 40}'), "global_step 40, expected 80"),
])
def test_checkpoint_problem_names_what_is_missing_or_torn(tmp_path, damage, words):
    folder = write_checkpoint(tmp_path / "checkpoint-80", 80)
    assert checkpoint_problem(folder) is None
    damage(folder)
    problem = checkpoint_problem(folder)
    assert problem is not None and words in problem, problem


def test_save_only_model_checkpoints_need_no_optimizer(tmp_path):
    folder = write_checkpoint(tmp_path / "checkpoint-3", 3)
    remove(folder / "optimizer.pt"), remove(folder / "scheduler.pt")
    assert checkpoint_problem(folder, needs_training_state=False) is None
    assert "optimizer.pt: missing" in checkpoint_problem(folder)


def test_resume_skips_and_sets_aside_an_incomplete_checkpoint(tmp_path, caplog):
    """The issue's case: checkpoint-80 holds only config.json beside a complete checkpoint-40."""
    write_checkpoint(tmp_path / "checkpoint-40", 40)
    torn = tmp_path / "checkpoint-80"
    torn.mkdir()
    (torn / "config.json").write_text('{"kept": true}')
    write_checkpoint(tmp_path / "incomplete-checkpoint-80", 80)  # set aside by an earlier crash: not overwritten
    assert get_last_checkpoint(str(tmp_path)).endswith("checkpoint-80")  # what transformers alone would pick
    with caplog.at_level("WARNING"):
        assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-40")
    assert not torn.exists()
    assert json.loads((tmp_path / "incomplete-checkpoint-80.2" / "config.json").read_text()) == {"kept": True}
    assert (tmp_path / "incomplete-checkpoint-80" / "model.safetensors").is_file()
    assert "checkpoint-80 is incomplete (no model weights" in caplog.text and "incomplete-checkpoint-80.2" in caplog.text
    assert get_last_checkpoint(str(tmp_path)).endswith("checkpoint-40")  # the Trainer's rotation no longer sees it
    assert last_complete_checkpoint(tmp_path / "missing") is None


def run_config(lr=1e-3, sha="a" * 64, **training) -> RunRecord:
    return RunRecord(base_model="m", dataset_name="d", max_length_seconds=1.0, eval_window_seconds=1.0,
                     model_args={"model_name_or_path": "m"}, data_args={"dataset_name": "d"},
                     training_args={"learning_rate": lr, "output_dir": "runs/x", "hub_token": "<HUB_TOKEN>",
                                    "logging_dir": "runs/x/logs", **training},
                     dataset_fingerprint={"train": SplitFingerprint(sha)}, versions={"torch": "2"},
                     train_runtime_s=12.0)


def test_check_finished_needs_weights_results_and_the_same_configuration(tmp_path):
    assert check_finished(tmp_path, run_config()) is None
    run_config().write(tmp_path / "run_config.json")
    (tmp_path / "all_results.json").write_text('{"eval_accuracy": 0.75}')
    assert check_finished(tmp_path, run_config()) is None  # no final weights yet
    save_file({"w": torch.ones(2)}, tmp_path / "model.safetensors")
    assert check_finished(tmp_path, run_config()) == {"eval_accuracy": 0.75}
    # Where it runs and what it measured are not the configuration.
    moved = replace(run_config(output_dir="elsewhere", logging_dir="elsewhere/logs"), versions={"torch": "3"},
                    train_runtime_s=None)
    assert check_finished(tmp_path, moved) == {"eval_accuracy": 0.75}
    with pytest.raises(ChangedRunError) as info:
        check_finished(tmp_path, run_config(lr=1e-2, sha="b" * 64))
    message = str(info.value)
    assert "training_args.learning_rate: 0.001 -> 0.01" in message and "dataset_sha256.train" in message
    assert "delete that folder or pass another --output_dir" in message
    truncate(tmp_path / "model.safetensors")
    assert check_finished(tmp_path, run_config()) is None


def test_comparable_keeps_the_arguments_and_the_data_hash_only():
    kept = run_config().comparable()
    assert kept["training_args"] == {"learning_rate": 1e-3}
    assert kept["dataset_sha256"] == {"train": "a" * 64} and "versions" not in kept


def test_resuming_a_run_made_otherwise_stops_naming_the_keys_unless_allowed(tmp_path, caplog):
    """Bug caught (issue 29): an unfinished run was resumed with another learning rate or another dataset, giving
    a model that is neither run; nothing compared them."""
    assert check_resume(tmp_path, run_config()) is None               # nothing to compare with: a warning only
    assert "resuming without comparing" in caplog.text
    run_config().write(tmp_path / "resume_config.json")
    assert check_resume(tmp_path, run_config(output_dir="moved")) is None
    with pytest.raises(ChangedRunError, match=r"unfinished run made with another configuration or dataset "
                                              r"\(dataset_sha256\.train: 'a+' -> 'b+'; training_args\.learning_rate: "
                                              r"0\.001 -> 0\.01\).*--allow_resume_changes"):
        check_resume(tmp_path, run_config(lr=1e-2, sha="b" * 64))
    check_resume(tmp_path, run_config(lr=1e-2), allow_changes=True)
    assert "resuming anyway (--allow_resume_changes)" in caplog.text


# ---------------------------------------------------------------- Hub preflight

@pytest.fixture
def online(monkeypatch, tmp_path):
    """The Hub not in offline mode, no saved token, no HF_TOKEN: each test says what the Hub answers."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf_home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf_home" / "stored_tokens"))


def test_preflight_offline_mode_stops(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="--push_to_hub me/x: HF_HUB_OFFLINE is set"):
        check_hub_push("me/x", token="hf_x")


def test_preflight_without_token_stops(online):
    with pytest.raises(ValueError, match="me/x: no Hugging Face token: pass --hub_token, set HF_TOKEN"):
        check_hub_push("me/x")


def test_preflight_unreachable_hub_and_rejected_token(online, monkeypatch):
    import httpx2  # huggingface_hub 2.x's HTTP client
    from huggingface_hub.errors import HfHubHTTPError

    def mock_unreachable(token):
        raise httpx2.ConnectError("[Errno -2] Name or service not known")

    monkeypatch.setattr(common.hub, "whoami", mock_unreachable)
    with pytest.raises(OSError, match="--push-to-hub me/d: the Hub is unreachable .ConnectError."):
        check_hub_push("me/d", token="hf_x", flag="--push-to-hub")

    def mock_rejected(token):
        raise HfHubHTTPError("401 Unauthorized", response=httpx2.Response(401, request=httpx2.Request("GET", "u")))

    monkeypatch.setattr(common.hub, "whoami", mock_rejected)
    with pytest.raises(ValueError, match="rejected the token .HTTP 401."):
        check_hub_push("me/x", token="hf_x")
    seen = []
    monkeypatch.setattr(common.hub, "whoami", lambda token: seen.append(token) or {"name": "me"})
    monkeypatch.setenv("HF_TOKEN", "hf_from_env")
    assert check_hub_push("me/x") == "me" and seen == ["hf_from_env"]

    def mock_bug(token):
        raise KeyError("a bug, not the network")

    monkeypatch.setattr(common.hub, "whoami", mock_bug)
    with pytest.raises(KeyError):
        check_hub_push("me/x", token="hf_x")


def one_line(capsys, prog):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{prog}: error: "), err
    return err[0]


def test_train_push_preflight_stops_before_any_work(tmp_path, capsys, online):
    import train

    out = tmp_path / "run"
    argv = ["--dataset_name", str(tmp_path / "no_dataset_yet"), "--output_dir", str(out), "--push_to_hub", "true",
            "--hub_model_id", "me/x"]
    assert train.main(argv) == 2  # the missing dataset is not even looked at
    assert "--push_to_hub me/x: no Hugging Face token" in one_line(capsys, "python train.py")
    assert not out.exists()


def test_prepare_push_preflight_stops_before_the_build(tmp_path, capsys, monkeypatch):
    from prepare.__main__ import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "dataset"
    assert main(["--raw", str(tmp_path), "--out", str(out), "--push-to-hub", "me/d"]) == 2
    assert "--push-to-hub me/d: HF_HUB_OFFLINE is set" in one_line(capsys, "python -m prepare")
    assert not out.exists()


# ---------------------------------------------------------------- kill -9 (bench/bench_chaos.py, one kill per stage)

def test_one_kill_9_per_stage_ends_with_the_uninterrupted_outputs(tmp_path):
    """Bug caught: a stage that loses or duplicates work when killed mid-run (torn manifests, half-written datasets
    or checkpoints) ends with outputs that differ from an uninterrupted run's."""
    from bench.bench_chaos import STAGES, chaos

    result = chaos(tmp_path, kills_per_stage=1, seed=3, videos_per_class=3, seconds=4.0, epochs=2,
                   kill_window=(0.4, 0.7), child_rounds=0)     # signals to children: tests/test_download_policy.py
    for stage in STAGES:
        # a kill that missed (the stage had already finished) would make "identical" prove nothing
        assert result["stages"][stage]["kills_landed"] == 1, (stage, result["stages"][stage]["kills"])
        assert result["stages"][stage]["identical"], (stage, result["stages"][stage])
    assert result["stages"]["download"]["records"] == 12 and result["stages"]["train"]["tensors"] > 0


def test_chaos_comparison_notices_each_kind_of_difference():
    from bench.bench_chaos import compare

    def outputs():
        return {"download": {"a": {"flac_sha256": "1"}, "b": {"flac_sha256": "2"}}, "prepare": "c" * 64,
                "train": {"w": torch.ones(3), "b": torch.zeros(2)}}

    assert all(v["identical"] for v in compare(outputs(), outputs()).values())
    changed = outputs()
    changed["download"]["b"]["flac_sha256"] = "3"
    del changed["download"]["a"]
    changed["prepare"] = "d" * 64
    changed["train"]["w"] = torch.ones(3) + 1e-3
    result = compare(outputs(), changed)
    assert result["download"]["differing_ids"] == ["a", "b"]
    assert not result["prepare"]["identical"] and not result["train"]["identical"]
    assert result["train"]["max_abs_diff"] == pytest.approx(1e-3, rel=1e-3)
