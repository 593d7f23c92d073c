"""train.py's arguments: two dataclasses plus ``TrainingArguments``, read from project defaults < a YAML recipe < CLI.

Example::

    from training.args import parse_args
    model_args, data_args, training_args = parse_args(["configs/tiny-cpu.yaml", "--learning_rate", "1e-3"])
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

import yaml

# Defaults for the fields of TrainingArguments that this task needs set whatever the recipe (transformers' own
# defaults never evaluate, keep the last checkpoint by loss and report to every installed tracker).
PROJECT_DEFAULTS = {
    "output_dir": "runs/wav2vec2-base",
    "do_train": True,
    "do_eval": True,
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "logging_strategy": "epoch",
    "learning_rate": 3e-5,
    "warmup_steps": 0.1,  # transformers 5: a float below 1 is a ratio of the total steps
    "num_train_epochs": 5,
    "load_best_model_at_end": True,
    "metric_for_best_model": "accuracy",  # greater_is_better is left to transformers: False for loss, else True
    "save_total_limit": 2,
    "report_to": "none",
    "seed": 42,
}
# The data pipeline hands the collator raw columns (audio bytes, labels): Trainer must not prune them.
FORCED = {"remove_unused_columns": False}
METRICS = ("accuracy", "f1", "window_accuracy", "loss")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass
class ModelArguments:
    model_name_or_path: str = field(
        default="facebook/wav2vec2-base",
        metadata={"help": "Hub id or local folder of any AutoModelForAudioClassification checkpoint (wav2vec2, "
                          "HuBERT, WavLM, data2vec-audio, AST, Whisper)."})
    model_revision: str = field(
        default="main", metadata={"help": "Hub revision (branch, tag or commit) of --model_name_or_path."})
    freeze_feature_encoder: bool = field(
        default=True,
        metadata={"help": "Freeze the convolutional feature encoder of waveform models (wav2vec2-style); "
                          "ignored with a warning for models that have none (AST, Whisper)."})
    precision: str = field(
        default="auto",
        metadata={"help": f"One of {PRECISIONS}. auto: bf16 on GPUs that support it, else fp16 on GPU, fp32 on CPU. "
                          "Explicit --bf16/--fp16 take precedence."})
    early_stopping_patience: int | None = field(
        default=None,
        metadata={"help": "Stop after this many evaluations without improvement of --metric_for_best_model "
                          "(needs --load_best_model_at_end). None: never stop early."})

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"--precision {self.precision!r}: expected one of {list(PRECISIONS)}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError(f"--early_stopping_patience {self.early_stopping_patience}: expected an integer >= 1")


@dataclass
class DataArguments:
    dataset_name: str | None = field(
        default=None,
        metadata={"help": "Prepared dataset: a `python -m prepare` output folder (save_to_disk) or a Hub dataset id."})
    train_split_name: str = field(default="train", metadata={"help": "Split to train on."})
    eval_split_name: str = field(default="validation", metadata={"help": "Split to evaluate on after each epoch."})
    max_length_seconds: float = field(
        default=10.0,
        metadata={"help": "Training crop length in seconds: each epoch every clip gives a new random crop this long."})
    eval_window_seconds: float | None = field(
        default=None,
        metadata={"help": "Evaluation window in seconds (default: --max_length_seconds). Clips are cut into fixed "
                          "windows; a clip's prediction is the mean of its windows' logits."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Train on a seeded random subset of N clips (debugging, quick runs)."})
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Evaluate on a seeded random subset of N clips (debugging, quick runs)."})
    class_weighting: Literal["none", "balanced"] = field(
        default="none",
        metadata={"help": "Loss weighting for an unbalanced train split. balanced: weight of class c = "
                          "n_clips / (n_classes * n_clips_of_c)."})

    def __post_init__(self):
        if not self.dataset_name:
            raise ValueError("--dataset_name is required: a `python -m prepare` output folder or a Hub dataset id")
        for flag in ("max_length_seconds", "eval_window_seconds", "max_train_samples", "max_eval_samples"):
            value = getattr(self, flag)
            if value is not None and value <= 0:
                raise ValueError(f"--{flag} {value}: expected a positive number")
        if self.class_weighting not in ("none", "balanced"):
            raise ValueError(f"--class_weighting {self.class_weighting!r}: expected one of ['none', 'balanced']")
        if self.eval_window_seconds is None:
            self.eval_window_seconds = self.max_length_seconds


def _to_argv(values: dict, source: str, known: set[str]) -> list[str]:
    argv = []
    for key, value in values.items():
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=3)
            raise ValueError(f"{source}: unknown key {key!r}" + (f"; did you mean {close}?" if close else ""))
        if value is None:
            continue
        if isinstance(value, dict):
            value = [json.dumps(value)]
        argv.append(f"--{key}")
        argv += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return argv


def read_recipe(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe {path}: no such file (expected a YAML recipe such as configs/wav2vec2-base.yaml)")
    recipe = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(recipe, dict):
        raise ValueError(f"recipe {path}: expected a mapping of argument names to values, got {type(recipe).__name__}")
    return recipe


def _resolve_precision(argv: list[str]) -> list[str]:
    """Turn ``--precision`` into TrainingArguments' --bf16/--fp16 unless one of those was given explicitly."""
    import argparse

    import torch

    peek = argparse.ArgumentParser(add_help=False)
    peek.add_argument("--precision", default="auto")
    peek.add_argument("--bf16", default=None)
    peek.add_argument("--fp16", default=None)
    peek.add_argument("--use_cpu", default=None)
    known, _ = peek.parse_known_args(argv)
    if known.bf16 is not None or known.fp16 is not None or known.precision == "fp32":
        return argv
    on_gpu = torch.cuda.is_available() and str(known.use_cpu).lower() not in ("true", "1", "yes")
    if known.precision == "bf16" or (known.precision == "auto" and on_gpu and torch.cuda.is_bf16_supported()):
        return argv + ["--bf16", "true"]
    if known.precision == "fp16" or (known.precision == "auto" and on_gpu):
        return argv + ["--fp16", "true"]
    return argv


def parse_args(argv: list[str] | None = None):
    """``[recipe.yaml] [--flag value ...]`` -> (ModelArguments, DataArguments, TrainingArguments)."""
    import sys

    from transformers import HfArgumentParser, TrainingArguments

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser((ModelArguments, DataArguments, TrainingArguments))
    known = {f.name for dtype in parser.dataclass_types for f in fields(dtype) if f.init}
    merged = _to_argv(PROJECT_DEFAULTS, "project defaults", known)
    if argv and argv[0].endswith((".yaml", ".yml")):
        merged += _to_argv(read_recipe(argv[0]), f"recipe {argv[0]}", known)
        argv = argv[1:]
    # Later occurrences win in argparse, so the command line overrides the recipe, which overrides the defaults.
    merged = _resolve_precision(merged + argv) + _to_argv(FORCED, "forced settings", known)
    model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=merged, look_for_args_file=False)
    metric = training_args.metric_for_best_model
    if metric is not None and metric.removeprefix("eval_") not in METRICS:
        raise ValueError(f"--metric_for_best_model {metric!r}: expected one of {list(METRICS)}")
    if model_args.early_stopping_patience and not training_args.load_best_model_at_end:
        raise ValueError(f"--early_stopping_patience {model_args.early_stopping_patience} needs "
                         "--load_best_model_at_end true (early stopping tracks --metric_for_best_model)")
    return model_args, data_args, training_args
