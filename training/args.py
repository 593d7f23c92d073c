"""train.py's arguments: two dataclasses plus ``TrainingArguments``, read from project defaults < a YAML recipe < CLI.

Example::

    from training.args import parse_args
    model_args, data_args, training_args = parse_args(["configs/tiny-cpu.yaml", "--learning_rate", "1e-3"])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from common.modeling import MIN_WINDOW_SECONDS
from common.values import check_number

PROG = "python train.py"
DESCRIPTION = ("Fine-tune an audio classifier on a prepared dataset: python train.py [recipe.yaml] [--flag value ...]; "
               "flags override the recipe, the recipe overrides the project defaults.")
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
    # the label and the headline are per video: select on it (greater_is_better is left to transformers: False for
    # loss, else True)
    "metric_for_best_model": "video_accuracy",
    "save_total_limit": 2,
    "report_to": "none",
    "seed": 42,
}
# The data pipeline hands the collator raw columns (audio bytes, labels): Trainer must not prune them.
FORCED = {"remove_unused_columns": False}
METRICS = ("accuracy", "f1", "window_accuracy", "video_accuracy", "video_f1", "loss")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
WHISPER_SECONDS = 30          # Whisper's own input: 3,000 log-mel frames, 1,500 encoder positions (50 per second)


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
    use_weighted_layer_sum: bool = field(
        default=False,
        metadata={"help": "Feed the head a learned weighted sum of every encoder layer's hidden states instead of the "
                          "last layer's (the SUPERB standard for wav2vec2/HuBERT/WavLM; Whisper has it too). An "
                          "error for models without it (AST)."})
    head_lr_multiplier: float = field(
        default=1.0,
        metadata={"help": "The randomly initialised head (projector, classifier, layer weights) learns this many "
                          "times faster than the pretrained encoder (SpeechBrain's recipes train the head 10x "
                          "faster). 1: one learning rate for all."})
    spec_augment: float = field(
        default=0.0,
        metadata={"help": "Spectrogram models (AST, Whisper): during training, mask one band of time and one of "
                          "frequency per example, each up to this fraction of the input (SpecAugment-style; e.g. 0.1). "
                          "0: off. Waveform models have their own (the config's mask_time_prob)."})
    linear_probe: bool = field(
        default=False,
        metadata={"help": "Linear probe, then fine-tune (LP-FT): before training, fit the model's own head in closed "
                          "form (a logistic regression on the frozen encoder's pooled features of the train rows cut "
                          "into --max_length_seconds clips) and start fine-tuning from it. The probe is scored on "
                          "the evaluation split first; when fine-tuning never beats it there "
                          "(--metric_for_best_model), the run keeps the probe (frozen encoder + fitted head) and "
                          "says so. --num_train_epochs 0 keeps the probe alone."})
    freeze_base_model: bool = field(
        default=False,
        metadata={"help": "Train the head alone (projector, classifier, layer weights): the encoder stays frozen. With "
                          "--linear_probe, the head starts from the closed-form fit."})
    allow_resume_changes: bool = field(
        default=False,
        metadata={"help": "Resume an unfinished run in --output_dir even when its configuration or dataset differ "
                          "from this command's (named in a warning). Without it such a resume stops, naming the "
                          "keys that differ."})
    whisper_input_seconds: float | None = field(
        default=None,
        metadata={"help": "Whisper only: the seconds of input its encoder computes on. Default: the training crop "
                          "(--max_length_seconds, rounded up to whole seconds): encoder positions cut to 50 per "
                          "second and the feature extractor's chunk_length to match, both saved in the run folder "
                          "(from_pretrained and pipeline() reload it as trained). 30 keeps Whisper's 30-s input."})

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"--precision {self.precision!r}: expected one of {list(PRECISIONS)}")
        if self.early_stopping_patience is not None and self.early_stopping_patience < 1:
            raise ValueError(f"--early_stopping_patience {self.early_stopping_patience}: expected an integer >= 1")
        if not 0.0 <= self.spec_augment < 1.0:
            raise ValueError(f"--spec_augment {self.spec_augment}: expected a fraction in [0, 1)")
        if not self.head_lr_multiplier > 0:
            raise ValueError(f"--head_lr_multiplier {self.head_lr_multiplier}: expected a positive number")
        check_number("--head_lr_multiplier", self.head_lr_multiplier, minimum=0, maximum=1e4, above=True,
                     allow_none=False)
        if self.whisper_input_seconds is not None and not 0 < self.whisper_input_seconds <= WHISPER_SECONDS:
            raise ValueError(f"--whisper_input_seconds {self.whisper_input_seconds}: expected a number of seconds in "
                             f"(0, {WHISPER_SECONDS}] (Whisper's positions cover {WHISPER_SECONDS} s)")


@dataclass
class DataArguments:
    dataset_name: str | None = field(
        default=None,
        metadata={"help": "Prepared dataset: a `python -m prepare` output folder (Parquet in the Hub layout) or a Hub dataset id."})
    train_split_name: str = field(default="train", metadata={"help": "Split to train on."})
    eval_split_name: str = field(
        default="validation",
        metadata={"help": "Split to evaluate on after each epoch; it chooses the best checkpoint and stops early, so "
                          "'test' is refused unless --allow_test_selection."})
    allow_test_selection: bool = field(
        default=False,
        metadata={"help": "Allow --eval_split_name test (checkpoint selection on the test split makes its scores "
                          "optimistic; recorded in run_config.json and flagged in the report)."})
    max_length_seconds: float = field(
        default=10.0,
        metadata={"help": "Training crop length in seconds: each epoch every train row gives new random crops this "
                          "long (read by seeking inside its FLAC; see --crops_per_row). prepare's train rows are "
                          "3 clips long by default (--train-clip-seconds), so a crop as long as a clip still sees "
                          "new audio every epoch."})
    crops_per_row: int | None = field(
        default=None,
        metadata={"help": "Random crops each train row gives per epoch. Default: the row's length over the dataset's "
                          "clip length (its build record's clip_seconds: prepare --clip-seconds), "
                          "rounded, at least 1. prepare's 30-s train rows of a dataset of 10-s clips give 3, so an "
                          "epoch takes as many steps as 10-s clips of the same audio would; 1: one crop per row."})
    eval_window_seconds: float | None = field(
        default=None,
        metadata={"help": "Evaluation window in seconds (default: --max_length_seconds). Clips are cut into fixed "
                          "windows; a clip's prediction is the mean of its windows' logits."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Train on a seeded random subset of N train rows (debugging, quick runs)."})
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Evaluate on a seeded random subset of N clips (debugging, quick runs)."})
    class_weighting: Literal["none", "balanced"] = field(
        default="none",
        metadata={"help": "Loss weighting for an unbalanced train split. balanced: weight of class c = "
                          "n / (n_classes * n_c), counting the training crops of an epoch (--crops_per_row)."})

    def __post_init__(self):
        if not self.dataset_name:
            raise ValueError("--dataset_name is required: a `python -m prepare` output folder or a Hub dataset id")
        for flag in ("max_length_seconds", "eval_window_seconds", "max_train_samples", "max_eval_samples",
                     "crops_per_row"):
            value = getattr(self, flag)
            if value is not None and value <= 0:
                raise ValueError(f"--{flag} {value}: expected a positive number")
        for flag in ("max_length_seconds", "eval_window_seconds"):
            check_number(f"--{flag}", getattr(self, flag), minimum=MIN_WINDOW_SECONDS, maximum=3600,
                         why="seconds of audio (the encoders take at least 25 ms)")
        for flag in ("max_train_samples", "max_eval_samples", "crops_per_row"):
            check_number(f"--{flag}", getattr(self, flag), minimum=1, integer=True)
        if self.class_weighting not in ("none", "balanced"):
            raise ValueError(f"--class_weighting {self.class_weighting!r}: expected one of ['none', 'balanced']")
        if self.eval_window_seconds is None:
            self.eval_window_seconds = self.max_length_seconds
        if self.eval_split_name == "test" and not self.allow_test_selection:
            raise ValueError("--eval_split_name test: the evaluated split picks the best checkpoint and stops training "
                             "early, so scores on it would be optimistic; expected validation (or pass "
                             "--allow_test_selection to do it anyway, flagged in the report)")


# The project's own arguments (TrainingArguments are transformers' and documented there), for the docs' flag table.
ARGUMENTS = (ModelArguments, DataArguments)


def resolve_precision(values: dict, given: set[str]) -> None:
    """Turn ``--precision`` into TrainingArguments' bf16/fp16 unless one of those was given explicitly."""
    import torch

    if {"bf16", "fp16"} & given or values["precision"] == "fp32":
        return
    on_gpu = torch.cuda.is_available() and not values.get("use_cpu")
    if values["precision"] == "bf16" or (values["precision"] == "auto" and on_gpu and torch.cuda.is_bf16_supported()):
        values["bf16"] = True
    elif values["precision"] == "fp16" or (values["precision"] == "auto" and on_gpu):
        values["fp16"] = True


MAX_WORKERS = 8              # bench/gpu.py: wav2vec2-base at 40% MFU on an H100 needs 6-8 decoding workers


def default_workers(values: dict, given: set[str]) -> None:
    """``--dataloader_num_workers`` from the machine when neither the recipe nor the command line gives it: on a GPU,
    the cores each training process can have (``LOCAL_WORLD_SIZE`` processes per machine) minus one for the process
    itself, at most ``MAX_WORKERS``; on a CPU, 0 (workers would only compete with the training process)."""
    import os

    import torch

    if "dataloader_num_workers" in given:
        return
    if not torch.cuda.is_available() or values.get("use_cpu"):
        values["dataloader_num_workers"] = 0
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_process = cores // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    values["dataloader_num_workers"] = max(0, min(MAX_WORKERS, per_process - 1))


# transformers' TrainingArguments take these as given (a NaN learning rate trains to NaN, a negative batch size fails
# deep in the data loader): the range each can use, checked before anything starts.
TRAINING_NUMBERS = {
    "learning_rate": dict(minimum=0, maximum=10.0), "weight_decay": dict(minimum=0, maximum=10.0),
    "num_train_epochs": dict(minimum=0, maximum=1e6), "max_steps": dict(minimum=-1, integer=True),
    "warmup_steps": dict(minimum=0), "max_grad_norm": dict(minimum=0),
    "per_device_train_batch_size": dict(minimum=1, maximum=65536, integer=True),
    "per_device_eval_batch_size": dict(minimum=1, maximum=65536, integer=True),
    "gradient_accumulation_steps": dict(minimum=1, maximum=65536, integer=True),
    "save_total_limit": dict(minimum=1, integer=True), "logging_steps": dict(minimum=0),
    "eval_steps": dict(minimum=0), "save_steps": dict(minimum=0),
    "seed": dict(minimum=0, maximum=2 ** 32 - 1, integer=True), "data_seed": dict(minimum=0, maximum=2 ** 32 - 1,
                                                                                   integer=True),
    "dataloader_num_workers": dict(minimum=0, maximum=256, integer=True),
}


def check_training_numbers(values: dict) -> None:
    """``TRAINING_NUMBERS`` on the parsed values: one error naming the flag, the value and the range."""
    for name, bounds in TRAINING_NUMBERS.items():
        check_number(f"--{name}", values.get(name), **bounds)


def parse_args(argv: list[str] | None = None):
    """``[recipe.yaml] [--flag value ...]`` -> (ModelArguments, DataArguments, TrainingArguments).

    Precedence: PROJECT_DEFAULTS < the recipe < the command line; FORCED last."""
    from transformers import TrainingArguments

    from common.cli import ArgumentParser

    parser = ArgumentParser((ModelArguments, DataArguments, TrainingArguments), prog=PROG, description=DESCRIPTION)
    namespace, given = parser.parse(argv, defaults=PROJECT_DEFAULTS)
    resolve_precision(vars(namespace), given)
    default_workers(vars(namespace), given)
    vars(namespace).update(FORCED)
    check_training_numbers(vars(namespace))
    model_args, data_args, training_args = parser.to_dataclasses(namespace)
    metric = training_args.metric_for_best_model
    if metric is not None and metric.removeprefix("eval_") not in METRICS:
        raise ValueError(f"--metric_for_best_model {metric!r}: expected one of {list(METRICS)}")
    if model_args.early_stopping_patience and not training_args.load_best_model_at_end:
        raise ValueError(f"--early_stopping_patience {model_args.early_stopping_patience} needs "
                         "--load_best_model_at_end true (early stopping tracks --metric_for_best_model)")
    return model_args, data_args, training_args
