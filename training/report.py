"""What a run leaves beside its model: run_config.json and the README.md model card (the curves: ``common.runs``).

Example::

    from training.report import run_config, model_card
    card = model_card(run, results, class_names, hub_model_id=None)
"""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path

from common import provenance
from common.contract import DatasetBuild, RunRecord
from common.contract.run import CropPlan, DatasetStats, Hardware
from common.data import split_statement


def hardware(training_args) -> Hardware:
    import torch
    from accelerate import PartialState

    device = training_args.device
    return Hardware(
        device=str(device),
        device_name=torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        n_processes=PartialState().num_processes,  # TrainingArguments.world_size says 1 for CPU DDP
        torch_threads=torch.get_num_threads(),
        mixed_precision="bf16" if training_args.bf16 else "fp16" if training_args.fp16 else "no",
    )


def run_config(model_args, data_args, training_args, dataset_stats: DatasetStats, fingerprint: dict,
               build: DatasetBuild | None = None, crops: CropPlan | None = None) -> RunRecord:
    """The resolved recipe plus provenance: everything needed to tell how this run was made."""
    return RunRecord(
        base_model=model_args.model_name_or_path,
        dataset_name=data_args.dataset_name,
        max_length_seconds=data_args.max_length_seconds,
        eval_window_seconds=data_args.eval_window_seconds,
        eval_split_name=data_args.eval_split_name,
        allow_test_selection=data_args.allow_test_selection,
        selects_checkpoint=bool(training_args.load_best_model_at_end),
        dataset_build=build,
        crops=crops,
        dataset_fingerprint=fingerprint,
        dataset_stats=dataset_stats,
        model_args=dataclasses.asdict(model_args),
        data_args=dataclasses.asdict(data_args),
        training_args=training_args.to_dict(),  # tokens masked by transformers
        versions=provenance.package_versions(),
        hardware=hardware(training_args),
    )


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


def model_card(run: RunRecord, results: dict, labels: list[str], hub_model_id: str | None) -> str:
    """README.md for the run folder and the Hub: a YAML header validated by ``huggingface_hub.ModelCardData``,
    provenance, labels, how the data was split (channel-disjoint when prepare says so), metrics, hyperparameters."""
    from huggingface_hub import ModelCard, ModelCardData

    # The Hub validates base_model/datasets as repository ids: local paths only go into the text.
    base_on_hub = not Path(run.base_model).exists()
    card_data = ModelCardData(library_name="transformers", pipeline_tag="audio-classification",
                              base_model=run.base_model if base_on_hub else None,
                              tags=["audio-classification", "youtube"], metrics=["accuracy", "f1"],
                              datasets=None if Path(run.dataset_name).exists() else [run.dataset_name])
    name = hub_model_id or run.output_dir
    base = (f"[`{run.base_model}`](https://huggingface.co/{run.base_model})" if base_on_hub
            else f"`{run.base_model}` (a local checkpoint)")
    hyperparameters = run.hyperparameters() + [
        ("processes", f"{run.hardware.n_processes} ({run.hardware.device})" if run.hardware else None)]
    splits = run.dataset_stats.splits
    card = ModelCard.from_template(
        card_data, template_str="---\n{{ card_data }}\n---\n" + MODEL_CARD, name=name, labels=labels, base=base,
        label_list=", ".join(f"`{n}`" for n in labels),
        dataset_name=run.dataset_name, eval_window_seconds=run.eval_window_seconds,
        split_statement=split_statement(run.dataset_stats.prepare_stats), splits=splits, split_names=list(splits),
        hashes=", ".join(f"{split}: `{(v.sha256 or 'empty')[:16]}`" for split, v in run.dataset_fingerprint.items()),
        results=[(k, f"{v:.4f}" if isinstance(v, float) else v) for k, v in sorted(results.items())
                 if k.startswith("eval_")],
        hyperparameters=hyperparameters, train_runtime_s=run.train_runtime_s or 0,
        eval_split=run.eval_split_name)
    return str(card)
