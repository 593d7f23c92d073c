import numpy as np
import pytest

from common.modeling import (input_kind, load_feature_extractor, load_model, predict_windows,
                             window_bounds)
from testing.tiny_models import save_tiny_model

NAMES = ["a", "b", "c"]


def test_window_bounds_cover_clip_without_overrun():
    assert window_bounds(100, 40) == [(0, 40), (40, 80), (60, 100)]
    assert window_bounds(80, 40) == [(0, 40), (40, 80)]
    assert window_bounds(30, 40) == [(0, 30)]
    assert window_bounds(100, 40, 20) == [(0, 40), (20, 60), (40, 80), (60, 100)]


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert", "ast", "whisper"])
def test_load_and_predict_windows(tmp_path, kind):
    path = save_tiny_model(kind, tmp_path / kind)
    extractor = load_feature_extractor(path)
    model = load_model(path, class_names=NAMES)
    assert model.config.id2label == {0: "a", 1: "b", 2: "c"}
    assert input_kind(extractor) == ("waveform" if kind in ("wav2vec2", "hubert") else "spectrogram")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(16000 * 2 + 123).astype(np.float32), rng.standard_normal(8000).astype(np.float32)]
    out = predict_windows(model, extractor, arrays, window_s=1.0, batch_size=2, return_embeddings=True)
    # 2.0077 s -> windows [0,1), [1,2), [1.0077, 2.0077); 0.5 s -> one window
    assert out.clip_index.tolist() == [0, 0, 0, 1]
    assert out.logits.shape == (4, 3)
    assert out.embeddings.shape[0] == 4 and np.isfinite(out.embeddings).all()
    np.testing.assert_allclose(out.end_s[:3] - out.start_s[:3], 1.0)


@pytest.mark.parametrize("adapter", [False, True])
def test_encoder_frame_counts_come_from_the_public_config(adapter):
    """Issue 22: the real-frame mask called the models' private ``_get_feat_extract_output_lengths``. The count now
    comes from the config's public convolution sizes; it must agree with the model's own (the oracle here) for every
    length, with and without the adapter's strided layers."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    from common.modeling import conv_output_lengths

    config = Wav2Vec2Config(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                            conv_dim=(8, 8, 8), conv_kernel=(10, 3, 3), conv_stride=(5, 2, 2),
                            add_adapter=adapter, num_adapter_layers=2, adapter_stride=2, output_hidden_size=16)
    model = Wav2Vec2Model(config)
    lengths = torch.arange(400, 4000, 37)
    assert torch.equal(conv_output_lengths(config, lengths), model._get_feat_extract_output_lengths(lengths, adapter))
