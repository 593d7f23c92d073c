"""Training throughput of train.py (tiny CPU recipe) against a plain PyTorch loop over pre-loaded tensors.

Both train the same tiny random wav2vec2 from the same weights on the same number of 2-s examples with the same
batch size and optimizer. train.py runs as its CLI in a child process (its peak RSS is that child's); its time is
the Trainer's own ``train_runtime`` (no imports or model loading), which includes FLAC decoding, random cropping
and featurizing each batch. The plain loop gets the examples already cropped and featurized as tensors.

Whisper at the clip's length: one training step (forward, backward, optimizer) of a whisper-tiny-sized
``WhisperForAudioClassification`` (random weights: the cost does not depend on them) on a batch of 4 crops, with the
encoder cut to the crop (train.py's default, ``--whisper_input_seconds`` unset) against Whisper's 30-s input.

    python -m bench --only train        # or: python -c "from bench.bench_train import run; print(run('/tmp/b'))"
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLIPS_PER_CLASS, CLIP_SECONDS, CROP_SECONDS, BATCH, EPOCHS, LR = 24, 3.0, 2.0, 8, 3, 1e-3


def _dataset(path) -> str:
    from testing.synthetic import make_prepared_dataset as prepared_dataset

    return prepared_dataset(path, videos_per_class=(1, 1, 1), clips_per_video=2, clip_seconds=CLIP_SECONDS,
                            train_counts=[CLIPS_PER_CLASS] * 4)


def _trainer_run(dataset, model, out) -> dict:
    argv = [sys.executable, "train.py", "configs/tiny-cpu.yaml", "--dataset_name", dataset,
            "--model_name_or_path", model, "--output_dir", str(out), "--max_length_seconds", str(CROP_SECONDS),
            "--per_device_train_batch_size", str(BATCH), "--num_train_epochs", str(EPOCHS),
            "--learning_rate", str(LR), "--warmup_steps", "0", "--lr_scheduler_type", "constant",
            "--eval_strategy", "no", "--save_strategy", "no", "--load_best_model_at_end", "false",
            "--do_eval", "false"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {**json.loads((Path(out) / "train_results.json").read_text()), "peak_rss_mib": peak_mib}


def _plain_loop(dataset, model_path) -> dict:
    import torch

    from common.data import clip_array, load_prepared
    from common.modeling import featurize, load_feature_extractor, load_model
    from training.data import RandomCrops

    torch.set_num_threads(1)
    split = load_prepared(dataset)["train"]
    extractor = load_feature_extractor(model_path)
    crops = RandomCrops(CROP_SECONDS, seed=0)
    arrays = [crops.crop(clip_array(cell), row) for row, cell in enumerate(split["audio"])]
    inputs = featurize(extractor, arrays)["input_values"]
    labels = torch.tensor(split["label"])
    model = load_model(model_path, class_names=split.features["label"].names)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    model.train()
    started = time.perf_counter()
    for _ in range(EPOCHS):
        order = torch.randperm(len(labels))
        for i in range(0, len(order), BATCH):
            batch = order[i:i + BATCH]
            loss = model(input_values=inputs[batch], labels=labels[batch]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # as the Trainer does (max_grad_norm 1.0)
            optimizer.step()
            optimizer.zero_grad()
    seconds = time.perf_counter() - started
    return {"samples_per_second": EPOCHS * len(labels) / seconds, "seconds": seconds, "loss": loss.item()}


WHISPER_TINY = dict(d_model=384, encoder_layers=4, decoder_layers=1, encoder_attention_heads=6,
                    decoder_attention_heads=6, encoder_ffn_dim=1536, decoder_ffn_dim=1536, num_mel_bins=80,
                    vocab_size=100, num_labels=4, classifier_proj_size=256)


def whisper_step_seconds(crop_seconds: float, input_seconds: int, steps: int = 3, batch: int = 4) -> dict:
    """Median seconds of a training step, and of featurizing the batch, for crops of ``crop_seconds`` on an encoder
    computing on ``input_seconds`` (the crop's length, or 30)."""
    import numpy as np
    import torch
    import transformers as tf

    torch.manual_seed(0)
    model = tf.WhisperForAudioClassification(tf.WhisperConfig(**WHISPER_TINY, max_source_positions=50 * input_seconds))
    extractor = tf.WhisperFeatureExtractor(feature_size=80, chunk_length=input_seconds)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    crops = [np.random.default_rng(i).standard_normal(int(crop_seconds * 16000)).astype(np.float32) * 0.1
             for i in range(batch)]
    labels = torch.arange(batch) % 4
    step_times, feature_times = [], []
    for _ in range(steps + 1):                       # the first step warms up (allocations, kernels)
        started = time.perf_counter()
        features = extractor(crops, sampling_rate=16000, return_tensors="pt")["input_features"]
        featurized = time.perf_counter()
        loss = model(input_features=features, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        step_times.append(time.perf_counter() - featurized)
        feature_times.append(featurized - started)
    return {"step_s": float(np.median(step_times[1:])), "featurize_s": float(np.median(feature_times[1:]))}


def whisper_rows() -> list[dict]:
    rows = []
    for crop in (5, 10):
        short, full = whisper_step_seconds(crop, crop), whisper_step_seconds(crop, 30)
        rows.append({"figure": f"Whisper train step, {crop}-s crops (whisper-tiny size, batch 4, CPU, 1 thread)",
                     "value": round(short["step_s"], 3), "unit": "s", "reference":
                     f"{full['step_s']:.3f} s at Whisper's 30-s input", "ratio": round(full["step_s"] / short["step_s"], 2),
                     "target": ">= 5x" if crop == 5 else ">= 2.5x"})
        rows.append({"figure": f"Whisper featurize, {crop}-s crops (batch 4)", "value": round(short["featurize_s"], 4),
                     "unit": "s", "reference": f"{full['featurize_s']:.4f} s at 30 s",
                     "ratio": round(full["featurize_s"] / short["featurize_s"], 2), "target": None})
    return rows


def run(tmp_dir) -> dict:
    """Train samples/s: train.py (Trainer, tiny CPU recipe) vs a plain PyTorch loop; time per epoch; peak RSS."""
    from testing.tiny_models import save_tiny_wav2vec2

    tmp_dir = Path(tmp_dir)
    dataset = _dataset(tmp_dir / "dataset")
    model = save_tiny_wav2vec2(tmp_dir / "model")
    trainer = _trainer_run(dataset, model, tmp_dir / "run")
    plain = _plain_loop(dataset, model)
    ratio = plain["samples_per_second"] / trainer["train_samples_per_second"]
    n_samples = 4 * CLIPS_PER_CLASS
    return {"rows": [
        {"figure": "train samples/s (train.py, tiny recipe, CPU, 1 thread)",
         "value": round(trainer["train_samples_per_second"], 1), "unit": "samples/s",
         "reference": f"{plain['samples_per_second']:.1f} samples/s plain loop", "ratio": round(ratio, 3),
         "target": "ratio <= 1.10 (overhead <= 10%)"},
        {"figure": f"time per epoch ({n_samples} x {CROP_SECONDS:.0f}-s examples, batch {BATCH})",
         "value": round(trainer["train_runtime"] / EPOCHS, 2), "unit": "s",
         "reference": f"{plain['seconds'] / EPOCHS:.2f} s plain loop", "ratio": round(ratio, 3), "target": None},
        {"figure": "peak RSS of the train.py process", "value": round(trainer["peak_rss_mib"]), "unit": "MiB",
         "reference": None, "ratio": None, "target": None},
        *whisper_rows(),
    ]}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(tmp), indent=2))
