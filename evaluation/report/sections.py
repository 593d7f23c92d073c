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

from evaluation.inputs import find_key, flatten
from evaluation.report import en, ru
from training.report import HYPERPARAMETERS

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

    def not_available(self, reason: str):
        self.add("na", self.strings["na"].format(reason))


# ---------------------------------------------------------------- sections

def goal(report: ReportBuilder, metrics: dict):
    report.add("h2", report.strings["goal"])
    report.add("p", report.strings["goal_text"].format(k=len(metrics["class_names"]), names=", ".join(metrics["class_names"])))


def data_section(report: ReportBuilder, metrics: dict):
    strings, data = report.strings, metrics["data"]
    report.add("h2", strings["data"])
    report.add("h3", strings["listing"])
    downloads = data.get("downloads")
    if downloads and downloads.get("listing"):
        report.add("p", strings["listing_text"])
        listing = downloads["listing"]
        keys = list(dict.fromkeys(k for counts in listing.values() for k in counts))
        report.add("table", [report.headers["category"], *keys], [[c, *[table_value(counts.get(k, 0)) for k in keys]] for c, counts in listing.items()])
    else:
        report.not_available(data.get("downloads_missing") or "no listing_report.json with per_category counts in the download directories")
    report.add("h3", strings["downloads"])
    if downloads:
        report.add("p", strings["downloads_text"])
        rows = []
        for category, entry in downloads["per_category"].items():
            success = entry["ok"] / entry["attempted"] if entry["attempted"] else 0.0
            reasons = "; ".join(f"{r}: {n}" for r, n in entry["reasons"].items()) or "-"
            rows.append([category, entry["attempted"], entry["ok"], entry["failed"], f"{success:.0%}",
                         f"{entry['hours']:.2f}", reasons])
        report.add("table", [report.headers[k] for k in ("category", "attempted", "ok", "failed", "success", "hours", "reasons")], rows)
        for problem in downloads.get("problems", []):
            report.not_available(problem)
    else:
        report.not_available(data.get("downloads_missing"))
    report.add("h3", strings["balance"])
    stats = data.get("prepare_stats")
    if stats is None:
        report.not_available(data.get("prepare_stats_missing"))
    else:
        prepare_config = stats.get("config") if isinstance(stats.get("config"), dict) else {}
        settings = {k: prepare_config[k] for k in ("balance", "split", "seed", "clip_seconds", "hop_seconds",
                                                   "max_clips_per_video", "min_rms_db") if k in prepare_config}
        if settings:
            report.add("table", [report.headers["setting"], report.headers["value"]], [[k, table_value(v)] for k, v in settings.items()])
        else:
            report.not_available("prepare_stats.json has no config entry with the balancing settings")
        _, dropped = find_key(stats, "dropped")
        if isinstance(dropped, dict):
            rows = [[key, table_value(value)] for key, value in flatten(dropped)]
            report.add("table", [report.headers["dropped"], report.headers["count"]], rows or [[report.headers["nothing"], 0]])
        else:
            report.not_available("prepare_stats.json has no 'dropped' entry")
    report.add("h3", strings["splits"])
    report.add("p", strings["splits_text"])
    splits, names = data["splits"], metrics["class_names"]
    rows = []
    for split, per_class in splits.items():
        for name in names:
            e = per_class[name]
            rows.append([split, name, e["videos"], e["clips"], f"{e['hours']:.3f}"])
        rows.append([split, report.headers["all"], sum(e["videos"] for e in per_class.values()),
                     sum(e["clips"] for e in per_class.values()), f"{sum(e['hours'] for e in per_class.values()):.3f}"])
    report.add("table", [report.headers[k] for k in ("split", "class", "videos", "clips", "hours")], rows)
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
    strings, run, inference = report.strings, metrics["run"], metrics["inference"]
    report.add("h2", strings["method"])
    report.add("p", strings["model_line"].format(metrics["config"]["model"]))
    run_config = run.get("files")
    base = metrics["config"].get("base_model") or (run_config or {}).get("base_model")
    if base:
        report.add("p", strings["base_line"].format(base))
    else:
        report.not_available(run["missing"].get("run_config.json", "run_config.json has no base_model"))
    report.add("h3", strings["recipe"])
    if run_config is None:
        report.not_available(run["missing"].get("run_config.json"))
    else:
        training = run_config.get("training_args") if isinstance(run_config.get("training_args"), dict) else {}
        rows = [[k, table_value(training[k])] for k in HYPERPARAMETERS if k in training]
        for key in ("max_length_seconds", "eval_window_seconds", "dataset_name"):
            if key in run_config:
                rows.append([key, table_value(run_config[key])])
        model_args = run_config.get("model_args") if isinstance(run_config.get("model_args"), dict) else {}
        rows += [[f"model_args.{k}", table_value(v)] for k, v in model_args.items() if not isinstance(v, (dict, list))]
        if rows:
            report.add("table", [report.headers["hyperparameter"], report.headers["value"]], rows)
        else:
            report.not_available("run_config.json holds no training_args/model_args")
    report.add("h3", strings["hardware"])
    hardware = (run_config or {}).get("hardware")
    if isinstance(hardware, dict) and hardware:
        report.add("table", [report.headers["hardware"], report.headers["value"]], [[k, table_value(v)] for k, v in flatten(hardware)])
    else:
        report.not_available(run["missing"].get("run_config.json") or "run_config.json has no hardware entry")
    runtime = (run_config or {}).get("train_runtime_s")
    if isinstance(runtime, (int, float)):
        report.add("p", strings["train_time"].format(duration(runtime, report.lang)))
    else:
        report.not_available(run["missing"].get("run_config.json") or "run_config.json has no train_runtime_s")
    report.add("h3", strings["protocol"])
    report.add("p", strings["protocol_text"].format(
        window=f"{inference['window_seconds']:g}", source=inference["window_source"], batch=metrics["config"]["batch_size"],
        agg=strings["agg_" + inference["aggregate"]], boot=metrics["clip"]["n_resamples"],
        null=three_decimals(metrics["checks"]["null"]["accuracy"]), null_kind=null_kind(strings, metrics), n_windows=inference["n_windows"],
        audio=duration(inference["audio_seconds"], report.lang), secs=duration(inference["inference_seconds"], report.lang),
        device=inference["device"], speed=inference["audio_seconds_per_second"]))


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
    report.add("table", [strings["level"], strings["items"], strings["accuracy"], strings["macro_f1"],
                         strings["p_chance"]], rows)
    report.add("p", strings["clip_caveat"].format(null=three_decimals(metrics["checks"]["null"]["accuracy"]),
                                                  null_kind=null_kind(strings, metrics)))
    for level in ("video", "clip"):
        report.add("h3", strings["per_class"].format(level=strings["level_" + level]))
        per_class = metrics[level]["per_class"]
        report.add("table", [strings["class"], strings["precision"], strings["recall"], strings["f1"], strings["support"]],
              [[name, three_decimals(e["precision"]), three_decimals(e["recall"]), three_decimals(e["f1"]), e["support"]] for name, e in per_class.items()])
    figure(report, metrics, "confusion_video", "fig_confusion_video")
    figure(report, metrics, "confusion_clip", "fig_confusion_clip")
    figure(report, metrics, "per_class_accuracy", "fig_per_class")
    figure(report, metrics, "training_curves", "fig_training")
    figure(report, metrics, "embeddings", "fig_embeddings")
    report.add("h3", strings["training_results"])
    results = metrics["run"].get("all_results")
    if results:
        report.add("table", [report.headers["metric"], report.headers["value"]], [[k, table_value(v)] for k, v in results.items() if isinstance(v, (int, float))])
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
        diff = entry["difference_vs_model"]["video"]
        rows.append([name, interval(entry["clip"]), interval(entry["video"]), three_decimals(entry["video"]["macro_f1"]),
                     "{:+.3f} [{:+.3f}, {:+.3f}]".format(diff["accuracy_difference"], *diff["ci"])])
    return rows


def comparison_section(report: ReportBuilder, metrics: dict):
    strings = report.strings
    report.add("h2", strings["comparison"])
    report.add("p", strings["comparison_text"].format(split=metrics["split"]))
    report.add("table", [strings["system"], strings["clip_acc"], strings["video_acc"], strings["video_f1"], strings["diff"]], comparison_rows(report, metrics))
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
    sources = ", ".join(f"{k}: {v}" for k, v in (text.get("sources") or {}).items() if v)
    counts = text.get("n_videos") or {}
    train_n = sum(e["videos"] for e in metrics["data"]["splits"].get("train", {}).values())
    report.add("p", strings["text_intro"].format(sources=sources or "-", n_train=train_n, n_val=counts.get("validation", 0)))
    rows = [[strings["audio_alone"], interval(metrics["video"]), interval(metrics["video"], "macro_f1"), "-"]]
    for entry in systems.values():
        diff = entry["difference_vs_model"]["video"]
        rows.append([entry["label"], interval(entry["video"]), interval(entry["video"], "macro_f1"),
                     "{:+.3f} [{:+.3f}, {:+.3f}]".format(diff["accuracy_difference"], *diff["ci"])])
    report.add("table", [strings["text_system"], strings["text_video_acc"], strings["text_video_f1"], strings["text_diff"]], rows)
    for name, fusion in (text.get("fusion") or {}).items():
        chosen = next(row for row in fusion["validation_grid"] if row["weight"] == fusion["weight"])
        report.add("p", strings["text_weight"].format(name=systems[name]["label"], w=fusion["weight"], loss=chosen["log_loss"],
                                           acc=chosen["accuracy"]))
    for name, reason in (text.get("missing") or {}).items():
        report.add("na", strings["baseline_missing"].format(name, reason))
    recall = text.get("per_class_recall") or {}
    report.add("h3", strings["text_recall"])
    columns = list(recall)
    report.add("table", [strings["class"], *[strings["audio_alone"] if c == "audio" else systems[c]["label"] for c in columns]],
          [[name, *[three_decimals(recall[c][name]) if recall[c][name] is not None else "-" for c in columns]]
           for name in metrics["class_names"]])
    if "text_tfidf" in recall:
        report.add("p", recall_sentence(strings, recall["audio"], recall["text_tfidf"]))
    agreement = text.get("agreement")
    if agreement:
        differ = agreement["videos"] - agreement["agree"]
        report.add("p", strings["text_agreement"].format(agree=agreement["agree"], videos=agreement["videos"], differ=differ,
                                              audio=agreement["disagree_audio_right"],
                                              text=agreement["disagree_text_right"],
                                              neither=agreement["disagree_neither_right"]))
    report.add("h3", strings["text_examples"])
    examples = text.get("disagreements") or []
    if not examples:
        report.add("p", strings["text_examples_none"])
        return
    with_fusion = "fusion_predicted" in examples[0]
    report.add("table", [strings["ex_video"], strings["ex_title"], strings["ex_true"], strings["ex_audio"], strings["ex_text"]]
          + ([strings["ex_fusion"]] if with_fusion else []),
          [[e["video_id"], e["title"][:90], e["label"], e["audio_predicted"], e["text_predicted"]]
           + ([e["fusion_predicted"]] if with_fusion else []) for e in examples])


def recall_sentence(strings: dict, audio: dict, text: dict) -> str:
    present = [name for name in audio if audio[name] is not None]
    groups = {"audio_better": [n for n in present if audio[n] > text[n] + 1e-9],
              "text_better": [n for n in present if text[n] > audio[n] + 1e-9]}
    groups["level"] = [n for n in present if n not in groups["audio_better"] + groups["text_better"]]
    return strings["text_recall_sentence"].format(**{k: ", ".join(v) or strings["none_word"] for k, v in groups.items()})


def text_conclusion(strings: dict, metrics: dict) -> str | None:
    systems = (metrics.get("text") or {}).get("systems") or {}
    if "text_tfidf" not in systems:
        return None
    entry, fusion = systems["text_tfidf"]["video"], systems.get("fusion_tfidf")
    if fusion:
        weight = metrics["text"]["fusion"]["fusion_tfidf"]["weight"]
        fused = strings["c_fused"].format(acc=three_decimals(fusion["video"]["accuracy"]), lo=three_decimals(fusion["video"]["ci"]["accuracy"][0]),
                                    hi=three_decimals(fusion["video"]["ci"]["accuracy"][1]), w=weight)
    else:
        fused = strings["c_no_fusion"].format(metrics["text"]["missing"].get("fusion_tfidf", "-"))
    return strings["c_text"].format(name="TF-IDF", acc=three_decimals(entry["accuracy"]), lo=three_decimals(entry["ci"]["accuracy"][0]),
                              hi=three_decimals(entry["ci"]["accuracy"][1]), fused=fused)


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
    low, high = video["ci"]["accuracy"]
    return strings["c_main"].format(acc=three_decimals(video["accuracy"]), lo=three_decimals(low),
                                    hi=three_decimals(high), n=video["n"], split=metrics["split"],
                                    pts=f"{abs(gap):.1f}", dir=strings["above"] if gap >= 0 else strings["below"],
                                    null=f"{null:.1%}", null_kind=null_kind(strings, metrics), sig=test)


def best_baseline_sentence(strings: dict, metrics: dict) -> str:
    """The best audio baseline against the model: the paired interval says whether it excludes zero, and with few
    videos that no difference is called significant."""
    best = max(metrics["baselines"].values(), key=lambda entry: entry["video"]["accuracy"])
    diff = best["difference_vs_model"]["video"]
    low, high = diff["ci"]
    interval_words = strings["c_sig"] if low > 0 or high < 0 else strings["c_nosig"]
    if metrics["checks"]["few_videos"]:
        interval_words += "; " + strings["c_few"].format(n=metrics["video"]["n"])
    best_low, best_high = best["video"]["ci"]["accuracy"]
    return strings["c_best"].format(
        name=best["label"], acc=three_decimals(best["video"]["accuracy"]), lo=three_decimals(best_low),
        hi=three_decimals(best_high), diff=f"{abs(diff['accuracy_difference']) * 100:.1f}",
        dir2=strings["c_better"] if diff["accuracy_difference"] >= 0 else strings["c_worse"],
        dlo=f"{low * 100:+.1f}", dhi=f"{high * 100:+.1f}", sig=interval_words)


def conclusion_sentences(strings: dict, metrics: dict) -> list[str]:
    """The conclusion, written from the numbers and the checks."""
    video, clip = metrics["video"], metrics["clip"]
    clip_low, clip_high = clip["ci"]["accuracy"]
    sentences = [model_sentence(strings, metrics),
                 strings["c_clip"].format(acc=three_decimals(clip["accuracy"]), lo=three_decimals(clip_low),
                                          hi=three_decimals(clip_high), n=clip["n"],
                                          f1=three_decimals(video["macro_f1"]))]
    majority = metrics["references"]["majority"]
    if "video" in majority:
        sentences.append(strings["c_majority"].format(cls=majority["class"],
                                                      acc=three_decimals(majority["video"]["accuracy"])))
    if metrics["baselines"]:
        sentences.append(best_baseline_sentence(strings, metrics))
    else:
        missing = "; ".join(dict.fromkeys(metrics["baselines_missing"].values()))
        sentences.append(strings["c_no_baselines"].format(missing))
    if text_conclusion(strings, metrics):
        sentences.append(text_conclusion(strings, metrics))
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
    report.add("p", report.strings["versions"].format(", ".join(f"{k} {'not installed' if v is None else v}" for k, v in metrics["versions"].items())))
    report.add("p", report.strings["hashes"].format(ds=metrics["input_hashes"]["dataset_fingerprint"], model=metrics["input_hashes"]["model_fingerprint"]))


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
