"""A run folder's records as every stage reads them: its JSON files, the default inference window, the model's
fingerprint, the training curves from ``trainer_state.json``'s log history and the hyperparameters a report or card
shows. train.py draws the curves beside its model, eval.py into the report.

A run folder (written by train.py) holds the model and its feature extractor beside ``run_config.json``,
``trainer_state.json`` and ``all_results.json``; ``read_run_files`` reads those defensively (for a report),
``read_run_config`` strictly (for a command).

Example::

    from common.runs import write_curves
    write_curves(trainer.state.log_history, "runs/x/training_curves.png")
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_WINDOW_SECONDS = 10.0
RUN_CONFIG = "run_config.json"
RUN_FILES = (RUN_CONFIG, "trainer_state.json", "all_results.json")


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


def read_run_files(model: str) -> tuple[dict[str, dict], dict[str, str]]:
    """The run files of a local run folder that could be read, and why each other one is missing (for a Hub id:
    every file, with that reason)."""
    found, missing = {}, {}
    for name in RUN_FILES:
        if not Path(model).is_dir():
            missing[name] = f"the model {model!r} is not a local run directory (Hub id?), so it has no {name}"
            continue
        data, reason = read_json_object(Path(model) / name)
        if data is None:
            missing[name] = reason
        else:
            found[name] = data
    return found, missing


def read_run_config(model: str) -> dict:
    """``run_config.json`` of a run folder; ``{}`` when there is none (a Hub id); a malformed one is an error."""
    path = Path(model) / RUN_CONFIG
    if not path.is_file():
        return {}
    data, reason = read_json_object(path)
    if data is None:
        raise ValueError(reason)
    return data


def default_window_seconds(run_config: dict | None) -> float:
    """Inference window length for a trained run: its ``eval_window_seconds``, else the ``max_length_seconds`` it
    was trained on (so evaluation sees what training saw), else ``DEFAULT_WINDOW_SECONDS``."""
    for key in ("eval_window_seconds", "max_length_seconds"):
        value = (run_config or {}).get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return DEFAULT_WINDOW_SECONDS


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


# The training arguments a reader needs to repeat a run: the model card and the lab report both list these.
HYPERPARAMETERS = ("learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "num_train_epochs",
                   "max_steps", "warmup_steps", "lr_scheduler_type", "weight_decay", "seed", "bf16", "fp16",
                   "metric_for_best_model")
