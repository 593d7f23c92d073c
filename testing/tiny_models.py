"""Tiny random checkpoints of each supported architecture, saved to a folder and loaded by path like a Hub id.

``save_demo_ast`` is the demo's model and ``save_tiny_wav2vec2`` the CPU recipe's waveform model
(``configs/tiny-cpu.yaml``): toy sizes shaped to learn from scratch in a couple of CPU minutes (see their
docstrings). ``save_tiny_model(kind, path)`` gives even smaller models of every architecture for tests.

Example::

    python -m testing.tiny_models demo_out/tiny-wav2vec2           # or --ast for the demo's model
    python train.py configs/tiny-cpu.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common.audio import SAMPLING_RATE

KINDS = ("wav2vec2", "hubert", "ast", "whisper")
# A 3-layer convolutional feature encoder with a total stride of 80 samples (5 ms at 16 kHz).
TINY_CONV = dict(conv_stride=(5, 4, 4), conv_kernel=(10, 4, 4), num_conv_pos_embeddings=16,
                 num_conv_pos_embedding_groups=2)


def _save(model, extractor, path) -> str:
    model.save_pretrained(path)
    extractor.save_pretrained(path)
    return str(path)


# The demo's feature encoder: a wide first layer (40 samples, stride 20: a learned filterbank at 800 frames/s), then
# strides 4 and 2: 100 frames/s, each seeing 26 ms. Compared with TINY_CONV (stride 5 first, 5-ms receptive field),
# the second layer runs on 8x fewer frames, so the encoder costs about a tenth and can be twice as wide.
DEMO_CONV = dict(conv_stride=(20, 4, 2), conv_kernel=(40, 8, 4), num_conv_pos_embeddings=16,
                 num_conv_pos_embedding_groups=2)


def save_tiny_wav2vec2(path, seed: int = 0, width: int = 64) -> str:
    """Save a tiny random ``Wav2Vec2ForSequenceClassification`` (about 159k parameters at ``width`` 64) to ``path``.

    Shaped to learn from random weights: layer norm in the feature encoder and pre-norm transformer layers
    (wav2vec2-large-lv60's layout), no layer drop with only two layers, and ``DEMO_CONV``. Why: wav2vec2-base's
    group norm normalises each filter over time, which removes the clip's spectral balance (what MFCC baselines
    live on), and with that layout (36k or 173k parameters) the demo's training collapsed to a two-class guess
    (training loss stuck at ln 2) within a few epochs. This one learns the demo's videos split by video but lost to
    the MFCC baselines on a channel-disjoint split, so the demo uses ``save_demo_ast`` (docs/demo.md)."""
    import torch
    import transformers as tf

    torch.manual_seed(seed)
    config = tf.Wav2Vec2Config(hidden_size=width, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=2 * width, conv_dim=(width,) * 3, **DEMO_CONV,
                               feat_extract_norm="layer", do_stable_layer_norm=True, layerdrop=0.0,
                               classifier_proj_size=width // 2)
    # layer-norm wav2vec2 checkpoints take an attention mask (zero padding would otherwise shift the statistics)
    extractor = tf.Wav2Vec2FeatureExtractor(sampling_rate=SAMPLING_RATE, return_attention_mask=True)
    return _save(tf.Wav2Vec2ForSequenceClassification(config), extractor, path)


def save_demo_ast(path, seed: int = 0, width: int = 64) -> str:
    """Save the demo's model: a tiny random ``ASTForAudioClassification`` (about 87k parameters at ``width`` 64) on
    64-bin log-mel spectrograms of 2-s windows (200 frames, the recipe's crop), 16x16 patches, two layers.

    Why a spectrogram front end: on the demo's channel-disjoint split the tiny wav2vec2 (``save_tiny_wav2vec2``)
    learned the channels' signatures rather than the classes and lost to the MFCC baselines, while this model, from
    random weights with the same recipe, did not (figures in docs/demo.md)."""
    import torch
    import transformers as tf

    torch.manual_seed(seed)
    config = tf.ASTConfig(hidden_size=width, num_hidden_layers=2, num_attention_heads=2, intermediate_size=2 * width,
                          max_length=200, num_mel_bins=64, patch_size=16, frequency_stride=16, time_stride=16)
    extractor = tf.ASTFeatureExtractor(num_mel_bins=64, max_length=200, sampling_rate=SAMPLING_RATE)
    return _save(tf.ASTForAudioClassification(config), extractor, path)


def save_tiny_model(kind: str, path) -> str:
    """Save a tiny random ``kind`` checkpoint (one of ``KINDS``) with its feature extractor; returns the path."""
    import transformers as tf

    path = Path(path)
    small = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    if kind == "wav2vec2":
        config = tf.Wav2Vec2Config(**small, conv_dim=(16, 16, 16), **TINY_CONV, feat_extract_norm="group",
                                   classifier_proj_size=8)
        model = tf.Wav2Vec2ForSequenceClassification(config)
        extractor = tf.Wav2Vec2FeatureExtractor(sampling_rate=SAMPLING_RATE, return_attention_mask=False)
    elif kind == "hubert":
        config = tf.HubertConfig(**small, conv_dim=(16, 16, 16), **TINY_CONV, feat_extract_norm="layer",
                                 classifier_proj_size=8)
        model = tf.HubertForSequenceClassification(config)
        extractor = tf.Wav2Vec2FeatureExtractor(sampling_rate=SAMPLING_RATE, return_attention_mask=True)
    elif kind == "ast":
        config = tf.ASTConfig(**small, max_length=128, num_mel_bins=32, patch_size=16, frequency_stride=16,
                              time_stride=16)
        model = tf.ASTForAudioClassification(config)
        extractor = tf.ASTFeatureExtractor(num_mel_bins=32, max_length=128, sampling_rate=SAMPLING_RATE)
    elif kind == "whisper":
        config = tf.WhisperConfig(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                                  decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, num_mel_bins=80,
                                  max_source_positions=1500, classifier_proj_size=8, vocab_size=100)
        model = tf.WhisperForAudioClassification(config)
        extractor = tf.WhisperFeatureExtractor(feature_size=80, sampling_rate=SAMPLING_RATE)
    else:
        raise ValueError(f"unknown tiny model kind {kind!r}: expected one of {list(KINDS)}")
    return _save(model, extractor, path)


def save_tiny_run(root, class_names, window_seconds: float, kind: str = "wav2vec2") -> Path:
    """A run folder as train.py writes it (``root/run``): a tiny random ``kind`` classifier with ``class_names``, its
    feature extractor and a ``run_config.json`` whose windows are ``window_seconds``; what predict, eval and the app
    load in tests."""
    from common.contract import RUN_CONFIG, RunRecord
    from common.modeling import load_feature_extractor, load_model

    root = Path(root)
    tiny = save_tiny_model(kind, root / "tiny")
    run = root / "run"
    load_model(tiny, class_names=list(class_names)).save_pretrained(run)
    load_feature_extractor(tiny).save_pretrained(run)
    RunRecord(base_model=str(run), dataset_name="d", max_length_seconds=window_seconds,
              eval_window_seconds=window_seconds).write(run / RUN_CONFIG)
    return run


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Save the tiny random wav2vec2 of the CPU recipe (--ast: the demo's "
                                                 "tiny AST).")
    parser.add_argument("path", type=Path, help="folder to write the checkpoint to")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument("--ast", action="store_true", help="save the demo's tiny AST instead")
    args = parser.parse_args()
    print((save_demo_ast if args.ast else save_tiny_wav2vec2)(args.path, seed=args.seed))
