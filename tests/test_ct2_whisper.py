"""bench.ct2_whisper: a CTranslate2 Whisper ``model.bin`` becomes a transformers Whisper folder with the same
weights. The fake file is written here, by the format's layout (../shared/FACTS.md), from a tiny random Whisper."""

import struct

import numpy as np
import pytest
import torch

from bench.ct2_whisper import Ct2FormatError, convert, read_model_bin

CODES = {np.dtype(np.float32): 0, np.dtype(np.int8): 1, np.dtype(np.int16): 2, np.dtype(np.int32): 3,
         np.dtype(np.float16): 4}


def _text(value: str) -> bytes:
    raw = value.encode() + b"\0"
    return struct.pack("<H", len(raw)) + raw


def write_model_bin(path, variables: dict, aliases: dict, spec="WhisperSpec", version=6) -> None:
    out = [struct.pack("<I", version), _text(spec), struct.pack("<I", 3), struct.pack("<I", len(variables))]
    for name, value in variables.items():
        value = np.asarray(value)
        data = value.tobytes()
        out += [_text(name), struct.pack("<B", value.ndim), *(struct.pack("<I", d) for d in value.shape),
                struct.pack("<B", CODES[value.dtype]), struct.pack("<I", len(data)), data]
    out.append(struct.pack("<I", len(aliases)))
    out += [_text(alias) + _text(target) for alias, target in aliases.items()]
    path.write_bytes(b"".join(out))


def ct2_variables(model) -> dict:
    """CTranslate2's variables for a transformers Whisper, as its converter lays them out (fused projections, zero
    k bias, layer-norm gamma/beta, scalar attributes); the encoder's first conv in float16 to cover that dtype."""
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    cfg, out = model.config, {}

    def linear(dst, src):
        out[f"{dst}/weight"], out[f"{dst}/bias"] = sd[f"{src}.weight"], sd[f"{src}.bias"]

    def norm(dst, src):
        out[f"{dst}/gamma"], out[f"{dst}/beta"] = sd[f"{src}.weight"], sd[f"{src}.bias"]

    for side, n in (("encoder", cfg.encoder_layers), ("decoder", cfg.decoder_layers)):
        for i in range(n):
            src, dst = f"model.{side}.layers.{i}", f"{side}/layer_{i}"
            q, k, v = (f"{src}.self_attn.{p}_proj" for p in "qkv")
            out[f"{dst}/self_attention/linear_0/weight"] = np.concatenate([sd[f"{x}.weight"] for x in (q, k, v)])
            out[f"{dst}/self_attention/linear_0/bias"] = np.concatenate(
                [sd[f"{q}.bias"], np.zeros_like(sd[f"{q}.bias"]), sd[f"{v}.bias"]])
            linear(f"{dst}/self_attention/linear_1", f"{src}.self_attn.out_proj")
            norm(f"{dst}/self_attention/layer_norm", f"{src}.self_attn_layer_norm")
            linear(f"{dst}/ffn/linear_0", f"{src}.fc1")
            linear(f"{dst}/ffn/linear_1", f"{src}.fc2")
            norm(f"{dst}/ffn/layer_norm", f"{src}.final_layer_norm")
            if side == "decoder":
                linear(f"{dst}/attention/linear_0", f"{src}.encoder_attn.q_proj")
                k, v = f"{src}.encoder_attn.k_proj", f"{src}.encoder_attn.v_proj"
                out[f"{dst}/attention/linear_1/weight"] = np.concatenate([sd[f"{k}.weight"], sd[f"{v}.weight"]])
                out[f"{dst}/attention/linear_1/bias"] = np.concatenate(
                    [np.zeros_like(sd[f"{v}.bias"]), sd[f"{v}.bias"]])
                linear(f"{dst}/attention/linear_2", f"{src}.encoder_attn.out_proj")
                norm(f"{dst}/attention/layer_norm", f"{src}.encoder_attn_layer_norm")
        norm(f"{side}/layer_norm", f"model.{side}.layer_norm")
        out[f"{side}/position_encodings/encodings"] = sd[f"model.{side}.embed_positions.weight"]
        out[f"{side}/num_heads"] = np.int16(getattr(cfg, f"{side}_attention_heads"))
    linear("encoder/conv1", "model.encoder.conv1")
    linear("encoder/conv2", "model.encoder.conv2")
    out["encoder/conv1/weight"] = out["encoder/conv1/weight"].astype(np.float16)
    out["decoder/embeddings/weight"] = sd["model.decoder.embed_tokens.weight"]
    out["decoder/activation"] = np.int8(3)
    return out


@pytest.fixture
def tiny_whisper():
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    torch.manual_seed(0)
    config = WhisperConfig(vocab_size=64, num_mel_bins=8, d_model=16, encoder_layers=2, decoder_layers=1,
                           encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                           decoder_ffn_dim=32, max_source_positions=50, max_target_positions=20,
                           pad_token_id=63, bos_token_id=63, eos_token_id=63, decoder_start_token_id=63)
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():       # init's tiny weights and zero biases would hide a swapped q/k (near-uniform attention)
        for parameter in model.parameters():
            parameter.normal_(0, 0.3)
    return model


def test_a_converted_model_has_the_original_weights_and_outputs(tiny_whisper, tmp_path):
    """Bugs it catches: q/k/v split in the wrong order or along the wrong axis, gamma/beta swapped, the zero k bias
    kept (transformers' k_proj has none), the float16 variable misread, a head count taken from the wrong side."""
    from transformers import AutoModelForAudioClassification, WhisperForConditionalGeneration

    model_dir = tmp_path / "ct2"
    model_dir.mkdir()
    write_model_bin(model_dir / "model.bin", ct2_variables(tiny_whisper),
                    {"decoder/projection/weight": "decoder/embeddings/weight"})
    convert(model_dir, tmp_path / "hf")
    back = WhisperForConditionalGeneration.from_pretrained(tmp_path / "hf").eval()
    assert back.config.encoder_attention_heads == 2 and back.config.encoder_layers == 2
    features = torch.randn(1, 8, 100)
    with torch.no_grad():
        want = tiny_whisper.model.encoder(features).last_hidden_state
        got = back.model.encoder(features).last_hidden_state
        tokens = torch.tensor([[1, 5, 9]])
        logits_want = tiny_whisper(input_features=features, decoder_input_ids=tokens).logits
        logits_got = back(input_features=features, decoder_input_ids=tokens).logits
    # float16 conv1 weights: outputs agree to half precision, not bit for bit
    assert torch.allclose(got, want, atol=2e-3) and torch.allclose(logits_got, logits_want, atol=2e-3)
    classifier = AutoModelForAudioClassification.from_pretrained(tmp_path / "hf", num_labels=3)
    assert torch.equal(classifier.encoder.layers[1].fc2.weight, back.model.encoder.layers[1].fc2.weight)


def test_a_file_this_reader_does_not_understand_is_named(tiny_whisper, tmp_path):
    write_model_bin(tmp_path / "model.bin", {"x": np.zeros(2, np.float32)}, {}, version=5)
    with pytest.raises(Ct2FormatError, match="model.bin: CTranslate2 model version 5; expected 6"):
        read_model_bin(tmp_path / "model.bin")
    write_model_bin(tmp_path / "model.bin", ct2_variables(tiny_whisper), {})
    (tmp_path / "model.bin").write_bytes((tmp_path / "model.bin").read_bytes()[:-10])
    with pytest.raises(Ct2FormatError, match="ends at byte"):
        read_model_bin(tmp_path / "model.bin")
