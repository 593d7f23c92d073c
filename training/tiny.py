"""A tiny random wav2vec2 checkpoint (about 36k parameters) for the demo and CPU recipe: ``configs/tiny-cpu.yaml``.

It has wav2vec2-base's layout at toy size (group-norm feature encoder, trained without an attention mask), so the
tiny recipe exercises the same code paths as the real one in seconds. It learns only easy data (synthetic tones).

Example::

    python -m training.tiny demo_out/tiny-wav2vec2
    python train.py configs/tiny-cpu.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path

from common.audio import SAMPLING_RATE


def save_tiny_wav2vec2(path, seed: int = 0) -> str:
    """Save a tiny random ``Wav2Vec2ForSequenceClassification`` and its feature extractor to ``path``."""
    import torch
    import transformers as tf

    torch.manual_seed(seed)
    config = tf.Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                               conv_dim=(32, 32, 32), conv_stride=(5, 4, 4), conv_kernel=(10, 4, 4),
                               num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                               feat_extract_norm="group", classifier_proj_size=16)
    model = tf.Wav2Vec2ForSequenceClassification(config)
    extractor = tf.Wav2Vec2FeatureExtractor(sampling_rate=SAMPLING_RATE, return_attention_mask=False)
    model.save_pretrained(path)
    extractor.save_pretrained(path)
    return str(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="folder to write the checkpoint to")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    args = parser.parse_args()
    print(save_tiny_wav2vec2(args.path, seed=args.seed))
