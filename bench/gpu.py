"""The GPU figure: train.py's throughput, MFU, data wait and memory for wav2vec2-base (and a whisper-small encoder)
on the real data path, offline, in one command.

    python -m bench.gpu --out bench/gpu_results.json          # one GPU: 4-7 minutes expected on an H200 (not run yet)
    python -m bench --only train-gpu                           # the same, as a stage of bench/ (tiny on a CPU)
    python -m bench.gpu --tiny --out /tmp/gpu_tiny.json       # CPU: tiny models, a few steps (make test runs it)

What it does, with no network and no Hub:

1. writes a synthetic prepared dataset (10-s 16 kHz clips, noise-like content that compresses like real audio)
   through prepare's own public writer and schema (``common.data.write_split``, ``common.data.clip_features``:
   Parquet shards in the Hub's layout);
2. saves random-weight checkpoints built from configs: wav2vec2-base's architecture and a whisper-small-sized
   ``WhisperForAudioClassification`` (tiny versions with ``--tiny``);
3. runs train.py itself (its ``main``/``run`` with the recipe ``configs/wav2vec2-base.yaml`` plus overrides:
   Trainer, ``RandomCrops``, ``AudioCollator``, ``--dataloader_num_workers`` workers decoding FLAC, bf16 autocast
   through ``--bf16``, ``--torch_compile``) for ``warmup + steps`` optimizer steps per configuration, with a
   ``TrainerCallback`` that times every step (``torch.cuda.synchronize`` at both ends) and the gap between steps,
   which is where the Trainer fetches the next batch from the DataLoader (the data wait);
4. counts the model FLOPs of one training step (forward + backward, frozen CNN forward only) with
   ``torch.utils.flop_counter.FlopCounterMode`` on a meta-device replica of the trained model fed a batch of the
   measured shape, and checks the count against a closed formula (``formula_flops``);
5. MFU = counted FLOPs per step / measured step time / device peak; the peak is ``--peak-tflops`` or the rate of
   a large bf16 matmul measured in the same run;
6. the loader alone (the Trainer's own DataLoader, no model) is timed too: the audio-seconds/s the data path can
   deliver, to say which part limits a run.

docs/bench-gpu.md explains every figure and formula. No GPU figures are committed yet.
"""

from __future__ import annotations

import copy
import gc
import logging
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

logger = logging.getLogger("bench.gpu")

RECIPE = ROOT / "configs" / "wav2vec2-base.yaml"
CLASS_NAMES = ["art_music", "food", "history", "travel"]

# facebook/wav2vec2-base's architecture (its config.json; these are also Wav2Vec2Config's defaults). layerdrop is 0
# so every step runs the 12 layers whose FLOPs are counted (the Hub config's layerdrop would skip ~5-10% of them).
WAV2VEC2_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                     conv_dim=(512,) * 7, conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
                     conv_bias=False, feat_extract_norm="group", do_stable_layer_norm=False,
                     num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, classifier_proj_size=256,
                     hidden_dropout=0.1, attention_dropout=0.1, activation_dropout=0.0, feat_proj_dropout=0.1,
                     final_dropout=0.0, layerdrop=0.0, mask_time_prob=0.05, vocab_size=32)
# The encoder of openai/whisper-small (WhisperForAudioClassification builds only the encoder and a head).
WHISPER_SMALL = dict(d_model=768, encoder_layers=12, encoder_attention_heads=12, encoder_ffn_dim=3072,
                     decoder_layers=12, decoder_attention_heads=12, decoder_ffn_dim=3072, num_mel_bins=80,
                     max_source_positions=1500, vocab_size=51865, classifier_proj_size=256)
# Toy sizes for --tiny (CPU, seconds).
TINY_WAV2VEC2 = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                     conv_dim=(32, 32, 32), conv_stride=(5, 4, 4), conv_kernel=(10, 4, 4), conv_bias=False,
                     feat_extract_norm="group", num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                     classifier_proj_size=16, layerdrop=0.0)
TINY_WHISPER = dict(d_model=32, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64, decoder_layers=1,
                    decoder_attention_heads=2, decoder_ffn_dim=64, num_mel_bins=80, max_source_positions=1500,
                    vocab_size=51865, classifier_proj_size=16)  # vocab: the token ids in the config; no decoder is built

# Reference figures quoted in issue #16 (other hardware, other recipes: context, not targets).
REF_V100_SAMPLES = "~291 samples/s of 1-s clips, V100 fp16 (transformers example)"
REF_A100_AUDIO_S = 825.0  # NVIDIA wav2vec2 fine-tuning, A100 bf16, ~41k frames/s
TARGET_MFU, TARGET_WAIT = 0.40, 0.05


@dataclass
class Plan:
    """Everything a benchmark run does; ``--tiny`` and the full GPU run differ only here."""
    device: str
    tiny: bool
    train_clips: int
    clip_seconds: float
    crop_seconds: float
    whisper_crop_seconds: float
    batch_sizes: list[int]
    compile_batch_sizes: list[int]
    whisper_batch_sizes: list[int]
    warmup: int
    steps: int
    workers: int
    loader_batches: int
    compile_backend: str = "inductor"
    peak_tflops: float | None = None
    budget_s: float = 440.0
    seed: int = 0
    notes: list[str] = field(default_factory=list)


def make_plan(args) -> Plan:
    import torch

    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device cuda: no CUDA device is visible to torch (torch {torch.__version__})")
    tiny = args.tiny or device == "cpu"
    if device == "cpu" and not args.tiny:
        logger.warning("no GPU: running the tiny CPU mode (wav2vec2-base on CPU takes ~1 min per step)")
    if tiny:
        plan = Plan(device=device, tiny=True, train_clips=24, clip_seconds=2.0, crop_seconds=1.0,
                    whisper_crop_seconds=1.0, batch_sizes=[2, 4], compile_batch_sizes=[], whisper_batch_sizes=[2],
                    warmup=1, steps=3, workers=1, loader_batches=4, budget_s=600.0)
    else:
        # Largest run: (warmup + steps) x 32 clips = 1,280 < 2,048 clips: every measured step is inside one epoch.
        plan = Plan(device=device, tiny=False, train_clips=2048, clip_seconds=10.0, crop_seconds=10.0,
                    whisper_crop_seconds=5.0, batch_sizes=[8, 16, 32], compile_batch_sizes=[8, 32],
                    whisper_batch_sizes=[16, 32], warmup=10, steps=30, workers=4, loader_batches=48)
    for name in ("train_clips", "clip_seconds", "crop_seconds", "whisper_crop_seconds", "warmup", "steps",
                 "workers", "loader_batches", "compile_backend", "peak_tflops", "budget_s"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(plan, name, value)
    for name in ("batch_sizes", "compile_batch_sizes", "whisper_batch_sizes"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(plan, name, [int(v) for v in value.split(",") if v.strip()])
    if not args.whisper:
        plan.whisper_batch_sizes = []
    return plan


# ------------------------------------------------------------------------------------------------ data and models


def write_dataset(path, train_clips: int, clip_seconds: float, seed: int = 0, val_clips: int = 4) -> str:
    """A prepared DatasetDict of ``train_clips`` clips (plus a few validation/test clips) through prepare's writer.

    Content: a class tone plus Gaussian noise at 0.1 full scale, which FLAC stores in ~275 KB per 10 s (real
    prepared clips: ~250 KB), so decoding costs what it costs on real data."""
    import numpy as np

    from common.audio import SAMPLING_RATE, encode_flac
    from common.data import SPLITS
    from testing.synthetic import write_prepared_rows

    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    n = int(round(clip_seconds * SAMPLING_RATE))
    t = np.arange(n, dtype=np.float32) / SAMPLING_RATE

    def rows(split, count):
        rng = np.random.default_rng([seed, SPLITS.index(split)])
        for i in range(count):
            label = i % len(CLASS_NAMES)
            wave = 0.2 * np.sin(2 * np.pi * 300.0 * (label + 1) * t) + 0.1 * rng.standard_normal(n)
            video = f"{split}-{label}-{i // 8}"
            yield {"audio": {"bytes": encode_flac(wave.astype(np.float32)), "path": f"{video}_{i}.flac"},
                   "label": label, "video_id": video, "channel": "", "start_s": float((i % 8) * clip_seconds),
                   "duration_s": float(clip_seconds), "title": f"synthetic {CLASS_NAMES[label]} {i // 8}"}

    counts = {"train": train_clips, "validation": val_clips, "test": val_clips}
    return write_prepared_rows(path, CLASS_NAMES, {split: rows(split, counts[split]) for split in SPLITS},
                               clip_seconds, clip_seconds)


def save_wav2vec2(path, tiny: bool, seed: int = 0) -> str:
    """A random ``Wav2Vec2ForSequenceClassification`` (wav2vec2-base's architecture, or tiny) and its extractor."""
    import torch
    import transformers as tf

    torch.manual_seed(seed)
    config = tf.Wav2Vec2Config(**(TINY_WAV2VEC2 if tiny else WAV2VEC2_BASE))
    tf.Wav2Vec2ForSequenceClassification(config).save_pretrained(path)
    # wav2vec2-base's preprocessor_config.json: normalized waveforms, no attention mask (group-norm model).
    tf.Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                return_attention_mask=False).save_pretrained(path)
    return str(path)


def save_whisper(path, tiny: bool, seed: int = 0) -> str:
    """A random ``WhisperForAudioClassification`` sized like whisper-small's encoder (or tiny) and its extractor."""
    import torch
    import transformers as tf

    torch.manual_seed(seed)
    config = tf.WhisperConfig(**(TINY_WHISPER if tiny else WHISPER_SMALL))
    tf.WhisperForAudioClassification(config).save_pretrained(path)
    tf.WhisperFeatureExtractor(feature_size=config.num_mel_bins, sampling_rate=16000).save_pretrained(path)
    return str(path)


# ------------------------------------------------------------------------------------------------ FLOPs


def _meta_replica(model, config=None):
    """The same architecture on the meta device (no memory, no compute), with the real model's frozen parameters."""
    import torch

    model = getattr(model, "_orig_mod", model)  # a torch.compile wrapper
    with torch.device("meta"):
        replica = type(model)(config or model.config)
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    for name, p in replica.named_parameters():
        p.requires_grad_(name not in frozen)
    for (_, real), (_, rep) in zip(model.named_modules(), replica.named_modules()):
        if hasattr(real, "_requires_grad"):  # wav2vec2's feature encoder flag set by freeze_feature_encoder()
            rep._requires_grad = real._requires_grad
    return replica.eval()  # eval: no layerdrop/SpecAugment, so the count is the full network's, every time


def _conv_backward_flops(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                         _output_padding, groups, output_mask, out_shape, **kwargs) -> int:
    """``aten.convolution_backward`` FLOPs with groups: torch's own formula (2.13) counts a grouped convolution's
    weight gradient as if it had one group, ``groups`` times too much. wav2vec2's positional convolution has 16
    groups: uncorrected, a wav2vec2-base step would count ~20% more FLOPs than it does (71 GFLOP per 10-s clip)."""
    from torch.utils.flop_counter import conv_flop_count

    def t(shape):
        return [shape[1], shape[0]] + list(shape[2:])

    flops = 0
    if output_mask[0]:  # grad_input: a transposed convolution with the same (grouped) weight: counted right
        flops += conv_flop_count(grad_out_shape, w_shape, out_shape[0], not transposed)
    if output_mask[1]:  # grad_weight: one convolution per group of channels
        if transposed:
            flops += conv_flop_count(t(grad_out_shape), t(x_shape), t(out_shape[1]), transposed=False) // groups
        else:
            flops += conv_flop_count(t(x_shape), t(grad_out_shape), t(out_shape[1]), transposed=False) // groups
    return flops


def count_step_flops(model, shapes: dict, config=None) -> dict:
    """FLOPs of one training step (forward + backward) of ``model``'s architecture on inputs of ``shapes``
    (``{name: (shape, dtype)}``), counted by ``FlopCounterMode`` on a meta-device replica. Returns
    ``{"total": int, "by_op": {op: int}}``. Matmuls, convolutions and attention are counted (norms, activations and
    the optimizer are not: they are memory-bound and by convention outside "model FLOPs")."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    replica = _meta_replica(model, config)
    inputs = {name: torch.zeros(shape, dtype=dtype, device="meta") for name, (shape, dtype) in shapes.items()}
    counter = FlopCounterMode(display=False,
                              custom_mapping={torch.ops.aten.convolution_backward: _conv_backward_flops})
    with counter:
        out = replica(**inputs)
        out.loss.backward()
    by_op = {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return {"total": int(counter.get_total_flops()), "by_op": by_op}


def formula_flops(config, batch: int, input_len: int, frozen_feature_encoder: bool) -> float:
    """Closed-form training-step FLOPs (2 per multiply-add; backward = 2 x forward for trained parts, frozen parts
    forward only). ``input_len``: waveform samples (wav2vec2) or mel frames (Whisper, 3000 for 30 s).

    Per frame of N frames, per transformer layer of width d and feed-forward f: 8 d^2 (q, k, v, out projections)
    + 4 d f (feed-forward) + 4 N d (scores and weighted sum)."""
    def layers(n, d, f, count):
        return count * (8 * n * d * d + 4 * n * d * f + 4 * n * n * d)

    if config.model_type == "whisper":
        d, f, mel = config.d_model, config.encoder_ffn_dim, config.num_mel_bins
        n = (input_len - 1) // 2 + 1
        conv = 2 * mel * d * 3 * input_len + 2 * d * d * 3 * n
        head = 2 * n * d * config.classifier_proj_size + 2 * config.classifier_proj_size * config.num_labels
        return float(batch * 3 * (conv + layers(n, d, f, config.encoder_layers) + head))
    d, f = config.hidden_size, config.intermediate_size
    length, c_in, cnn = input_len, 1, 0
    for c, k, s in zip(config.conv_dim, config.conv_kernel, config.conv_stride):
        length = (length - k) // s + 1
        cnn += 2 * c_in * c * k * length
        c_in = c
    n = length
    projection = 2 * c_in * d * n
    positional = 2 * d * (d // config.num_conv_pos_embedding_groups) * config.num_conv_pos_embeddings * n
    head = 2 * n * d * config.classifier_proj_size + 2 * config.classifier_proj_size * config.num_labels
    trained = projection + positional + layers(n, d, f, config.num_hidden_layers) + head
    return float(batch * ((1 if frozen_feature_encoder else 3) * cnn + 3 * trained))


def whisper_padding(model, batch: int, crop_seconds: float) -> dict:
    """Where a Whisper training step's counted FLOPs go for ``crop_seconds`` clips, all counted like
    ``count_step_flops``: ``padding_share`` = 1 - F(encoder sized for the clip) / F(the encoder this model has: the
    clip's length, train.py's default, or 30 s with --whisper_input_seconds 30); ``saved_vs_30s`` = 1 - F(clip) /
    F(Whisper's 30-s input), what computing on the clip's length saves."""
    import torch

    real = getattr(model, "_orig_mod", model).config
    mel = real.num_mel_bins

    def flops(positions: int) -> float:
        sized = copy.deepcopy(real)
        sized.max_source_positions = positions
        return count_step_flops(model, {"input_features": ((batch, mel, 2 * positions), torch.float32),
                                        "labels": ((batch,), torch.long)}, config=sized)["total"]

    clip_positions = math.ceil(crop_seconds * 50)  # 100 mel frames/s, encoder stride 2: 50 encoder frames/s
    own, full, clip = flops(real.max_source_positions), flops(1500), flops(clip_positions)
    return {"input_seconds": real.max_source_positions / 50, "flops_30s": full, "flops_model": own,
            "flops_clip": clip, "padding_share": 1.0 - clip / own, "saved_vs_30s": 1.0 - clip / full,
            "frames_share": 1.0 - clip_positions / real.max_source_positions}


# ------------------------------------------------------------------------------------------------ timing


def measure_peak_tflops(device: str, seconds: float = 2.0) -> dict:
    """Dense matmul rate: bf16 8192^3 on CUDA, fp32 512^3 on CPU (the precision each mode trains in)."""
    import torch

    if device == "cuda":
        n, dtype = 8192, torch.bfloat16
    else:
        n, dtype = 512, torch.float32
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(3):
        a @ b
    sync()
    iters, started = 0, time.perf_counter()
    while True:
        for _ in range(10):
            a @ b
        iters += 10
        sync()
        elapsed = time.perf_counter() - started
        if elapsed >= seconds or (device != "cuda" and iters >= 20):
            break
    del a, b
    return {"tflops": 2 * n ** 3 * iters / elapsed / 1e12, "n": n, "dtype": str(dtype).replace("torch.", ""),
            "iters": iters}


def _loader_rate(loader, n_batches: int, skip: int) -> dict:
    """Batches/s of a DataLoader alone: time from the ``skip``-th batch on (the first round of every worker lands
    at once after start-up), over ``n_batches`` in all. Returns the first batch's tensor shapes too."""
    import torch

    it = iter(loader)
    started, first, stamps = time.perf_counter(), None, []
    for _ in range(n_batches):
        try:
            batch = next(it)
        except StopIteration:
            break
        stamps.append(time.perf_counter())
        if first is None:
            first = {k: (tuple(v.shape), v.dtype) for k, v in batch.items() if isinstance(v, torch.Tensor)}
            samples = len(next(iter(batch.values())))
    del it
    skip = min(skip, max(len(stamps) - 2, 0))
    span = stamps[-1] - stamps[skip] if len(stamps) > skip + 1 else stamps[-1] - started
    n = len(stamps) - 1 - skip if len(stamps) > skip + 1 else len(stamps)
    return {"shapes": first, "batch": samples, "batches": len(stamps), "timed_batches": n,
            "batches_per_s": n / span if span > 0 else float("nan"), "first_batch_s": stamps[0] - started}


def _make_timer(plan: Plan, crop_seconds: float):
    """A TrainerCallback timing each optimizer step and the gap before it (the Trainer fetching batches)."""
    import torch
    from transformers import TrainerCallback

    cuda = plan.device == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize()

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.begins, self.ends, self.loader, self.flops, self.peak_bytes = [], [], None, None, None
            self.shapes, self.padding = None, None

        def on_train_begin(self, args, state, control, model=None, train_dataloader=None, **kwargs):
            # The Trainer's own DataLoader (workers, collator, crops), iterated alone, before training: the rate
            # the data path delivers with no GPU work, and a batch of the shape every step gets.
            loader = getattr(train_dataloader, "base_dataloader", train_dataloader)
            self.loader = _loader_rate(loader, plan.loader_batches, skip=max(1, plan.workers))
            self.shapes = self.loader.pop("shapes")
            self.flops = count_step_flops(model, self.shapes)
            self.config = getattr(model, "_orig_mod", model).config
            self.settings = {"precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32",
                             "dataloader_num_workers": args.dataloader_num_workers,
                             "dataloader_pin_memory": args.dataloader_pin_memory,
                             "torch_compile": args.torch_compile, "optim": str(getattr(args.optim, "value", args.optim)),
                             "gradient_accumulation_steps": args.gradient_accumulation_steps,
                             "device": str(args.device)}
            self.frozen = any(not p.requires_grad for p in model.parameters())  # the recipe freezes wav2vec2's CNN
            if self.config.model_type == "whisper":
                self.padding = whisper_padding(model, self.loader["batch"], crop_seconds)
            sync()

        def on_step_begin(self, args, state, control, **kwargs):
            sync()
            self.begins.append(time.perf_counter())

        def on_step_end(self, args, state, control, **kwargs):
            sync()
            self.ends.append(time.perf_counter())
            if len(self.ends) == plan.warmup and cuda:
                torch.cuda.reset_peak_memory_stats()

        def on_train_end(self, args, state, control, **kwargs):
            sync()
            self.peak_bytes = torch.cuda.max_memory_allocated() if cuda else None

    return StepTimer()


# ------------------------------------------------------------------------------------------------ runs


def _train_entry():
    import train

    return getattr(train, "run", None) or train.main


def _bench_recipe(work: Path) -> Path:
    """configs/wav2vec2-base.yaml with what a timing run must not do removed: early stopping (it needs evaluation)."""
    import yaml

    from common.cli import read_config_file

    recipe = read_config_file(str(RECIPE))
    recipe.pop("early_stopping_patience", None)
    recipe.pop("hub_model_id", None)
    path = work / "bench-recipe.yaml"
    path.write_text("# configs/wav2vec2-base.yaml minus early stopping, for bench/gpu.py\n"
                    + yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path


def run_one(plan: Plan, recipe: Path, dataset: str, model_dir: str, out_dir: Path, batch: int, crop_seconds: float,
            compile_: bool) -> dict:
    """One train.py run of ``warmup + steps`` optimizer steps; returns its measured figures."""
    import torch

    from torch._dynamo.utils import counters

    timer = _make_timer(plan, crop_seconds)
    graphs_before = counters["stats"]["unique_graphs"]
    argv = [str(recipe), "--dataset_name", dataset, "--model_name_or_path", model_dir, "--output_dir", str(out_dir),
            "--max_length_seconds", str(crop_seconds), "--per_device_train_batch_size", str(batch),
            "--gradient_accumulation_steps", "1", "--max_steps", str(plan.warmup + plan.steps),
            "--warmup_steps", "0", "--dataloader_num_workers", str(plan.workers),
            "--torch_compile", str(compile_).lower(), "--seed", str(plan.seed),
            "--do_eval", "false", "--eval_strategy", "no", "--save_strategy", "no", "--logging_strategy", "no",
            "--load_best_model_at_end", "false", "--report_to", "none"]
    if compile_:
        argv += ["--torch_compile_backend", plan.compile_backend]
    if plan.device == "cpu":
        argv += ["--use_cpu", "true"]
    leftover = torch.cuda.memory_allocated() if plan.device == "cuda" else None  # earlier runs must have freed all
    started = time.perf_counter()
    _train_entry()(argv, callbacks=[timer])
    wall = time.perf_counter() - started
    compiled_graphs = counters["stats"]["unique_graphs"] - graphs_before
    if compile_ and not compiled_graphs:
        raise RuntimeError("--torch_compile true but torch.compile traced no graph: the run was not compiled")
    shutil.rmtree(out_dir, ignore_errors=True)
    if compile_:
        torch._dynamo.reset()
    gc.collect()
    if plan.device == "cuda":
        torch.cuda.empty_cache()

    begins, ends = timer.begins, timer.ends
    if len(ends) <= max(plan.warmup, 1):
        raise RuntimeError(f"train.py ran {len(ends)} steps: none left to time after {plan.warmup} warm-up steps")
    measured = range(max(plan.warmup, 1), len(ends))  # step k is timed from the end of step k-1
    step_s = [ends[k] - ends[k - 1] for k in measured]
    wait_s = [begins[k] - ends[k - 1] for k in measured]
    mean_step = statistics.fmean(step_s)
    shapes = timer.shapes
    main_input = "input_values" if "input_values" in shapes else "input_features"
    input_shape = shapes[main_input][0]
    config = timer.config
    formula = formula_flops(config, input_shape[0], input_shape[-1], frozen_feature_encoder=timer.frozen)
    flops = timer.flops["total"]
    samples_per_s = batch / mean_step
    loader_samples_per_s = timer.loader["batches_per_s"] * batch
    return {
        "model": config.model_type, "batch": batch, "compile": compile_, "input_shape": list(input_shape),
        "crop_seconds": crop_seconds, "precision": timer.settings["precision"], "trainer": timer.settings,
        "compiled_graphs": compiled_graphs,
        "steps_timed": len(step_s), "step_s_mean": mean_step, "step_s_median": statistics.median(step_s),
        "step_s_max": max(step_s), "data_wait_s_mean": statistics.fmean(wait_s),
        "data_wait_fraction": sum(wait_s) / sum(step_s),
        "samples_per_s": samples_per_s, "audio_s_per_s": samples_per_s * crop_seconds,
        "flops_per_step": flops, "flops_by_op": timer.flops["by_op"], "formula_flops_per_step": formula,
        "achieved_tflops": flops / mean_step / 1e12,
        "peak_memory_gib": timer.peak_bytes / 2 ** 30 if timer.peak_bytes is not None else None,
        "memory_before_run_gib": leftover / 2 ** 30 if leftover is not None else None,
        "loader": {**timer.loader, "samples_per_s": loader_samples_per_s,
                   "audio_s_per_s": loader_samples_per_s * crop_seconds},
        "wall_s": wall,
        **({"padding": timer.padding} if timer.padding else {}),
    }


def _limit(run: dict) -> str:
    """Which part limits a run, from the measured figures."""
    wait, loader, trained = run["data_wait_fraction"], run["loader"]["audio_s_per_s"], run["audio_s_per_s"]
    if wait > TARGET_WAIT and loader < 1.5 * trained:
        return (f"data path: waits {wait:.1%} of each step; the loader alone delivers {loader:.0f} audio-s/s, "
                f"training consumes {trained:.0f} (decode + crop + featurize in {run['trainer']['dataloader_num_workers']}"
                " workers)")
    if wait > TARGET_WAIT:
        return (f"per-step fetch overhead: waits {wait:.1%} of each step although the loader alone delivers "
                f"{loader:.0f} audio-s/s against {trained:.0f} trained (queue hand-off, host-to-device copy, "
                "Trainer bookkeeping between steps)")
    if run.get("mfu") is not None and run["mfu"] < TARGET_MFU:
        return (f"compute side: {run['achieved_tflops']:.3g} TFLOP/s is {run['mfu']:.1%} of peak with the data wait at "
                f"{wait:.1%} (kernel efficiency, launch overhead, memory-bound layers)")
    return "meets both targets (MFU and data wait)"


def _label(run: dict) -> str:
    name = {"wav2vec2": "wav2vec2-base", "whisper": "whisper-small enc"}.get(run["model"], run["model"])
    return f"{'tiny ' if run.get('tiny') else ''}{name} {run['precision']} b{run['batch']}{' compile' if run['compile'] else ''}"


def rows_for(run: dict, tiny: bool) -> list[dict]:
    label = _label(run)
    rows = [
        {"figure": f"{label}: audio-s/s ({run['samples_per_s']:.1f} samples/s of {run['crop_seconds']:g} s)",
         "value": round(run["audio_s_per_s"], 1), "unit": "audio-s/s",
         "reference": f"{REF_A100_AUDIO_S:.0f} audio-s/s A100 bf16 (NVIDIA); {REF_V100_SAMPLES}",
         "ratio": round(run["audio_s_per_s"] / REF_A100_AUDIO_S, 3), "target": None},
        {"figure": f"{label}: MFU", "value": round(100 * run["mfu"], 2) if run.get("mfu") is not None else None,
         "unit": "%", "reference": f"{run['achieved_tflops']:.3g} TFLOP/s of {run['peak_tflops']:.3g} peak"
                                   + (f"; {100 * run['useful_mfu']:.2f}% on the real audio" if "useful_mfu" in run else ""),
         "ratio": None, "target": f">= {TARGET_MFU:.0%}" if run["model"] == "wav2vec2" else None},
        {"figure": f"{label}: data wait", "value": round(100 * run["data_wait_fraction"], 2), "unit": "% of step",
         "reference": f"loader alone {run['loader']['audio_s_per_s']:.0f} audio-s/s",
         "ratio": round(run["loader"]["audio_s_per_s"] / run["audio_s_per_s"], 2),
         "target": f"<= {TARGET_WAIT:.0%}"},
        {"figure": f"{label}: model FLOPs per step (counted)", "value": round(run["flops_per_step"] / 1e9, 3),
         "unit": "GFLOP", "reference": f"{run['formula_flops_per_step'] / 1e9:.3f} GFLOP formula",
         "ratio": round(run["flops_per_step"] / run["formula_flops_per_step"], 3), "target": None},
    ]
    if run["peak_memory_gib"] is not None:
        rows.append({"figure": f"{label}: peak GPU memory", "value": round(run["peak_memory_gib"], 2),
                     "unit": "GiB", "reference": None, "ratio": None, "target": None})
    if "padding" in run:
        pad = run["padding"]
        rows.append({"figure": f"{label}: compute a 30-s input would spend on padding ({run['crop_seconds']:g}-s "
                               f"clips; this run's input: {pad['input_seconds']:g} s)",
                     "value": round(100 * pad["saved_vs_30s"], 2), "unit": "%",
                     "reference": f"this run: {100 * pad['padding_share']:.1f}% of its compute, "
                                  f"{100 * pad['frames_share']:.1f}% of its encoder frames on padding", "ratio": None,
                     "target": None})
    return rows


def _packages_used() -> dict:
    """Distributions whose modules this process imported (what an offline machine must have), with versions."""
    from importlib import metadata

    owners = metadata.packages_distributions()
    used = set()
    for name in list(sys.modules):
        top = name.split(".")[0]
        if top in owners and top not in sys.stdlib_module_names:
            used.update(owners[top])
    versions = {}
    project = metadata.metadata("yt-audio-classify")["Name"] if "yt-audio-classify" in used else None
    for dist in sorted(used - {project}, key=str.lower):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return versions


def benchmark(plan: Plan, work: Path) -> dict:
    """Build data and models in ``work``, run every configuration of ``plan``; returns the results document."""
    import torch
    import transformers

    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    env = {"machine": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
           "transformers": transformers.__version__, "cpu_count": os.cpu_count(),
           "device_name": torch.cuda.get_device_name() if plan.device == "cuda" else platform.processor() or "cpu",
           "cuda": torch.version.cuda if plan.device == "cuda" else None}
    if plan.device == "cpu":
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    measured_peak = measure_peak_tflops(plan.device)
    peak = plan.peak_tflops or measured_peak["tflops"]
    logger.info("peak: %.1f TFLOP/s (%s)", peak, "given" if plan.peak_tflops else f"measured {measured_peak}")

    t = time.perf_counter()
    dataset = write_dataset(work / "dataset", plan.train_clips, plan.clip_seconds, seed=plan.seed)
    data_s = time.perf_counter() - t
    size = sum(f.stat().st_size for f in Path(dataset).rglob("*.parquet"))     # the shards on disk
    logger.info("dataset: %d x %.0f-s clips, %.0f MiB, written in %.1f s", plan.train_clips, plan.clip_seconds,
                size / 2 ** 20, data_s)
    recipe = _bench_recipe(work)
    w2v2 = save_wav2vec2(work / "wav2vec2", tiny=plan.tiny, seed=plan.seed)
    whisper = save_whisper(work / "whisper", tiny=plan.tiny, seed=plan.seed) if plan.whisper_batch_sizes else None

    configs = [("wav2vec2", w2v2, b, plan.crop_seconds, False) for b in plan.batch_sizes]
    configs += [("whisper", whisper, b, plan.whisper_crop_seconds, False) for b in plan.whisper_batch_sizes]
    configs += [("wav2vec2", w2v2, b, plan.crop_seconds, True) for b in plan.compile_batch_sizes]
    runs, skipped = [], []
    cost = {False: 30.0, True: 180.0}  # expected seconds of a run, eager/compiled; updated from the runs made
    for i, (name, model_dir, batch, crop, compile_) in enumerate(configs):
        elapsed = time.perf_counter() - started
        if elapsed + cost[compile_] > plan.budget_s:
            skipped.append({"model": name, "batch": batch, "compile": compile_,
                            "why": f"time budget: {elapsed:.0f} s spent + ~{cost[compile_]:.0f} s expected > "
                                   f"--budget-s {plan.budget_s:.0f}"})
            logger.warning("skipping %s b%d compile=%s: %s", name, batch, compile_, skipped[-1]["why"])
            continue
        logger.info("run %d/%d: %s batch %d crop %.1f s compile=%s", i + 1, len(configs), name, batch, crop, compile_)
        run = None
        try:
            run = run_one(plan, recipe, dataset, model_dir, work / f"run-{i}", batch, crop, compile_)
        except Exception as exc:  # one configuration failing (out of memory, a compile error) must not lose the rest
            if plan.tiny:
                raise
            logger.exception("%s b%d compile=%s failed", name, batch, compile_)
            skipped.append({"model": name, "batch": batch, "compile": compile_, "why": f"{type(exc).__name__}: {exc}"})
        if run is None:  # outside the except block, so the traceback no longer holds the failed run's tensors
            shutil.rmtree(work / f"run-{i}", ignore_errors=True)
            torch._dynamo.reset()
            gc.collect()
            if plan.device == "cuda":
                torch.cuda.empty_cache()
            continue
        cost[compile_] = max(cost[compile_], run["wall_s"])
        run["tiny"] = plan.tiny
        run["peak_tflops"] = peak
        run["mfu"] = run["achieved_tflops"] / peak
        if "padding" in run:
            run["useful_mfu"] = run["mfu"] * (1 - run["padding"]["padding_share"])
        run["limit"] = _limit(run)
        logger.info("%s: %.1f audio-s/s, MFU %.1f%%, data wait %.1f%%, %s", _label(run), run["audio_s_per_s"],
                    100 * run["mfu"], 100 * run["data_wait_fraction"], run["limit"])
        runs.append(run)

    rows = [{"figure": f"device peak ({'given' if plan.peak_tflops else 'measured'})", "value": round(peak, 2),
             "unit": "TFLOP/s", "reference": f"{measured_peak['dtype']} {measured_peak['n']}^3 matmul: "
                                             f"{measured_peak['tflops']:.2f} TFLOP/s", "ratio": None, "target": None}]
    for run in runs:
        rows += rows_for(run, plan.tiny)
    return {"env": env, "plan": asdict(plan), "peak": {"used_tflops": peak, "given": plan.peak_tflops,
                                                       "measured": measured_peak},
            "dataset": {"train_clips": plan.train_clips, "clip_seconds": plan.clip_seconds, "parquet_mib": size / 2 ** 20,
                        "write_s": data_s},
            "runs": runs, "skipped": skipped, "rows": rows, "packages": _packages_used(),
            "wall_s": time.perf_counter() - started}


def run(tmp_dir, argv=None) -> dict:
    """Train on the GPU path: wav2vec2-base/whisper-small audio-s/s, MFU, data wait, FLOPs/step, memory (tiny on CPU)."""
    args = parse_args(argv or [])
    _offline()
    plan = make_plan(args)
    return benchmark(plan, Path(tmp_dir))


def _offline() -> None:
    """Nothing here needs the network; without these a missing Hub costs ~26 s of retries (shared/FACTS.md)."""
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


PROG = "python -m bench.gpu"


@dataclass
class GpuBenchArguments:
    out: str = field(default="bench/gpu_results.json", metadata={"help": "Results JSON."})
    device: Literal["auto", "cuda", "cpu"] = field(default="auto", metadata={
        "help": "auto: cuda when visible, else the tiny CPU mode."})
    tiny: bool = field(default=False, metadata={"help": "Tiny models, short clips, few steps (CPU tests)."})
    peak_tflops: float | None = field(default=None, metadata={
        "help": "Device peak for MFU, TFLOP/s (default: measured with a large bf16 matmul)."})
    batch_sizes: str | None = field(default=None, metadata={
        "help": "wav2vec2-base per-device batch sizes, eager (default 8,16,32)."})
    compile_batch_sizes: str | None = field(default=None, metadata={
        "help": "wav2vec2-base batch sizes with --torch_compile (default 8,32; '' for none)."})
    whisper_batch_sizes: str | None = field(default=None, metadata={
        "help": "whisper-small encoder batch sizes (default 16,32)."})
    whisper: bool = field(default=True, metadata={"help": "Also run the Whisper configurations."})
    steps: int | None = field(default=None, metadata={"help": "Timed optimizer steps per run (default 30)."})
    warmup: int | None = field(default=None, metadata={
        "help": "Untimed steps first (default 10; compilation happens here)."})
    workers: int | None = field(default=None, metadata={
        "help": "--dataloader_num_workers (default 4)."})
    train_clips: int | None = field(default=None, metadata={"help": "Clips in the synthetic train split (default 2048)."})
    clip_seconds: float | None = field(default=None, metadata={"help": "Clip length written (default 10)."})
    crop_seconds: float | None = field(default=None, metadata={
        "help": "wav2vec2 training crop (default 10, the recipe's)."})
    whisper_crop_seconds: float | None = field(default=None, metadata={"help": "Whisper clip length (default 5)."})
    loader_batches: int | None = field(default=None, metadata={
        "help": "Batches for the loader-alone rate (default 48)."})
    compile_backend: str | None = field(default=None, metadata={"help": "--torch_compile_backend (default inductor)."})
    budget_s: float | None = field(default=None, metadata={
        "help": "Start no run that would end after this many seconds from the start (default 440: under 8 min)."})
    work_dir: str | None = field(default=None, metadata={
        "help": "Where data, models and runs go (default: a temporary folder)."})
    keep: bool = field(default=False, metadata={"help": "Keep --work-dir's contents."})
    verbose: bool = field(default=False, metadata={"help": "Debug logging (with tracebacks of expected errors).",
                                                   "aliases": ["-v"]})

    def __post_init__(self):
        for name in ("peak_tflops", "steps", "train_clips", "clip_seconds", "crop_seconds", "whisper_crop_seconds",
                     "loader_batches", "budget_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"--{name.replace('_', '-')} {value}: expected a positive number")
        for name in ("warmup", "workers"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ValueError(f"--{name} {getattr(self, name)}: expected 0 or more")


ARGUMENTS = (GpuBenchArguments,)  # its command line (docs: bench.docgen)


def parse_args(argv=None) -> GpuBenchArguments:
    from common.cli import description_of, parse_config

    return parse_config(ARGUMENTS, argv, prog=PROG, description=description_of(__doc__))[0]


def cli_run(argv=None) -> int:
    from common.cli import format_table, setup_logging
    from common.jsonl import atomic_write_json

    args = parse_args(argv)
    setup_logging(args.verbose)
    _offline()
    plan = make_plan(args)
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="bench_gpu_"))
    try:
        result = benchmark(plan, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, result)
    print(format_table(["figure", "value", "reference", "ratio", "target"],
                       [[r["figure"], f"{r['value']} {r.get('unit', '')}".strip(), r.get("reference"), r.get("ratio"),
                         r.get("target")] for r in result["rows"]]))
    for run_ in result["runs"]:
        print(f"{_label(run_)}: {run_['limit']}")
    for skip in result["skipped"]:
        print(f"skipped {skip['model']} b{skip['batch']} compile={skip['compile']}: {skip['why']}")
    logging.getLogger("bench.gpu").info("wrote %s in %.0f s", args.out, result["wall_s"])
    return 0


def main(argv=None) -> int:
    from common.cli import run_cli

    return run_cli(PROG, cli_run, argv)


if __name__ == "__main__":
    sys.exit(main())
