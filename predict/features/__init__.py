"""Time-aligned hidden-state features of waveform encoders (wav2vec2, HuBERT, WavLM, data2vec-audio).

The convolutional feature encoder turns ``n`` samples into ``T`` frames. Reading its kernels ``k_l`` and strides
``s_l`` from the model config: frame ``j`` is computed from samples ``[j*S, j*S + R)`` with stride
``S = prod(s_l)`` and receptive field ``R = 1 + sum((k_l - 1) * prod(s_m, m < l))``, and ``T = floor((n - R)/S) + 1``
(wav2vec2-base: S = 320, R = 400, i.e. 50 frames/s at 16 kHz, each from 25 ms of audio; 42.6 s -> 2129 frames).

Outputs per input (``OUT/<id>.npz`` or ``OUT/<id>/<array>.npy``, plus ``OUT/<id>.json`` metadata):
``features`` (T, H) for one layer or (L+1, T, H) for all; ``frame_start_s``/``frame_centre_s``/``frame_end_s``;
the pooled vectors ``pooled_mean`` (H) and ``pooled_mean_std`` (2H) that summarise the whole input (order lost);
with ``fps=F``, ``video_features`` (ceil(duration*F), H): video frame ``k`` spans ``[k/F, (k+1)/F)`` and gets the
mean of the audio frames whose hop cell ``[j*S, (j+1)*S)`` overlaps it, weighted by the overlap (at 25 fps and
50 frames/s: exactly 2 audio frames per video frame). Video frames past the last cell repeat the last frame.

Long inputs run in chunks of ``chunk_seconds`` cut on the frame grid, so frame ``j`` and its time are exactly those
of a single pass; only the transformer's context (and per-input normalisation) is limited to the chunk.

Example::

    from predict.features import FeaturesConfig, extract_features
    [result] = extract_features(FeaturesConfig(model="runs/demo", inputs=["talk.wav"], out="feats", fps=25))
    print(result.explanation)
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from common.audio import SAMPLING_RATE
from common.values import check_number
from common.jsonl import atomic_write_json
from common.modeling import (check_model_source, conv_geometry, featurize, input_kind, load_feature_extractor,
                             pick_device)
from common.runs import model_fingerprint
from common.provenance import file_sha256, package_versions
from predict.sources import read_all, resolve_inputs

logger = logging.getLogger(__name__)
SAVE_FORMATS = ("npz", "npy")


@dataclass
class FeaturesConfig:
    model: str = field(metadata={"positional": True, "metavar": "MODEL", "help": "Run folder written by train.py or a Hub id of a waveform encoder "
                                         "(wav2vec2, HuBERT, WavLM, data2vec-audio)."})
    inputs: list[str] = field(default_factory=list, metadata={"positional": "+", "metavar": "INPUT",
        "help": "Local media files and/or http(s) URLs (downloaded through the download stage into OUT/downloads)."})
    out: str = field(default="features_out", metadata={"help": "Folder for <id>.npz (or <id>/*.npy) and <id>.json."})
    layer: str = field(default="last", metadata={
        "help": "Hidden layer to save: 'last', 'all', or an index 0..L (0 = encoder input after the feature "
                "projection and positional convolution, L = last transformer layer)."})
    fps: float | None = field(default=None, metadata={
        "help": "Also save the features resampled to this video frame rate: ceil(duration*fps) rows, each the "
                "overlap-weighted mean of the audio frames in the video frame's time span."})
    chunk_seconds: float = field(default=30.0, metadata={
        "help": "Longest audio given to the model at once; longer inputs are split on the frame grid (exact frame "
                "times, transformer context limited to the chunk). Memory grows with its square."})
    save_format: str = field(default="npz", metadata={"help": "npz: one OUT/<id>.npz; npy: OUT/<id>/<array>.npy.",
                                                      "choices": SAVE_FORMATS})
    device: str = field(default="auto", metadata={"help": "torch device: auto (cuda when available), cpu, cuda:0, ..."})

    def __post_init__(self):
        if not self.inputs:
            raise ValueError("no INPUT given: pass at least one media file or URL")
        if self.layer not in ("last", "all") and not self.layer.lstrip("-").isdigit():
            raise ValueError(f"--layer {self.layer!r}: expected 'last', 'all' or a layer index such as 6")
        check_number("--fps", self.fps, minimum=0, maximum=1000, above=True,
                     why="a positive frame rate such as 25 or 29.97")
        check_number("--chunk-seconds", self.chunk_seconds, minimum=1.0, maximum=3600, allow_none=False,
                     why="seconds of audio the encoder sees at once")
        if self.save_format not in SAVE_FORMATS:
            raise ValueError(f"--save-format {self.save_format!r}: expected one of {', '.join(SAVE_FORMATS)}")


@dataclass
class FeatureResult:
    input: str
    id: str
    files: list[str]
    metadata: dict
    explanation: str


def n_frames(config, n_samples: int) -> int:
    stride, field_size = conv_geometry(config)
    return 0 if n_samples < field_size else (n_samples - field_size) // stride + 1


def frame_times(config, count: int, sampling_rate: int = SAMPLING_RATE) -> dict[str, np.ndarray]:
    """Start, centre and end (seconds) of the samples each of ``count`` frames is computed from."""
    stride, field_size = conv_geometry(config)
    start = np.arange(count, dtype=np.int64) * stride
    return {"frame_start_s": start / sampling_rate, "frame_centre_s": (start + field_size / 2) / sampling_rate,
            "frame_end_s": (start + field_size) / sampling_rate}


def n_video_frames(n_samples: int, fps: float, sampling_rate: int = SAMPLING_RATE) -> int:
    """ceil(duration * fps), exact for decimal frame rates such as 29.97 (no float round-off at whole frames)."""
    return math.ceil(Fraction(n_samples, sampling_rate) * Fraction(str(fps)))


def video_frame_weights(n_audio: int, stride: int, n_samples: int, fps: float,
                        sampling_rate: int = SAMPLING_RATE) -> list[tuple[int, np.ndarray]]:
    """For each video frame: (first audio frame, weights of the audio frames from there), normalised to sum 1.

    Audio frame j stands for its hop cell [j*S, (j+1)*S) samples; the cells tile [0, n_audio*S) with no gap or overlap,
    so each audio frame's weight is the share of the video frame's span that its cell covers.
    """
    rate = Fraction(str(fps))
    spans = []
    for k in range(n_video_frames(n_samples, fps, sampling_rate)):
        lo, hi = Fraction(k) / rate * sampling_rate, Fraction(k + 1) / rate * sampling_rate  # in samples
        first, last = int(lo // stride), min(math.ceil(hi / stride), n_audio)
        if first >= n_audio:  # past the last cell: repeat the last frame
            spans.append((n_audio - 1, np.ones(1)))
            continue
        overlap = np.array([float(min(hi, (j + 1) * stride) - max(lo, j * stride)) for j in range(first, last)])
        spans.append((first, overlap / overlap.sum()))
    return spans


def resample_to_fps(frames: np.ndarray, stride: int, n_samples: int, fps: float,
                    sampling_rate: int = SAMPLING_RATE) -> np.ndarray:
    """(..., T, H) audio-frame features -> (..., ceil(duration*fps), H) video-frame features."""
    spans = video_frame_weights(frames.shape[-2], stride, n_samples, fps, sampling_rate)
    rows = [np.tensordot(weights, frames[..., first:first + len(weights), :], axes=([0], [-2])) for first, weights in spans]
    return np.stack(rows, axis=-2).astype(frames.dtype)


def load_encoder(model: str, device: str = "auto"):
    """The bare encoder (no classification head) and feature extractor of a run folder or Hub id."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    check_model_source(model)
    extractor = load_feature_extractor(model)
    if input_kind(extractor) != "waveform":
        raise ValueError(f"MODEL {model!r}: {type(extractor).__name__} makes spectrograms; features with a sample-"
                         "exact frame grid need a waveform encoder (wav2vec2, HuBERT, WavLM, data2vec-audio)")
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # a run folder's classifier weights are "unexpected" for the bare encoder
    try:
        encoder = AutoModel.from_pretrained(model)
    finally:
        hf_logging.set_verbosity(verbosity)
    conv_geometry(encoder.config)
    return encoder.to(pick_device(device)).eval(), extractor


def chunk_starts(config, n_samples: int, chunk_samples: int) -> list[tuple[int, int]]:
    """(start sample, first global frame) of each chunk. Chunks advance by a whole number of frames, so local frame i
    of a chunk is global frame first+i, and together they give exactly the frames of one pass."""
    stride, field_size = conv_geometry(config)
    chunk_samples = max(chunk_samples, field_size)
    step_frames = n_frames(config, chunk_samples)
    starts, start = [], 0
    while start + field_size <= n_samples:
        starts.append((start, start // stride))
        start += step_frames * stride
    return starts


def n_hidden_states(config) -> int:
    """L+1: the encoder input (after feature projection and positional convolution) and each transformer layer."""
    return config.num_hidden_layers + 1


def resolve_layer(layer: str, n_states: int) -> tuple[int | None, str]:
    """(index into the L+1 hidden states, or None for all; description) of a ``--layer`` value."""
    last = n_states - 1
    if layer == "all":
        return None, f"all {n_states} (0..{last})"
    index = last if layer == "last" else int(layer)
    if not -n_states <= index <= last:
        raise ValueError(f"--layer {layer}: this model has layers 0..{last}")
    index %= n_states
    return index, f"{index} of 0..{last}"


@torch.no_grad()
def hidden_states(encoder, extractor, samples: np.ndarray, chunk_seconds: float, layer: str = "all") -> np.ndarray:
    """Hidden states of ``layer`` for ``samples``, computed chunk by chunk: (T, H) for one layer, (L+1, T, H) for
    ``"all"``. Only the requested layer(s) of each chunk are kept, so memory is T x H floats per saved layer."""
    index, _ = resolve_layer(layer, n_hidden_states(encoder.config))
    chunk = int(round(chunk_seconds * SAMPLING_RATE))
    device = next(encoder.parameters()).device
    parts = []
    for start, _ in tqdm(chunk_starts(encoder.config, len(samples), chunk), desc="chunks", unit="chunk", leave=False):
        segment = samples[start:start + chunk]
        inputs = featurize(extractor, [segment]).to(device)
        out = encoder(**inputs, output_hidden_states=True)
        count = n_frames(encoder.config, len(segment))
        if index is None:
            parts.append(torch.stack(out.hidden_states)[:, 0, :count].float().cpu().numpy())
        else:
            parts.append(out.hidden_states[index][0, :count].float().cpu().numpy())
        del out  # the chunk's other layers go now, not when the next chunk overwrites them
    if not parts:
        _, field_size = conv_geometry(encoder.config)
        raise ValueError(f"input of {len(samples)} samples is shorter than one frame's receptive field "
                         f"({field_size} samples = {field_size / SAMPLING_RATE * 1000:.1f} ms)")
    return np.concatenate(parts, axis=-2)


def pooled(features: np.ndarray) -> dict[str, np.ndarray]:
    mean, std = features.mean(axis=-2), features.std(axis=-2)
    return {"pooled_mean": mean, "pooled_mean_std": np.concatenate([mean, std], axis=-1)}


def explain(name: str, meta: dict) -> str:
    """A few lines that say what the shapes mean, in the manner of the source notes."""
    shapes, stride, field_size = meta["shapes"], meta["stride_samples"], meta["receptive_field_samples"]
    lines = [
        f"{name}: {meta['duration_s']:.2f} s of audio -> features {tuple(shapes['features'])} (layer {meta['layer']}).",
        f"  {meta['n_frames']} frames = sequential features, in time order: one every {stride / SAMPLING_RATE * 1000:g} ms "
        f"({meta['frame_rate_hz']:g} frames/s; conv stride {stride} samples at {SAMPLING_RATE} Hz), each computed from "
        f"{field_size / SAMPLING_RATE * 1000:g} ms of audio (receptive field {field_size} samples); frame j starts at "
        f"j*{stride / SAMPLING_RATE:g} s.",
        f"  {meta['hidden_size']} numbers per frame = the model's hidden size.",
        f"  pooled_mean {tuple(shapes['pooled_mean'])} and pooled_mean_std {tuple(shapes['pooled_mean_std'])} = one "
        "vector for the whole input (frame order is lost).",
    ]
    if meta.get("fps"):
        lines.append(f"  video_features {tuple(shapes['video_features'])} = ceil({meta['duration_s']:.3f} s x "
                     f"{meta['fps']:g} fps) video frames, each the overlap-weighted mean of "
                     f"{meta['audio_frames_per_video_frame']:g} audio frames.")
    return "\n".join(lines)


def save_arrays(out: Path, source_id: str, arrays: dict[str, np.ndarray], save_format: str) -> list[str]:
    if save_format == "npz":
        path = out / f"{source_id}.npz"
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(path)
        return [str(path)]
    folder = out / source_id
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, array in arrays.items():
        path = folder / f"{name}.npy"
        tmp = path.with_name(path.name + ".tmp.npy")
        np.save(tmp, array)
        tmp.replace(path)
        paths.append(str(path))
    return paths


def features_for(encoder, extractor, samples: np.ndarray, config: FeaturesConfig) -> tuple[dict, dict]:
    """(arrays, metadata) for one decoded input."""
    stride, field_size = conv_geometry(encoder.config)
    n_states = n_hidden_states(encoder.config)
    _, layer_text = resolve_layer(config.layer, n_states)  # a bad --layer fails before any audio is run
    features = hidden_states(encoder, extractor, samples, config.chunk_seconds, config.layer)
    arrays = {"features": features, **frame_times(encoder.config, features.shape[-2]), **pooled(features)}
    meta = {"duration_s": len(samples) / SAMPLING_RATE, "n_samples": len(samples), "sampling_rate": SAMPLING_RATE,
            "layer": layer_text, "n_layers": n_states - 1, "hidden_size": features.shape[-1],
            "n_frames": features.shape[-2], "stride_samples": stride, "receptive_field_samples": field_size,
            "frame_rate_hz": SAMPLING_RATE / stride, "chunk_seconds": config.chunk_seconds, "fps": config.fps,
            "model_type": encoder.config.model_type}
    if config.fps:
        arrays["video_features"] = resample_to_fps(features, stride, len(samples), config.fps)
        arrays["video_frame_start_s"] = np.arange(arrays["video_features"].shape[-2]) / config.fps
        meta["audio_frames_per_video_frame"] = SAMPLING_RATE / stride / config.fps
        meta["video_frames_method"] = ("video frame k spans [k/fps, (k+1)/fps); audio frame j stands for its hop cell "
                                       "[j*stride, (j+1)*stride) samples; each video frame is the mean of the audio "
                                       "frames whose cells overlap its span, weighted by the overlap; frames past the "
                                       "last cell repeat the last audio frame")
    meta["shapes"] = {name: list(array.shape) for name, array in arrays.items()}
    return arrays, meta


def extract_features(config: FeaturesConfig) -> list[FeatureResult]:
    """Write features, frame times, pooled vectors (and video-rate features) for every input of ``config``."""
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    encoder, extractor = load_encoder(config.model, config.device)
    versions, fingerprint = package_versions(ffmpeg=True), model_fingerprint(config.model)
    results = []
    for source in resolve_inputs(config.inputs, download_dir=out / "downloads"):
        arrays, meta = features_for(encoder, extractor, read_all(source.path), config)
        meta = {"input": source.input, "id": source.id, "url": source.url, "section_start_s": source.offset_s,
                "sha256": file_sha256(source.path),
                "model": config.model, "model_fingerprint": fingerprint, **meta, "config": asdict(config), "versions": versions}
        files = save_arrays(out, source.id, arrays, config.save_format)
        atomic_write_json(out / f"{source.id}.json", meta)
        explanation = explain(source.input, meta)
        logger.info("%s -> %s", source.input, ", ".join(files))
        results.append(FeatureResult(input=source.input, id=source.id, files=files + [str(out / f"{source.id}.json")],
                                     metadata=meta, explanation=explanation))
    return results
