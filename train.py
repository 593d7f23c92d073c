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
import math
import os
import sys
import time
from dataclasses import dataclass, field, replace

import transformers
from transformers import EarlyStoppingCallback

from common.cli import format_table, run_cli, setup_logging
from common.contract import RESUME_CONFIG, RUN_CONFIG, PrepareStats, RunRecord, read_build
from common.audio import SAMPLING_RATE
from common.contract.run import CropPlan, ProbePhase
from common.data import clip_pieces, load_prepared, read_pieces
from common.hub import check_hub_push
from common.jsonl import atomic_write_text
from common.modeling import load_feature_extractor, load_model, min_input_samples
from common.runs import write_curves
from common.seed import set_seed
from training.args import PROG, WHISPER_SECONDS, parse_args
from training.checkpoints import check_finished, check_resume, last_complete_checkpoint
from training.data import (AudioCollator, RandomCrops, class_weights, dataset_fingerprint, dataset_stats, eval_windows,
                           random_subset, train_crops)
from training.hub import push_run
from training.probe import fit_linear_probe, freeze_base_model, head_state
from training.report import model_card, run_config
from training.trainer import ClipMetrics, CropEpochCallback, WeightedLossTrainer

logger = logging.getLogger("train")


def run(argv: list[str] | None = None, callbacks=()) -> dict:
    """Train and evaluate as ``argv`` says (see ``python train.py --help``); returns the metrics of all_results.json.

    ``callbacks`` are extra ``TrainerCallback`` objects (tests use one to interrupt a run)."""
    model_args, data_args, training_args = parse_args(argv)
    setup_logging()
    transformers.utils.logging.set_verbosity(training_args.get_process_log_level())
    hub = hub_preflight(training_args)
    set_seed(training_args.seed)
    data = load_data(data_args, training_args)
    record = run_config(model_args, data_args, training_args, dataset_stats(data.dataset, data.stats),
                        dataset_fingerprint(data.dataset), data.stats.build, data.crop_plan)
    record.training_args["push_to_hub"] = hub.push
    finished = check_finished(training_args.output_dir, record)  # ChangedRunError when made otherwise
    if finished is not None:
        return reuse_finished(training_args, hub, finished)
    last_checkpoint = find_resume_checkpoint(training_args, record, model_args.allow_resume_changes)
    model, extractor = load_model_and_extractor(model_args, data_args, data.class_names)
    probe = linear_probe(model, extractor, model_args, data_args, training_args, data, last_checkpoint)
    trainer = build_trainer(model, extractor, model_args, data_args, training_args, data, callbacks)
    probe = score_probe(trainer, probe, training_args)
    results, train_runtime = train_and_evaluate(trainer, training_args, last_checkpoint)
    results, record = keep_the_better(trainer, probe, results, record, model_args, data_args, training_args, data)
    if trainer.is_world_process_zero():
        write_run_records(trainer, extractor, record, results, train_runtime, data.class_names, training_args, hub)
    return results


# ---------------------------------------------------------------- the steps of run(), in order

@dataclass
class HubPush:
    push: bool                  # --push_to_hub, taken off training_args so the Trainer never pushes by itself
    token: str | None = field(repr=False)   # kept here only: it must reach neither training_args.bin nor a log


def hub_preflight(training_args) -> HubPush:
    """Take the token and the push flag off ``training_args`` and, before any work, check that the push at the end
    can succeed (a missing token or an unreachable Hub would otherwise fail after hours of training)."""
    hub = HubPush(training_args.push_to_hub, training_args.hub_token)
    training_args.hub_token, training_args.push_to_hub = None, False
    if hub.push and not training_args.hub_model_id:
        raise ValueError("--push_to_hub needs --hub_model_id USER/NAME (the Hub model repository to create or update)")
    if hub.push:
        check_hub_push(training_args.hub_model_id, hub.token)
    return hub


@dataclass
class TrainData:
    dataset: object             # the prepared DatasetDict
    stats: PrepareStats         # its build record (prepare_stats.json): clip and row lengths, never guessed
    train_split: object         # after --max_train_samples
    class_names: list[str]
    crops: RandomCrops          # the training transform (its epoch is set by CropEpochCallback)
    crop_plan: CropPlan         # how many crops of what, for the run record
    train: object               # one row per crop of an epoch (train_crops), read through the crop transform
    eval: object                # one row per fixed evaluation window
    eval_videos: list[str]      # the video id of each evaluation clip (video-level validation metrics)


def load_data(data_args, training_args) -> TrainData:
    """The prepared dataset's train and evaluation splits (checked), their seeded subsets, random training crops
    (``--crops_per_row``, by default one per clip length of each train row, the clip length read from the
    dataset's build record) and fixed evaluation windows. The crop and subset seed is ``--data_seed``, else
    ``--seed``."""
    dataset = load_prepared(data_args.dataset_name)
    stats = read_build(data_args.dataset_name)
    if stats is None:
        raise ValueError(f"--dataset_name {data_args.dataset_name}: no prepare_stats.json (the build record that "
                         "gives its clip length and train rows); expected a dataset made by python -m prepare")
    for flag in ("train_split_name", "eval_split_name"):
        if getattr(data_args, flag) not in dataset:
            raise ValueError(f"--{flag} {getattr(data_args, flag)!r}: {data_args.dataset_name} has splits "
                             f"{sorted(dataset)}")
    train_split, eval_split = dataset[data_args.train_split_name], dataset[data_args.eval_split_name]
    class_names = train_split.features["label"].names
    if eval_split.features["label"].names != class_names:
        raise ValueError(f"{data_args.dataset_name}: splits {data_args.train_split_name} and "
                         f"{data_args.eval_split_name} have different label names")
    if not len(train_split):
        raise ValueError(f"--train_split_name {data_args.train_split_name!r} of {data_args.dataset_name} is empty: "
                         "nothing to train on")
    if not len(eval_split) and evaluates(training_args):
        raise ValueError(f"--eval_split_name {data_args.eval_split_name!r} of {data_args.dataset_name} is empty, "
                         "but this recipe evaluates on it (--eval_strategy, --load_best_model_at_end, --do_eval): "
                         "prepare a dataset with a validation split (--split), or pass --eval_strategy no "
                         "--load_best_model_at_end false --do_eval false")
    data_seed = training_args.seed if training_args.data_seed is None else training_args.data_seed
    train_split = random_subset(train_split, data_args.max_train_samples, data_seed)
    eval_split = random_subset(eval_split, data_args.max_eval_samples, data_seed)
    crops = RandomCrops(data_args.max_length_seconds, seed=data_seed)
    clip_seconds = stats.build.clip_seconds
    train_data = train_crops(train_split, crops, clip_seconds, per_row=data_args.crops_per_row)
    eval_data = eval_windows(eval_split, data_args.eval_window_seconds)
    logger.info("%d training rows give %d random %.1f-s crops per epoch (one per %g s of audio, the dataset's clip "
                "length), %d validation clips in %d windows of %.1f s", len(train_split), len(train_data),
                data_args.max_length_seconds, clip_seconds, len(eval_split), len(eval_data),
                data_args.eval_window_seconds)
    plan = CropPlan(train_rows=len(train_split), crops_per_epoch=len(train_data),
                    crop_seconds=data_args.max_length_seconds, clip_seconds=clip_seconds,
                    crops_per_row=data_args.crops_per_row)
    return TrainData(dataset, stats, train_split, class_names, crops, plan, train_data, eval_data,
                     list(eval_split["video_id"]))


def evaluates(training_args) -> bool:
    """Whether the recipe scores the evaluation split (each epoch, to choose the checkpoint, or at the end)."""
    strategy = getattr(training_args.eval_strategy, "value", training_args.eval_strategy)
    return strategy != "no" or training_args.load_best_model_at_end or training_args.do_eval


def reuse_finished(training_args, hub: HubPush, finished: dict) -> dict:
    """The output folder already holds this finished run: say so, push it if asked, return its results."""
    print(f"{training_args.output_dir} already holds this finished run: nothing to do (delete it or pass "
          "another --output_dir to train again)")
    if hub.push and training_args.should_save:
        push_run(training_args.output_dir, training_args.hub_model_id, token=hub.token,
                 private=training_args.hub_private_repo, revision=training_args.hub_revision)
    return finished


def find_resume_checkpoint(training_args, record: RunRecord, allow_changes: bool = False) -> str | None:
    """The newest complete checkpoint to resume from (None: start fresh, or --resume_from_checkpoint decides),
    after checking that the run which wrote it had this configuration and dataset (``check_resume``); then this
    run's record is written as ``resume_config.json`` for the next resume to compare with."""
    last_checkpoint = None
    if training_args.resume_from_checkpoint is None:
        with training_args.main_process_first(local=False, desc="checkpoint check"):
            last_checkpoint = last_complete_checkpoint(training_args.output_dir,
                                                       needs_training_state=not training_args.save_only_model)
    if last_checkpoint or training_args.resume_from_checkpoint:
        check_resume(training_args.output_dir, record, allow_changes)
    if last_checkpoint:
        logger.info("resuming from %s (delete it or pick another --output_dir to start over)", last_checkpoint)
    if training_args.should_save:
        record.write(os.path.join(training_args.output_dir, RESUME_CONFIG))
    return last_checkpoint


def whisper_seconds(config, model_args, data_args) -> int | None:
    """The whole seconds of input a Whisper checkpoint computes on (None: not Whisper): ``--whisper_input_seconds``,
    else the training crop rounded up; an evaluation window longer than that is an error (it would be cut)."""
    if config.model_type != "whisper":
        return None
    seconds = min(math.ceil(model_args.whisper_input_seconds or data_args.max_length_seconds), WHISPER_SECONDS)
    if data_args.eval_window_seconds > seconds:
        raise ValueError(f"--eval_window_seconds {data_args.eval_window_seconds}: longer than the {seconds} s of input "
                         f"this Whisper computes on (--whisper_input_seconds, else --max_length_seconds); expected "
                         f"at most {seconds}")
    return seconds


def load_model_and_extractor(model_args, data_args, class_names: list[str]):
    """The checkpoint with a head for ``class_names`` and its feature extractor; the convolutional feature encoder
    frozen with ``--freeze_feature_encoder`` (where the model has one). A Whisper checkpoint computes on the clip's
    length: 50 encoder positions per second and a feature extractor ``chunk_length`` to match (``whisper_seconds``),
    saved with the run so that ``from_pretrained``, ``pipeline()``, eval.py and predict reload it as trained."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_args.model_name_or_path, revision=model_args.model_revision)
    seconds = whisper_seconds(config, model_args, data_args)
    overrides = {} if seconds is None else {"max_source_positions": 50 * seconds}
    if model_args.use_weighted_layer_sum:
        if not hasattr(config, "use_weighted_layer_sum"):
            raise ValueError(f"--use_weighted_layer_sum: {config.model_type} models have no weighted layer sum "
                             "(wav2vec2, HuBERT, WavLM, data2vec-audio and Whisper do); leave it off for this model")
        overrides["use_weighted_layer_sum"] = True
    whisper = {} if seconds is None else {"chunk_length": seconds}
    extractor = load_feature_extractor(model_args.model_name_or_path, revision=model_args.model_revision, **whisper)
    model = load_model(model_args.model_name_or_path, class_names=class_names, revision=model_args.model_revision,
                       config_overrides=overrides or None)
    if seconds is not None:
        logger.info("Whisper computes on %d s of input (%d encoder positions; --whisper_input_seconds 30 keeps its "
                    "original 30 s)", seconds, 50 * seconds)
    if model_args.freeze_feature_encoder:
        if hasattr(model, "freeze_feature_encoder"):
            model.freeze_feature_encoder()
        else:
            logger.warning("--freeze_feature_encoder: %s has no convolutional feature encoder; nothing frozen",
                           type(model).__name__)
    return model, extractor


# ---------------------------------------------------------------- linear probe, then fine-tune (--linear_probe)

PROBE_DIR = "linear_probe"      # in --output_dir: the probe's head and record, for a resumed run's comparison


@dataclass
class Probe:
    phase: ProbePhase           # what the run record says of it
    head: dict                  # the head's parameters after the fit (the probe = base encoder + this head)
    metrics: dict = field(default_factory=dict)     # its scores on the evaluation split (probe_* keys)


def linear_probe(model, extractor, model_args, data_args, training_args, data: TrainData,
                 last_checkpoint: str | None) -> Probe | None:
    """``--linear_probe``: fit the head on the frozen encoder (``training.probe``) before training; a resumed run
    reads the probe it fitted before (its weights are in the checkpoint). ``--freeze_base_model`` then leaves only
    the head trainable."""
    probe = None
    if model_args.linear_probe:
        saved = os.path.join(training_args.output_dir, PROBE_DIR)
        if last_checkpoint and os.path.isfile(os.path.join(saved, "head.safetensors")):
            from safetensors.torch import load_file

            probe = Probe(ProbePhase.read_from(saved), load_file(os.path.join(saved, "head.safetensors")))
            probe.metrics = probe.phase.metrics()
        else:
            model.to(training_args.device)
            samples = int(round(data_args.max_length_seconds * SAMPLING_RATE))
            rows, starts = clip_pieces(data.train_split, samples)
            labels = [data.train_split["label"][row] for row in rows]
            collate = AudioCollator(extractor, min_input_samples(model.config))
            fit = fit_linear_probe(model, collate, read_pieces(data.train_split, rows, starts, samples),
                                   labels, len(data.class_names), training_args.seed,
                                   training_args.per_device_eval_batch_size)
            probe = Probe(ProbePhase(method="closed_form", train_examples=fit.train_examples, seconds=fit.seconds),
                          head_state(model))
    if model_args.freeze_base_model:
        trainable = freeze_base_model(model)
        logger.info("--freeze_base_model: %d parameters of the head train, the encoder is frozen", trainable)
    return probe


def score_probe(trainer, probe: Probe | None, training_args) -> Probe | None:
    """The probe's scores on the evaluation split, before any training (the reference fine-tuning must beat), saved
    in --output_dir with its head so that a resumed run compares with the same probe."""
    if probe is None or probe.metrics or not len(trainer.eval_dataset):
        return probe
    probe.metrics = trainer.evaluate(metric_key_prefix="probe")
    probe.phase = replace(probe.phase, validation_video_accuracy=probe.metrics.get("probe_video_accuracy"),
                          validation_accuracy=probe.metrics.get("probe_accuracy"),
                          metric=_metric(training_args),
                          validation_metric=probe.metrics.get(f"probe_{_metric(training_args)}"))
    if trainer.is_world_process_zero():
        from safetensors.torch import save_file

        folder = os.path.join(training_args.output_dir, PROBE_DIR)
        os.makedirs(folder, exist_ok=True)
        save_file(probe.head, os.path.join(folder, "head.safetensors"))
        probe.phase.write_to(folder)
    logger.info("linear probe on %s: %s", trainer.args.eval_strategy, {k: round(v, 4) for k, v in probe.metrics.items()
                                                                      if isinstance(v, float)})
    return probe


def _metric(training_args) -> str:
    return (training_args.metric_for_best_model or "loss").removeprefix("eval_")


def keep_the_better(trainer, probe: Probe | None, results: dict, record: RunRecord, model_args, data_args,
                    training_args, data: TrainData) -> tuple[dict, RunRecord]:
    """Never worse than the start: when fine-tuning never beat the probe on the evaluation split
    (``--metric_for_best_model``; a tie keeps the probe), the probe (the base encoder with the fitted head) is what
    the run keeps and saves, and the record says so."""
    if probe is None:
        return results, record
    metric = _metric(training_args)
    before, after = probe.metrics.get(f"probe_{metric}"), results.get(f"eval_{metric}")
    trained = training_args.do_train and trains(training_args)
    if before is None or after is None:
        keep = not trained
        reason = "no evaluation split to compare on" if before is None else "the run was not evaluated"
    else:
        better = after > before if training_args.greater_is_better else after < before
        keep = not trained or not better
        reason = f"fine-tuned {metric} {after:.4f} vs probe {before:.4f}"
    phase = replace(probe.phase, best_fine_tuned_metric=after if trained else None, kept_probe=keep)
    if keep and trained:
        logger.warning("fine-tuning never beat the linear probe on %s (%s): keeping the probe (frozen base encoder "
                       "+ fitted head)", data_args.eval_split_name, reason)
        base, _ = load_model_and_extractor(model_args, data_args, data.class_names)
        base.load_state_dict(probe.head, strict=False)
        trainer.model.load_state_dict(base.state_dict())
        if trainer.is_world_process_zero():
            trainer.save_model()
        scores = trainer.evaluate()
        trainer.save_metrics("eval", scores)
        results = {**results, **scores}
    else:
        logger.info("linear probe, then fine-tuning: %s; keeping the %s", reason,
                    "probe" if keep else "fine-tuned model")
    return results, replace(record, probe=phase)


def trains(training_args) -> bool:
    """Whether the recipe takes any optimiser step (``--num_train_epochs 0`` keeps the linear probe alone)."""
    return training_args.max_steps > 0 or training_args.num_train_epochs > 0


def loss_weights(data_args, data: TrainData):
    """``--class_weighting balanced``: class weights counted over the training crops of an epoch (a 30-s row of a
    dataset of 10-s clips is 3 of them), read from the crop index without decoding audio; None otherwise."""
    if data_args.class_weighting != "balanced":
        return None
    return class_weights(data.train.with_format(None)["label"], len(data.class_names))


def build_trainer(model, extractor, model_args, data_args, training_args, data: TrainData, callbacks=()):
    """The Trainer: class-weighted loss (``--class_weighting``), new crops each epoch, clip-level validation
    metrics over the window rows, early stopping with ``--early_stopping_patience``."""
    weights = loss_weights(data_args, data)
    extra_callbacks = [CropEpochCallback(data.crops), *callbacks]
    if model_args.early_stopping_patience:
        extra_callbacks.append(EarlyStoppingCallback(model_args.early_stopping_patience))
    return WeightedLossTrainer(
        model=model,
        args=training_args,
        train_dataset=data.train,
        eval_dataset=data.eval,
        data_collator=AudioCollator(extractor, min_input_samples(model.config)),
        processing_class=extractor,
        compute_metrics=ClipMetrics(data.eval.with_format(None)["row"], n_classes=len(data.class_names),
                                    video_of_clip=data.eval_videos),
        callbacks=extra_callbacks,
        class_weights=weights,
        head_lr_multiplier=model_args.head_lr_multiplier,
        spec_augment=model_args.spec_augment,
    )


def train_and_evaluate(trainer, training_args, last_checkpoint: str | None) -> tuple[dict, float | None]:
    """Train (resuming from ``last_checkpoint`` or ``--resume_from_checkpoint``), save the model, then evaluate;
    returns the metrics and the training wall time."""
    results, train_runtime = {}, None
    if training_args.do_train and not trains(training_args):
        trainer.save_model()                            # nothing to train: the model as it is (a linear probe)
    elif training_args.do_train:
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
    return results, train_runtime


def write_run_records(trainer, extractor, record: RunRecord, results: dict, train_runtime: float | None,
                      class_names: list[str], training_args, hub: HubPush) -> None:
    """The run folder's records (curves, model card, run_config.json last: with the weights and all_results.json it
    marks the run finished), the Hub push, and the summary table."""
    out = training_args.output_dir
    extractor.save_pretrained(out)
    record = replace(record, train_runtime_s=train_runtime)
    write_curves(trainer.state.log_history, os.path.join(out, "training_curves.png"))
    atomic_write_text(os.path.join(out, "README.md"), model_card(record, results, class_names,
                                                                 training_args.hub_model_id))
    record.write(os.path.join(out, RUN_CONFIG))
    if hub.push:
        push_run(out, training_args.hub_model_id, token=hub.token, private=training_args.hub_private_repo,
                 revision=training_args.hub_revision)
    print(format_table(["metric", "value"], [[k, v] for k, v in sorted(results.items())]))


def main(argv: list[str] | None = None) -> int:
    """The command line: 0 on success, 2 with a one-line error on bad input (a bug keeps its traceback)."""
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
