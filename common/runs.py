"""A run folder's records as every stage reads them: the training curves from ``trainer_state.json``'s log history
and the hyperparameters a report or card shows. train.py draws the curves beside its model, eval.py into the report.

Example::

    from common.runs import write_curves
    write_curves(trainer.state.log_history, "runs/x/training_curves.png")
"""

from __future__ import annotations

from pathlib import Path


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
