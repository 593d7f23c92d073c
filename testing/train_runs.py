"""The argv of a few-step CPU training run on test data (tiny recipe, shortened to seconds): train tests and bench."""

from __future__ import annotations


def run_argv(dataset, model, output_dir, *extra) -> list[str]:
    """The tiny CPU recipe pointed at test data, shortened to seconds."""
    return ["configs/tiny-cpu.yaml", "--dataset_name", str(dataset), "--model_name_or_path", str(model),
            "--output_dir", str(output_dir), "--max_length_seconds", "1.0", "--per_device_train_batch_size", "4",
            "--num_train_epochs", "2", *map(str, extra)]
