"""The report's English strings: sentences and titles (``TEXT``), table headers (``HEADERS``), units.

Keys are the same in every language file; ``tests/test_eval_report.py`` checks that they match.
"""

TEXT = {
    "title": "Lab report: classifying YouTube videos by their audio",
    "na": "not available: {}",
    "goal": "1. Goal",
    "goal_text": (
        "Classify YouTube videos into {k} categories ({names}) from their audio alone by fine-tuning a "
        "pretrained audio model, and measure its quality honestly: at the clip and the video level, with 95% "
        "confidence intervals, against chance, the majority class and baselines trained on the same splits."),
    "data": "2. Data",
    "listing": "2.1 Listing",
    "listing_text": "Rows of the source listing per category and what became of them (from listing_report.json).",
    "downloads": "2.2 Download success per category",
    "downloads_text": "Last manifest record per video; failures grouped by reason code.",
    "balance": "2.3 Balancing",
    "splits": "2.4 Splits and hours",
    "splits_text": "Videos / clips / hours per split and class.",
    "method": "3. Method",
    "model_line": "Evaluated model: {}.",
    "base_line": "Base checkpoint (before fine-tuning): {}.",
    "recipe": "Training recipe and hyperparameters",
    "hardware": "Hardware and time",
    "train_time": "Training time: {}.",
    "protocol": "Evaluation protocol",
    "protocol_text": (
        "Each clip is cut into windows of {window} s ({source}), run in batches of {batch}; a clip's logits "
        "are the mean of its windows' logits and a video's prediction is the {agg} of its clips. 95% "
        "intervals come from {boot} bootstrap resamples of videos (clips of one video are not independent). "
        "The p-value is a one-sided exact binomial test over videos against the null accuracy ({null_kind}, "
        "{null}); clips get none. Inference: {n_windows} windows, {audio} of audio in {secs} on {device} "
        "({speed:.1f} s of audio per second)."),
    "agg_mean": "softmax of the mean logits",
    "agg_vote": "majority vote (ties broken by the mean logits)",
    "results": "4. Results",
    "headline": "Headline metrics ({split} split)",
    "level": "level",
    "items": "items",
    "accuracy": "accuracy [95% CI]",
    "macro_f1": "macro-F1 [95% CI]",
    "p_chance": "p (videos, vs null)",
    "clips": "clips",
    "videos": "videos",
    "level_clip": "clip",
    "level_video": "video",
    "clip_caveat": (
        "Clips have no p-value: clips of one video are not independent, so a test over clips would be "
        "optimistic. The video-level p-value tests against the null accuracy {null} ({null_kind})."),
    "per_class_title": "Per-class precision, recall and F1 ({level} level)",
    "class": "class",
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "support": "support",
    "training_results": "Validation metrics reported by training (all_results.json)",
    "fig_confusion_video": "Confusion matrix, video level",
    "fig_confusion_clip": "Confusion matrix, clip level",
    "fig_per_class": "Per-class accuracy (recall) at clip and video level",
    "fig_training": "Training curves (trainer_state.json)",
    "fig_embeddings": "PCA and t-SNE of the fine-tuned model's clip embeddings, coloured by class",
    "interactive": "Interactive version: {}",
    "comparison": "5. Comparison with chance, the majority class and baselines",
    "comparison_text": (
        "All systems are scored on the same {split} clips and videos; the last column is the fine-tuned "
        "model's video accuracy minus the system's, with a paired bootstrap interval."),
    "system": "system",
    "clip_acc": "clip accuracy [95% CI]",
    "video_acc": "video accuracy [95% CI]",
    "video_f1": "video macro-F1",
    "diff": "model minus system (video) [95% CI]",
    "model_name": "fine-tuned model",
    "chance_name": "chance (1/K)",
    "majority_name": "majority class ({})",
    "baseline_missing": "{}: not available: {}",
    "conclusion": "6. Conclusion",
    "c_main": (
        "The fine-tuned model reaches a video-level accuracy of {acc} [{lo}, {hi}] on {n} {split} videos, "
        "{pts} percentage points {dir} the null accuracy {null} ({null_kind}); {sig}."),
    "above": "above",
    "below": "below",
    "sig_yes": "one-sided binomial test over videos p = {p}: above the null",
    "sig_no": "one-sided binomial test over videos p = {p}: not distinguishable from the null",
    "c_clip": "At the clip level accuracy is {acc} [{lo}, {hi}] on {n} clips; video-level macro-F1 is {f1}.",
    "c_majority": "Always answering the training split's majority class ({cls}) gives {acc} on the videos.",
    "c_best": (
        "The best baseline, {name}, reaches {acc} [{lo}, {hi}]; the model is {diff} percentage points {dir2} "
        "[{dlo}, {dhi}], {sig}."),
    "c_better": "better",
    "c_worse": "worse",
    "c_sig": "the paired interval excludes zero",
    "c_nosig": "the paired interval includes zero",
    "c_no_baselines": "Baselines: not available: {}.",
    "c_hardest": (
        "The hardest class is {cls} (video-level recall {rec}); the most frequent confusion is {a} -> {b} "
        "({n} videos)."),
    "c_perfect": "No video was misclassified.",
    "references": "7. References",
    "versions": "Package versions: {}.",
    "hashes": "Inputs: dataset fingerprint {ds}, model {model}.",
    "text": "5.1 Text alone and audio + text together",
    "text_intro": (
        "Text of each video: its title and its description without the scraped channel header, subscriber "
        "count and buttons (read from: {sources}). Text models are fitted on the {n_train} training videos "
        "only; each fusion takes the weighted mean of the audio model's and the text model's video "
        "log-probabilities, with a weight (0 = audio alone, 1 = text alone) chosen by log-loss as said below. "
        "Intervals: the same video bootstrap as above."),
    "text_weight": ("{name}: weight {w:.2f} on text, chosen on the {n_val} validation videos (log-loss {loss:.3f}, "
                    "accuracy {acc:.3f}); validation did not select the audio checkpoint (the run kept its last "
                    "epoch), so its audio predictions are as honest as the test's."),
    "text_weight_cross_fit": (
        "{name}: weight on text cross-fitted on the {n} {split} videos in {k} folds (weights {weights}, median "
        "{w:.2f}): each fold's weight is chosen by log-loss on the other folds, so no video's label enters its own "
        "prediction. Validation is not used: it selected the audio checkpoint, which makes the audio model look "
        "better there than it is and would tilt the weight towards audio."),
    "text_system": "system",
    "text_video_acc": "video accuracy [95% CI]",
    "text_video_f1": "video macro-F1 [95% CI]",
    "text_diff": "audio model minus system (video) [95% CI]",
    "audio_alone": "audio: fine-tuned model",
    "text_recall": "Per-class recall, video level",
    "text_recall_sentence": (
        "Audio recalls more videos than text in {audio_better}; text recalls more in {text_better}; they are "
        "level in {level}."),
    "text_agreement": (
        "Audio and text (TF-IDF) agree on {agree} of {videos} videos; of the {differ} where they disagree, "
        "audio is right on {audio}, text on {text}, neither on {neither}."),
    "text_examples": "Videos where audio and text disagree",
    "text_examples_none": "Audio and text agree on every video.",
    "ex_video": "video",
    "ex_title": "title",
    "ex_true": "true class",
    "ex_audio": "audio",
    "ex_text": "text",
    "ex_fusion": "fusion",
    "none_word": "no class",
    "c_text": "Text alone ({name}) reaches {acc} [{lo}, {hi}] on the same videos; audio + text together {fused}.",
    "c_fused": "reach {acc} [{lo}, {hi}] (weight {w:.2f} on text, {where})",
    "where_validation": "chosen on validation",
    "where_cross_fit": "cross-fitted on the evaluated videos",
    "c_no_fusion": "were not fused ({})",
    "overlap_videos_none": (
        "No video appears in two splits: checked on the dataset, none of the {n} {split} videos is in "
        "{others}."),
    "overlap_videos_some": (
        "WARNING: {shared} of the {n} {split} videos also appear in {others} (e.g. {examples}): these scores "
        "are not on unseen videos."),
    "overlap_channels_none": (
        "No {split} channel appears in {others}: checked over {n} channels {by} ({unknown} {split} videos have no "
        "channel)."),
    "overlap_channels_some": (
        "WARNING: {shared} of the {n} {split} channels also appear in {others} {by}; {videos} {split} videos "
        "belong to them (e.g. {examples}): these scores are partly on seen channels."),
    "overlap_by_group": "(compared by the dataset's split key: channel ids, not display names)",
    "overlap_by_name": ("(compared by channel display names: the dataset has no split-key column, so channels that "
                        "share a name count as one)"),
    "overlap_channels_unknown": "Channels: unknown ({reason}); only the video overlap was checked.",
    "null_chance": (
        "The {split} split has {n} videos in every class, so the null accuracy (a constant answer) is 1/K = "
        "{null}."),
    "null_majority": (
        "The {split} split is not balanced (videos per class: {counts}), so the null accuracy is the "
        "majority-class rate: always answering {cls} gives {null}. p-values test against that rate, not "
        "against 1/K = {chance}."),
    "p_na": "n/a (clips are not independent)",
    "few_videos_caveat": (
        "Only {n} {split} videos (fewer than {min}): the intervals are wide, and no difference in this report"
        " is called significant."),
    "selection_flag": (
        "WARNING: {split} is the split training evaluated on to select its checkpoint and stop early "
        "(run_config.json eval_split_name = {selection}{allowed}): these scores are optimistic; "
        "evaluate a split that training never saw."),
    "selection_allowed": ", with --allow_test_selection",
    "selection_ok": "Checkpoint selection used the {selection} split, not the evaluated {split} split.",
    "null_kind_chance": "chance, 1/K",
    "null_kind_majority": "majority-class rate of the {split} split",
    "null_name": "null accuracy ({})",
    "sig_few": "one-sided binomial test over videos p = {p}, with {n} videos not called significant",
    "c_few": "with {n} test videos no difference is called significant",
    "c_leak": "Caution: {}",
    "crops_text": (
        "Training set: {rows} train rows of up to {row} s, giving {crops} random crops of {crop} s per epoch (one "
        "per {clip} s of a row, the dataset's clip length); new crops every epoch."),
    "baseline_protocol": (
        "The audio baselines are fitted on {train} clips of {unit} s cut from the {rows} train rows (the length of "
        "the {eval} {split} clips they are scored on), so they are scored like they were trained."),
    "baseline_protocol_rows": (
        "The audio baselines are fitted on the {rows} train rows as they are (the dataset has no build record "
        "giving its clip length) and scored on the {eval} {split} clips."),
    "frozen_headline": (
        "Fine-tuning against its own frozen encoder: a logistic regression on the frozen base checkpoint's "
        "pooled features reaches {acc} on the videos; fine-tuned minus frozen = {d} [{dlo}, {dhi}] over {n} "
        "videos (paired), {sig}."),
}

HEADERS = {
    "category": "category",
    "setting": "setting",
    "value": "value",
    "dropped": "dropped (kind.reason)",
    "count": "count",
    "split": "split",
    "class": "class",
    "videos": "videos",
    "clips": "clips",
    "hours": "hours",
    "attempted": "attempted",
    "ok": "ok",
    "failed": "failed",
    "success": "success",
    "reasons": "failure reasons",
    "hyperparameter": "hyperparameter",
    "hardware": "hardware",
    "metric": "metric",
    "all": "all",
    "nothing": "nothing dropped",
}

UNITS = ('h', 'min', 's')
