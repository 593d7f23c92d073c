"""Tiny random checkpoints of each supported architecture, saved to a folder and loaded by path like a Hub id."""

from __future__ import annotations

from pathlib import Path

from common.audio import SAMPLING_RATE


def save_tiny_model(kind: str, path) -> str:
    """Save a tiny random ``kind`` checkpoint (wav2vec2, hubert, ast, whisper) with its feature extractor."""
    import transformers as tf

    path = Path(path)
    conv = dict(conv_dim=(16, 16, 16), conv_stride=(5, 4, 4), conv_kernel=(10, 4, 4), num_conv_pos_embeddings=16,
                num_conv_pos_embedding_groups=2)
    small = dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    if kind == "wav2vec2":
        config = tf.Wav2Vec2Config(**small, **conv, feat_extract_norm="group", classifier_proj_size=8)
        model = tf.Wav2Vec2ForSequenceClassification(config)
        extractor = tf.Wav2Vec2FeatureExtractor(sampling_rate=SAMPLING_RATE, return_attention_mask=False)
    elif kind == "hubert":
        config = tf.HubertConfig(**small, **conv, feat_extract_norm="layer", classifier_proj_size=8)
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
        raise ValueError(f"unknown tiny model kind {kind!r}: expected wav2vec2, hubert, ast or whisper")
    model.save_pretrained(path)
    extractor.save_pretrained(path)
    return str(path)
