"""train -> eval and predict: ``run_config.json`` of a run folder (``RunRecord``), what a run says about how it was
made: the arguments, the dataset it read (its build facts and content hashes), the window its model scores with,
which split chose its checkpoint, the hardware, versions and time.

``run_config.json`` is written last of a run (with the weights and ``all_results.json`` it marks the run finished);
``resume_config.json``, the same record, is written before training starts, so that a resumed run can be compared
with the one it resumes.

Example::

    from common.contract.run import RunRecord
    run = RunRecord.read("runs/w2v/run_config.json")
    run.eval_window_seconds, run.eval_split_name, run.dataset_build.clip_seconds
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from common.contract.base import Part, Record, doc
from common.contract.dataset import DatasetBuild, PrepareStats

RUN_CONFIG = "run_config.json"
RESUME_CONFIG = "resume_config.json"
# The training arguments a reader needs to repeat a run: the model card and the lab report both list these.
HYPERPARAMETERS = ("learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "num_train_epochs",
                   "max_steps", "warmup_steps", "lr_scheduler_type", "weight_decay", "seed", "bf16", "fp16",
                   "metric_for_best_model")
# training_args keys that say where or how this process runs, not what is trained.
NOT_CONFIGURATION = {"output_dir", "logging_dir", "resume_from_checkpoint", "hub_token", "push_to_hub",
                     "local_rank", "dataloader_num_workers", "dataloader_prefetch_factor",
                     "dataloader_persistent_workers", "ddp_backend", "ddp_timeout", "disable_tqdm", "log_level",
                     "log_level_replica", "logging_nan_inf_filter", "save_on_each_node", "report_to", "run_name",
                     # where the finished model is published: a rerun may push what an earlier run only trained
                     "hub_model_id", "hub_private_repo", "hub_revision", "hub_strategy",
                     # resolved from --precision auto and the machine; model_args.precision is what the user chose
                     "bf16", "fp16", "use_cpu"}


@dataclass(frozen=True)
class SplitFingerprint(Part):
    sha256: str | None = field(default=None, metadata=doc("sha256 of the split's Arrow files (null: empty split)"))


@dataclass(frozen=True)
class SplitClips(Part):
    clips: int = field(metadata=doc("rows in the split"))
    per_class: dict[str, int] = field(default_factory=dict, metadata=doc("rows per class"))


@dataclass(frozen=True)
class DatasetStats(Part):
    splits: dict[str, SplitClips] = field(default_factory=dict, metadata=doc("rows per split and class"))
    prepare_stats: PrepareStats | None = field(default=None, metadata=doc("the dataset's prepare_stats.json"))


@dataclass(frozen=True)
class CropPlan(Part):
    train_rows: int = field(metadata=doc("train rows read"))
    crops_per_epoch: int = field(metadata=doc("random crops per epoch (one training example each)"))
    crop_seconds: float = field(metadata=doc("crop length (--max_length_seconds)"))
    clip_seconds: float = field(metadata=doc("the dataset's clip length (its build record): one crop per this "
                                             "many seconds of a row by default"))
    crops_per_row: int | None = field(default=None, metadata=doc("--crops_per_row when given (null: by length)"))


@dataclass(frozen=True)
class Hardware(Part):
    device: str = field(metadata=doc("the torch device"))
    device_name: str = field(default="", metadata=doc("GPU or CPU name"))
    n_processes: int = field(default=1, metadata=doc("training processes"))
    torch_threads: int = field(default=1, metadata=doc("torch threads per process"))
    mixed_precision: str = field(default="no", metadata=doc("bf16, fp16 or no"))


@dataclass(frozen=True)
class ProbePhase(Part):
    """The head fitted on the frozen encoder before fine-tuning (``--linear_probe``), and whether it was kept."""
    method: str = field(metadata=doc("`closed_form`: a logistic regression on the frozen encoder's pooled features, "
                                     "written into the model's own head"))
    train_examples: int = field(metadata=doc("clips the head was fitted on (train rows cut into crop-length clips)"))
    seconds: float = field(default=0.0, metadata=doc("seconds the fit took (embedding included)"))
    validation_video_accuracy: float | None = field(default=None, metadata=doc(
        "the probe's video accuracy on the evaluation split (null: no evaluation split)"))
    validation_accuracy: float | None = field(default=None, metadata=doc("its clip accuracy there"))
    metric: str | None = field(default=None, metadata=doc("the metric compared (--metric_for_best_model)"))
    validation_metric: float | None = field(default=None, metadata=doc(
        "the probe's value of that metric on the evaluation split: what fine-tuning had to beat"))
    best_fine_tuned_metric: float | None = field(default=None, metadata=doc(
        "the same metric of the model fine-tuning ended with (null: not fine-tuned)"))
    kept_probe: bool = field(default=False, metadata=doc(
        "the saved model is the probe (the base encoder with the fitted head): fine-tuning never beat it"))

    FILE: ClassVar[str] = "phase.json"

    def metrics(self) -> dict[str, float]:
        """The probe's evaluation scores as the Trainer names them (``probe_*``)."""
        values = {"probe_video_accuracy": self.validation_video_accuracy, "probe_accuracy": self.validation_accuracy,
                  f"probe_{self.metric}": self.validation_metric}
        return {k: v for k, v in values.items() if v is not None}

    def write_to(self, folder) -> None:
        from common.jsonl import atomic_write_json

        atomic_write_json(Path(folder) / self.FILE, self.to_json())

    @classmethod
    def read_from(cls, folder) -> "ProbePhase":
        import json

        path = Path(folder) / cls.FILE
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")), str(path))


@dataclass(frozen=True)
class RunRecord(Record):
    """How a run was made, read by eval, predict and the reports."""

    VERSION = 2
    FILE = RUN_CONFIG

    base_model: str = field(metadata=doc("the checkpoint fine-tuned (Hub id or folder)"))
    dataset_name: str = field(metadata=doc("the prepared dataset (folder or Hub id)"))
    max_length_seconds: float = field(metadata=doc("training crop length, seconds"))
    eval_window_seconds: float = field(metadata=doc("the window eval and predict cut inputs into, seconds"))
    eval_split_name: str = field(default="validation", metadata=doc("the split that chose the checkpoint"))
    allow_test_selection: bool = field(default=False, metadata=doc("whether selecting on test was allowed"))
    selects_checkpoint: bool = field(default=True, metadata=doc(
        "whether that split chose the checkpoint (load_best_model_at_end) and stopped training early"))
    dataset_build: DatasetBuild | None = field(default=None, metadata=doc(
        "the dataset's build record as train read it (null: run made before it was recorded)"))
    crops: CropPlan | None = field(default=None, metadata=doc("how the training set was cropped"))
    dataset_fingerprint: dict[str, SplitFingerprint] = field(default_factory=dict, metadata=doc(
        "content hash of each split"))
    dataset_stats: DatasetStats = field(default_factory=DatasetStats, metadata=doc("rows per split and class"))
    model_args: dict[str, Any] = field(default_factory=dict, metadata=doc("train.py's model arguments, resolved"))
    data_args: dict[str, Any] = field(default_factory=dict, metadata=doc("train.py's data arguments, resolved"))
    training_args: dict[str, Any] = field(default_factory=dict, metadata=doc(
        "transformers' TrainingArguments, resolved (tokens masked)"))
    probe: ProbePhase | None = field(default=None, metadata=doc("the linear-probe phase, when run"))
    versions: dict[str, str | None] = field(default_factory=dict, metadata=doc("package versions"))
    hardware: Hardware | None = field(default=None, metadata=doc("where it trained"))
    train_runtime_s: float | None = field(default=None, metadata=doc("seconds of training"))

    @classmethod
    def migrate(cls, data: dict, version: int) -> dict:
        """Version 1: the selection facts were read from the argument dicts; they are now fields of their own."""
        data_args = data.get("data_args") if isinstance(data.get("data_args"), dict) else {}
        training_args = data.get("training_args") if isinstance(data.get("training_args"), dict) else {}
        data.setdefault("eval_split_name", data_args.get("eval_split_name", "validation"))
        data.setdefault("allow_test_selection", bool(data_args.get("allow_test_selection", False)))
        data.setdefault("selects_checkpoint", bool(training_args.get("load_best_model_at_end", True)))
        return data

    def hyperparameters(self) -> list[tuple[str, Any]]:
        """What the model card and the lab report list to repeat the run."""
        arguments = self.model_args
        return ([(key, self.training_args[key]) for key in HYPERPARAMETERS if key in self.training_args]
                + [("max_length_seconds", self.max_length_seconds), ("eval_window_seconds", self.eval_window_seconds),
                   ("train_row_seconds", self.dataset_build.train_row_seconds if self.dataset_build else None),
                   ("crops_per_epoch", self.crops.crops_per_epoch if self.crops else None)]
                + [(key, arguments[key]) for key in ("freeze_feature_encoder", "linear_probe", "freeze_base_model",
                                                     "use_weighted_layer_sum", "head_lr_multiplier", "spec_augment",
                                                     "whisper_input_seconds") if key in arguments]
                + [(key, self.data_args[key]) for key in ("class_weighting", "allow_test_selection")
                   if key in self.data_args])

    @property
    def output_dir(self) -> str:
        return str(self.training_args.get("output_dir", ""))

    def comparable(self) -> dict:
        """The parts that define the run: its arguments (less where and how it runs) and the data's hashes."""
        training = {k: v for k, v in self.training_args.items() if k not in NOT_CONFIGURATION and not k.startswith("_")}
        return {"model_args": self.model_args, "data_args": self.data_args, "training_args": training,
                "dataset_sha256": {split: v.sha256 for split, v in self.dataset_fingerprint.items()}}


def read_run_record(model: str) -> RunRecord | None:
    """``run_config.json`` of a run folder, or of a Hub model pushed by train.py (from the Hub, or its cache
    offline); ``None`` for a model without one (not trained here). A malformed one is an error naming the file
    and field."""
    path = Path(model)
    if path.exists():
        return RunRecord.read(path / RUN_CONFIG) if (path / RUN_CONFIG).is_file() else None
    try:
        from huggingface_hub import hf_hub_download

        local = hf_hub_download(model, RUN_CONFIG)
    except Exception:   # not on the Hub, not cached, offline, no such file: the model says nothing of its run
        return None
    return RunRecord.read(local)
