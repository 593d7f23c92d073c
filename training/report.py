"""What a run leaves beside its model: run_config.json and the README.md model card (the curves: ``common.runs``).

Example::

    from training.report import run_config, model_card
    card = model_card(config, results, class_names, hub_model_id=None)
"""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path

from common import provenance
from common.data import split_statement
from common.runs import HYPERPARAMETERS


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


MODEL_CARD = """
# {{ name }}

Classifies the topic of a YouTube video from its audio, one of: {{ label_list }}.
Fine-tuned from {{ base }} with the
`transformers` Trainer (`train.py`) on the prepared dataset `{{ dataset_name }}`.

## Use

```python
from transformers import pipeline
classify = pipeline("audio-classification", model="{{ name }}")
classify(samples_16khz)   # a 1-D float array at 16 kHz; resample other rates first
```

Inputs are {{ eval_window_seconds }}-second windows at 16 kHz; for longer audio, average the logits of
fixed windows (what the evaluation below does, see `common.modeling.predict_windows`).

## Data

Clips cut from YouTube videos. {{ split_statement }} Clips per split and class:

| class | {{ split_names | join(' | ') }} |
|---|{% for _ in split_names %}---|{% endfor %}
{% for label in labels -%}
| {{ label }} |{% for split in split_names %} {{ splits[split].per_class.get(label, 0) }} |{% endfor %}
{% endfor -%}
| **total** |{% for split in split_names %} {{ splits[split].clips }} |{% endfor %}

Content hash (sha256 of the Arrow files) — {{ hashes }}.

## Results ({{ eval_split }} split)

Clip accuracy and macro-F1 average each clip's window logits; window accuracy scores windows alone.
{% if eval_split == "test" %}
**Warning:** checkpoint selection and early stopping used the test split (`--allow_test_selection`), so no
held-out figure exists for this run: the figures below are optimistic.
{% endif %}
| metric | value |
|---|---|
{% for key, value in results -%}
| {{ key }} | {{ value }} |
{% endfor %}
## Training hyperparameters

| hyperparameter | value |
|---|---|
{% for key, value in hyperparameters -%}
| {{ key }} | {{ value }} |
{% endfor %}
Training took {{ '%.0f' | format(train_runtime_s) }} s. `run_config.json` holds the full resolved configuration,
package versions and hardware; `training_curves.png` the loss and validation scores per epoch.

## Intended use and limitations

For sorting or tagging videos by broad topic from their soundtrack, with a person checking the results.
The label set is fixed to the classes above: any other video gets one of them anyway. Training videos come from
one listing of YouTube videos; accuracy on other sources, languages, or audio that is mostly music or silence is
unmeasured. The {{ eval_split }} figures above drive model selection (best checkpoint), so they are optimistic:
report a split training never saw (`eval.py`) instead.
"""


def model_card(config: dict, results: dict, labels: list[str], hub_model_id: str | None) -> str:
    """README.md for the run folder and the Hub: a YAML header validated by ``huggingface_hub.ModelCardData``,
    provenance, labels, how the data was split (channel-disjoint when prepare says so), metrics, hyperparameters."""
    from huggingface_hub import ModelCard, ModelCardData

    training_args = config["training_args"]
    # The Hub validates base_model/datasets as repository ids: local paths only go into the text.
    base_on_hub = not Path(config["base_model"]).exists()
    card_data = ModelCardData(library_name="transformers", pipeline_tag="audio-classification",
                              base_model=config["base_model"] if base_on_hub else None,
                              tags=["audio-classification", "youtube"], metrics=["accuracy", "f1"],
                              datasets=None if Path(config["dataset_name"]).exists() else [config["dataset_name"]])
    name = hub_model_id or training_args["output_dir"]
    base = (f"[`{config['base_model']}`](https://huggingface.co/{config['base_model']})" if base_on_hub
            else f"`{config['base_model']}` (a local checkpoint)")
    hyperparameters = [(k, training_args.get(k)) for k in HYPERPARAMETERS] + [
        ("max_length_seconds", config["max_length_seconds"]), ("eval_window_seconds", config["eval_window_seconds"]),
        ("freeze_feature_encoder", config["model_args"]["freeze_feature_encoder"]),
        ("use_weighted_layer_sum", config["model_args"].get("use_weighted_layer_sum", False)),
        ("head_lr_multiplier", config["model_args"].get("head_lr_multiplier", 1.0)),
        ("spec_augment", config["model_args"].get("spec_augment", 0.0)),
        ("whisper_input_seconds", config["model_args"].get("whisper_input_seconds")),
        ("class_weighting", config["data_args"]["class_weighting"]),
        ("allow_test_selection", config["data_args"].get("allow_test_selection", False)),
        ("processes", f"{config['hardware']['n_processes']} ({config['hardware']['device']})")]
    card = ModelCard.from_template(
        card_data, template_str="---\n{{ card_data }}\n---\n" + MODEL_CARD, name=name, labels=labels, base=base,
        label_list=", ".join(f"`{n}`" for n in labels),
        dataset_name=config["dataset_name"], eval_window_seconds=config["eval_window_seconds"],
        split_statement=split_statement(config["dataset_stats"].get("prepare_stats")),
        splits=config["dataset_stats"]["splits"], split_names=list(config["dataset_stats"]["splits"]),
        hashes=", ".join(f"{split}: `{(v.get('sha256') or '')[:16]}`"
                         for split, v in config["dataset_fingerprint"].items()),
        results=[(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in sorted(results.items())
                 if k.startswith("eval_")],
        hyperparameters=hyperparameters, train_runtime_s=config["train_runtime_s"] or 0,
        eval_split=config["data_args"].get("eval_split_name", "validation"))
    return str(card)
