"""The report's sections, built from the evaluation record (``common.contract.EvalRecord``) as a list of blocks that ``evaluation.report.render`` turns
into Markdown and HTML (so both files always say the same thing).

A section builder takes the ``ReportBuilder`` (blocks so far, the language's strings and table headers) and the
metrics; every number comes from the metrics, and a missing input becomes a "not available: <reason>" line.

Example::

    from evaluation.report.sections import build_blocks
    blocks = build_blocks(metrics, "ru")     # metrics: an EvalRecord -> [("h1", title), ("table", headers, rows), ...]
"""

from __future__ import annotations

from pathlib import Path

from common.contract import RUN_CONFIG, EvalRecord, PrepareStats
from common.contract.evaluation import (BinomialTest, DataSummary, Disagreement, Figure, LevelScores, Overlap,
                                        RunSection, SystemScores)
from evaluation.report import en, ru

LANGUAGES = {"en": en, "ru": ru}
TEXT = {lang: module.TEXT for lang, module in LANGUAGES.items()}

REFERENCES = [
    "A. Baevski, H. Zhou, A. Mohamed, M. Auli. wav2vec 2.0: A Framework for Self-Supervised Learning of Speech "
    "Representations. NeurIPS 2020. https://arxiv.org/abs/2006.11477",
    "YouTube Videos Dataset (Kaggle listing). https://www.kaggle.com/datasets/rajatrc1705/youtube-videos-dataset",
    "T. Wolf et al. Transformers: State-of-the-Art Natural Language Processing. EMNLP 2020 (Demos). "
    "https://github.com/huggingface/transformers",
    "B. Efron, R. Tibshirani. An Introduction to the Bootstrap. Chapman & Hall, 1993.",
    "L. van der Maaten, G. Hinton. Visualizing Data using t-SNE. JMLR 9, 2008.",
    "B. McFee et al. librosa: Audio and Music Signal Analysis in Python. SciPy 2015. https://librosa.org",
    "F. Pedregosa et al. Scikit-learn: Machine Learning in Python. JMLR 12, 2011.",
]


def three_decimals(x) -> str:
    return f"{x:.3f}"


def interval(scores: LevelScores, metric: str = "accuracy") -> str:
    low, high = getattr(scores.ci, metric)
    return f"{getattr(scores, metric):.3f} [{low:.3f}, {high:.3f}]"


def difference(entry: SystemScores) -> str:
    """The model's video accuracy minus a system's, with the paired interval."""
    diff = entry.difference_vs_model.video
    return "{:+.3f} [{:+.3f}, {:+.3f}]".format(diff.accuracy_difference, *diff.ci)


def p_value(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def duration(seconds: float, lang: str = "en") -> str:
    hours, minutes, secs = LANGUAGES[lang].UNITS
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} {hours}"
    if seconds >= 60:
        return f"{seconds / 60:.1f} {minutes}"
    return f"{seconds:.1f} {secs}"


def table_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


class ReportBuilder:
    """Collects report blocks: ``(kind, *payload)`` with kind in h1/h2/h3/p/na/table/img/link."""

    def __init__(self, lang: str):
        self.lang = lang
        self.strings = LANGUAGES[lang].TEXT
        self.headers = LANGUAGES[lang].HEADERS
        self.blocks: list[tuple] = []

    def add(self, kind, *payload):
        self.blocks.append((kind, *payload))

    def table(self, header_keys, rows):
        """A table whose column titles are this language's ``HEADERS`` of ``header_keys``."""
        self.add("table", [self.headers[key] for key in header_keys], rows)

    def not_available(self, reason: str):
        self.add("na", self.strings["na"].format(reason))


# ---------------------------------------------------------------- sections

def goal(report: ReportBuilder, metrics: EvalRecord):
    names = metrics.class_names
    report.add("h2", report.strings["goal"])
    report.add("p", report.strings["goal_text"].format(k=len(names), names=", ".join(names)))


def data_section(report: ReportBuilder, metrics: EvalRecord):
    report.add("h2", report.strings["data"])
    listing_section(report, metrics.data)
    downloads_section(report, metrics.data)
    balance_section(report, metrics.data)
    splits_section(report, metrics)


def listing_section(report: ReportBuilder, data: DataSummary):
    report.add("h3", report.strings["listing"])
    downloads = data.downloads
    if downloads is None or not downloads.listing:
        report.not_available(data.downloads_missing
                             or "no listing_report.json with per_category counts in the download directories")
        return
    report.add("p", report.strings["listing_text"])
    keys = list(dict.fromkeys(key for counts in downloads.listing.values() for key in counts))
    report.add("table", [report.headers["category"], *keys],
               [[category, *[table_value(counts.get(key, 0)) for key in keys]]
                for category, counts in downloads.listing.items()])


def downloads_section(report: ReportBuilder, data: DataSummary):
    report.add("h3", report.strings["downloads"])
    downloads = data.downloads
    if downloads is None:
        report.not_available(data.downloads_missing)
        return
    report.add("p", report.strings["downloads_text"])
    rows = []
    for category, entry in downloads.per_category.items():
        success = entry.ok / entry.attempted if entry.attempted else 0.0
        reasons = "; ".join(f"{reason}: {count}" for reason, count in entry.reasons.items()) or "-"
        rows.append([category, entry.attempted, entry.ok, entry.failed, f"{success:.0%}", f"{entry.hours:.2f}",
                     reasons])
    report.table(("category", "attempted", "ok", "failed", "success", "hours", "reasons"), rows)
    for problem in downloads.problems:
        report.not_available(problem)


def build_settings(stats: PrepareStats) -> list[list]:
    """prepare's settings that decide what the splits hold, from the dataset's build record."""
    build = stats.build
    rows = [["balance", build.balance], ["split", build.split], ["seed", build.seed],
            ["clip_seconds", table_value(build.clip_seconds)], ["hop_seconds", table_value(build.hop_seconds)],
            ["train_row_seconds", table_value(build.train_row_seconds)],
            ["max_clips_per_video", build.max_clips_per_video], ["min_rms_db", table_value(build.min_rms_db)],
            ["group_by", build.group_by], ["max_videos_per_group", build.max_videos_per_group]]
    grouping = stats.grouping
    if grouping is not None:
        rows += [[f"videos grouped by {source}", n] for source, n in grouping.group_source_counts.items()]
        rows += [["videos dropped by the group cap", grouping.videos_dropped_by_cap],
                 ["byte-identical sources", len(grouping.duplicate_sources)],
                 ["groups per split", ", ".join(f"{k} {v}" for k, v in grouping.groups_per_split.items())]]
    rows.append(["command", build.command or "not recorded"])
    return rows


def balance_section(report: ReportBuilder, data: DataSummary):
    """prepare's balancing and grouping settings and what it dropped, from prepare_stats.json."""
    report.add("h3", report.strings["balance"])
    stats = data.prepare_stats
    if stats is None:
        report.not_available(data.prepare_stats_missing)
        return
    report.table(("setting", "value"), build_settings(stats))
    rows = [[f"videos.{key}", value] for key, value in stats.dropped.videos.items()]
    rows += [[f"clips.{key}", value] for key, value in stats.dropped.clips.items()]
    report.table(("dropped", "count"), rows or [[report.headers["nothing"], 0]])


def splits_section(report: ReportBuilder, metrics: EvalRecord):
    """Videos, clips and hours per split and class; the null accuracy; the checked overlap between splits."""
    report.add("h3", report.strings["splits"])
    report.add("p", report.strings["splits_text"])
    rows = []
    for split, per_class in metrics.data.splits.items():
        for name in metrics.class_names:
            counts = per_class[name]
            rows.append([split, name, counts.videos, counts.clips, f"{counts.hours:.3f}"])
        rows.append([split, report.headers["all"], sum(c.videos for c in per_class.values()),
                     sum(c.clips for c in per_class.values()), f"{sum(c.hours for c in per_class.values()):.3f}"])
    report.table(("split", "class", "videos", "clips", "hours"), rows)
    null_statement(report, metrics)
    for sentence in overlap_sentences(report.strings, metrics.checks.overlap):
        report.add("p", sentence)


def null_statement(report: ReportBuilder, metrics: EvalRecord):
    """What a constant answer scores on the evaluated split: the accuracy every p-value here tests against."""
    strings, null, split = report.strings, metrics.checks.null, metrics.split
    if null.balanced:
        videos = metrics.checks.overlap.videos.n // len(metrics.class_names)
        report.add("p", strings["null_chance"].format(split=split, n=videos, null=three_decimals(null.accuracy)))
    else:
        counts = ", ".join(f"{name} {count}" for name, count in (null.videos_per_class or {}).items())
        report.add("p", strings["null_majority"].format(split=split, counts=counts, cls=null.class_name,
                                                        null=three_decimals(null.accuracy),
                                                        chance=three_decimals(1 / len(metrics.class_names))))


def overlap_sentences(strings: dict, overlap: Overlap, leaks_only: bool = False) -> list[str]:
    """The overlap of the evaluated split with the others, as counted on the dataset (never assumed); with
    ``leaks_only`` just the warnings."""
    common = {"split": overlap.split, "others": "/".join(overlap.other_splits) or "-"}
    videos, groups, sentences = overlap.videos, overlap.groups, []
    if videos.shared or not leaks_only:
        key = "overlap_videos_some" if videos.shared else "overlap_videos_none"
        sentences.append(strings[key].format(n=videos.n, shared=videos.shared, examples=", ".join(videos.examples),
                                             **common))
    if groups is None:
        if not leaks_only:
            sentences.append(strings["overlap_channels_unknown"].format(reason=overlap.groups_missing))
    elif groups.shared or not leaks_only:
        key = "overlap_channels_some" if groups.shared else "overlap_channels_none"
        by = strings["overlap_by_group" if groups.key == "group" else "overlap_by_name"]
        sentences.append(strings[key].format(n=groups.n, shared=groups.shared, examples=", ".join(groups.examples),
                                             videos=groups.videos_in_shared_groups, unknown=groups.videos_without_group,
                                             by=by, **common))
    return sentences


def null_kind(strings: dict, metrics: EvalRecord) -> str:
    kind = "null_kind_chance" if metrics.checks.null.balanced else "null_kind_majority"
    return strings[kind].format(split=metrics.split)


def caveats(strings: dict, metrics: EvalRecord) -> list[str]:
    """The caveats the headline must carry: few videos, evaluation on the selection split, leaks between splits."""
    checks, lines = metrics.checks, []
    if checks.few_videos:
        lines.append(strings["few_videos_caveat"].format(n=metrics.video.n, split=metrics.split,
                                                  min=checks.min_videos_for_claims))
    selection = checks.selection
    if selection.flagged:
        allowed = strings["selection_allowed"] if selection.allow_test_selection else ""
        lines.append(strings["selection_flag"].format(split=metrics.split, selection=selection.selection_split,
                                                      allowed=allowed))
    return lines + overlap_sentences(strings, checks.overlap, leaks_only=True)


def method_section(report: ReportBuilder, metrics: EvalRecord):
    strings, run = report.strings, metrics.run
    report.add("h2", strings["method"])
    report.add("p", strings["model_line"].format(metrics.model))
    if metrics.base_model:
        report.add("p", strings["base_line"].format(metrics.base_model))
    else:
        report.not_available(run.missing.get(RUN_CONFIG, "the run record has no base_model"))
    recipe_section(report, run)
    hardware_section(report, run)
    protocol_section(report, metrics)


def recipe_section(report: ReportBuilder, run: RunSection):
    """The hyperparameters a reader needs to repeat the run (the same list the model card shows), and what the
    training set was: train row length and crops per epoch."""
    report.add("h3", report.strings["recipe"])
    record = run.files
    if record is None:
        report.not_available(run.missing.get(RUN_CONFIG))
        return
    rows = [[key, table_value(value)] for key, value in record.hyperparameters() if value is not None]
    rows.append(["dataset_name", record.dataset_name])
    report.table(("hyperparameter", "value"), rows)
    crops = record.crops
    if crops is not None:
        build = record.dataset_build
        report.add("p", report.strings["crops_text"].format(
            rows=crops.train_rows, row=table_value(build.train_row_seconds) if build else "?", crops=crops.crops_per_epoch,
            crop=table_value(crops.crop_seconds), clip=table_value(crops.clip_seconds)))


def hardware_section(report: ReportBuilder, run: RunSection):
    report.add("h3", report.strings["hardware"])
    record = run.files
    if record is None or record.hardware is None:
        report.not_available(run.missing.get(RUN_CONFIG) or "the run record has no hardware entry")
    else:
        report.table(("hardware", "value"), [[name, table_value(value)]
                                             for name, value in record.hardware.to_json().items()])
    if record is not None and record.train_runtime_s is not None:
        report.add("p", report.strings["train_time"].format(duration(record.train_runtime_s, report.lang)))
    else:
        report.not_available(run.missing.get(RUN_CONFIG) or "the run record has no train_runtime_s")


def protocol_section(report: ReportBuilder, metrics: EvalRecord):
    strings, inference = report.strings, metrics.inference
    report.add("h3", strings["protocol"])
    report.add("p", strings["protocol_text"].format(
        window=f"{inference.window_seconds:g}", source=inference.window_source,
        batch=inference.batch_size, agg=strings["agg_" + inference.aggregate],
        boot=metrics.clip.n_resamples, null=three_decimals(metrics.checks.null.accuracy),
        null_kind=null_kind(strings, metrics), n_windows=inference.n_windows,
        audio=duration(inference.audio_seconds, report.lang),
        secs=duration(inference.inference_seconds, report.lang), device=inference.device,
        speed=inference.audio_seconds_per_second))
    selection = metrics.checks.selection
    if selection.missing:
        report.not_available(selection.missing)
    elif not selection.flagged and selection.selection_split:
        report.add("p", strings["selection_ok"].format(selection=selection.selection_split, split=metrics.split))


def figure(report: ReportBuilder, metrics: EvalRecord, name: str, caption_key: str):
    entry = metrics.figures.get(name) or Figure(missing="not drawn")
    if entry.png:
        report.add("img", entry.png, report.strings[caption_key])
        if entry.html:
            report.add("link", entry.html, report.strings["interactive"].format(Path(entry.html).name))
    else:
        report.add("p", report.strings[caption_key] + ":")
        report.not_available(entry.missing)


def headline_p_value(strings: dict, test: BinomialTest) -> str:
    return strings["p_na"] if test.p_value is None else p_value(test.p_value)


def results_section(report: ReportBuilder, metrics: EvalRecord):
    strings = report.strings
    report.add("h2", strings["results"])
    report.add("h3", strings["headline"].format(split=metrics.split))
    for line in caveats(strings, metrics):
        report.add("p", line)
    rows = [[strings[level + "s"], scores.n, interval(scores), interval(scores, "macro_f1"),
             headline_p_value(strings, scores.binomial_test)]
            for level, scores in (("clip", metrics.clip), ("video", metrics.video))]
    report.add("table", [strings[key] for key in ("level", "items", "accuracy", "macro_f1", "p_chance")], rows)
    report.add("p", strings["clip_caveat"].format(null=three_decimals(metrics.checks.null.accuracy),
                                                  null_kind=null_kind(strings, metrics)))
    for level, scores in (("video", metrics.video), ("clip", metrics.clip)):
        report.add("h3", strings["per_class_title"].format(level=strings["level_" + level]))
        report.add("table", [strings[key] for key in ("class", "precision", "recall", "f1", "support")],
                   [[name, three_decimals(c.precision), three_decimals(c.recall), three_decimals(c.f1), c.support]
                    for name, c in scores.per_class.items()])
    figure(report, metrics, "confusion_video", "fig_confusion_video")
    figure(report, metrics, "confusion_clip", "fig_confusion_clip")
    figure(report, metrics, "per_class_accuracy", "fig_per_class")
    figure(report, metrics, "training_curves", "fig_training")
    figure(report, metrics, "embeddings", "fig_embeddings")
    report.add("h3", strings["training_results"])
    results = metrics.run.all_results
    if results:
        report.table(("metric", "value"), [[key, table_value(value)] for key, value in results.items()
                                           if isinstance(value, (int, float))])
    else:
        report.not_available(metrics.run.missing.get("all_results.json", "all_results.json is empty"))


def comparison_rows(report: ReportBuilder, metrics: EvalRecord) -> list[list]:
    strings = report.strings
    chance = metrics.references.chance
    model_accuracy = metrics.video.accuracy
    rows = [[strings["model_name"], interval(metrics.clip), interval(metrics.video),
             three_decimals(metrics.video.macro_f1), "-"],
            [strings["chance_name"], three_decimals(chance), three_decimals(chance), "-",
             f"{model_accuracy - chance:+.3f}"]]
    null = metrics.checks.null
    if not null.balanced:
        rows.append([strings["null_name"].format(null_kind(strings, metrics)), "-", three_decimals(null.accuracy),
                     "-", f"{model_accuracy - null.accuracy:+.3f}"])
    systems = []
    majority = metrics.references.majority
    if majority is not None:
        systems.append((strings["majority_name"].format(majority.class_name), majority))
    systems += [(entry.name, entry) for entry in metrics.baselines.values()]
    for name, entry in systems:
        rows.append([name, interval(entry.clip), interval(entry.video), three_decimals(entry.video.macro_f1),
                     difference(entry)])
    return rows


def comparison_section(report: ReportBuilder, metrics: EvalRecord):
    strings = report.strings
    report.add("h2", strings["comparison"])
    report.add("p", strings["comparison_text"].format(split=metrics.split))
    frozen = metrics.baselines.get(FROZEN)
    if frozen is not None:
        report.add("p", frozen_sentence(strings, metrics, frozen))
    report.add("table", [strings[key] for key in ("system", "clip_acc", "video_acc", "video_f1", "diff")],
               comparison_rows(report, metrics))
    protocol = metrics.baseline_protocol
    if protocol is not None:
        key = "baseline_protocol" if protocol.unit_seconds is not None else "baseline_protocol_rows"
        report.add("p", strings[key].format(train=protocol.train_clips, rows=protocol.train_rows,
                                            unit=table_value(protocol.unit_seconds), eval=protocol.eval_clips,
                                            split=metrics.split))
    if metrics.references.majority_missing:
        report.not_available(metrics.references.majority_missing)
    for name, reason in metrics.baselines_missing.items():
        report.add("na", strings["baseline_missing"].format(name, reason))


FROZEN = "frozen_encoder_logistic_regression"


def frozen_sentence(strings: dict, metrics: EvalRecord, frozen: SystemScores) -> str:
    """The headline comparison of fine-tuning: the model against a linear probe on its own frozen encoder."""
    diff = frozen.difference_vs_model.video
    low, high = diff.ci
    verdict = strings["c_sig"] if low > 0 or high < 0 else strings["c_nosig"]
    return strings["frozen_headline"].format(acc=three_decimals(frozen.video.accuracy),
                                             d=f"{diff.accuracy_difference:+.3f}", dlo=f"{low:+.3f}",
                                             dhi=f"{high:+.3f}", sig=verdict, n=metrics.video.n)


def text_section(report: ReportBuilder, metrics: EvalRecord):
    """Section 5.1: audio, text and fusion side by side, per-class recall, examples of disagreement."""
    strings, text = report.strings, metrics.text
    report.add("h3", strings["text"])
    systems = text.systems
    if not systems:
        for name, reason in (text.missing or {"all": "no text results"}).items():
            report.add("na", strings["baseline_missing"].format(name, reason))
        return
    sources = ", ".join(f"{source}: {count}" for source, count in text.sources.items() if count)
    train_videos = sum(counts.videos for counts in metrics.data.splits.get("train", {}).values())
    report.add("p", strings["text_intro"].format(sources=sources or "-", n_train=train_videos,
                                                 n_val=text.n_videos.get("validation", 0)))
    rows = [[strings["audio_alone"], interval(metrics.video), interval(metrics.video, "macro_f1"), "-"]]
    rows += [[entry.name, interval(entry.video), interval(entry.video, "macro_f1"), difference(entry)]
             for entry in systems.values()]
    report.add("table", [strings[key] for key in ("text_system", "text_video_acc", "text_video_f1", "text_diff")], rows)
    for name, fusion in text.fusion.items():
        if fusion.chosen_on == "cross_fit":
            folds = fusion.folds
            report.add("p", strings["text_weight_cross_fit"].format(
                name=systems[name].name, n=sum(f.videos for f in folds), split=fusion.split, k=len(folds),
                weights=", ".join(f"{f.weight:.2f}" for f in folds), w=fusion.weight))
            continue
        chosen = next(row for row in fusion.validation_grid if row.weight == fusion.weight)
        report.add("p", strings["text_weight"].format(name=systems[name].name, w=fusion.weight,
                                                      n_val=fusion.validation_videos, loss=chosen.log_loss,
                                                      acc=chosen.accuracy))
    for name, reason in text.missing.items():
        report.add("na", strings["baseline_missing"].format(name, reason))
    text_recall_section(report, metrics, systems)
    text_examples_section(report, text.disagreements)


def text_recall_section(report: ReportBuilder, metrics: EvalRecord, systems: dict[str, SystemScores]):
    strings, text = report.strings, metrics.text
    recall = text.per_class_recall
    report.add("h3", strings["text_recall"])
    columns = list(recall)
    titles = [strings["audio_alone"] if column == "audio" else systems[column].name for column in columns]
    report.add("table", [strings["class"], *titles],
               [[name, *[three_decimals(recall[column][name]) if recall[column][name] is not None else "-"
                         for column in columns]] for name in metrics.class_names])
    if "text_tfidf" in recall:
        report.add("p", recall_sentence(strings, recall["audio"], recall["text_tfidf"]))
    agreement = text.agreement
    if agreement is not None:
        report.add("p", strings["text_agreement"].format(
            agree=agreement.agree, videos=agreement.videos, differ=agreement.videos - agreement.agree,
            audio=agreement.disagree_audio_right, text=agreement.disagree_text_right,
            neither=agreement.disagree_neither_right))


def text_examples_section(report: ReportBuilder, examples: list[Disagreement]):
    strings = report.strings
    report.add("h3", strings["text_examples"])
    if not examples:
        report.add("p", strings["text_examples_none"])
        return
    systems = [name for name in ("audio", "text", "fusion") if name in examples[0].predicted]
    report.add("table", [strings[key] for key in ("ex_video", "ex_title", "ex_true", *(f"ex_{n}" for n in systems))],
               [[example.video_id, example.title[:90], example.true_class, *(example.predicted[n] for n in systems)]
                for example in examples])


def recall_sentence(strings: dict, audio: dict, text: dict) -> str:
    present = [name for name in audio if audio[name] is not None]
    groups = {"audio_better": [n for n in present if audio[n] > text[n] + 1e-9],
              "text_better": [n for n in present if text[n] > audio[n] + 1e-9]}
    groups["level"] = [n for n in present if n not in groups["audio_better"] + groups["text_better"]]
    return strings["text_recall_sentence"].format(**{group: ", ".join(names) or strings["none_word"]
                                                     for group, names in groups.items()})


def accuracy_with_interval(scores: LevelScores) -> dict:
    """``acc``, ``lo``, ``hi`` of one level's accuracy, formatted for a sentence."""
    low, high = scores.ci.accuracy
    return {"acc": three_decimals(scores.accuracy), "lo": three_decimals(low), "hi": three_decimals(high)}


def text_conclusion(strings: dict, metrics: EvalRecord) -> str | None:
    systems = metrics.text.systems
    if "text_tfidf" not in systems:
        return None
    fusion = systems.get("fusion_tfidf")
    if fusion is not None:
        chosen = metrics.text.fusion["fusion_tfidf"]
        where = strings["where_cross_fit" if chosen.chosen_on == "cross_fit" else "where_validation"]
        fused = strings["c_fused"].format(w=chosen.weight, where=where, **accuracy_with_interval(fusion.video))
    else:
        fused = strings["c_no_fusion"].format(metrics.text.missing.get("fusion_tfidf", "-"))
    return strings["c_text"].format(name="TF-IDF", fused=fused, **accuracy_with_interval(systems["text_tfidf"].video))


def model_sentence(strings: dict, metrics: EvalRecord) -> str:
    """The headline claim: video accuracy against the null, with the video-level test worded by the rules (no
    claim with fewer than ``MIN_VIDEOS_FOR_CLAIMS`` videos)."""
    video, null = metrics.video, metrics.checks.null.accuracy
    gap = (video.accuracy - null) * 100
    p = video.binomial_test.p_value
    if metrics.checks.few_videos:
        test = strings["sig_few"].format(p=p_value(p), n=video.n)
    else:
        test = (strings["sig_yes"] if p < 0.05 else strings["sig_no"]).format(p=p_value(p))
    return strings["c_main"].format(n=video.n, split=metrics.split, pts=f"{abs(gap):.1f}",
                                    dir=strings["above"] if gap >= 0 else strings["below"], null=f"{null:.1%}",
                                    null_kind=null_kind(strings, metrics), sig=test, **accuracy_with_interval(video))


def best_baseline_sentence(strings: dict, metrics: EvalRecord) -> str:
    """The best audio baseline against the model: the paired interval says whether it excludes zero, and with few
    videos that no difference is called significant."""
    best = max(metrics.baselines.values(), key=lambda entry: entry.video.accuracy)
    diff = best.difference_vs_model.video
    low, high = diff.ci
    interval_words = strings["c_sig"] if low > 0 or high < 0 else strings["c_nosig"]
    if metrics.checks.few_videos:
        interval_words += "; " + strings["c_few"].format(n=metrics.video.n)
    return strings["c_best"].format(
        name=best.name, **accuracy_with_interval(best.video),
        diff=f"{abs(diff.accuracy_difference) * 100:.1f}",
        dir2=strings["c_better"] if diff.accuracy_difference >= 0 else strings["c_worse"],
        dlo=f"{low * 100:+.1f}", dhi=f"{high * 100:+.1f}", sig=interval_words)


def conclusion_sentences(strings: dict, metrics: EvalRecord) -> list[str]:
    """The conclusion, written from the numbers and the checks."""
    video, clip = metrics.video, metrics.clip
    sentences = [model_sentence(strings, metrics),
                 strings["c_clip"].format(n=clip.n, f1=three_decimals(video.macro_f1), **accuracy_with_interval(clip))]
    majority = metrics.references.majority
    if majority is not None:
        sentences.append(strings["c_majority"].format(cls=majority.class_name,
                                                      acc=three_decimals(majority.video.accuracy)))
    frozen = metrics.baselines.get(FROZEN)
    if frozen is not None:
        sentences.append(frozen_sentence(strings, metrics, frozen))
    if metrics.baselines:
        sentences.append(best_baseline_sentence(strings, metrics))
    else:
        missing = "; ".join(dict.fromkeys(metrics.baselines_missing.values()))
        sentences.append(strings["c_no_baselines"].format(missing))
    text_sentence = text_conclusion(strings, metrics)
    if text_sentence:
        sentences.append(text_sentence)
    sentences.append(hardest_class(strings, metrics))
    sentences += [strings["c_leak"].format(line) for line in caveats(strings, metrics)]
    return sentences


def hardest_class(strings: dict, metrics: EvalRecord) -> str:
    names, video = metrics.class_names, metrics.video
    confusion = video.confusion
    errors = [(confusion[i][j], i, j) for i in range(len(names)) for j in range(len(names)) if i != j]
    count, true_row, predicted_column = max(errors) if errors else (0, 0, 0)
    if count == 0:
        return strings["c_perfect"]
    present = {n: e for n, e in video.per_class.items() if e.support > 0}
    hardest = min(present, key=lambda n: present[n].recall)
    return strings["c_hardest"].format(cls=hardest, rec=three_decimals(present[hardest].recall), a=names[true_row],
                                       b=names[predicted_column], n=count)


def references_section(report: ReportBuilder, metrics: EvalRecord):
    report.add("h2", report.strings["references"])
    report.add("ol", REFERENCES)
    versions = ", ".join(f"{package} {'not installed' if version is None else version}"
                         for package, version in metrics.versions.items())
    report.add("p", report.strings["versions"].format(versions))
    hashes = metrics.input_hashes
    report.add("p", report.strings["hashes"].format(ds=hashes.dataset_fingerprint, model=hashes.model_fingerprint))


def build_blocks(metrics: EvalRecord, lang: str) -> list[tuple]:
    if lang not in LANGUAGES:
        raise ValueError(f"report language {lang!r}: expected one of {sorted(LANGUAGES)}")
    report = ReportBuilder(lang)
    report.add("h1", report.strings["title"])
    goal(report, metrics)
    data_section(report, metrics)
    method_section(report, metrics)
    results_section(report, metrics)
    comparison_section(report, metrics)
    text_section(report, metrics)
    report.add("h2", report.strings["conclusion"])
    for sentence in conclusion_sentences(report.strings, metrics):
        report.add("p", sentence)
    references_section(report, metrics)
    return report.blocks
