"""A run folder's records as every stage reads them: its run record and the Trainer's own files, the inference
window, the model's fingerprint, the training curves from ``trainer_state.json``'s log history. train.py draws the
curves beside its model, eval.py into the report.

A run folder (written by train.py) holds the model and its feature extractor beside ``run_config.json`` (the
``common.contract.RunRecord``), ``trainer_state.json`` and ``all_results.json`` (transformers' files);
``read_run_files`` reads them for a report, saying why each missing one is missing.

Example::

    from common.runs import read_run_files, run_window, write_curves
    files = read_run_files("runs/w2v")
    window_s, source = run_window(files.record)
    write_curves(files.trainer_log, "runs/x/training_curves.png")
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from common.contract import RUN_CONFIG, RunRecord, read_run_record

DEFAULT_WINDOW_SECONDS = 10.0
TRAINER_FILES = ("trainer_state.json", "all_results.json")


def read_json_object(path) -> tuple[dict | None, str | None]:
    """``(data, None)`` for a file holding a JSON object, else ``(None, reason)``: never raises."""
    path = Path(path)
    if not path.is_file():
        return None, f"{path.name} not found in {path.parent}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"{path} is not readable JSON ({error})"
    if not isinstance(data, dict):
        return None, f"{path} holds a {type(data).__name__}, expected a JSON object"
    return data, None


@dataclass
class RunFiles:
    """What a run folder says about its run: the run record and the Trainer's results and log, where present."""
    record: RunRecord | None = None
    all_results: dict | None = None
    trainer_log: list[dict] | None = None       # trainer_state.json's log history
    missing: dict[str, str] = field(default_factory=dict)     # file -> why it is not available


def read_run_files(model: str) -> RunFiles:
    """The run record (``run_config.json``, also from the Hub for a model train.py pushed) and, for a local run
    folder, the Trainer's ``all_results.json`` and ``trainer_state.json`` log; each missing one with the reason.
    A malformed run record is an error (it would say wrong things); the Trainer's files are only reported."""
    files = RunFiles(record=read_run_record(model))
    if files.record is None:
        files.missing[RUN_CONFIG] = (f"{RUN_CONFIG} not found in {model}" if Path(model).is_dir() else
                                     f"the model {model!r} has no {RUN_CONFIG} (not a run folder of train.py)")
    for name in TRAINER_FILES:
        if not Path(model).is_dir():
            files.missing[name] = f"the model {model!r} is not a local run directory (Hub id?), so it has no {name}"
            continue
        data, reason = read_json_object(Path(model) / name)
        if data is None:
            files.missing[name] = reason
        elif name == "all_results.json":
            files.all_results = data
        elif isinstance(data.get("log_history"), list):     # transformers' TrainerState
            files.trainer_log = data["log_history"]
        else:
            files.missing[name] = f"{Path(model) / name} has no log_history list"
    return files


def run_window(record: RunRecord | None) -> tuple[float, str]:
    """The window a run's model is scored with, and where it comes from: the run record's ``eval_window_seconds``
    (what training evaluated with), else ``DEFAULT_WINDOW_SECONDS`` for a model without a run record."""
    if record is not None:
        return record.eval_window_seconds, f"{RUN_CONFIG} eval_window_seconds"
    return DEFAULT_WINDOW_SECONDS, f"default {DEFAULT_WINDOW_SECONDS:g} s (the model has no {RUN_CONFIG})"


__all__ = ["DEFAULT_WINDOW_SECONDS", "RunFiles", "model_fingerprint", "read_json_object",
           "read_run_files", "run_window", "training_series", "write_curves"]


# The files that decide what a checkpoint computes: architecture, weights (single or sharded) and preprocessing.
FINGERPRINT_PATTERNS = ("config.json", "*.safetensors", "*.safetensors.index.json", "pytorch_model*.bin",
                        "pytorch_model.bin.index.json", "preprocessor_config.json")


def model_fingerprint(model: str) -> str:
    """What a model is, for provenance and resume keys: ``sha256:<hex>`` over a local checkpoint's config, weight
    and preprocessor files (not its README or logs); ``hub:<id>@<commit>`` for a Hub id (the cached snapshot's
    commit, ``unknown`` when it is not cached)."""
    from common.provenance import files_sha256

    path = Path(model).expanduser()
    if path.is_dir():
        files = sorted({f for pattern in FINGERPRINT_PATTERNS for f in path.glob(pattern) if f.is_file()})
        return "sha256:" + files_sha256(files)
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(model, "config.json")
    return f"hub:{model}@{Path(cached).parent.name if isinstance(cached, str) else 'unknown'}"


def training_series(log_history: list[dict]) -> dict[str, tuple[list[float], list[float]]]:
    """``name -> (epochs, values)`` for the training loss and every eval_* number in ``trainer_state.json``."""
    series: dict[str, tuple[list[float], list[float]]] = {}
    for entry in log_history:
        epoch = entry.get("epoch")
        if epoch is None:
            continue
        for key, value in entry.items():
            wanted = key == "loss" or (key.startswith("eval_") and key not in
                                       ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second"))
            if wanted and isinstance(value, (int, float)):
                xs, ys = series.setdefault(key, ([], []))
                xs.append(float(epoch))
                ys.append(float(value))
    return series


def write_curves(log_history: list[dict], path) -> Path:
    """Loss (left) and every validation score (right) per epoch, from ``trainer.state.log_history``; train.py writes
    it beside the model and eval.py into the report. Empty panels when nothing was logged."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = training_series(log_history)
    losses = {k: v for k, v in series.items() if k in ("loss", "eval_loss")}
    scores = {k: v for k, v in series.items() if k not in losses}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, group, label in ((axes[0], losses, "loss"), (axes[1], scores, "validation score")):
        for name, (xs, ys) in sorted(group.items()):
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if group:
            ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
