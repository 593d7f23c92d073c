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


def _family(kind: str, path) -> str:
    """A tiny checkpoint in each family's real config layout (wav2vec2-base's group norm without attention mask,
    wav2vec2-large-lv60's layer norm with one, HuBERT, AST, Whisper at a 2-s clip length)."""
    import transformers as tf

    from testing.tiny_models import TINY_CONV

    small = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    if kind == "wav2vec2-layer-norm":
        config = tf.Wav2Vec2Config(**small, conv_dim=(16, 16, 16), **TINY_CONV, feat_extract_norm="layer",
                                   do_stable_layer_norm=True, classifier_proj_size=8, num_labels=3)
        tf.Wav2Vec2ForSequenceClassification(config).save_pretrained(path)
        tf.Wav2Vec2FeatureExtractor(return_attention_mask=True, do_normalize=True).save_pretrained(path)
        return str(path)
    if kind == "whisper-clip-length":
        save_tiny_model("whisper", path)
        tf.WhisperFeatureExtractor(feature_size=80, chunk_length=2).save_pretrained(path)
        model = load_model(str(path), class_names=NAMES, config_overrides={"max_source_positions": 100})
        model.save_pretrained(path)
        return str(path)
    return save_tiny_model(kind, path)


@pytest.mark.parametrize("kind", ["wav2vec2", "wav2vec2-layer-norm", "hubert", "ast", "whisper-clip-length"])
def test_a_clips_logits_do_not_depend_on_what_it_is_batched_with(tmp_path, kind):
    """Bug caught (issue 30): the wav2vec2 feature extractor normalised after padding and group-norm wav2vec2-base
    normalises over time, padding included, so a 0.5-s clip's logits changed when it shared a batch with a 1-s
    window (eval's windows of unequal clips, predict's tail window). Each input is now normalised on its own
    samples, models that take an attention mask get one, and a model that takes none never batches unequal
    lengths."""
    import torch

    torch.manual_seed(0)
    path = _family(kind, tmp_path / kind)
    extractor, model = load_feature_extractor(path), load_model(path, class_names=NAMES)
    rng = np.random.default_rng(0)
    short = (0.3 * rng.standard_normal(8000)).astype(np.float32)
    longer = (0.1 * rng.standard_normal(16000) + 0.5).astype(np.float32)     # another level: normalising matters
    alone = predict_windows(model, extractor, [short], window_s=2.0).logits
    batched = predict_windows(model, extractor, [longer, short, longer], window_s=2.0, batch_size=8)
    assert batched.clip_index.tolist() == [0, 1, 2]                           # outputs in input order
    np.testing.assert_allclose(batched.logits[1], alone[0], atol=1e-5, rtol=0)
    np.testing.assert_allclose(batched.logits[0], batched.logits[2], atol=1e-5, rtol=0)


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert", "ast"])
def test_inputs_shorter_than_the_receptive_field_are_padded_not_a_crash(tmp_path, kind):
    """Bug caught (issue 30): a 3-ms input (or --window-seconds 0.001) ended in torch's "Calculated padded input
    size per channel" (AST: numpy's negative dimensions): shorter than the encoder takes. It is padded to the
    model's minimum input (min_input_samples)."""
    from common.modeling import min_input_samples

    path = save_tiny_model(kind, tmp_path / kind)
    extractor, model = load_feature_extractor(path), load_model(path, class_names=NAMES)
    assert min_input_samples(model.config) >= 400
    for n, window_s in ((1, 0.001), (48, 1.0), (399, 1.0)):
        out = predict_windows(model, extractor, [np.full(n, 0.1, np.float32)], window_s=window_s)
        assert out.logits.shape == (1, 3) and np.isfinite(out.logits).all()


def test_min_input_samples_of_wav2vec2_base_is_its_receptive_field_plus_a_stride():
    from transformers import Wav2Vec2Config

    from common.modeling import min_input_samples

    assert min_input_samples(Wav2Vec2Config()) == 400 + 320           # 25 ms field, 20 ms stride: 45 ms


def test_a_whisper_extractor_without_chunk_length_takes_the_clip_length(tmp_path):
    """Bug caught (issue 30): transformers' from_pretrained overrides only keys the file has, so a Whisper
    checkpoint whose preprocessor_config.json lacks chunk_length kept 30 s after the clip-length override and then
    failed the encoder's length check."""
    import json

    path = save_tiny_model("whisper", tmp_path / "whisper")
    config = tmp_path / "whisper" / "preprocessor_config.json"
    data = json.loads(config.read_text())
    for key in ("chunk_length", "n_samples", "nb_max_frames"):
        data.pop(key, None)
    config.write_text(json.dumps(data))
    extractor = load_feature_extractor(path, chunk_length=5)
    assert (extractor.chunk_length, extractor.n_samples, extractor.nb_max_frames) == (5, 80000, 500)
