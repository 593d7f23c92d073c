"""Model-side pieces shared by train.py, eval.py and predict: model loading, featurizing, fixed windows, batched
inference (a run folder's records and fingerprint: ``common.runs``).

``load_classifier`` loads a run folder (written by train.py: the model and its feature extractor, saved with
``save_pretrained``) or a Hub id after ``check_model_source`` has ruled out typos.

Every ``AutoModelForAudioClassification`` checkpoint works, from a Hub id or a local folder. Two input kinds exist:
waveform encoders (wav2vec2, HuBERT, WavLM, data2vec-audio: ``input_values`` of raw samples) and spectrogram
encoders (Audio Spectrogram Transformer: fixed-size log-mel ``input_values``; Whisper: 30-s log-mel
``input_features``). The attention-mask policy follows the feature extractor's own ``return_attention_mask``
(group-norm wav2vec2-base was trained without one, so it must get none).

Example::

    from common.modeling import load_feature_extractor, load_model, predict_windows
    extractor = load_feature_extractor("facebook/wav2vec2-base")
    model = load_model("facebook/wav2vec2-base", class_names=["art_music", "food", "history", "travel"])
    out = predict_windows(model, extractor, [samples], window_s=10.0)   # out.logits: one row per window
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from common.hub import offline_mode
from common.audio import SAMPLING_RATE

logger = logging.getLogger(__name__)

# owner/name as the Hub accepts it: letters, digits, "-", "_", "."; no "--" or ".." and no leading/trailing "-" or ".".
HUB_ID = re.compile(r"^(?!.*(--|\.\.))[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}(?<![.-])$")


class ModelSourceError(FileNotFoundError):
    """The model is neither a run folder nor a Hub id that can be loaded here; the message names the value."""


def cached_hub_config(model: str) -> str | None:
    """Path of the Hub model's cached config.json, or None when it is not in the local cache."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(model, "config.json")
    return found if isinstance(found, str) else None


def check_model_source(model: str, flag: str = "MODEL") -> None:
    """Raise ``ModelSourceError`` unless ``model`` is a run folder with config.json or a loadable-looking Hub id
    (``flag`` names the option in the message)."""
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ModelSourceError(f"{flag} {model!r}: no config.json there; expected a run folder written by train.py "
                                   "(save_pretrained) or a Hub id such as facebook/wav2vec2-base")
        return
    parent = path.parent
    if not HUB_ID.match(model) or (str(parent) not in ("", ".") and parent.is_dir()):
        # "runs/dmeo" next to an existing runs/ is a mistyped run folder, not a Hub id.
        raise ModelSourceError(f"{flag}: no such run folder or Hub model: {model} (expected a folder written by "
                               "train.py, or a Hub id owner/name such as facebook/wav2vec2-base)")
    if offline_mode() and cached_hub_config(model) is None:
        raise ModelSourceError(f"{flag}: no such run folder or Hub model: {model} (HF_HUB_OFFLINE=1 and it is not in "
                               "the local Hub cache; download it once online or give a run folder)")


def load_classifier(model: str, device: str = "auto", flag: str = "MODEL"):
    """A fine-tuned classifier (run folder or Hub id) in eval mode on ``device``, and its feature extractor."""
    check_model_source(model, flag)
    extractor = load_feature_extractor(model)
    classifier = load_model(model).to(pick_device(device)).eval()
    labels = list(classifier.config.id2label.values())
    if all(str(label).startswith("LABEL_") for label in labels):
        logger.warning("%s has no class names (labels %s): is it a fine-tuned run folder?", model, labels)
    return classifier, extractor


def pick_device(name: str) -> str:
    """``"auto"`` becomes ``"cuda"`` when a GPU is visible, else ``"cpu"``; any other name is passed through."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def load_feature_extractor(name_or_path: str, chunk_length: int | None = None, **kwargs):
    """``AutoFeatureExtractor`` checked to expect 16 kHz audio; ``kwargs`` go to ``from_pretrained`` (revision...).
    ``chunk_length`` (Whisper) sets the seconds its features are padded to, also for a checkpoint whose
    ``preprocessor_config.json`` does not name it (``from_pretrained`` overrides only the keys a file holds)."""
    from transformers import AutoFeatureExtractor

    extractor = AutoFeatureExtractor.from_pretrained(name_or_path, **kwargs)
    if chunk_length is not None and getattr(extractor, "chunk_length", None) != chunk_length:
        extractor = type(extractor)(feature_size=extractor.feature_size, sampling_rate=extractor.sampling_rate,
                                    hop_length=extractor.hop_length, chunk_length=chunk_length,
                                    n_fft=extractor.n_fft, padding_value=extractor.padding_value,
                                    dither=getattr(extractor, "dither", 0.0),
                                    return_attention_mask=extractor.return_attention_mask)
    if getattr(extractor, "sampling_rate", SAMPLING_RATE) != SAMPLING_RATE:
        raise ValueError(
            f"{name_or_path}: its feature extractor expects {extractor.sampling_rate} Hz audio; "
            f"this project prepares {SAMPLING_RATE} Hz audio"
        )
    return extractor


def load_model(name_or_path: str, class_names: Sequence[str] | None = None, config_overrides: dict | None = None,
               **kwargs):
    """``AutoModelForAudioClassification`` with ``label2id``/``id2label`` set from ``class_names`` (when given).

    A fresh classification head is created when the checkpoint has another label set (``ignore_mismatched_sizes``);
    ``config_overrides`` change the architecture's config too (e.g. Whisper's ``max_source_positions``: a weight of
    another shape is created anew, here the sinusoidal positions, which are the first rows of the original ones).
    """
    from transformers import AutoConfig, AutoModelForAudioClassification

    if class_names is None:
        return AutoModelForAudioClassification.from_pretrained(name_or_path, **kwargs)
    config = AutoConfig.from_pretrained(
        name_or_path,
        **({"revision": kwargs["revision"]} if "revision" in kwargs else {}),
        **(config_overrides or {}),
        num_labels=len(class_names),
        label2id={name: i for i, name in enumerate(class_names)},
        id2label={i: name for i, name in enumerate(class_names)},
        finetuning_task="audio-classification",
    )
    return AutoModelForAudioClassification.from_pretrained(
        name_or_path, config=config, ignore_mismatched_sizes=True, **kwargs
    )


def input_kind(extractor) -> str:
    """``"waveform"`` for raw-sample encoders, ``"spectrogram"`` for AST/Whisper-style extractors."""
    name = type(extractor).__name__
    if "Whisper" in name or "ASTFeatureExtractor" in name or getattr(extractor, "model_input_names", [None])[0] == "input_features":
        return "spectrogram"
    return "waveform"


# The shortest input every supported encoder takes: one 25-ms analysis frame of AST's and Whisper's log-mel features.
MIN_INPUT_SAMPLES = 400
MIN_WINDOW_SECONDS = MIN_INPUT_SAMPLES / SAMPLING_RATE      # the shortest --window-seconds eval and predict take


def conv_geometry(config) -> tuple[int, int]:
    """(stride S, receptive field R) in samples of the conv feature encoder described by ``config``."""
    kernels, strides = getattr(config, "conv_kernel", None), getattr(config, "conv_stride", None)
    if not kernels or not strides:
        raise ValueError(f"{type(config).__name__}: no conv_kernel/conv_stride, so no waveform frame grid; "
                         "features need a waveform encoder (wav2vec2, HuBERT, WavLM, data2vec-audio)")
    stride, field_size = 1, 1
    for kernel, step in zip(kernels, strides):
        field_size += (kernel - 1) * stride
        stride *= step
    return stride, field_size


def min_input_samples(config) -> int:
    """The fewest samples ``config``'s model computes on: a waveform encoder's convolutional receptive field plus one
    stride (two output frames: group norm needs more than one), at least ``MIN_INPUT_SAMPLES``; wav2vec2-base: 720
    (45 ms). Shorter inputs are padded with silence to it (``featurize``), never handed to the model."""
    if not getattr(config, "conv_kernel", None):
        return MIN_INPUT_SAMPLES
    stride, field_size = conv_geometry(config)
    return max(MIN_INPUT_SAMPLES, field_size + stride)


def takes_padding(extractor) -> bool:
    """Whether inputs of different lengths can share a batch without changing each other's outputs: spectrogram
    extractors give every input its own fixed-size features, and waveform models whose extractor returns an
    attention mask mask the padding. Group-norm wav2vec2 (wav2vec2-base) takes no mask: its first layer normalises
    over time, padding included, so unequal inputs must not share a batch (``predict_windows`` keeps them apart)."""
    return input_kind(extractor) == "spectrogram" or bool(getattr(extractor, "return_attention_mask", False))


def _normalised(samples: np.ndarray) -> np.ndarray:
    """Zero mean, unit variance over the input's own samples: the waveform extractors' ``do_normalize``, computed
    before padding (theirs runs after it when they return no mask, so the padding would shift the statistics)."""
    return ((samples - samples.mean()) / np.sqrt(samples.var() + 1e-7)).astype(np.float32)


def featurize(extractor, arrays: Sequence[np.ndarray], min_samples: int = 0):
    """Turn a batch of 16 kHz float arrays into model inputs (``BatchFeature`` of torch tensors).

    An array shorter than ``min_samples`` (``min_input_samples`` of the model) is padded with silence to it first.
    Waveform extractors: each array is normalised on its own samples (when the extractor normalises), then padded to
    the longest, with an attention mask only when the extractor's own policy says so. Spectrogram extractors produce
    their fixed input size (AST: ``max_length`` frames; Whisper: ``chunk_length``); for Whisper an
    ``attention_mask`` over the real frames is returned so pooling can ignore padding.
    """
    arrays = [np.asarray(a, dtype=np.float32) for a in arrays]
    arrays = [np.pad(a, (0, min_samples - len(a))) if len(a) < min_samples else a for a in arrays]
    name = type(extractor).__name__
    if "Whisper" in name:
        return extractor(arrays, sampling_rate=SAMPLING_RATE, return_tensors="pt", return_attention_mask=True)
    if input_kind(extractor) == "spectrogram":
        return extractor(arrays, sampling_rate=SAMPLING_RATE, return_tensors="pt")
    from transformers import BatchFeature

    if getattr(extractor, "do_normalize", False):
        arrays = [_normalised(a) for a in arrays]
    return extractor.pad(BatchFeature({"input_values": arrays}), padding="longest",
                         return_attention_mask=bool(getattr(extractor, "return_attention_mask", False)),
                         return_tensors="pt")


def window_bounds(n_samples: int, window_samples: int, hop_samples: int | None = None) -> list[tuple[int, int]]:
    """Fixed windows covering ``[0, n_samples)``: full windows every ``hop`` samples plus one window ending at the
    end when the hop grid leaves a tail. A clip no longer than one window is a single window (the whole clip)."""
    hop = hop_samples or window_samples
    if n_samples <= window_samples:
        return [(0, n_samples)]
    starts = list(range(0, n_samples - window_samples + 1, hop))
    if starts[-1] + window_samples < n_samples:
        starts.append(n_samples - window_samples)
    return [(s, s + window_samples) for s in starts]


def iter_windows(blocks: Iterable[np.ndarray], window: int, hop: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start_sample, samples)`` of each window of ``window_bounds(total, window, hop)``, from a stream of blocks
    whose total length is unknown until the end (predict's decoded files), or from ``[array]`` (eval's clips): the
    one window iterator of eval and predict. Full windows on the hop grid come as soon as their samples have; at the
    end ``window_bounds`` itself names what is left (the tail window, or a whole input shorter than one window). At
    most ``window`` samples plus one block are kept."""
    buffer, buffer_start, total, next_start, given = np.zeros(0, np.float32), 0, 0, 0, 0
    for block in blocks:
        block = np.asarray(block, np.float32)
        buffer = np.concatenate([buffer, block]) if len(buffer) else block   # an eval clip ([array]) is not copied
        total += len(block)
        while next_start + window <= total:       # a full window on the grid: window_bounds has it whatever follows
            offset = next_start - buffer_start
            yield next_start, buffer[offset:offset + window]
            next_start, given = next_start + hop, given + 1
        # Keep what a later window may need: from the next hop start, or the last `window` samples for the tail.
        keep_from = max(buffer_start, min(next_start, total - window))
        buffer, buffer_start = buffer[keep_from - buffer_start:], keep_from
    if total:
        for start, end in window_bounds(total, window, hop)[given:]:
            yield start, buffer[start - buffer_start:end - buffer_start]


def check_window_fits(extractor, window_s: float) -> None:
    """Raise ``ValueError`` when ``window_s`` is longer than the fixed input of a Whisper feature extractor."""
    chunk = getattr(extractor, "chunk_length", None) if "Whisper" in type(extractor).__name__ else None
    if chunk is not None and window_s > chunk + 1e-6:
        raise ValueError(f"window {window_s:g} s: this Whisper model computes on {chunk} s of input (its feature "
                         f"extractor's chunk_length, as trained); expected a window of at most {chunk} s "
                         f"(--window_seconds / --window-seconds)")


@dataclass
class WindowPredictions:
    logits: np.ndarray            # (n_windows, n_labels)
    clip_index: np.ndarray        # (n_windows,) index of the input array each window came from
    start_s: np.ndarray           # (n_windows,) window start within its input, seconds
    end_s: np.ndarray             # (n_windows,)
    embeddings: np.ndarray | None  # (n_windows, hidden) mean of the last hidden layer over real frames


def _real_frame_mask(model, inputs, hidden_len: int) -> torch.Tensor | None:
    """Mask of the encoder frames that cover real audio (None: every frame is real)."""
    mask = inputs.get("attention_mask")
    if mask is None:
        return None
    lengths = mask.sum(-1)
    if "input_values" in inputs and hasattr(model.config, "conv_kernel"):
        lengths = conv_output_lengths(model.config, lengths)
    elif "input_features" in inputs:  # Whisper: 2 mel frames per encoder frame
        lengths = torch.div(lengths + 1, 2, rounding_mode="floor")
    frames = torch.arange(hidden_len, device=lengths.device)[None, :]
    return frames < lengths[:, None].clamp(min=1)


def conv_output_lengths(config, lengths: torch.Tensor) -> torch.Tensor:
    """Encoder frames of waveform inputs of ``lengths`` samples, from the config's public convolution sizes
    (wav2vec2, HuBERT, WavLM, data2vec-audio: ``conv_kernel``/``conv_stride``, no padding; then the adapter's
    strided layers when ``add_adapter``), as those models compute it for their own attention masks."""
    for kernel, stride in zip(config.conv_kernel, config.conv_stride):
        lengths = torch.div(lengths - kernel, stride, rounding_mode="floor") + 1
    if getattr(config, "add_adapter", False):
        for _ in range(config.num_adapter_layers):
            lengths = torch.div(lengths - 1, config.adapter_stride, rounding_mode="floor") + 1
    return lengths


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return hidden.mean(dim=1)
    mask = mask.to(hidden.dtype)[..., None]
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


@torch.no_grad()
def predict_windows(model, extractor, arrays: Iterable[np.ndarray], window_s: float, hop_s: float | None = None,
                    batch_size: int = 8, return_embeddings: bool = False, device=None) -> WindowPredictions:
    """Logits (and optionally pooled embeddings) for fixed windows over each array, in bounded memory:
    only ``batch_size`` windows are featurized and run at a time, whatever the length of the inputs. A window's
    logits do not depend on what it is batched with: for a model that takes no attention mask only windows of one
    length share a batch (``takes_padding``). Windows shorter than the model's receptive field are padded to it
    (``min_input_samples``). A window longer than a Whisper extractor's ``chunk_length`` (the input its run was
    trained on) is an error: it would be cut."""
    check_window_fits(extractor, window_s)
    device = device or next(model.parameters()).device
    model.eval()
    window = int(round(window_s * SAMPLING_RATE))
    hop = int(round((hop_s or window_s) * SAMPLING_RATE))
    minimum = min_input_samples(model.config)
    one_length = not takes_padding(extractor)
    logits, embeds, order = [], [], []
    meta: list[tuple[int, int, int]] = []      # (clip, start, end) of each window, in input order
    batches: dict[int, list[int]] = {}         # length (or 0: any) -> indices into meta of the windows waiting
    samples_of: dict[int, np.ndarray] = {}

    def flush(key):
        indices = batches.pop(key)
        inputs = featurize(extractor, [samples_of.pop(i) for i in indices], minimum).to(device)
        # Whisper's classifier takes no attention mask; the mask is kept for pooling the embeddings only.
        model_inputs = {k: v for k, v in inputs.items() if not (k == "attention_mask" and "input_features" in inputs)}
        out = model(**model_inputs, output_hidden_states=return_embeddings)
        logits.append(out.logits.float().cpu().numpy())
        if return_embeddings:
            hidden = out.hidden_states[-1]
            embeds.append(mean_pool(hidden, _real_frame_mask(model, inputs, hidden.shape[1])).float().cpu().numpy())
        order.extend(indices)

    for clip, array in enumerate(arrays):
        for s, samples in iter_windows([array], window, hop):
            key = len(samples) if one_length else 0
            samples_of[len(meta)] = samples
            batches.setdefault(key, []).append(len(meta))
            meta.append((clip, s, s + len(samples)))
            if len(batches[key]) == batch_size:
                flush(key)
            elif len(samples_of) >= 4 * batch_size:     # many lengths waiting: memory stays bounded
                flush(max(batches, key=lambda k: len(batches[k])))
    for key in list(batches):
        flush(key)
    n_labels = model.config.num_labels
    back = np.argsort(np.asarray(order, dtype=np.int64), kind="stable")     # the windows in input order again
    clips, starts, ends = (np.asarray([m[i] for m in meta]) for i in range(3)) if meta else (np.zeros(0),) * 3
    return WindowPredictions(
        logits=np.concatenate(logits)[back] if logits else np.zeros((0, n_labels), np.float32),
        clip_index=np.asarray(clips, dtype=np.int64),
        start_s=np.asarray(starts, dtype=np.float64) / SAMPLING_RATE,
        end_s=np.asarray(ends, dtype=np.float64) / SAMPLING_RATE,
        embeddings=(np.concatenate(embeds)[back] if embeds else None) if return_embeddings else None,
    )
