"""bench/gpu.py: the tiny CPU mode runs train.py's real path end to end; FLOP counts match their formula.

No timing thresholds: the figures are only checked to exist, be finite and be consistent with each other."""

import json
import math

import pytest
import torch

from bench import gpu


def _meta_model(kind: str, **overrides):
    import transformers as tf

    if kind == "wav2vec2":
        config = tf.Wav2Vec2Config(**{**gpu.WAV2VEC2_BASE, **overrides}, num_labels=4)
        with torch.device("meta"):
            model = tf.Wav2Vec2ForSequenceClassification(config)
        model.freeze_feature_encoder()  # what the recipe does
        return model
    config = tf.WhisperConfig(**{**gpu.WHISPER_SMALL, **overrides}, num_labels=4)
    with torch.device("meta"):
        return tf.WhisperForAudioClassification(config)


def test_wav2vec2_base_step_flops_match_the_formula_and_scale_with_batch():
    model = _meta_model("wav2vec2")
    shapes = {"input_values": ((8, 160_000), torch.float32), "labels": ((8,), torch.long)}
    counted = gpu.count_step_flops(model, shapes)
    formula = gpu.formula_flops(model.config, 8, 160_000, frozen_feature_encoder=True)
    assert counted["total"] == pytest.approx(formula, rel=0.05)
    assert {"aten.bmm", "aten.convolution"} <= set(counted["by_op"])  # attention and the CNN are both counted
    # ~32 GFLOP per audio-second for a training step with the CNN frozen (issue #16): here per 80 audio-seconds
    assert 28e9 < counted["total"] / 80 < 38e9
    double = gpu.count_step_flops(model, {"input_values": ((16, 160_000), torch.float32),
                                          "labels": ((16,), torch.long)})["total"]
    assert double == 2 * counted["total"]
    # an unfrozen CNN adds its backward: the count must see requires_grad
    unfrozen = _meta_model("wav2vec2")
    for p in unfrozen.parameters():
        p.requires_grad_(True)
    unfrozen.wav2vec2.feature_extractor._requires_grad = True
    assert gpu.count_step_flops(unfrozen, shapes)["total"] > 1.2 * counted["total"]


@pytest.mark.parametrize("transposed", [False, True])
def test_grouped_convolution_backward_counts_like_its_groups(transposed):
    """torch's formula counts a grouped conv's weight gradient once per group too many; ours counts the groups."""
    from torch.utils.flop_counter import FlopCounterMode

    make = torch.nn.ConvTranspose1d if transposed else torch.nn.Conv1d
    x = torch.randn(2, 64, 100, requires_grad=True)
    grouped = FlopCounterMode(display=False,
                              custom_mapping={torch.ops.aten.convolution_backward: gpu._conv_backward_flops})
    with grouped:
        make(64, 32, 5, groups=8, bias=False)(x).sum().backward()
    separate = FlopCounterMode(display=False)
    with separate:
        sum(make(8, 4, 5, bias=False)(x[:, 8 * g:8 * g + 8]).sum() for g in range(8)).backward()
    assert grouped.get_total_flops() == separate.get_total_flops()


def test_whisper_small_padding_share_for_5_s_clips():
    model = _meta_model("whisper")
    pad = gpu.whisper_padding(model, batch=2, crop_seconds=5.0)
    assert pad["frames_share"] == pytest.approx(1 - 250 / 1500)
    # attention grows with the square of the frames: padding costs more than its share of frames
    assert pad["frames_share"] < pad["padding_share"] < 0.95
    formula = gpu.formula_flops(model.config, 2, 3000, frozen_feature_encoder=False)
    assert pad["flops_30s"] == pytest.approx(formula, rel=0.05)


def test_tiny_mode_runs_train_py_and_writes_figures(tmp_path):
    out = tmp_path / "gpu.json"
    assert gpu.main(["--tiny", "--device", "cpu", "--out", str(out), "--work-dir", str(tmp_path / "work"),
                     "--batch-sizes", "2", "--whisper-batch-sizes", "2", "--compile-batch-sizes", ""]) == 0
    result = json.loads(out.read_text())
    assert not (tmp_path / "work").exists()  # removed unless --keep
    runs = {run["model"]: run for run in result["runs"]}
    assert set(runs) == {"wav2vec2", "whisper"} and not result["skipped"]
    for run in runs.values():
        assert run["steps_timed"] == result["plan"]["steps"]
        assert run["trainer"]["dataloader_num_workers"] == 1 and run["trainer"]["torch_compile"] is False
        assert 0.0 <= run["data_wait_fraction"] <= 1.0
        assert run["flops_per_step"] > 0
        assert 0.8 < run["flops_per_step"] / run["formula_flops_per_step"] < 1.25
        assert 0 < run["mfu"] and math.isfinite(run["mfu"])
        assert run["loader"]["audio_s_per_s"] > 0
        assert run["limit"]
    assert runs["wav2vec2"]["input_shape"] == [2, 16_000]           # 1-s crops of 2-s clips, batch 2
    assert runs["whisper"]["input_shape"] == [2, 80, 100]           # train.py's default: the 1-s crop's length
    assert runs["whisper"]["padding"]["padding_share"] < 0.01       # so (almost) nothing is padding
    assert runs["whisper"]["padding"]["saved_vs_30s"] > 0.9         # what a 30-s input would have cost
    assert result["peak"]["measured"]["tflops"] > 0
    for row in result["rows"]:
        assert {"figure", "value", "unit", "reference", "ratio", "target"} <= set(row)
        assert isinstance(row["value"], (int, float)) and math.isfinite(row["value"]) and row["value"] > 0, row
    figures = " | ".join(row["figure"] for row in result["rows"])
    for needed in ("audio-s/s", "MFU", "data wait", "model FLOPs per step", "padding"):
        assert needed in figures
    assert {"datasets", "soundfile", "torch", "transformers"} <= set(result["packages"])


def test_bench_knows_the_train_gpu_stage():
    import importlib

    from bench.__main__ import EXTRA_STAGES

    assert importlib.import_module(EXTRA_STAGES["train-gpu"]).run is gpu.run
