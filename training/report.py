"""What a run leaves beside its model: run_config.json, training_curves.png and the README.md model card.

Example::

    from training.report import write_curves, model_card
    write_curves(trainer.state.log_history, "runs/x/training_curves.png")
"""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path

import yaml

from common import provenance

def hardware(training_args) -> dict:
    import torch
    from accelerate import PartialState

    device = training_args.device
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "n_processes": PartialState().num_processes,  # TrainingArguments.world_size says 1 for CPU DDP
        "torch_threads": torch.get_num_threads(),
        "mixed_precision": "bf16" if training_args.bf16 else "fp16" if training_args.fp16 else "no",
    }


def run_config(model_args, data_args, training_args, dataset_stats: dict, fingerprint: dict,
               train_runtime_s: float | None) -> dict:
    """The resolved recipe plus provenance: everything needed to tell how this run was made."""
    return {
        "model_args": dataclasses.asdict(model_args),
        "data_args": dataclasses.asdict(data_args),
        "training_args": training_args.to_dict(),  # tokens masked by transformers
        "base_model": model_args.model_name_or_path,
        "max_length_seconds": data_args.max_length_seconds,
        "eval_window_seconds": data_args.eval_window_seconds,
        "dataset_name": data_args.dataset_name,
        "dataset_fingerprint": fingerprint,
        "dataset_stats": dataset_stats,
        "versions": provenance.package_versions(),
        "hardware": hardware(training_args),
        "train_runtime_s": train_runtime_s,
    }


def epoch_curves(log_history: list[dict]) -> dict:
    """Training loss and validation accuracy/loss per logged epoch, from ``trainer.state.log_history``."""
    curves = {"train_loss": [], "eval_loss": [], "eval_accuracy": []}
    for entry in log_history:
        if "loss" in entry and "epoch" in entry:
            curves["train_loss"].append((entry["epoch"], entry["loss"]))
        if "eval_loss" in entry:
            curves["eval_loss"].append((entry["epoch"], entry["eval_loss"]))
        if "eval_accuracy" in entry:
            curves["eval_accuracy"].append((entry["epoch"], entry["eval_accuracy"]))
    return curves


def write_curves(log_history: list[dict], path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = epoch_curves(log_history)
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train_loss", "train"), ("eval_loss", "validation")):
        if curves[key]:
            loss_ax.plot(*zip(*curves[key]), marker="o", label=label)
    loss_ax.set(title="Loss", xlabel="epoch", ylabel="cross-entropy")
    loss_ax.legend()
    if curves["eval_accuracy"]:
        acc_ax.plot(*zip(*curves["eval_accuracy"]), marker="o", color="tab:green")
    acc_ax.set(title="Validation accuracy (clips)", xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# The training arguments a reader needs to repeat a run: the model card and the lab report both list these.
HYPERPARAMETERS = ("learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "num_train_epochs",
                   "max_steps", "warmup_steps", "lr_scheduler_type", "weight_decay", "seed", "bf16", "fp16",
                   "metric_for_best_model")


def model_card(config: dict, results: dict, labels: list[str], hub_model_id: str | None) -> str:
    """README.md for the run folder and the Hub: metadata header, provenance, labels, metrics, hyperparameters."""
    stats = config["dataset_stats"]["splits"]
    split_names = list(stats)
    count_rows = "\n".join(
        f"| {name} | " + " | ".join(str(stats[s]["per_class"].get(name, 0)) for s in split_names) + " |"
        for name in labels)
    totals = "| **total** | " + " | ".join(str(stats[s]["clips"]) for s in split_names) + " |"
    metric_rows = "\n".join(f"| {k} | {v:.4f} |" if isinstance(v, float) else f"| {k} | {v} |"
                            for k, v in sorted(results.items()) if k.startswith("eval_"))
    training_args = config["training_args"]
    hyper_rows = "\n".join(f"| {k} | {training_args.get(k)} |" for k in HYPERPARAMETERS)
    hyper_rows += (f"\n| max_length_seconds | {config['max_length_seconds']} |"
                   f"\n| eval_window_seconds | {config['eval_window_seconds']} |"
                   f"\n| freeze_feature_encoder | {config['model_args']['freeze_feature_encoder']} |"
                   f"\n| class_weighting | {config['data_args']['class_weighting']} |"
                   f"\n| processes | {config['hardware']['n_processes']} ({config['hardware']['device']}) |")
    hashes = ", ".join(f"{split}: `{(v.get('sha256') or v.get('fingerprint') or '')[:16]}`"
                       for split, v in config["dataset_fingerprint"].items())
    # The Hub validates base_model/datasets as repository ids: local paths only go into the text.
    base_on_hub = not Path(config["base_model"]).exists()
    header = {"library_name": "transformers", "pipeline_tag": "audio-classification"}
    if base_on_hub:
        header["base_model"] = config["base_model"]
    header.update({"tags": ["audio-classification", "youtube"], "metrics": ["accuracy", "f1"]})
    if not Path(config["dataset_name"]).exists():
        header["datasets"] = [config["dataset_name"]]
    name = hub_model_id or training_args["output_dir"]
    base = (f"[`{config['base_model']}`](https://huggingface.co/{config['base_model']})" if base_on_hub
            else f"`{config['base_model']}` (a local checkpoint)")
    return f"""---
{yaml.safe_dump(header, sort_keys=False).strip()}
---

# {name}

Classifies the topic of a YouTube video from its audio, one of: {", ".join(f"`{n}`" for n in labels)}.
Fine-tuned from {base} with the
`transformers` Trainer (`train.py`) on the prepared dataset `{config['dataset_name']}`.

## Use

```python
from transformers import pipeline
classify = pipeline("audio-classification", model="{name}")
classify(samples_16khz)   # a 1-D float array at 16 kHz; resample other rates first
```

Inputs are {config['eval_window_seconds']}-second windows at 16 kHz; for longer audio, average the logits of
fixed windows (what the evaluation below does, see `common.modeling.predict_windows`).

## Data

Clips cut from YouTube videos, split by video (no video in two splits). Clips per split and class:

| class | {" | ".join(split_names)} |
|---|{"---|" * len(split_names)}
{count_rows}
{totals}

Content hash (sha256 of the Arrow files) — {hashes}.

## Results (validation split)

Clip accuracy and macro-F1 average each clip's window logits; window accuracy scores windows alone.

| metric | value |
|---|---|
{metric_rows}

## Training hyperparameters

| hyperparameter | value |
|---|---|
{hyper_rows}

Training took {config['train_runtime_s'] or 0:.0f} s. `run_config.json` holds the full resolved configuration,
package versions and hardware; `training_curves.png` the loss and accuracy per epoch.

## Intended use and limitations

For sorting or tagging videos by broad topic from their soundtrack, with a person checking the results.
The label set is fixed to the classes above: any other video gets one of them anyway. Training videos come from
one listing of YouTube videos; accuracy on other sources, languages, or audio that is mostly music or silence is
unmeasured. The validation figures above drive model selection (best checkpoint), so they are optimistic: report
the held-out test split (`eval.py`) instead.
"""
