"""Fine-tune an audio classifier (facebook/wav2vec2-base or any AutoModelForAudioClassification) on a prepared dataset.

A YAML recipe gives the settings; flags after it override them. Running the same command again resumes from the
last complete checkpoint in --output_dir, or says the run is finished (training/checkpoints.py). Launch with ``accelerate launch`` for several GPUs or nodes. Examples::

    python train.py configs/wav2vec2-base.yaml --dataset_name demo_out/dataset --learning_rate 1e-5
    accelerate launch --config_file configs/accelerate/multi-gpu.yaml train.py configs/wav2vec2-base.yaml
    accelerate launch --cpu --num_processes 2 train.py configs/tiny-cpu.yaml     # data-parallel on CPU (gloo)

Outputs in --output_dir: the model and feature extractor (loadable with ``pipeline("audio-classification")``),
all_results.json, trainer_state.json, run_config.json, training_curves.png and a README.md model card.
"""

from __future__ import annotations

import logging
import os
import sys
import time

import transformers
from transformers import EarlyStoppingCallback

from common.cli import format_table, run_cli, setup_logging
from common.hub import check_hub_push
from common.data import load_prepared
from common.jsonl import atomic_write_json, atomic_write_text
from common.modeling import load_feature_extractor, load_model
from common.seed import set_seed
from training.args import PROG, parse_args
from training.checkpoints import check_finished, last_complete_checkpoint
from training.data import (AudioCollator, RandomCrops, class_weights, dataset_fingerprint, dataset_stats,
                           eval_windows, random_subset)
from training.hub import push_run
from common.runs import write_curves
from training.report import model_card, run_config
from training.trainer import ClipMetrics, CropEpochCallback, WeightedLossTrainer

logger = logging.getLogger("train")


def run(argv: list[str] | None = None, callbacks=()) -> dict:
    """Train and evaluate as ``argv`` says (see ``python train.py --help``); returns the metrics of all_results.json.

    ``callbacks`` are extra ``TrainerCallback`` objects (tests use one to interrupt a run)."""
    # ---------------------------------------------------------------- arguments, logging, Hub preflight
    model_args, data_args, training_args = parse_args(argv)
    setup_logging()
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())
    # The token must reach neither the Trainer's pickled training_args.bin nor any log: keep it here only.
    hub_token, training_args.hub_token = training_args.hub_token, None
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False
    if push_to_hub and not training_args.hub_model_id:
        raise ValueError("--push_to_hub needs --hub_model_id USER/NAME (the Hub model repository to create or update)")
    if push_to_hub:  # before any work: a missing token or an unreachable Hub would otherwise fail at the very end
        check_hub_push(training_args.hub_model_id, hub_token)
    set_seed(training_args.seed)

    # ---------------------------------------------------------------- data
    dataset = load_prepared(data_args.dataset_name)
    for flag in ("train_split_name", "eval_split_name"):
        if getattr(data_args, flag) not in dataset:
            raise ValueError(f"--{flag} {getattr(data_args, flag)!r}: {data_args.dataset_name} has splits "
                             f"{sorted(dataset)}")
    train_split, eval_split = dataset[data_args.train_split_name], dataset[data_args.eval_split_name]
    class_names = train_split.features["label"].names
    if eval_split.features["label"].names != class_names:
        raise ValueError(f"{data_args.dataset_name}: splits {data_args.train_split_name} and "
                         f"{data_args.eval_split_name} have different label names")
    data_seed = training_args.seed if training_args.data_seed is None else training_args.data_seed
    train_split = random_subset(train_split, data_args.max_train_samples, data_seed)
    eval_split = random_subset(eval_split, data_args.max_eval_samples, data_seed)
    crops = RandomCrops(data_args.max_length_seconds, seed=data_seed)
    train_data = train_split.add_column("row", list(range(len(train_split)))).with_transform(crops)
    eval_data = eval_windows(eval_split, data_args.eval_window_seconds)
    logger.info("%d training clips (random %.1f-s crops), %d validation clips in %d windows of %.1f s",
                len(train_split), data_args.max_length_seconds, len(eval_split), len(eval_data),
                data_args.eval_window_seconds)

    # ---------------------------------------------------------------- finished run? resume?
    config = run_config(model_args, data_args, training_args, dataset_stats(dataset, data_args.dataset_name),
                        dataset_fingerprint(dataset), None)
    config["training_args"]["push_to_hub"] = push_to_hub
    finished = check_finished(training_args.output_dir, config)  # ChangedRunError when made otherwise
    if finished is not None:
        print(f"{training_args.output_dir} already holds this finished run: nothing to do (delete it or pass "
              "another --output_dir to train again)")
        if push_to_hub and training_args.should_save:
            push_run(training_args.output_dir, training_args.hub_model_id, token=hub_token,
                     private=training_args.hub_private_repo, revision=training_args.hub_revision)
        return finished
    last_checkpoint = None
    if training_args.resume_from_checkpoint is None:
        with training_args.main_process_first(local=False, desc="checkpoint check"):
            last_checkpoint = last_complete_checkpoint(training_args.output_dir,
                                                       needs_training_state=not training_args.save_only_model)
        if last_checkpoint:
            logger.info("resuming from %s (delete it or pick another --output_dir to start over)", last_checkpoint)

    # ---------------------------------------------------------------- model and feature extractor
    extractor = load_feature_extractor(model_args.model_name_or_path, revision=model_args.model_revision)
    model = load_model(model_args.model_name_or_path, class_names=class_names, revision=model_args.model_revision)
    if model_args.freeze_feature_encoder:
        if hasattr(model, "freeze_feature_encoder"):
            model.freeze_feature_encoder()
        else:
            logger.warning("--freeze_feature_encoder: %s has no convolutional feature encoder; nothing frozen",
                           type(model).__name__)

    # ---------------------------------------------------------------- trainer
    weights = (class_weights(train_split["label"], len(class_names))
               if data_args.class_weighting == "balanced" else None)
    extra_callbacks = [CropEpochCallback(crops), *callbacks]
    if model_args.early_stopping_patience:
        extra_callbacks.append(EarlyStoppingCallback(model_args.early_stopping_patience))
    trainer = WeightedLossTrainer(
        model=model,
        args=training_args,
        train_dataset=train_data,
        eval_dataset=eval_data,
        data_collator=AudioCollator(extractor),
        processing_class=extractor,
        compute_metrics=ClipMetrics(eval_data.with_format(None)["row"], n_classes=len(class_names)),
        callbacks=extra_callbacks,
        class_weights=weights,
    )

    # ---------------------------------------------------------------- train and evaluate
    results, train_runtime = {}, None
    if training_args.do_train:
        started = time.perf_counter()
        train_result = trainer.train(resume_from_checkpoint=training_args.resume_from_checkpoint or last_checkpoint)
        train_runtime = round(time.perf_counter() - started, 2)
        trainer.save_model()  # model, config with id2label/label2id, feature extractor
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        trainer.save_state()
        results.update(train_result.metrics)
    if training_args.do_eval:
        eval_metrics = trainer.evaluate()
        trainer.log_metrics("eval", eval_metrics)
        trainer.save_metrics("eval", eval_metrics)
        results.update(eval_metrics)

    # ---------------------------------------------------------------- run records, model card, Hub
    if trainer.is_world_process_zero():
        out = training_args.output_dir
        extractor.save_pretrained(out)
        config["train_runtime_s"] = train_runtime
        write_curves(trainer.state.log_history, os.path.join(out, "training_curves.png"))
        atomic_write_text(os.path.join(out, "README.md"),
                          model_card(config, results, class_names, training_args.hub_model_id))
        # Written last: with the weights and all_results.json it marks the run finished (training.checkpoints).
        atomic_write_json(os.path.join(out, "run_config.json"), config)
        if push_to_hub:
            push_run(out, training_args.hub_model_id, token=hub_token, private=training_args.hub_private_repo,
                     revision=training_args.hub_revision)
        print(format_table(["metric", "value"], [[k, v] for k, v in sorted(results.items())]))
    return results


def main(argv: list[str] | None = None) -> int:
    """The command line: 0 on success, 2 with a one-line error on bad input (a bug keeps its traceback)."""
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
