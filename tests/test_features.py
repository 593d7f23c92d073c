"""predict.features: frame counts and frame times match what wav2vec2/HuBERT really compute, chunking is exact on
the frame grid, --fps gives ceil(duration*fps) rows of overlap-weighted means, and the CLI writes what it says."""

import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from common.audio import SAMPLING_RATE
from common.modeling import load_feature_extractor, load_model
from predict.features import (FeaturesConfig, chunk_starts, conv_geometry, extract_features, frame_times,
                              load_encoder, n_frames, n_video_frames, resample_to_fps)
from predict.features.__main__ import main
from testing.tiny_models import save_tiny_model

# Around the receptive field and the stride of the tiny configs (R=85, S=80) and well past them, many not multiples.
LENGTHS = [85, 86, 164, 165, 166, 799, 800, 1601, 3211, 16000, 16037]


@pytest.fixture(scope="module", params=["wav2vec2", "hubert"])
def encoder(request, tmp_path_factory):
    path = save_tiny_model(request.param, tmp_path_factory.mktemp(request.param) / "m")
    return load_encoder(path, device="cpu")


def test_wav2vec2_base_geometry_matches_the_source_notes():
    from transformers import Wav2Vec2Config

    config = Wav2Vec2Config()  # the wav2vec2-base architecture: 7 convs, strides 5*2^6
    assert conv_geometry(config) == (320, 400)
    assert n_frames(config, int(42.6 * SAMPLING_RATE)) == 2129  # 42.6 s -> 2129 frames (seed 000)
    times = frame_times(config, 3)
    np.testing.assert_allclose(times["frame_start_s"], [0.0, 0.02, 0.04])
    np.testing.assert_allclose(times["frame_centre_s"], [0.0125, 0.0325, 0.0525])


def test_frame_count_matches_model_output(encoder):
    model, extractor = encoder
    for n in LENGTHS:
        with torch.no_grad():
            hidden = model(torch.zeros(1, n), output_hidden_states=True).hidden_states
        assert all(h.shape[1] == n_frames(model.config, n) for h in hidden), n
    assert n_frames(model.config, 84) == 0


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert"])
def test_frame_times_are_the_samples_each_frame_sees(kind, tmp_path):
    """An impulse at sample t changes exactly the conv frames whose [start, end) contains t."""
    import transformers as tf

    conv = dict(conv_dim=(8, 8, 8), conv_stride=(5, 4, 4), conv_kernel=(10, 4, 4), hidden_size=16, num_hidden_layers=1,
                num_attention_heads=2, intermediate_size=32, feat_extract_norm="layer")  # layer norm: per frame
    model = (tf.Wav2Vec2Model(tf.Wav2Vec2Config(**conv)) if kind == "wav2vec2" else tf.HubertModel(tf.HubertConfig(**conv))).eval()
    n = 1603
    base = torch.randn(1, n, generator=torch.Generator().manual_seed(0))
    count = n_frames(model.config, n)
    times = frame_times(model.config, count)
    with torch.no_grad():
        reference = model.feature_extractor(base)[0]
        assert reference.shape[-1] == count
        for t in (0, 79, 80, 84, 85, 400, 777, n - 1):
            bumped = base.clone()
            bumped[0, t] += 5.0
            changed = (model.feature_extractor(bumped)[0] - reference).abs().amax(dim=0) > 1e-6
            expected = (times["frame_start_s"] * SAMPLING_RATE <= t) & (t < times["frame_end_s"] * SAMPLING_RATE)
            assert changed.numpy().tolist() == expected.tolist(), t


def test_chunks_land_on_the_frame_grid(encoder):
    """Bug caught: chunk starts off the frame grid put every chunk's frames at the wrong place. The group-norm
    encoder (wav2vec2-base's layout) normalises its first layer over the whole input, so chunks cannot equal one
    pass there; with that norm taken out, the same grid must give the same values for both layouts."""
    import copy

    model, _ = encoder
    features = model.feature_extractor
    if model.config.feat_extract_norm == "group":
        features = copy.deepcopy(features)
        features.conv_layers[0].layer_norm = torch.nn.Identity()   # the only layer that mixes time
    samples = torch.randn(1, 5000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = features(samples)[0]
        chunk = 1000
        got = torch.zeros_like(full)
        for start, first in chunk_starts(model.config, 5000, chunk):
            part = features(samples[:, start:start + chunk])[0]
            got[:, first:first + part.shape[-1]] = part
    torch.testing.assert_close(got, full, atol=1e-5, rtol=1e-4)
    starts = chunk_starts(model.config, 5000, chunk)
    assert sum(n_frames(model.config, min(chunk, 5000 - s)) for s, _ in starts) == full.shape[-1]


def test_chunked_extraction_has_the_single_pass_frames(encoder, tmp_path):
    model, extractor = encoder
    from predict.features import hidden_states

    samples = np.random.default_rng(0).standard_normal(16037).astype(np.float32)
    single = hidden_states(model, extractor, samples, chunk_seconds=10.0)
    with torch.no_grad():
        direct = model(**extractor(samples, sampling_rate=SAMPLING_RATE, return_tensors="pt"), output_hidden_states=True)
    np.testing.assert_allclose(single[-1], direct.last_hidden_state[0].numpy(), atol=1e-5)
    chunked = hidden_states(model, extractor, samples, chunk_seconds=0.3)
    assert chunked.shape == single.shape == (3, n_frames(model.config, 16037), 16)
    # One layer is picked inside the chunk loop: (T, H) only, equal to that layer of the all-layer result.
    for layer, index in (("last", 2), ("0", 0), ("-2", 1)):
        picked = hidden_states(model, extractor, samples, chunk_seconds=0.3, layer=layer)
        assert picked.shape == chunked.shape[1:]
        np.testing.assert_array_equal(picked, chunked[index])


def test_one_layer_never_holds_all_layers_of_the_input(encoder, monkeypatch):
    """The kept arrays of --layer last are T x H per input, not (L+1) x T x H: no stacking of the layers."""
    model, extractor = encoder
    from predict import features

    stacked = []
    real_stack = torch.stack
    monkeypatch.setattr(features.torch, "stack", lambda tensors, *a, **k: stacked.append(len(tensors)) or
                        real_stack(tensors, *a, **k))
    samples = np.random.default_rng(1).standard_normal(8000).astype(np.float32)
    picked = features.hidden_states(model, extractor, samples, chunk_seconds=0.2, layer="last")
    assert picked.ndim == 2 and stacked == []
    features.hidden_states(model, extractor, samples, chunk_seconds=0.2, layer="all")
    assert stacked and set(stacked) == {3}


@pytest.mark.parametrize("seconds", [0.01, 1.0, 1.02, 3.333, 42.6, 59.99])
@pytest.mark.parametrize("fps", [25, 29.97, 30])
def test_fps_rows_are_ceil_duration_times_fps(seconds, fps):
    n = int(round(seconds * SAMPLING_RATE))
    frames = np.arange(max(n_frames(_base(), n), 1), dtype=np.float64)[:, None].repeat(3, axis=1)
    video = resample_to_fps(frames, 320, n, fps)
    assert video.shape == (math.ceil(seconds * fps - 1e-9), 3) == (n_video_frames(n, fps), 3)


def test_25_fps_is_the_mean_of_two_audio_frames():
    n = 3 * SAMPLING_RATE  # 150 audio frames of 20 ms at stride 320 (the last cell ends at 2.98 s)
    count = n_frames(_base(), n)
    frames = np.arange(count, dtype=np.float64)[:, None]
    video = resample_to_fps(frames, 320, n, 25)[:, 0]
    assert len(video) == 75
    np.testing.assert_allclose(video[:-1], 2 * np.arange(74) + 0.5)  # frames 2k and 2k+1
    assert video[-1] == count - 1  # only the last audio frame's cell reaches into the last video frame


def test_cli_writes_features_metadata_and_explains(encoder, tmp_path, capsys):
    model, _ = encoder
    from transformers import Wav2Vec2FeatureExtractor

    path = tmp_path / "model"  # a bare encoder checkpoint (no classification head) is a valid MODEL too
    model.save_pretrained(path)
    Wav2Vec2FeatureExtractor(sampling_rate=SAMPLING_RATE).save_pretrained(path)
    audio = np.random.default_rng(2).standard_normal(int(1.234 * SAMPLING_RATE)).astype(np.float32) * 0.1
    sf.write(tmp_path / "talk.wav", audio, SAMPLING_RATE)
    out = tmp_path / "feats"
    main([str(path), str(tmp_path / "talk.wav"), "--out", str(out), "--fps", "25", "--layer", "all",
          "--save-format", "npy"])
    printed = capsys.readouterr().out
    frames = n_frames(model.config, len(audio))
    assert f"{frames} frames" in printed and "ceil(1.234 s x 25 fps)" in printed
    [meta_path] = out.glob("talk-*.json")
    meta = json.loads(meta_path.read_text())
    folder = out / meta["id"]
    features = np.load(folder / "features.npy")
    assert features.shape == (3, frames, 16) and meta["shapes"]["features"] == [3, frames, 16]
    assert np.load(folder / "video_features.npy").shape == (3, 31, 16)  # ceil(1.234 * 25) = 31
    np.testing.assert_allclose(np.load(folder / "pooled_mean.npy"), features.mean(axis=1), rtol=1e-5)
    assert np.load(folder / "pooled_mean_std.npy").shape == (3, 32)
    np.testing.assert_allclose(np.load(folder / "frame_start_s.npy"), np.arange(frames) * 80 / SAMPLING_RATE)
    assert meta["stride_samples"] == 80 and meta["receptive_field_samples"] == 85 and meta["sha256"]


def test_layer_choice_and_bad_models(tmp_path, capsys):
    run = save_tiny_model("wav2vec2", tmp_path / "w")
    sf.write(tmp_path / "a.wav", np.zeros(4000, np.float32), SAMPLING_RATE)
    [result] = extract_features(FeaturesConfig(model=run, inputs=[str(tmp_path / "a.wav")], out=str(tmp_path / "o"),
                                               layer="1"))
    data = np.load(result.files[0])
    assert data["features"].shape == (n_frames(load_model(run).config, 4000), 16) and "1 of 0..2" in result.explanation
    with pytest.raises(ValueError, match="--layer 7: this model has layers 0..2"):
        extract_features(FeaturesConfig(model=run, inputs=[str(tmp_path / "a.wav")], out=str(tmp_path / "o"), layer="7"))
    capsys.readouterr()  # drop what the library calls above logged
    # the CLI: one line naming the flag, exit status 2
    assert main([run, str(tmp_path / "a.wav"), "--out", str(tmp_path / "o"), "--layer", "7"]) == 2
    assert main([run, str(tmp_path / "missing.wav"), "--out", str(tmp_path / "o")]) == 2
    with pytest.raises(ValueError, match="--fps -1"):
        FeaturesConfig(model=run, inputs=["a.wav"], fps=-1)
    err = capsys.readouterr().err
    assert "python -m predict.features: error: --layer 7: this model has layers 0..2" in err
    assert "missing.wav" in err and "Traceback" not in err
    ast = save_tiny_model("ast", tmp_path / "ast")
    with pytest.raises(ValueError, match="waveform encoder"):
        load_encoder(ast)
    assert load_feature_extractor(run).sampling_rate == SAMPLING_RATE


def _base():
    from transformers import Wav2Vec2Config

    return Wav2Vec2Config()
