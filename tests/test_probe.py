"""Linear probe, then fine-tune (training/probe.py, train.py --linear_probe): the head fitted on the frozen encoder
is written into the model's own head exactly, the run keeps the probe when fine-tuning never beats it, and
--freeze_base_model trains the head alone. Tiny random models of each architecture on synthetic tones.

Each test names the bug it catches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import train
from common.contract import RunRecord
from common.modeling import load_feature_extractor, load_model
from testing.synthetic import CLASS_NAMES, make_prepared_dataset, tone_clip
from testing.tiny_models import KINDS, save_tiny_model
from testing.train_runs import run_argv
from training.data import AudioCollator
from training.probe import embed, fit_linear_probe, head_layers


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return lambda kind: save_tiny_model(kind, root / kind) if not (root / kind).exists() else str(root / kind)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_prepared_dataset(tmp_path_factory.mktemp("data") / "dataset", videos_per_class=(3, 1, 1),
                                 clips_per_video=2, clip_seconds=1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_the_fitted_regression_is_written_into_the_models_own_head_exactly(kind, tiny):
    """Bug caught: a probe fitted on features the head does not read (another pooling, the projector's output), or
    written into the head with the standardisation or basis lost, starts fine-tuning from another classifier than
    the one that was fitted."""
    model = load_model(tiny(kind), class_names=CLASS_NAMES)
    collate = AudioCollator(load_feature_extractor(tiny(kind)))
    rng = np.random.default_rng(0)
    labels = [i % 4 for i in range(24)]
    arrays = [tone_clip(label, 1.0, rng) for label in labels]
    fit = fit_linear_probe(model, collate, iter(arrays), labels, n_classes=4, seed=0)
    assert fit.train_examples == 24 and fit.train_accuracy > 0.9            # the tones are separable
    features = embed(model, collate, arrays)
    inputs = collate([{"samples": a, "label": 0} for a in arrays])
    inputs.pop("labels")
    with torch.no_grad():
        logits = model.eval()(**inputs).logits.numpy()
    # float32 forward against the float64 regression: equal to a few thousandths of logits of a few units
    np.testing.assert_allclose(logits, fit.decision(features), rtol=1e-3, atol=5e-3)
    assert (logits.argmax(1) == fit.decision(features).argmax(1)).all()
    assert head_layers(model).classifier.weight.shape[0] == 4


def test_linear_probe_then_fine_tune_records_the_probe_and_keeps_it_when_never_beaten(data, tiny, tmp_path):
    """Bug caught (issue 32): fine-tuning from a random head could end below a logistic regression on its own frozen
    encoder, and nothing compared them. With --linear_probe the run scores the probe on validation first and keeps
    it when fine-tuning does not beat it: here fine-tuning cannot move (learning rate 0), a tie, so the saved model
    is the probe, and eval-time predictions equal the probe's."""
    out = tmp_path / "lp"
    results = train.run(run_argv(data, tiny("wav2vec2"), out, "--linear_probe", "true", "--learning_rate", "0",
                                 "--num_train_epochs", "1"))
    record = RunRecord.read(out / "run_config.json")
    probe = record.probe
    assert probe.method == "closed_form" and probe.train_examples == 24 and probe.kept_probe   # 24 1-s train clips
    # the tiny recipe selects on clip accuracy (configs/tiny-cpu.yaml)
    assert probe.metric == "accuracy" and probe.validation_metric == probe.best_fine_tuned_metric
    assert results["eval_video_accuracy"] == probe.validation_video_accuracy
    assert (out / "linear_probe" / "head.safetensors").is_file()
    card = (out / "README.md").read_text()
    assert "| linear_probe | True |" in card

    alone = tmp_path / "probe-only"                      # --num_train_epochs 0: the probe alone, a normal run
    train.run(run_argv(data, tiny("wav2vec2"), alone, "--linear_probe", "true", "--num_train_epochs", "0"))
    kept = RunRecord.read(alone / "run_config.json").probe
    assert kept.kept_probe and kept.best_fine_tuned_metric is None
    a, b = load_model(str(out)), load_model(str(alone))
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name                    # the same probe, whether fine-tuning ran or not


def test_a_probe_that_fine_tuning_beats_is_replaced(data, tiny, tmp_path, monkeypatch):
    """The other side of the rule: a probe that scores below fine-tuning (here forced to chance by zeroing its
    head) is not kept."""
    import training.probe as probe_module

    real = probe_module.load_head

    def useless_head(layers, *args):
        real(layers, *args)
        with torch.no_grad():
            layers.classifier.weight.zero_()
            layers.classifier.bias.zero_()

    monkeypatch.setattr(probe_module, "load_head", useless_head)
    out = tmp_path / "beaten"
    train.run(run_argv(data, tiny("wav2vec2"), out, "--linear_probe", "true", "--learning_rate", "3e-3",
                       "--num_train_epochs", "4", "--metric_for_best_model", "accuracy"))
    probe = RunRecord.read(out / "run_config.json").probe
    assert probe.validation_accuracy == 0.25 and probe.best_fine_tuned_metric > 0.25 and not probe.kept_probe


def test_freeze_base_model_trains_the_head_alone(data, tiny, tmp_path):
    """Bug caught: --freeze_base_model documented a pure probe through the Trainer, but the encoder still moved."""
    out = tmp_path / "frozen"
    train.run(run_argv(data, tiny("hubert"), out, "--freeze_base_model", "true", "--learning_rate", "1e-2"))
    base, trained = load_model(tiny("hubert"), class_names=CLASS_NAMES), load_model(str(out))
    moved = [name for name, value in trained.state_dict().items()
             if name in base.state_dict() and not torch.equal(value, base.state_dict()[name])]
    assert moved and all(name.split(".")[0] in ("projector", "classifier") for name in moved), moved
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] > 0
