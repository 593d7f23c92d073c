"""The lab report: ``report.md`` and a self-contained ``report.html`` (pictures embedded as base64), in English or
Russian, shaped like the client's lab report (goal, data, method, results, comparison, conclusion, references).

Every number comes from the metrics dict ``evaluate_run`` builds; a missing input is written as an explicit
"not available: <reason>" line, never as a placeholder. The report is a list of blocks rendered twice (Markdown
and HTML), so both files always say the same thing.

Example::

    import json
    from evaluation.report import write_report
    metrics = json.load(open("demo_out/report/metrics.json"))
    write_report(metrics, "demo_out/report", lang="ru")
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from common.jsonl import atomic_write_text
from evaluation.inputs import find_key, flatten

TEXT = {
    "en": {
        "title": "Lab report: classifying YouTube videos by their audio",
        "na": "not available: {}",
        "goal": "1. Goal",
        "goal_text": ("Classify YouTube videos into {k} categories ({names}) from their audio alone by fine-tuning a "
                      "pretrained audio model, and measure its quality honestly: at the clip and the video level, with "
                      "95% confidence intervals, against chance, the majority class and baselines trained on the same "
                      "splits."),
        "data": "2. Data",
        "listing": "2.1 Listing",
        "listing_text": "Rows of the source listing per category and what became of them (from listing_report.json).",
        "downloads": "2.2 Download success per category",
        "downloads_text": "Last manifest record per video; failures grouped by reason code.",
        "balance": "2.3 Balancing",
        "splits": "2.4 Splits and hours",
        "splits_text": "Videos / clips / hours per split and class. No video appears in two splits.",
        "balanced_yes": ("The {split} split has the same number of clips in every class ({n}), so chance accuracy is "
                         "exactly 1/K = {chance}."),
        "balanced_no": ("The {split} split is not balanced (clips per class: {counts}); 1/K = {chance} is then not the "
                        "accuracy of a constant guess, so compare against the majority-class baseline too."),
        "method": "3. Method",
        "model_line": "Evaluated model: {}.",
        "base_line": "Base checkpoint (before fine-tuning): {}.",
        "recipe": "Training recipe and hyperparameters",
        "hardware": "Hardware and time",
        "train_time": "Training time: {}.",
        "protocol": "Evaluation protocol",
        "protocol_text": ("Each clip is cut into windows of {window} s ({source}), run in batches of {batch}; a clip's "
                          "logits are the mean of its windows' logits and a video's prediction is the {agg} of its "
                          "clips. 95% intervals come from {boot} bootstrap resamples of videos (clips of one video are "
                          "not independent). The p-value is a one-sided exact binomial test against chance. "
                          "Inference: {n_windows} windows, {audio} of audio in {secs} on {device} "
                          "({speed:.1f} s of audio per second)."),
        "agg_mean": "softmax of the mean logits",
        "agg_vote": "majority vote (ties broken by the mean logits)",
        "results": "4. Results",
        "headline": "Headline metrics ({split} split)",
        "level": "level", "items": "items", "accuracy": "accuracy [95% CI]", "macro_f1": "macro-F1 [95% CI]",
        "p_chance": "p (vs chance)", "clips": "clips", "videos": "videos", "level_clip": "clip", "level_video": "video",
        "clip_caveat": ("The clip-level p-value treats clips as independent and is optimistic; the video-level one "
                        "is the one to cite."),
        "per_class": "Per-class precision, recall and F1 ({level} level)",
        "class": "class", "precision": "precision", "recall": "recall", "f1": "F1", "support": "support",
        "training_results": "Validation metrics reported by training (all_results.json)",
        "fig_confusion_video": "Confusion matrix, video level", "fig_confusion_clip": "Confusion matrix, clip level",
        "fig_per_class": "Per-class accuracy (recall) at clip and video level",
        "fig_training": "Training curves (trainer_state.json)",
        "fig_embeddings": "PCA and t-SNE of the fine-tuned model's clip embeddings, coloured by class",
        "interactive": "Interactive version: {}",
        "comparison": "5. Comparison with chance, the majority class and baselines",
        "comparison_text": ("All systems are scored on the same {split} clips and videos; the last column is the "
                            "fine-tuned model's video accuracy minus the system's, with a paired bootstrap interval."),
        "system": "system", "clip_acc": "clip accuracy [95% CI]", "video_acc": "video accuracy [95% CI]",
        "video_f1": "video macro-F1", "diff": "model minus system (video) [95% CI]",
        "model_name": "fine-tuned model", "chance_name": "chance (1/K)", "majority_name": "majority class ({})",
        "baseline_missing": "{}: not available: {}",
        "conclusion": "6. Conclusion",
        "c_main": ("The fine-tuned model reaches a video-level accuracy of {acc} [{lo}, {hi}] on {n} {split} videos, "
                   "{pts} percentage points {dir} the {chance} chance baseline ({sig})."),
        "above": "above", "below": "below",
        "sig_yes": "binomial test p = {p}: better than chance",
        "sig_no": "binomial test p = {p}: not distinguishable from chance",
        "c_clip": "At the clip level accuracy is {acc} [{lo}, {hi}] on {n} clips; video-level macro-F1 is {f1}.",
        "c_majority": "Always answering the training split's majority class ({cls}) gives {acc} on the videos.",
        "c_best": ("The best baseline, {name}, reaches {acc} [{lo}, {hi}]; the model is {diff} percentage points "
                   "{dir2} [{dlo}, {dhi}], {sig}."),
        "c_better": "better", "c_worse": "worse",
        "c_sig": "a significant difference (the paired interval excludes zero)",
        "c_nosig": "not a significant difference (the paired interval includes zero)",
        "c_no_baselines": "Baselines: not available: {}.",
        "c_hardest": "The hardest class is {cls} (video-level recall {rec}); the most frequent confusion is {a} -> {b} ({n} videos).",
        "c_perfect": "No video was misclassified.",
        "references": "7. References",
        "versions": "Package versions: {}.",
        "hashes": "Inputs: dataset fingerprint {ds}, model {model}.",
    },
    "ru": {
        "title": "Лабораторная работа - Отчет: классификация видео YouTube по звуку",
        "na": "нет данных (not available): {}",
        "goal": "1. Цель работы",
        "goal_text": ("Классифицировать видео YouTube по {k} категориям ({names}) только по звуковой дорожке, дообучив "
                      "предварительно обученную аудиомодель, и честно оценить качество: на уровне фрагментов и на "
                      "уровне видео, с 95% доверительными интервалами, в сравнении со случайным угадыванием, "
                      "самым частым классом и базовыми моделями, обученными на тех же разбиениях."),
        "data": "2. Данные",
        "listing": "2.1 Исходный список",
        "listing_text": "Строки исходного списка по категориям и их судьба (из listing_report.json).",
        "downloads": "2.2 Успешность загрузки по категориям",
        "downloads_text": "Последняя запись манифеста для каждого видео; ошибки сгруппированы по коду причины.",
        "balance": "2.3 Балансировка",
        "splits": "2.4 Разбиение и объем",
        "splits_text": "Видео / фрагменты / часы по выборкам и классам. Ни одно видео не попадает в две выборки.",
        "balanced_yes": ("В выборке {split} во всех классах одинаковое число фрагментов ({n}), поэтому точность "
                         "случайного угадывания ровно 1/K = {chance}."),
        "balanced_no": ("Выборка {split} не сбалансирована (фрагментов по классам: {counts}); тогда 1/K = {chance} не "
                        "равна точности постоянного ответа, поэтому сравнивайте и с самым частым классом."),
        "method": "3. Методика",
        "model_line": "Оцениваемая модель: {}.",
        "base_line": "Исходная модель (до дообучения): {}.",
        "recipe": "Рецепт обучения и гиперпараметры",
        "hardware": "Оборудование и время",
        "train_time": "Время обучения: {}.",
        "protocol": "Протокол оценки",
        "protocol_text": ("Каждый фрагмент режется на окна по {window} с ({source}), которые обрабатываются пакетами по "
                          "{batch}; логиты фрагмента - среднее логитов его окон, предсказание для видео - {agg} его "
                          "фрагментов. 95% интервалы получены {boot} бутстрэп-выборками видео (фрагменты одного видео "
                          "не независимы). p-значение - односторонний точный биномиальный тест против случайного "
                          "угадывания. Инференс: окон {n_windows}, {audio} звука за {secs} на {device} "
                          "({speed:.1f} с звука в секунду)."),
        "agg_mean": "softmax среднего логитов",
        "agg_vote": "голосование большинством (ничья решается средним логитов)",
        "results": "4. Результаты",
        "headline": "Основные метрики (выборка {split})",
        "level": "уровень", "items": "объектов", "accuracy": "accuracy [95% ДИ]", "macro_f1": "macro-F1 [95% ДИ]",
        "p_chance": "p (против случайного)", "clips": "фрагменты", "videos": "видео", "level_clip": "фрагменты",
        "level_video": "видео",
        "clip_caveat": ("p-значение на уровне фрагментов считает фрагменты независимыми и поэтому оптимистично; "
                        "ссылаться следует на уровень видео."),
        "per_class": "Precision, recall и F1 по классам (уровень: {level})",
        "class": "класс", "precision": "precision", "recall": "recall", "f1": "F1", "support": "объектов",
        "training_results": "Метрики на валидации по данным обучения (all_results.json)",
        "fig_confusion_video": "Матрица ошибок, уровень видео", "fig_confusion_clip": "Матрица ошибок, уровень фрагментов",
        "fig_per_class": "Точность по классам (recall) на уровне фрагментов и видео",
        "fig_training": "Кривые обучения (trainer_state.json)",
        "fig_embeddings": "PCA и t-SNE эмбеддингов фрагментов дообученной модели, цвет - класс",
        "interactive": "Интерактивная версия: {}",
        "comparison": "5. Сравнение со случайным угадыванием, самым частым классом и базовыми моделями",
        "comparison_text": ("Все системы оцениваются на одних и тех же фрагментах и видео выборки {split}; последний "
                            "столбец - точность дообученной модели на видео минус точность системы, с парным "
                            "бутстрэп-интервалом."),
        "system": "система", "clip_acc": "accuracy фрагментов [95% ДИ]", "video_acc": "accuracy видео [95% ДИ]",
        "video_f1": "macro-F1 видео", "diff": "модель минус система (видео) [95% ДИ]",
        "model_name": "дообученная модель", "chance_name": "случайное угадывание (1/K)",
        "majority_name": "самый частый класс ({})",
        "baseline_missing": "{}: нет данных (not available): {}",
        "conclusion": "6. Выводы",
        "c_main": ("Дообученная модель достигает точности (accuracy) на уровне видео {acc} [{lo}, {hi}] на {n} видео "
                   "выборки {split}, что на {pts} п.п. {dir} уровня случайного угадывания {chance} ({sig})."),
        "above": "выше", "below": "ниже",
        "sig_yes": "биномиальный тест p = {p}: лучше случайного",
        "sig_no": "биномиальный тест p = {p}: неотличимо от случайного",
        "c_clip": "На уровне фрагментов точность {acc} [{lo}, {hi}] на {n} фрагментах; macro-F1 на уровне видео {f1}.",
        "c_majority": "Постоянный ответ самым частым классом обучающей выборки ({cls}) дает {acc} на видео.",
        "c_best": ("Лучшая базовая модель, {name}, достигает {acc} [{lo}, {hi}]; модель {dir2} на {diff} п.п. "
                   "[{dlo}, {dhi}], {sig}."),
        "c_better": "лучше", "c_worse": "хуже",
        "c_sig": "разница значима (парный интервал не содержит нуля)",
        "c_nosig": "разница не значима (парный интервал содержит ноль)",
        "c_no_baselines": "Базовые модели: нет данных (not available): {}.",
        "c_hardest": ("Самый трудный класс - {cls} (recall на уровне видео {rec}); самая частая ошибка - {a} -> {b} "
                      "({n} видео)."),
        "c_perfect": "Ни одно видео не классифицировано ошибочно.",
        "references": "7. Использованные источники",
        "versions": "Версии пакетов: {}.",
        "hashes": "Входные данные: отпечаток датасета {ds}, модель {model}.",
    },
}

# Section 5.1 (text baselines and audio + text fusion, evaluation.text_baselines)
TEXT["en"].update({
    "text": "5.1 Text alone and audio + text together",
    "text_intro": ("Text of each video: its title and its description without the scraped channel header, subscriber "
                   "count and buttons (read from: {sources}). Text models are fitted on the {n_train} training videos "
                   "only; each fusion takes the weighted mean of the audio model's and the text model's video "
                   "log-probabilities, with the weight (0 = audio alone, 1 = text alone) chosen on the {n_val} "
                   "validation videos only, by validation log-loss. Intervals: the same video bootstrap as above."),
    "text_weight": "{name}: weight {w:.2f} on text (validation log-loss {loss:.3f}, accuracy {acc:.3f}).",
    "text_system": "system", "text_video_acc": "video accuracy [95% CI]", "text_video_f1": "video macro-F1 [95% CI]",
    "text_diff": "audio model minus system (video) [95% CI]",
    "audio_alone": "audio: fine-tuned model",
    "text_recall": "Per-class recall, video level",
    "text_recall_sentence": ("Audio recalls more videos than text in {audio_better}; text recalls more in "
                             "{text_better}; they are level in {level}."),
    "text_agreement": ("Audio and text (TF-IDF) agree on {agree} of {videos} videos; of the {differ} where they "
                       "disagree, audio is right on {audio}, text on {text}, neither on {neither}."),
    "text_examples": "Videos where audio and text disagree",
    "text_examples_none": "Audio and text agree on every video.",
    "ex_video": "video", "ex_title": "title", "ex_true": "true class", "ex_audio": "audio", "ex_text": "text",
    "ex_fusion": "fusion",
    "none_word": "no class",
    "c_text": "Text alone ({name}) reaches {acc} [{lo}, {hi}] on the same videos; audio + text together {fused}.",
    "c_fused": "reach {acc} [{lo}, {hi}] (weight {w:.2f} on text, chosen on validation)",
    "c_no_fusion": "were not fused ({})",
})
TEXT["ru"].update({
    "text": "5.1 Только текст и аудио вместе с текстом",
    "text_intro": ("Текст видео - его название и описание без скопированной шапки канала, числа подписчиков и "
                   "кнопок (источники: {sources}). Текстовые модели обучаются только на {n_train} видео обучающей "
                   "выборки; слияние - взвешенное среднее логарифмов вероятностей аудиомодели и текстовой модели на "
                   "уровне видео, вес (0 - только аудио, 1 - только текст) выбирается только на {n_val} видео "
                   "валидационной выборки, по log-loss. Интервалы - тот же бутстрэп по видео, что и выше."),
    "text_weight": "{name}: вес текста {w:.2f} (log-loss на валидации {loss:.3f}, accuracy {acc:.3f}).",
    "text_system": "система", "text_video_acc": "accuracy видео [95% ДИ]", "text_video_f1": "macro-F1 видео [95% ДИ]",
    "text_diff": "аудиомодель минус система (видео) [95% ДИ]",
    "audio_alone": "аудио: дообученная модель",
    "text_recall": "Recall по классам, уровень видео",
    "text_recall_sentence": ("Аудио находит больше видео, чем текст, в классах: {audio_better}; текст - в классах: "
                             "{text_better}; поровну - в классах: {level}."),
    "text_agreement": ("Аудио и текст (TF-IDF) согласны на {agree} из {videos} видео; из {differ} расхождений аудио "
                       "право в {audio}, текст - в {text}, оба ошибаются - в {neither}."),
    "text_examples": "Видео, на которых аудио и текст расходятся",
    "text_examples_none": "Аудио и текст согласны на всех видео.",
    "ex_video": "видео", "ex_title": "название", "ex_true": "истинный класс", "ex_audio": "аудио", "ex_text": "текст",
    "ex_fusion": "слияние",
    "none_word": "нет",
    "c_text": "Только текст ({name}) дает {acc} [{lo}, {hi}] на тех же видео; аудио вместе с текстом {fused}.",
    "c_fused": "дают {acc} [{lo}, {hi}] (вес текста {w:.2f}, выбран на валидации)",
    "c_no_fusion": "не объединялись ({})",
})

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

UNITS = {"en": ("h", "min", "s"), "ru": ("ч", "мин", "с")}

# table headers
HEAD = {
    "en": {"category": "category", "setting": "setting", "value": "value", "dropped": "dropped (kind.reason)",
           "count": "count", "split": "split", "class": "class", "videos": "videos", "clips": "clips", "hours": "hours",
           "attempted": "attempted", "ok": "ok", "failed": "failed", "success": "success",
           "reasons": "failure reasons", "hyperparameter": "hyperparameter", "hardware": "hardware", "metric": "metric",
           "all": "all", "nothing": "nothing dropped"},
    "ru": {"category": "категория", "setting": "параметр", "value": "значение", "dropped": "отброшено (вид.причина)",
           "count": "число", "split": "выборка", "class": "класс", "videos": "видео", "clips": "фрагменты",
           "hours": "часы", "attempted": "попыток", "ok": "успешно", "failed": "ошибок", "success": "успех",
           "reasons": "причины ошибок", "hyperparameter": "гиперпараметр", "hardware": "оборудование",
           "metric": "метрика", "all": "все", "nothing": "ничего не отброшено"},
}

HYPERPARAMETERS = ("learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
                   "gradient_accumulation_steps", "warmup_steps", "weight_decay", "lr_scheduler_type", "seed",
                   "fp16", "bf16", "metric_for_best_model")


def f3(x) -> str:
    return f"{x:.3f}"


def interval(entry: dict, metric: str = "accuracy") -> str:
    low, high = entry["ci"][metric]
    return f"{entry[metric]:.3f} [{low:.3f}, {high:.3f}]"


def p_value(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def duration(seconds: float, lang: str = "en") -> str:
    hours, minutes, secs = UNITS[lang]
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} {hours}"
    if seconds >= 60:
        return f"{seconds / 60:.1f} {minutes}"
    return f"{seconds:.1f} {secs}"


def cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


class Builder:
    """Collects report blocks: ``(kind, *payload)`` with kind in h1/h2/h3/p/na/table/img/link."""

    def __init__(self, lang: str):
        self.lang = lang
        self.t = TEXT[lang]
        self.h = HEAD[lang]
        self.blocks: list[tuple] = []

    def add(self, kind, *payload):
        self.blocks.append((kind, *payload))

    def na(self, reason: str):
        self.add("na", self.t["na"].format(reason))


# ---------------------------------------------------------------- sections

def goal(b: Builder, m: dict):
    b.add("h2", b.t["goal"])
    b.add("p", b.t["goal_text"].format(k=len(m["class_names"]), names=", ".join(m["class_names"])))


def data_section(b: Builder, m: dict):
    t, data = b.t, m["data"]
    b.add("h2", t["data"])
    b.add("h3", t["listing"])
    downloads = data.get("downloads")
    if downloads and downloads.get("listing"):
        b.add("p", t["listing_text"])
        listing = downloads["listing"]
        keys = list(dict.fromkeys(k for counts in listing.values() for k in counts))
        b.add("table", [b.h["category"], *keys], [[c, *[cell(counts.get(k, 0)) for k in keys]] for c, counts in listing.items()])
    else:
        b.na(data.get("downloads_missing") or "no listing_report.json with per_category counts in the download directories")
    b.add("h3", t["downloads"])
    if downloads:
        b.add("p", t["downloads_text"])
        rows = []
        for category, entry in downloads["per_category"].items():
            success = entry["ok"] / entry["attempted"] if entry["attempted"] else 0.0
            reasons = "; ".join(f"{r}: {n}" for r, n in entry["reasons"].items()) or "-"
            rows.append([category, entry["attempted"], entry["ok"], entry["failed"], f"{success:.0%}",
                         f"{entry['hours']:.2f}", reasons])
        b.add("table", [b.h[k] for k in ("category", "attempted", "ok", "failed", "success", "hours", "reasons")], rows)
        for problem in downloads.get("problems", []):
            b.na(problem)
    else:
        b.na(data.get("downloads_missing"))
    b.add("h3", t["balance"])
    stats = data.get("prepare_stats")
    if stats is None:
        b.na(data.get("prepare_stats_missing"))
    else:
        prepare_config = stats.get("config") if isinstance(stats.get("config"), dict) else {}
        settings = {k: prepare_config[k] for k in ("balance", "split", "seed", "clip_seconds", "hop_seconds",
                                                   "max_clips_per_video", "min_rms_db") if k in prepare_config}
        if settings:
            b.add("table", [b.h["setting"], b.h["value"]], [[k, cell(v)] for k, v in settings.items()])
        else:
            b.na("prepare_stats.json has no config entry with the balancing settings")
        _, dropped = find_key(stats, "dropped")
        if isinstance(dropped, dict):
            rows = [[key, cell(value)] for key, value in flatten(dropped)]
            b.add("table", [b.h["dropped"], b.h["count"]], rows or [[b.h["nothing"], 0]])
        else:
            b.na("prepare_stats.json has no 'dropped' entry")
    b.add("h3", t["splits"])
    b.add("p", t["splits_text"])
    splits, names = data["splits"], m["class_names"]
    rows = []
    for split, per_class in splits.items():
        for name in names:
            e = per_class[name]
            rows.append([split, name, e["videos"], e["clips"], f"{e['hours']:.3f}"])
        rows.append([split, b.h["all"], sum(e["videos"] for e in per_class.values()),
                     sum(e["clips"] for e in per_class.values()), f"{sum(e['hours'] for e in per_class.values()):.3f}"])
    b.add("table", [b.h[k] for k in ("split", "class", "videos", "clips", "hours")], rows)
    counts = [splits[m["split"]][n]["clips"] for n in names]
    chance = f"{1 / len(names):.3f}"
    if len(set(counts)) == 1:
        b.add("p", t["balanced_yes"].format(split=m["split"], n=counts[0], chance=chance))
    else:
        b.add("p", t["balanced_no"].format(split=m["split"], chance=chance,
                                           counts=", ".join(f"{n} {c}" for n, c in zip(names, counts))))


def method_section(b: Builder, m: dict):
    t, run, inference = b.t, m["run"], m["inference"]
    b.add("h2", t["method"])
    b.add("p", t["model_line"].format(m["config"]["model"]))
    run_config = run.get("files")
    base = m["config"].get("base_model") or (run_config or {}).get("base_model")
    if base:
        b.add("p", t["base_line"].format(base))
    else:
        b.na(run["missing"].get("run_config.json", "run_config.json has no base_model"))
    b.add("h3", t["recipe"])
    if run_config is None:
        b.na(run["missing"].get("run_config.json"))
    else:
        training = run_config.get("training_args") if isinstance(run_config.get("training_args"), dict) else {}
        rows = [[k, cell(training[k])] for k in HYPERPARAMETERS if k in training]
        for key in ("max_length_seconds", "eval_window_seconds", "dataset_name"):
            if key in run_config:
                rows.append([key, cell(run_config[key])])
        model_args = run_config.get("model_args") if isinstance(run_config.get("model_args"), dict) else {}
        rows += [[f"model_args.{k}", cell(v)] for k, v in model_args.items() if not isinstance(v, (dict, list))]
        if rows:
            b.add("table", [b.h["hyperparameter"], b.h["value"]], rows)
        else:
            b.na("run_config.json holds no training_args/model_args")
    b.add("h3", t["hardware"])
    hardware = (run_config or {}).get("hardware")
    if isinstance(hardware, dict) and hardware:
        b.add("table", [b.h["hardware"], b.h["value"]], [[k, cell(v)] for k, v in flatten(hardware)])
    else:
        b.na(run["missing"].get("run_config.json") or "run_config.json has no hardware entry")
    runtime = (run_config or {}).get("train_runtime_s")
    if isinstance(runtime, (int, float)):
        b.add("p", t["train_time"].format(duration(runtime, b.lang)))
    else:
        b.na(run["missing"].get("run_config.json") or "run_config.json has no train_runtime_s")
    b.add("h3", t["protocol"])
    b.add("p", t["protocol_text"].format(
        window=f"{inference['window_seconds']:g}", source=inference["window_source"], batch=m["config"]["batch_size"],
        agg=t["agg_" + inference["aggregate"]], boot=m["clip"]["n_resamples"], n_windows=inference["n_windows"],
        audio=duration(inference["audio_seconds"], b.lang), secs=duration(inference["inference_seconds"], b.lang),
        device=inference["device"], speed=inference["audio_seconds_per_second"]))


def figure(b: Builder, m: dict, name: str, caption_key: str):
    entry = m["figures"].get(name, {"missing": "not drawn"})
    if "png" in entry:
        b.add("img", entry["png"], b.t[caption_key])
        if entry.get("html"):
            b.add("link", entry["html"], b.t["interactive"].format(Path(entry["html"]).name))
    else:
        b.add("p", b.t[caption_key] + ":")
        b.na(entry["missing"])


def results_section(b: Builder, m: dict):
    t = b.t
    b.add("h2", t["results"])
    b.add("h3", t["headline"].format(split=m["split"]))
    rows = [[t[level + "s"], m[level]["n"], interval(m[level]), interval(m[level], "macro_f1"),
             p_value(m[level]["binomial_test"]["p_value"])] for level in ("clip", "video")]
    b.add("table", [t["level"], t["items"], t["accuracy"], t["macro_f1"], t["p_chance"]], rows)
    b.add("p", t["clip_caveat"])
    for level in ("video", "clip"):
        b.add("h3", t["per_class"].format(level=t["level_" + level]))
        per_class = m[level]["per_class"]
        b.add("table", [t["class"], t["precision"], t["recall"], t["f1"], t["support"]],
              [[name, f3(e["precision"]), f3(e["recall"]), f3(e["f1"]), e["support"]] for name, e in per_class.items()])
    figure(b, m, "confusion_video", "fig_confusion_video")
    figure(b, m, "confusion_clip", "fig_confusion_clip")
    figure(b, m, "per_class_accuracy", "fig_per_class")
    figure(b, m, "training_curves", "fig_training")
    figure(b, m, "embeddings", "fig_embeddings")
    b.add("h3", t["training_results"])
    results = m["run"].get("all_results")
    if results:
        b.add("table", [b.h["metric"], b.h["value"]], [[k, cell(v)] for k, v in results.items() if isinstance(v, (int, float))])
    else:
        b.na(m["run"]["missing"].get("all_results.json", "all_results.json is empty"))


def comparison_rows(b: Builder, m: dict) -> list[list]:
    t = b.t
    chance = m["references"]["chance"]["accuracy"]
    rows = [[t["model_name"], interval(m["clip"]), interval(m["video"]), f3(m["video"]["macro_f1"]), "-"],
            [t["chance_name"], f3(chance), f3(chance), "-", f"{m['video']['accuracy'] - chance:+.3f}"]]
    systems = []
    majority = m["references"]["majority"]
    if "clip" in majority:
        systems.append((t["majority_name"].format(majority["class"]), majority))
    systems += [(entry["label"], entry) for entry in m["baselines"].values()]
    for name, entry in systems:
        diff = entry["difference_vs_model"]["video"]
        rows.append([name, interval(entry["clip"]), interval(entry["video"]), f3(entry["video"]["macro_f1"]),
                     "{:+.3f} [{:+.3f}, {:+.3f}]".format(diff["accuracy_difference"], *diff["ci"])])
    return rows


def comparison_section(b: Builder, m: dict):
    t = b.t
    b.add("h2", t["comparison"])
    b.add("p", t["comparison_text"].format(split=m["split"]))
    b.add("table", [t["system"], t["clip_acc"], t["video_acc"], t["video_f1"], t["diff"]], comparison_rows(b, m))
    if "missing" in m["references"]["majority"]:
        b.na(m["references"]["majority"]["missing"])
    for name, reason in m["baselines_missing"].items():
        b.add("na", t["baseline_missing"].format(name, reason))


def text_section(b: Builder, m: dict):
    """Section 5.1: audio, text and fusion side by side, per-class recall, examples of disagreement."""
    t, text = b.t, m.get("text") or {}
    b.add("h3", t["text"])
    systems = text.get("systems") or {}
    if not systems:
        for name, reason in (text.get("missing") or {"all": "no text results"}).items():
            b.add("na", t["baseline_missing"].format(name, reason))
        return
    sources = ", ".join(f"{k}: {v}" for k, v in (text.get("sources") or {}).items() if v)
    counts = text.get("n_videos") or {}
    train_n = sum(e["videos"] for e in m["data"]["splits"].get("train", {}).values())
    b.add("p", t["text_intro"].format(sources=sources or "-", n_train=train_n, n_val=counts.get("validation", 0)))
    rows = [[t["audio_alone"], interval(m["video"]), interval(m["video"], "macro_f1"), "-"]]
    for entry in systems.values():
        diff = entry["difference_vs_model"]["video"]
        rows.append([entry["label"], interval(entry["video"]), interval(entry["video"], "macro_f1"),
                     "{:+.3f} [{:+.3f}, {:+.3f}]".format(diff["accuracy_difference"], *diff["ci"])])
    b.add("table", [t["text_system"], t["text_video_acc"], t["text_video_f1"], t["text_diff"]], rows)
    for name, fusion in (text.get("fusion") or {}).items():
        chosen = next(row for row in fusion["validation_grid"] if row["weight"] == fusion["weight"])
        b.add("p", t["text_weight"].format(name=systems[name]["label"], w=fusion["weight"], loss=chosen["log_loss"],
                                           acc=chosen["accuracy"]))
    for name, reason in (text.get("missing") or {}).items():
        b.add("na", t["baseline_missing"].format(name, reason))
    recall = text.get("per_class_recall") or {}
    b.add("h3", t["text_recall"])
    columns = list(recall)
    b.add("table", [t["class"], *[t["audio_alone"] if c == "audio" else systems[c]["label"] for c in columns]],
          [[name, *[f3(recall[c][name]) if recall[c][name] is not None else "-" for c in columns]]
           for name in m["class_names"]])
    if "text_tfidf" in recall:
        b.add("p", recall_sentence(t, recall["audio"], recall["text_tfidf"]))
    agreement = text.get("agreement")
    if agreement:
        differ = agreement["videos"] - agreement["agree"]
        b.add("p", t["text_agreement"].format(agree=agreement["agree"], videos=agreement["videos"], differ=differ,
                                              audio=agreement["disagree_audio_right"],
                                              text=agreement["disagree_text_right"],
                                              neither=agreement["disagree_neither_right"]))
    b.add("h3", t["text_examples"])
    examples = text.get("disagreements") or []
    if not examples:
        b.add("p", t["text_examples_none"])
        return
    with_fusion = "fusion_predicted" in examples[0]
    b.add("table", [t["ex_video"], t["ex_title"], t["ex_true"], t["ex_audio"], t["ex_text"]]
          + ([t["ex_fusion"]] if with_fusion else []),
          [[e["video_id"], e["title"][:90], e["label"], e["audio_predicted"], e["text_predicted"]]
           + ([e["fusion_predicted"]] if with_fusion else []) for e in examples])


def recall_sentence(t: dict, audio: dict, text: dict) -> str:
    present = [name for name in audio if audio[name] is not None]
    groups = {"audio_better": [n for n in present if audio[n] > text[n] + 1e-9],
              "text_better": [n for n in present if text[n] > audio[n] + 1e-9]}
    groups["level"] = [n for n in present if n not in groups["audio_better"] + groups["text_better"]]
    return t["text_recall_sentence"].format(**{k: ", ".join(v) or t["none_word"] for k, v in groups.items()})


def text_conclusion(t: dict, m: dict) -> str | None:
    systems = (m.get("text") or {}).get("systems") or {}
    if "text_tfidf" not in systems:
        return None
    entry, fusion = systems["text_tfidf"]["video"], systems.get("fusion_tfidf")
    if fusion:
        weight = m["text"]["fusion"]["fusion_tfidf"]["weight"]
        fused = t["c_fused"].format(acc=f3(fusion["video"]["accuracy"]), lo=f3(fusion["video"]["ci"]["accuracy"][0]),
                                    hi=f3(fusion["video"]["ci"]["accuracy"][1]), w=weight)
    else:
        fused = t["c_no_fusion"].format(m["text"]["missing"].get("fusion_tfidf", "-"))
    return t["c_text"].format(name="TF-IDF", acc=f3(entry["accuracy"]), lo=f3(entry["ci"]["accuracy"][0]),
                              hi=f3(entry["ci"]["accuracy"][1]), fused=fused)


def conclusion_sentences(t: dict, m: dict) -> list[str]:
    """The conclusion, written from the numbers."""
    video, clip = m["video"], m["clip"]
    chance = m["references"]["chance"]["accuracy"]
    gap = (video["accuracy"] - chance) * 100
    p = video["binomial_test"]["p_value"]
    sig = (t["sig_yes"] if p < 0.05 else t["sig_no"]).format(p=p_value(p))
    sentences = [t["c_main"].format(acc=f3(video["accuracy"]), lo=f3(video["ci"]["accuracy"][0]),
                                    hi=f3(video["ci"]["accuracy"][1]), n=video["n"], split=m["split"],
                                    pts=f"{abs(gap):.1f}", dir=t["above"] if gap >= 0 else t["below"],
                                    chance=f"{chance:.1%}", sig=sig),
                 t["c_clip"].format(acc=f3(clip["accuracy"]), lo=f3(clip["ci"]["accuracy"][0]),
                                    hi=f3(clip["ci"]["accuracy"][1]), n=clip["n"], f1=f3(video["macro_f1"]))]
    majority = m["references"]["majority"]
    if "video" in majority:
        sentences.append(t["c_majority"].format(cls=majority["class"], acc=f3(majority["video"]["accuracy"])))
    if m["baselines"]:
        name, best = max(m["baselines"].items(), key=lambda item: item[1]["video"]["accuracy"])
        diff = best["difference_vs_model"]["video"]
        low, high = diff["ci"]
        sentences.append(t["c_best"].format(
            name=best["label"], acc=f3(best["video"]["accuracy"]), lo=f3(best["video"]["ci"]["accuracy"][0]),
            hi=f3(best["video"]["ci"]["accuracy"][1]), diff=f"{abs(diff['accuracy_difference']) * 100:.1f}",
            dir2=t["c_better"] if diff["accuracy_difference"] >= 0 else t["c_worse"],
            dlo=f"{low * 100:+.1f}", dhi=f"{high * 100:+.1f}", sig=t["c_sig"] if low > 0 or high < 0 else t["c_nosig"]))
    else:
        sentences.append(t["c_no_baselines"].format("; ".join(dict.fromkeys(m["baselines_missing"].values()))))
    if text_conclusion(t, m):
        sentences.append(text_conclusion(t, m))
    sentences.append(hardest_class(t, m))
    return sentences


def hardest_class(t: dict, m: dict) -> str:
    names, video = m["class_names"], m["video"]
    confusion = [row[:] for row in video["confusion"]]
    errors = [(confusion[i][j], i, j) for i in range(len(names)) for j in range(len(names)) if i != j]
    count, a, b = max(errors) if errors else (0, 0, 0)
    if count == 0:
        return t["c_perfect"]
    present = {n: e for n, e in video["per_class"].items() if e["support"] > 0}
    hardest = min(present, key=lambda n: present[n]["recall"])
    return t["c_hardest"].format(cls=hardest, rec=f3(present[hardest]["recall"]), a=names[a], b=names[b], n=count)


def references_section(b: Builder, m: dict):
    b.add("h2", b.t["references"])
    b.add("ol", REFERENCES)
    b.add("p", b.t["versions"].format(", ".join(f"{k} {'not installed' if v is None else v}" for k, v in m["versions"].items())))
    b.add("p", b.t["hashes"].format(ds=m["input_hashes"]["dataset_fingerprint"], model=m["input_hashes"]["model_fingerprint"]))


def build_blocks(m: dict, lang: str) -> list[tuple]:
    if lang not in TEXT:
        raise ValueError(f"report language {lang!r}: expected one of {sorted(TEXT)}")
    b = Builder(lang)
    b.add("h1", b.t["title"])
    goal(b, m)
    data_section(b, m)
    method_section(b, m)
    results_section(b, m)
    comparison_section(b, m)
    text_section(b, m)
    b.add("h2", b.t["conclusion"])
    for sentence in conclusion_sentences(b.t, m):
        b.add("p", sentence)
    references_section(b, m)
    return b.blocks


# ---------------------------------------------------------------- rendering

def _md_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: list[tuple], out: Path) -> str:
    lines = []
    for kind, *payload in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + payload[0], ""]
        elif kind in ("p", "na"):
            lines += [payload[0], ""]
        elif kind == "table":
            headers, rows = payload
            lines.append("| " + " | ".join(_md_cell(h) for h in headers) + " |")
            lines.append("|" + "|".join("---" for _ in headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
        elif kind == "img":
            lines += [f"![{payload[1]}]({Path(payload[0]).relative_to(out).as_posix()})", "", f"*{payload[1]}*", ""]
        elif kind == "link":
            lines += [f"[{payload[1]}]({Path(payload[0]).relative_to(out).as_posix()})", ""]
        elif kind == "ol":
            lines += [f"{i}. {item}" for i, item in enumerate(payload[0], start=1)] + [""]
    return "\n".join(lines)


CSS = ("body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;line-height:1.45}"
       "table{border-collapse:collapse;margin:.6em 0 1.2em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
       "td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}img{max-width:100%}"
       ".na{color:#a33;font-style:italic}figcaption{color:#555;font-size:.9em;margin-bottom:1.2em}")


def render_html(blocks: list[tuple], out: Path, lang: str) -> str:
    esc = html.escape
    parts = [f"<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{esc(blocks[0][1])}</title>"
             f"<style>{CSS}</style></head><body>"]
    for kind, *payload in blocks:
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{esc(payload[0])}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{esc(payload[0])}</p>")
        elif kind == "na":
            parts.append(f"<p class=\"na\">{esc(payload[0])}</p>")
        elif kind == "table":
            headers, rows = payload
            head = "".join(f"<th>{esc(str(h))}</th>" for h in headers)
            body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode(Path(payload[0]).read_bytes()).decode("ascii")
            parts.append(f"<figure><img alt=\"{esc(payload[1])}\" src=\"data:image/png;base64,{data}\">"
                         f"<figcaption>{esc(payload[1])}</figcaption></figure>")
        elif kind == "link":
            parts.append(f"<p><a href=\"{esc(Path(payload[0]).relative_to(out).as_posix())}\">{esc(payload[1])}</a></p>")
        elif kind == "ol":
            parts.append("<ol>" + "".join(f"<li>{esc(item)}</li>" for item in payload[0]) + "</ol>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(metrics: dict, out, lang: str = "en") -> dict:
    """Write ``report.md`` and ``report.html`` into ``out``; returns their paths and the conclusion."""
    out = Path(out).resolve()
    resolved = resolve_paths(metrics, out)
    blocks = build_blocks(resolved, lang)
    md_path, html_path = out / "report.md", out / "report.html"
    atomic_write_text(md_path, render_markdown(blocks, out))
    atomic_write_text(html_path, render_html(blocks, out, lang))
    return {"md": str(md_path), "html": str(html_path), "lang": lang,
            "conclusion": conclusion_sentences(TEXT[lang], resolved)}


def resolve_paths(metrics: dict, out: Path) -> dict:
    """Figure paths made absolute (metrics may hold paths relative to the working directory)."""
    figures = {}
    for name, entry in metrics["figures"].items():
        figures[name] = {k: (str((out / Path(v).name)) if k in ("png", "html") else v) for k, v in entry.items()}
    return {**metrics, "figures": figures}
