"""eval -> you: ``metrics.json`` (``EvalRecord``), every number of the lab report with how it was computed. The
report is written from this record alone (``evaluation.report.write_report`` re-renders it in another language).

Example::

    from common.contract.evaluation import EvalRecord
    metrics = EvalRecord.read("runs/report/metrics.json")
    metrics.video.accuracy, metrics.video.ci.accuracy, metrics.checks.overlap.groups.shared
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.contract.base import Part, Record, doc
from common.contract.dataset import PrepareStats
from common.contract.run import RunRecord

METRICS = "metrics.json"


@dataclass(frozen=True)
class ClassScores(Part):
    precision: float = field(metadata=doc("precision of the class"))
    recall: float = field(metadata=doc("recall of the class"))
    f1: float = field(metadata=doc("F1 of the class"))
    support: int = field(metadata=doc("items of the class"))


@dataclass(frozen=True)
class Intervals(Part):
    accuracy: tuple[float, float] = field(metadata=doc("95% interval of accuracy (bootstrap over videos)"))
    macro_f1: tuple[float, float] = field(metadata=doc("95% interval of macro-F1"))


@dataclass(frozen=True)
class BinomialTest(Part):
    p_value: float | None = field(metadata=doc("one-sided exact binomial test against the null accuracy (null at "
                                               "clip level: clips of a video are not independent)"))
    n_correct: int | None = field(default=None, metadata=doc("items right"))
    n: int | None = field(default=None, metadata=doc("items"))
    null_accuracy: float | None = field(default=None, metadata=doc("the null accuracy tested against"))
    missing: str | None = field(default=None, metadata=doc("why there is no p-value"))


@dataclass(frozen=True)
class LevelScores(Part):
    """One system scored at one level (clips or videos)."""
    n: int = field(metadata=doc("items scored"))
    n_correct: int = field(metadata=doc("items right"))
    accuracy: float = field(metadata=doc("accuracy"))
    macro_f1: float = field(metadata=doc("macro-F1"))
    per_class: dict[str, ClassScores] = field(metadata=doc("class -> precision, recall, F1, support"))
    confusion: list[list[int]] = field(metadata=doc("confusion counts, rows true, columns predicted"))
    confusion_normalized: list[list[float]] = field(metadata=doc("rows normalised to 1"))
    ci: Intervals = field(metadata=doc("95% intervals"))
    ci_level: float = field(metadata=doc("0.95"))
    n_resamples: int = field(metadata=doc("bootstrap resamples"))
    binomial_test: BinomialTest = field(metadata=doc("test against the null accuracy"))


@dataclass(frozen=True)
class PairedDifference(Part):
    accuracy_difference: float = field(metadata=doc("the model's accuracy minus this system's"))
    ci: tuple[float, float] = field(metadata=doc("95% paired interval (the same resampled videos for both)"))


@dataclass(frozen=True)
class Differences(Part):
    video: PairedDifference = field(metadata=doc("at video level"))
    clip: PairedDifference = field(metadata=doc("at clip level"))


@dataclass(frozen=True)
class SystemScores(Part):
    """Another system (baseline, reference, text system) scored like the model, with its paired difference."""
    clip: LevelScores = field(metadata=doc("clip level"))
    video: LevelScores = field(metadata=doc("video level"))
    name: str = field(default="", metadata=doc("what it is, in words"))
    difference_vs_model: Differences | None = field(default=None, metadata=doc("model minus system, paired"))
    class_name: str | None = field(default=None, metadata=doc("the class a constant system answers"))


@dataclass(frozen=True)
class NullReference(Part):
    kind: str = field(metadata=doc("`chance` (1/K, balanced) or `majority_rate`"))
    accuracy: float = field(metadata=doc("what a constant answer scores on the evaluated videos"))
    balanced: bool = field(metadata=doc("every class has as many videos"))
    class_name: str | None = field(default=None, metadata=doc("the most frequent class (majority_rate)"))
    videos_per_class: dict[str, int] | None = field(default=None, metadata=doc("videos per class (majority_rate)"))


@dataclass(frozen=True)
class References(Part):
    chance: float = field(metadata=doc("1/K"))
    null: NullReference = field(metadata=doc("the null the p-values test against"))
    majority: SystemScores | None = field(default=None, metadata=doc("always the training split's most frequent "
                                                                     "class"))
    majority_missing: str | None = field(default=None, metadata=doc("why there is no majority reference"))


@dataclass(frozen=True)
class BaselineProtocol(Part):
    """How the audio baselines were fitted and scored: the same unit on both sides."""
    unit_seconds: float | None = field(metadata=doc(
        "length of the clips fitted and scored (the dataset's clip length); null: the train rows as they are (a "
        "dataset without a build record)"))
    train_clips: int = field(metadata=doc("clips fitted on, cut from the train rows"))
    train_rows: int = field(metadata=doc("train rows they were cut from"))
    eval_clips: int = field(metadata=doc("clips scored"))


@dataclass(frozen=True)
class SharedCount(Part):
    n: int = field(metadata=doc("distinct items in the evaluated split"))
    shared: int = field(metadata=doc("of them also in another split"))
    examples: list[str] = field(default_factory=list, metadata=doc("a few of those"))


@dataclass(frozen=True)
class GroupOverlap(Part):
    key: str = field(metadata=doc("the column compared: `group` (the split key), or `channel` in datasets "
                                  "without one"))
    n: int = field(metadata=doc("groups in the evaluated split"))
    shared: int = field(metadata=doc("of them also in another split"))
    examples: list[str] = field(default_factory=list, metadata=doc("a few of those"))
    videos_in_shared_groups: int = field(default=0, metadata=doc("evaluated videos in a shared group"))
    videos_without_group: int = field(default=0, metadata=doc("evaluated videos with no known group"))
    channel_split: bool = field(default=False, metadata=doc("the groups are channels (prepare --group-by channel)"))


@dataclass(frozen=True)
class Overlap(Part):
    split: str = field(metadata=doc("the evaluated split"))
    other_splits: list[str] = field(metadata=doc("the splits compared with"))
    videos: SharedCount = field(metadata=doc("videos shared"))
    groups: GroupOverlap | None = field(default=None, metadata=doc("split groups (channels) shared"))
    groups_missing: str | None = field(default=None, metadata=doc("why groups could not be compared"))


@dataclass(frozen=True)
class Selection(Part):
    flagged: bool = field(metadata=doc("the evaluated split chose the checkpoint"))
    selection_split: str | None = field(default=None, metadata=doc("the split that did"))
    allow_test_selection: bool = field(default=False, metadata=doc("--allow_test_selection"))
    missing: str | None = field(default=None, metadata=doc("why it is unknown"))


@dataclass(frozen=True)
class Checks(Part):
    overlap: Overlap = field(metadata=doc("the evaluated split against the others"))
    selection: Selection = field(metadata=doc("which split chose the checkpoint"))
    null: NullReference = field(metadata=doc("the null accuracy"))
    few_videos: bool = field(metadata=doc("fewer videos than min_videos_for_claims"))
    min_videos_for_claims: int = field(metadata=doc("below this no difference is called significant"))


@dataclass(frozen=True)
class Inference(Part):
    device: str = field(metadata=doc("torch device"))
    window_seconds: float = field(metadata=doc("window length"))
    window_source: str = field(metadata=doc("where the window came from (--window_seconds or the run record)"))
    aggregate: str = field(metadata=doc("`mean` or `vote`"))
    batch_size: int = field(metadata=doc("windows per forward pass"))
    n_windows: int = field(metadata=doc("windows scored"))
    audio_seconds: float = field(metadata=doc("seconds of audio"))
    inference_seconds: float = field(metadata=doc("seconds of inference"))
    audio_seconds_per_second: float = field(metadata=doc("throughput"))


@dataclass(frozen=True)
class FusionFold(Part):
    videos: int = field(metadata=doc("videos of the fold"))
    weight: float = field(metadata=doc("weight chosen on the other folds"))


@dataclass(frozen=True)
class GridRow(Part):
    weight: float = field(metadata=doc("text weight"))
    log_loss: float = field(metadata=doc("mean log-loss on validation"))
    accuracy: float = field(metadata=doc("accuracy on validation"))


@dataclass(frozen=True)
class Fusion(Part):
    text_system: str = field(metadata=doc("the text system fused with audio"))
    chosen_on: str = field(metadata=doc("`validation` or `cross_fit`"))
    weight: float = field(metadata=doc("the text weight (median over folds for cross_fit)"))
    split: str | None = field(default=None, metadata=doc("the split cross-fitted on"))
    folds: list[FusionFold] = field(default_factory=list, metadata=doc("cross-fit folds"))
    validation_grid: list[GridRow] = field(default_factory=list, metadata=doc("the grid searched on validation"))
    validation_videos: int | None = field(default=None, metadata=doc("validation videos"))


@dataclass(frozen=True)
class Disagreement(Part):
    video_id: str = field(metadata=doc("a video"))
    title: str = field(metadata=doc("its title"))
    true_class: str = field(metadata=doc("its class"))
    predicted: dict[str, str] = field(metadata=doc("system (audio, text, fusion) -> predicted class"))
    right: str = field(metadata=doc("`audio`, `text` or `neither`"))


@dataclass(frozen=True)
class Agreement(Part):
    videos: int = field(metadata=doc("videos"))
    agree: int = field(metadata=doc("audio and text agree"))
    disagree_audio_right: int = field(metadata=doc("they differ and audio is right"))
    disagree_text_right: int = field(metadata=doc("they differ and text is right"))
    disagree_neither_right: int = field(metadata=doc("they differ and neither is right"))


@dataclass(frozen=True)
class TextResults(Part):
    systems: dict[str, SystemScores] = field(default_factory=dict, metadata=doc("text systems and fusions"))
    missing: dict[str, str] = field(default_factory=dict, metadata=doc("system -> why it is not available"))
    sources: dict[str, int] = field(default_factory=dict, metadata=doc("where the texts were read"))
    encoder: str | None = field(default=None, metadata=doc("the sentence encoder"))
    fusion: dict[str, Fusion] = field(default_factory=dict, metadata=doc("how each fusion weight was chosen"))
    per_class_recall: dict[str, dict[str, float | None]] = field(default_factory=dict, metadata=doc(
        "system -> class -> recall"))
    disagreements: list[Disagreement] = field(default_factory=list, metadata=doc("examples where audio and text "
                                                                                 "disagree"))
    n_videos: dict[str, int] = field(default_factory=dict, metadata=doc("videos per split"))
    agreement: Agreement | None = field(default=None, metadata=doc("agreement counts"))


@dataclass(frozen=True)
class SplitCounts(Part):
    videos: int = field(metadata=doc("videos"))
    clips: int = field(metadata=doc("rows"))
    hours: float = field(metadata=doc("hours"))


@dataclass(frozen=True)
class CategoryDownloads(Part):
    attempted: int = field(metadata=doc("videos with a record"))
    ok: int = field(metadata=doc("ok"))
    failed: int = field(metadata=doc("failed"))
    hours: float = field(metadata=doc("hours downloaded"))
    reasons: dict[str, int] = field(default_factory=dict, metadata=doc("failures by reason"))
    examples: dict[str, str] = field(default_factory=dict, metadata=doc("one message per reason"))


@dataclass(frozen=True)
class DownloadsSummary(Part):
    per_category: dict[str, CategoryDownloads] = field(metadata=doc("per category"))
    listing: dict[str, dict[str, float]] | None = field(default=None, metadata=doc("the listing's counts"))
    n_listings: int = field(default=0, metadata=doc("distinct listings"))
    problems: list[str] = field(default_factory=list, metadata=doc("what could not be read"))


@dataclass(frozen=True)
class DataSummary(Part):
    splits: dict[str, dict[str, SplitCounts]] = field(metadata=doc("split -> class -> counts, from the dataset"))
    prepare_stats: PrepareStats | None = field(default=None, metadata=doc("the dataset's build record"))
    prepare_stats_missing: str | None = field(default=None, metadata=doc("why there is none"))
    downloads: DownloadsSummary | None = field(default=None, metadata=doc("the downloads (--downloads)"))
    downloads_missing: str | None = field(default=None, metadata=doc("why there are none"))


@dataclass(frozen=True)
class RunSection(Part):
    files: RunRecord | None = field(default=None, metadata=doc("the run's run_config.json"))
    all_results: dict[str, Any] | None = field(default=None, metadata=doc("the run's all_results.json"))
    trainer_log: list[dict[str, Any]] | None = field(default=None, metadata=doc("trainer_state.json's log history"))
    missing: dict[str, str] = field(default_factory=dict, metadata=doc("run file -> why it is missing"))


@dataclass(frozen=True)
class Figure(Part):
    png: str | None = field(default=None, metadata=doc("the picture"))
    html: str | None = field(default=None, metadata=doc("its interactive version"))
    missing: str | None = field(default=None, metadata=doc("why it was not drawn"))


@dataclass(frozen=True)
class InputHashes(Part):
    dataset_fingerprint: str | None = field(metadata=doc("sha256 of the evaluated split's Arrow files"))
    model_fingerprint: str = field(metadata=doc("sha256 of the model's config, weights and preprocessor"))


@dataclass(frozen=True)
class ReportFiles(Part):
    md: str = field(metadata=doc("report.md"))
    html: str = field(metadata=doc("report.html"))
    lang: str = field(metadata=doc("en or ru"))
    conclusion: list[str] = field(default_factory=list, metadata=doc("the conclusion's sentences"))


@dataclass(frozen=True)
class EvalRecord(Record):
    """Everything the lab report says, and how it was computed."""

    VERSION = 2
    FILE = METRICS

    config: dict[str, Any] = field(metadata=doc("eval.py's resolved flags, as given"))
    model: str = field(metadata=doc("the model evaluated (run folder or Hub id)"))
    base_model: str | None = field(metadata=doc("its checkpoint before fine-tuning (--base_model, else the run "
                                                "record's); null when unknown"))
    split: str = field(metadata=doc("the evaluated split"))
    class_names: list[str] = field(metadata=doc("class names"))
    n_clips: int = field(metadata=doc("clips evaluated"))
    n_videos: int = field(metadata=doc("videos evaluated"))
    inference: Inference = field(metadata=doc("how the model was run"))
    clip: LevelScores = field(metadata=doc("the model at clip level"))
    video: LevelScores = field(metadata=doc("the model at video level"))
    references: References = field(metadata=doc("chance, the null, the majority class"))
    checks: Checks = field(metadata=doc("overlap, selection, null, few videos"))
    data: DataSummary = field(metadata=doc("the data the model was made from"))
    run: RunSection = field(metadata=doc("the run's records"))
    input_hashes: InputHashes = field(metadata=doc("what was evaluated"))
    baselines: dict[str, SystemScores] = field(default_factory=dict, metadata=doc(
        "audio baselines fitted on train and scored like the model"))
    baselines_missing: dict[str, str] = field(default_factory=dict, metadata=doc("baseline -> why it is missing"))
    baseline_protocol: BaselineProtocol | None = field(default=None, metadata=doc("how the baselines were fitted"))
    text: TextResults = field(default_factory=TextResults, metadata=doc("text systems and fusion (docs/text.md)"))
    figures: dict[str, Figure] = field(default_factory=dict, metadata=doc("pictures"))
    versions: dict[str, str | None] = field(default_factory=dict, metadata=doc("package versions"))
    report: ReportFiles | None = field(default=None, metadata=doc("the report's files"))
