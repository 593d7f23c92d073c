"""Shared set-up of the train tests and bench: the prepared test dataset and the argv of a few-step CPU run."""

from tests.synthetic import make_prepared_dataset as prepared_dataset  # noqa: F401  (re-exported for the train tests)


def run_argv(dataset, model, output_dir, *extra) -> list[str]:
    """The tiny CPU recipe pointed at test data, shortened to seconds."""
    return ["configs/tiny-cpu.yaml", "--dataset_name", str(dataset), "--model_name_or_path", str(model),
            "--output_dir", str(output_dir), "--max_length_seconds", "1.0", "--per_device_train_batch_size", "4",
            "--num_train_epochs", "2", *map(str, extra)]
