"""The report's sections, built from the metrics dict as a list of blocks that ``evaluation.report.render`` turns
into Markdown and HTML (so both files always say the same thing).

A section builder takes the ``ReportBuilder`` (blocks so far, the language's strings and table headers) and the
metrics; every number comes from the metrics, and a missing input becomes a "not available: <reason>" line.

Example::

    from evaluation.report.sections import build_blocks
    blocks = build_blocks(metrics, "ru")     # [("h1", title), ("h2", "1. ..."), ("table", headers, rows), ...]
"""

from __future__ import annotations

from pathlib import Path

from evaluation.inputs import flatten
from evaluation.report import en, ru
from common.runs import HYPERPARAMETERS

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


def interval(entry: dict, metric: str = "accuracy") -> str:
    low, high = entry["ci"][metric]
    return f"{entry[metric]:.3f} [{low:.3f}, {high:.3f}]"


def difference(entry: dict) -> str:
    """The model's video accuracy minus a system's, with the paired interval."""
    diff = entry["difference_vs_model"]["video"]
    return "{:+.3f} [{:+.3f}, {:+.3f}]".format(diff["accuracy_difference"], *diff["ci"])


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

def goal(report: ReportBuilder, metrics: dict):
    names = metrics["class_names"]
    report.add("h2", report.strings["goal"])
    report.add("p", report.strings["goal_text"].format(k=len(names), names=", ".join(names)))


def data_section(report: ReportBuilder, metrics: dict):
    report.add("h2", report.strings["data"])
    listing_section(report, metrics["data"])
    downloads_section(report, metrics["data"])
    balance_section(report, metrics["data"])
    splits_section(report, metrics)


def listing_section(report: ReportBuilder, data: dict):
    report.add("h3", report.strings["listing"])
    downloads = data.get("downloads")
    if not (downloads and downloads.get("listing")):
        report.not_available(data.get("downloads_missing")
                             or "no listing_report.json with per_category counts in the download directories")
        return
    report.add("p", report.strings["listing_text"])
    listing = downloads["listing"]
    keys = list(dict.fromkeys(key for counts in listing.values() for key in counts))
    report.add("table", [report.headers["category"], *keys],
               [[category, *[table_value(counts.get(key, 0)) for key in keys]] for category, counts in listing.items()])


def downloads_section(report: ReportBuilder, data: dict):
    report.add("h3", report.strings["downloads"])
    downloads = data.get("downloads")
    if not downloads:
        report.not_available(data.get("downloads_missing"))
        return
    report.add("p", report.strings["downloads_text"])
    rows = []
    for category, entry in downloads["per_category"].items():
        success = entry["ok"] / entry["attempted"] if entry["attempted"] else 0.0
        reasons = "; ".join(f"{reason}: {count}" for reason, count in entry["reasons"].items()) or "-"
        rows.append([category, entry["attempted"], entry["ok"], entry["failed"], f"{success:.0%}",
                     f"{entry['hours']:.2f}", reasons])
    report.table(("category", "attempted", "ok", "failed", "success", "hours", "reasons"), rows)
    for problem in downloads.get("problems", []):
        report.not_available(problem)


BALANCE_SETTINGS = ("balance", "split", "seed", "clip_seconds", "hop_seconds", "max_clips_per_video", "min_rms_db")


def balance_section(report: ReportBuilder, data: dict):
    """prepare's balancing and grouping settings and what it dropped, from prepare_stats.json."""
    report.add("h3", report.strings["balance"])
    stats = data.get("prepare_stats")
    if stats is None:
        report.not_available(data.get("prepare_stats_missing"))
        return
    prepare_config = stats.get("config") if isinstance(stats.get("config"), dict) else {}
    settings = [[key, table_value(prepare_config[key])] for key in BALANCE_SETTINGS if key in prepare_config]
    grouping = stats.get("grouping")
    if isinstance(grouping, dict):
        settings += [[key, table_value(value)] for key, value in flatten(grouping, "grouping")]
    if settings:
        report.table(("setting", "value"), settings)
    else:
        report.not_available("prepare_stats.json has no config entry with the balancing settings")
    dropped = (stats or {}).get("dropped")
    if isinstance(dropped, dict):
        rows = [[key, table_value(value)] for key, value in flatten(dropped)]
        report.table(("dropped", "count"), rows or [[report.headers["nothing"], 0]])
    else:
        report.not_available("prepare_stats.json has no 'dropped' entry")


def splits_section(report: ReportBuilder, metrics: dict):
    """Videos, clips and hours per split and class; the null accuracy; the checked overlap between splits."""
    report.add("h3", report.strings["splits"])
    report.add("p", report.strings["splits_text"])
    rows = []
    for split, per_class in metrics["data"]["splits"].items():
        for name in metrics["class_names"]:
            counts = per_class[name]
            rows.append([split, name, counts["videos"], counts["clips"], f"{counts['hours']:.3f}"])
        totals = {key: sum(counts[key] for counts in per_class.values()) for key in ("videos", "clips", "hours")}
        rows.append([split, report.headers["all"], totals["videos"], totals["clips"], f"{totals['hours']:.3f}"])
    report.table(("split", "class", "videos", "clips", "hours"), rows)
    null_statement(report, metrics)
    for sentence in overlap_sentences(report.strings, metrics["checks"]["overlap"]):
        report.add("p", sentence)


def null_statement(report: ReportBuilder, metrics: dict):
    """What a constant answer scores on the evaluated split: the accuracy every p-value here tests against."""
    strings, null, split = report.strings, metrics["checks"]["null"], metrics["split"]
    if null["balanced"]:
        videos = metrics["checks"]["overlap"]["videos"]["n"] // len(metrics["class_names"])
        report.add("p", strings["null_chance"].format(split=split, n=videos, null=three_decimals(null["accuracy"])))
    else:
        counts = ", ".join(f"{name} {count}" for name, count in null["videos_per_class"].items())
        report.add("p", strings["null_majority"].format(split=split, counts=counts, cls=null["class"],
                                                        null=three_decimals(null["accuracy"]),
                                                        chance=three_decimals(1 / len(metrics["class_names"]))))


def overlap_sentences(strings: dict, overlap: dict, leaks_only: bool = False) -> list[str]:
    """The overlap of the evaluated split with the others, as counted on the dataset (never assumed); with
    ``leaks_only`` just the warnings."""
    common = {"split": overlap["split"], "others": "/".join(overlap["other_splits"]) or "-"}
    videos, channels, sentences = overlap["videos"], overlap["channels"], []
    if videos["shared"] or not leaks_only:
        key = "overlap_videos_some" if videos["shared"] else "overlap_videos_none"
        sentences.append(strings[key].format(n=videos["n"], shared=videos["shared"],
                                             examples=", ".join(videos["examples"]), **common))
    if "missing" in channels:
        if not leaks_only:
            sentences.append(strings["overlap_channels_unknown"].format(reason=channels["missing"]))
    elif channels["shared"] or not leaks_only:
        key = "overlap_channels_some" if channels["shared"] else "overlap_channels_none"
        sentences.append(strings[key].format(n=channels["n"], shared=channels["shared"],
                                             examples=", ".join(channels["examples"]),
                                             videos=channels["videos_in_shared_channels"],
                                             unknown=channels["videos_without_channel"], **common))
    return sentences


def null_kind(strings: dict, metrics: dict) -> str:
    kind = "null_kind_chance" if metrics["checks"]["null"]["balanced"] else "null_kind_majority"
    return strings[kind].format(split=metrics["split"])


def caveats(strings: dict, metrics: dict) -> list[str]:
    """The caveats the headline must carry: few videos, evaluation on the selection split, leaks between splits."""
    checks, lines = metrics["checks"], []
    if checks["few_videos"]:
        lines.append(strings["few_videos"].format(n=metrics["video"]["n"], split=metrics["split"],
                                                  min=checks["min_videos_for_claims"]))
    selection = checks["selection"]
    if selection["flagged"]:
        allowed = strings["selection_allowed"] if selection.get("allow_test_selection") else ""
        lines.append(strings["selection_flag"].format(split=metrics["split"], selection=selection["selection_split"],
                                                      allowed=allowed))
    return lines + overlap_sentences(strings, checks["overlap"], leaks_only=True)


def method_section(report: ReportBuilder, metrics: dict):
    strings, run = report.strings, metrics["run"]
    report.add("h2", strings["method"])
    report.add("p", strings["model_line"].format(metrics["config"]["model"]))
    run_config = run.get("files")
    base = metrics["config"].get("base_model") or (run_config or {}).get("base_model")
    if base:
        report.add("p", strings["base_line"].format(base))
    else:
        report.not_available(run["missing"].get("run_config.json", "run_config.json has no base_model"))
    recipe_section(report, run_config, run["missing"])
    hardware_section(report, run_config, run["missing"])
    protocol_section(report, metrics)


def recipe_section(report: ReportBuilder, run_config: dict | None, missing: dict):
    """The hyperparameters a reader needs to repeat the run (the same list the model card shows)."""
    report.add("h3", report.strings["recipe"])
    if run_config is None:
        report.not_available(missing.get("run_config.json"))
        return
    training = run_config.get("training_args") if isinstance(run_config.get("training_args"), dict) else {}
    rows = [[key, table_value(training[key])] for key in HYPERPARAMETERS if key in training]
    rows += [[key, table_value(run_config[key])]
             for key in ("max_length_seconds", "eval_window_seconds", "dataset_name") if key in run_config]
    model_args = run_config.get("model_args") if isinstance(run_config.get("model_args"), dict) else {}
    rows += [[f"model_args.{key}", table_value(value)] for key, value in model_args.items()
             if not isinstance(value, (dict, list))]
    if rows:
        report.table(("hyperparameter", "value"), rows)
    else:
        report.not_available("run_config.json holds no training_args/model_args")


def hardware_section(report: ReportBuilder, run_config: dict | None, missing: dict):
    report.add("h3", report.strings["hardware"])
    hardware = (run_config or {}).get("hardware")
    if isinstance(hardware, dict) and hardware:
        report.table(("hardware", "value"), [[key, table_value(value)] for key, value in flatten(hardware)])
    else:
        report.not_available(missing.get("run_config.json") or "run_config.json has no hardware entry")
    runtime = (run_config or {}).get("train_runtime_s")
    if isinstance(runtime, (int, float)):
        report.add("p", report.strings["train_time"].format(duration(runtime, report.lang)))
    else:
        report.not_available(missing.get("run_config.json") or "run_config.json has no train_runtime_s")


def protocol_section(report: ReportBuilder, metrics: dict):
    strings, inference = report.strings, metrics["inference"]
    report.add("h3", strings["protocol"])
    report.add("p", strings["protocol_text"].format(
        window=f"{inference['window_seconds']:g}", source=inference["window_source"],
        batch=metrics["config"]["batch_size"], agg=strings["agg_" + inference["aggregate"]],
        boot=metrics["clip"]["n_resamples"], null=three_decimals(metrics["checks"]["null"]["accuracy"]),
        null_kind=null_kind(strings, metrics), n_windows=inference["n_windows"],
        audio=duration(inference["audio_seconds"], report.lang),
        secs=duration(inference["inference_seconds"], report.lang), device=inference["device"],
        speed=inference["audio_seconds_per_second"]))
    selection = metrics["checks"]["selection"]
    if "missing" in selection:
        report.not_available(selection["missing"])
    elif not selection["flagged"]:
        report.add("p", strings["selection_ok"].format(selection=selection["selection_split"], split=metrics["split"]))


def figure(report: ReportBuilder, metrics: dict, name: str, caption_key: str):
    entry = metrics["figures"].get(name, {"missing": "not drawn"})
    if "png" in entry:
        report.add("img", entry["png"], report.strings[caption_key])
        if entry.get("html"):
            report.add("link", entry["html"], report.strings["interactive"].format(Path(entry["html"]).name))
    else:
        report.add("p", report.strings[caption_key] + ":")
        report.not_available(entry["missing"])


def headline_p_value(strings: dict, test: dict) -> str:
    return strings["p_na"] if test.get("p_value") is None else p_value(test["p_value"])


def results_section(report: ReportBuilder, metrics: dict):
    strings = report.strings
    report.add("h2", strings["results"])
    report.add("h3", strings["headline"].format(split=metrics["split"]))
    for line in caveats(strings, metrics):
        report.add("p", line)
    rows = [[strings[level + "s"], metrics[level]["n"], interval(metrics[level]), interval(metrics[level], "macro_f1"),
             headline_p_value(strings, metrics[level]["binomial_test"])] for level in ("clip", "video")]
    report.add("table", [strings[key] for key in ("level", "items", "accuracy", "macro_f1", "p_chance")], rows)
    report.add("p", strings["clip_caveat"].format(null=three_decimals(metrics["checks"]["null"]["accuracy"]),
                                                  null_kind=null_kind(strings, metrics)))
    for level in ("video", "clip"):
        report.add("h3", strings["per_class"].format(level=strings["level_" + level]))
        per_class = metrics[level]["per_class"]
        report.add("table", [strings[key] for key in ("class", "precision", "recall", "f1", "support")],
                   [[name, three_decimals(scores["precision"]), three_decimals(scores["recall"]),
                     three_decimals(scores["f1"]), scores["support"]] for name, scores in per_class.items()])
    figure(report, metrics, "confusion_video", "fig_confusion_video")
    figure(report, metrics, "confusion_clip", "fig_confusion_clip")
    figure(report, metrics, "per_class_accuracy", "fig_per_class")
    figure(report, metrics, "training_curves", "fig_training")
    figure(report, metrics, "embeddings", "fig_embeddings")
    report.add("h3", strings["training_results"])
    results = metrics["run"].get("all_results")
    if results:
        report.table(("metric", "value"), [[key, table_value(value)] for key, value in results.items()
                                           if isinstance(value, (int, float))])
    else:
        report.not_available(metrics["run"]["missing"].get("all_results.json", "all_results.json is empty"))


def comparison_rows(report: ReportBuilder, metrics: dict) -> list[list]:
    strings = report.strings
    chance = metrics["references"]["chance"]["accuracy"]
    model_accuracy = metrics["video"]["accuracy"]
    rows = [[strings["model_name"], interval(metrics["clip"]), interval(metrics["video"]),
             three_decimals(metrics["video"]["macro_f1"]), "-"],
            [strings["chance_name"], three_decimals(chance), three_decimals(chance), "-",
             f"{model_accuracy - chance:+.3f}"]]
    null = metrics["checks"]["null"]
    if not null["balanced"]:
        rows.append([strings["null_name"].format(null_kind(strings, metrics)), "-", three_decimals(null["accuracy"]),
                     "-", f"{model_accuracy - null['accuracy']:+.3f}"])
    systems = []
    majority = metrics["references"]["majority"]
    if "clip" in majority:
        systems.append((strings["majority_name"].format(majority["class"]), majority))
    systems += [(entry["label"], entry) for entry in metrics["baselines"].values()]
    for name, entry in systems:
        rows.append([name, interval(entry["clip"]), interval(entry["video"]),
                     three_decimals(entry["video"]["macro_f1"]), difference(entry)])
    return rows


def comparison_section(report: ReportBuilder, metrics: dict):
    strings = report.strings
    report.add("h2", strings["comparison"])
    report.add("p", strings["comparison_text"].format(split=metrics["split"]))
    report.add("table", [strings[key] for key in ("system", "clip_acc", "video_acc", "video_f1", "diff")],
               comparison_rows(report, metrics))
    if "missing" in metrics["references"]["majority"]:
        report.not_available(metrics["references"]["majority"]["missing"])
    for name, reason in metrics["baselines_missing"].items():
        report.add("na", strings["baseline_missing"].format(name, reason))


def text_section(report: ReportBuilder, metrics: dict):
    """Section 5.1: audio, text and fusion side by side, per-class recall, examples of disagreement."""
    strings, text = report.strings, metrics.get("text") or {}
    report.add("h3", strings["text"])
    systems = text.get("systems") or {}
    if not systems:
        for name, reason in (text.get("missing") or {"all": "no text results"}).items():
            report.add("na", strings["baseline_missing"].format(name, reason))
        return
    sources = ", ".join(f"{source}: {count}" for source, count in (text.get("sources") or {}).items() if count)
    train_videos = sum(counts["videos"] for counts in metrics["data"]["splits"].get("train", {}).values())
    report.add("p", strings["text_intro"].format(sources=sources or "-", n_train=train_videos,
                                                 n_val=(text.get("n_videos") or {}).get("validation", 0)))
    rows = [[strings["audio_alone"], interval(metrics["video"]), interval(metrics["video"], "macro_f1"), "-"]]
    rows += [[entry["label"], interval(entry["video"]), interval(entry["video"], "macro_f1"), difference(entry)]
             for entry in systems.values()]
    report.add("table", [strings[key] for key in ("text_system", "text_video_acc", "text_video_f1", "text_diff")], rows)
    for name, fusion in (text.get("fusion") or {}).items():
        if fusion.get("chosen_on") == "cross_fit":
            folds = fusion["folds"]
            report.add("p", strings["text_weight_cross_fit"].format(
                name=systems[name]["label"], n=sum(f["videos"] for f in folds), split=fusion["split"], k=len(folds),
                weights=", ".join(f"{f['weight']:.2f}" for f in folds), w=fusion["weight"]))
            continue
        chosen = next(row for row in fusion["validation_grid"] if row["weight"] == fusion["weight"])
        report.add("p", strings["text_weight"].format(name=systems[name]["label"], w=fusion["weight"],
                                                      n_val=fusion["validation_videos"], loss=chosen["log_loss"],
                                                      acc=chosen["accuracy"]))
    for name, reason in (text.get("missing") or {}).items():
        report.add("na", strings["baseline_missing"].format(name, reason))
    text_recall_section(report, metrics, systems)
    text_examples_section(report, text.get("disagreements") or [])


def text_recall_section(report: ReportBuilder, metrics: dict, systems: dict):
    strings, text = report.strings, metrics["text"]
    recall = text.get("per_class_recall") or {}
    report.add("h3", strings["text_recall"])
    columns = list(recall)
    titles = [strings["audio_alone"] if column == "audio" else systems[column]["label"] for column in columns]
    report.add("table", [strings["class"], *titles],
               [[name, *[three_decimals(recall[column][name]) if recall[column][name] is not None else "-"
                         for column in columns]] for name in metrics["class_names"]])
    if "text_tfidf" in recall:
        report.add("p", recall_sentence(strings, recall["audio"], recall["text_tfidf"]))
    agreement = text.get("agreement")
    if agreement:
        report.add("p", strings["text_agreement"].format(
            agree=agreement["agree"], videos=agreement["videos"], differ=agreement["videos"] - agreement["agree"],
            audio=agreement["disagree_audio_right"], text=agreement["disagree_text_right"],
            neither=agreement["disagree_neither_right"]))


def text_examples_section(report: ReportBuilder, examples: list[dict]):
    strings = report.strings
    report.add("h3", strings["text_examples"])
    if not examples:
        report.add("p", strings["text_examples_none"])
        return
    columns = ["ex_video", "ex_title", "ex_true", "ex_audio", "ex_text"]
    fields = ["video_id", "title", "label", "audio_predicted", "text_predicted"]
    if "fusion_predicted" in examples[0]:
        columns, fields = columns + ["ex_fusion"], fields + ["fusion_predicted"]
    report.add("table", [strings[key] for key in columns],
               [[example[field][:90] if field == "title" else example[field] for field in fields]
                for example in examples])


def recall_sentence(strings: dict, audio: dict, text: dict) -> str:
    present = [name for name in audio if audio[name] is not None]
    groups = {"audio_better": [n for n in present if audio[n] > text[n] + 1e-9],
              "text_better": [n for n in present if text[n] > audio[n] + 1e-9]}
    groups["level"] = [n for n in present if n not in groups["audio_better"] + groups["text_better"]]
    return strings["text_recall_sentence"].format(**{group: ", ".join(names) or strings["none_word"]
                                                     for group, names in groups.items()})


def accuracy_with_interval(scores: dict) -> dict:
    """``acc``, ``lo``, ``hi`` of one level's accuracy, formatted for a sentence."""
    low, high = scores["ci"]["accuracy"]
    return {"acc": three_decimals(scores["accuracy"]), "lo": three_decimals(low), "hi": three_decimals(high)}


def text_conclusion(strings: dict, metrics: dict) -> str | None:
    systems = (metrics.get("text") or {}).get("systems") or {}
    if "text_tfidf" not in systems:
        return None
    fusion = systems.get("fusion_tfidf")
    if fusion:
        chosen = metrics["text"]["fusion"]["fusion_tfidf"]
        where = strings["where_cross_fit" if chosen.get("chosen_on") == "cross_fit" else "where_validation"]
        fused = strings["c_fused"].format(w=chosen["weight"], where=where, **accuracy_with_interval(fusion["video"]))
    else:
        fused = strings["c_no_fusion"].format(metrics["text"]["missing"].get("fusion_tfidf", "-"))
    return strings["c_text"].format(name="TF-IDF", fused=fused,
                                    **accuracy_with_interval(systems["text_tfidf"]["video"]))


def model_sentence(strings: dict, metrics: dict) -> str:
    """The headline claim: video accuracy against the null, with the video-level test worded by the rules (no
    claim with fewer than ``MIN_VIDEOS_FOR_CLAIMS`` videos)."""
    video, null = metrics["video"], metrics["checks"]["null"]["accuracy"]
    gap = (video["accuracy"] - null) * 100
    p = video["binomial_test"]["p_value"]
    if metrics["checks"]["few_videos"]:
        test = strings["sig_few"].format(p=p_value(p), n=video["n"])
    else:
        test = (strings["sig_yes"] if p < 0.05 else strings["sig_no"]).format(p=p_value(p))
    return strings["c_main"].format(n=video["n"], split=metrics["split"], pts=f"{abs(gap):.1f}",
                                    dir=strings["above"] if gap >= 0 else strings["below"], null=f"{null:.1%}",
                                    null_kind=null_kind(strings, metrics), sig=test, **accuracy_with_interval(video))


def best_baseline_sentence(strings: dict, metrics: dict) -> str:
    """The best audio baseline against the model: the paired interval says whether it excludes zero, and with few
    videos that no difference is called significant."""
    best = max(metrics["baselines"].values(), key=lambda entry: entry["video"]["accuracy"])
    diff = best["difference_vs_model"]["video"]
    low, high = diff["ci"]
    interval_words = strings["c_sig"] if low > 0 or high < 0 else strings["c_nosig"]
    if metrics["checks"]["few_videos"]:
        interval_words += "; " + strings["c_few"].format(n=metrics["video"]["n"])
    return strings["c_best"].format(
        name=best["label"], **accuracy_with_interval(best["video"]),
        diff=f"{abs(diff['accuracy_difference']) * 100:.1f}",
        dir2=strings["c_better"] if diff["accuracy_difference"] >= 0 else strings["c_worse"],
        dlo=f"{low * 100:+.1f}", dhi=f"{high * 100:+.1f}", sig=interval_words)


def conclusion_sentences(strings: dict, metrics: dict) -> list[str]:
    """The conclusion, written from the numbers and the checks."""
    video, clip = metrics["video"], metrics["clip"]
    sentences = [model_sentence(strings, metrics),
                 strings["c_clip"].format(n=clip["n"], f1=three_decimals(video["macro_f1"]),
                                          **accuracy_with_interval(clip))]
    majority = metrics["references"]["majority"]
    if "video" in majority:
        sentences.append(strings["c_majority"].format(cls=majority["class"],
                                                      acc=three_decimals(majority["video"]["accuracy"])))
    if metrics["baselines"]:
        sentences.append(best_baseline_sentence(strings, metrics))
    else:
        missing = "; ".join(dict.fromkeys(metrics["baselines_missing"].values()))
        sentences.append(strings["c_no_baselines"].format(missing))
    text_sentence = text_conclusion(strings, metrics)
    if text_sentence:
        sentences.append(text_sentence)
    sentences.append(hardest_class(strings, metrics))
    sentences += [strings["c_leak"].format(line) for line in caveats(strings, metrics)]
    return sentences


def hardest_class(strings: dict, metrics: dict) -> str:
    names, video = metrics["class_names"], metrics["video"]
    confusion = [row[:] for row in video["confusion"]]
    errors = [(confusion[i][j], i, j) for i in range(len(names)) for j in range(len(names)) if i != j]
    count, true_row, predicted_column = max(errors) if errors else (0, 0, 0)
    if count == 0:
        return strings["c_perfect"]
    present = {n: e for n, e in video["per_class"].items() if e["support"] > 0}
    hardest = min(present, key=lambda n: present[n]["recall"])
    return strings["c_hardest"].format(cls=hardest, rec=three_decimals(present[hardest]["recall"]), a=names[true_row],
                                b=names[predicted_column], n=count)


def references_section(report: ReportBuilder, metrics: dict):
    report.add("h2", report.strings["references"])
    report.add("ol", REFERENCES)
    versions = ", ".join(f"{package} {'not installed' if version is None else version}"
                         for package, version in metrics["versions"].items())
    report.add("p", report.strings["versions"].format(versions))
    hashes = metrics["input_hashes"]
    report.add("p", report.strings["hashes"].format(ds=hashes["dataset_fingerprint"],
                                                    model=hashes["model_fingerprint"]))


def build_blocks(metrics: dict, lang: str) -> list[tuple]:
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
