"""What eval checks before it claims anything: split overlap (videos, channels), the checkpoint-selection split, the
null rate, and the report's wording rules. Inference is replaced by fixed logits, so the expected scores are known
before the run (no model, no decoding)."""

import json
import logging
from types import SimpleNamespace

import numpy as np
import pytest

import evaluation.pipeline
from common.contract import EvalRecord, RunRecord
from common.contract.evaluation import PairedDifference, Selection
from evaluation.checks import null_reference, selection_check, split_overlap
from evaluation.inference import Inference, SplitOutputs
from evaluation.pipeline import EvalConfig, evaluate_run
from evaluation.report import TEXT
from evaluation.report.sections import best_baseline_sentence
from testing.synthetic import CLASS_NAMES, make_prepared_dataset, write_prepared


def with_column(dataset, split, name, values_by_video, default=""):
    """``dataset`` with a string column ``name`` on ``split`` set per video (add_column, whatever prepare writes)."""
    data = dataset[split]
    values = [values_by_video.get(str(v), default) for v in data["video_id"]]
    if name in data.column_names:
        data = data.remove_columns(name)
    dataset[split] = data.add_column(name, values)
    return dataset


def renamed_videos(dataset, split, renames):
    data = dataset[split]
    dataset[split] = data.remove_columns("video_id").add_column(
        "video_id", [renames.get(str(v), str(v)) for v in data["video_id"]])
    return dataset


def load(path):
    from common.data import load_prepared

    return load_prepared(path)


def channels_everywhere(dataset, channel_of, ids=None):
    """Every split's channel names from ``channel_of`` (video -> name) and split keys from ``ids`` (video -> channel
    id; default: the name), as prepare writes them (``channel_id:...``; no channel: the video itself)."""
    for split in dataset:
        with_column(dataset, split, "channel", channel_of)
        keys = {str(v): (f"channel_id:{(ids or channel_of)[str(v)]}" if channel_of.get(str(v)) else f"video:{v}")
                for v in dataset[split]["video_id"]}
        with_column(dataset, split, "group", keys)
    return dataset


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    # train: 2 videos per class, validation 1, test 1: video ids "<split>-<class>-<i>"
    return make_prepared_dataset(tmp_path_factory.mktemp("checks") / "ds", videos_per_class=(2, 1, 1),
                                 clips_per_video=1, clip_seconds=0.2)


def test_overlap_counts_shared_videos_and_channels(small_dataset):
    dataset = renamed_videos(load(small_dataset), "test", {"test-food-0": "train-food-0"})  # one leaked video
    channel_of = {"train-art_music-0": "chA", "train-art_music-1": "chA", "train-food-0": "chF", "train-food-1": "chF",
                  "train-history-0": "chH", "train-travel-0": "chT", "validation-food-0": "chV",
                  "test-art_music-0": "chA",        # a test video from a train channel
                  "test-history-0": "chX", "test-travel-0": ""}  # its own channel; unknown channel
    overlap = split_overlap(channels_everywhere(dataset, channel_of), "test")
    assert overlap.videos.to_json() == {"n": 4, "shared": 1, "examples": ["train-food-0"]}
    groups = overlap.groups
    # the video without a channel is its own group (prepare's rule): 4 groups, none without one
    assert (groups.key, groups.n, groups.shared, groups.examples) == ("group", 4, 2, ["channel_id:chA",
                                                                                      "channel_id:chF"])
    assert (groups.videos_in_shared_groups, groups.videos_without_group) == (2, 0)


def test_channels_that_share_a_name_but_not_an_id_are_not_counted_as_shared(small_dataset):
    """Bug caught (issue 29): eval compared channel display names, so 16 channels with distinct ids named "Channel
    0".."Channel 3" made 3 shared channels of a split that shares none; it compares the split key now."""
    dataset = load(small_dataset)
    videos = [str(v) for split in dataset for v in dataset[split]["video_id"]]
    names = {video: f"Channel {i % 4}" for i, video in enumerate(videos)}      # names repeat across splits
    ids = {video: f"UC{i:022d}" for i, video in enumerate(videos)}              # ids never do
    overlap = split_overlap(channels_everywhere(dataset, names, ids), "test")
    assert overlap.groups.shared == 0 and overlap.groups.key == "group"
    by_name = split_overlap(dataset.remove_columns("group"), "test")           # a dataset made before the column
    assert by_name.groups.key == "channel" and by_name.groups.shared > 0


def test_overlap_of_a_clean_split_and_of_a_dataset_without_channels(small_dataset):
    dataset = load(small_dataset)
    assert split_overlap(dataset, "test").videos.shared == 0
    assert split_overlap(dataset, "test").groups.shared == 0  # every synthetic video has its own channel
    dataset = dataset.remove_columns(["channel", "group"])  # a dataset made before prepare wrote channels
    assert "no group or channel column" in split_overlap(dataset, "test").groups_missing
    # empty channels are unknown, never one shared channel
    clean = with_column(dataset, "test", "channel", {})
    for split in ("train", "validation"):
        clean = with_column(clean, split, "channel", {})
    assert split_overlap(clean, "test").groups.to_json() == {
        "key": "channel", "n": 0, "shared": 0, "examples": [], "videos_in_shared_groups": 0,
        "videos_without_group": 4, "channel_split": False}


def _run_record(eval_split="validation", allow_test=False, selects=True) -> RunRecord:
    return RunRecord(base_model="b", dataset_name="d", max_length_seconds=1.0, eval_window_seconds=1.0,
                     eval_split_name=eval_split, allow_test_selection=allow_test, selects_checkpoint=selects)


def test_selection_split_and_null_rate():
    assert selection_check(_run_record(), "validation").flagged is True
    assert selection_check(_run_record(), "test").flagged is False
    assert selection_check(_run_record(selects=False), "validation").flagged is False   # the last epoch was kept
    allowed = selection_check(_run_record("test", allow_test=True), "test")
    assert allowed.flagged is True and allowed.allow_test_selection is True
    assert "unknown" in selection_check(None, "test").missing and not selection_check(None, "test").flagged
    assert null_reference([0, 1, 2, 3], CLASS_NAMES).to_json() == {
        "kind": "chance", "accuracy": 0.25, "balanced": True, "class_name": None, "videos_per_class": None}
    unbalanced = null_reference([0, 0, 0, 1, 2, 3], CLASS_NAMES)
    assert (unbalanced.kind, unbalanced.accuracy, unbalanced.class_name) == ("majority_rate", 0.5, "art_music")


# ---------------------------------------------------------------- whole runs with fixed logits

def fake_inference(right_videos):
    """Replace ``infer``: clip logits that are right exactly on ``right_videos`` (else predict the next class)."""
    def infer(config, inputs):
        n_classes = len(inputs.class_names)
        predicted = [label if video in right_videos else (label + 1) % n_classes
                     for label, video in zip(inputs.labels.tolist(), inputs.video_ids)]
        logits = np.full((len(predicted), n_classes), -3.0)
        logits[np.arange(len(predicted)), predicted] = 3.0
        embeddings = np.random.default_rng(0).standard_normal((len(predicted), 8))
        ones = np.ones(len(predicted), dtype=int)
        return Inference(SplitOutputs(logits, embeddings, ones, len(predicted), 1.0, 1.0), None)
    return infer


def run_config_dir(tmp_path, record: RunRecord):
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    record.write(run / "run_config.json")
    return str(run)


def evaluate(monkeypatch, dataset, out, right_videos, run=None, lang="en", **flags):
    monkeypatch.setattr(evaluation.pipeline, "infer", fake_inference(set(right_videos)))
    monkeypatch.setattr(evaluation.pipeline, "model_fingerprint", lambda model: "fake")
    metrics = evaluate_run(EvalConfig(model=run or str(out / "no-run"), dataset=dataset, out=str(out), lang=lang,
                                      bootstrap=200, **flags))
    return metrics, (out / "report.md").read_text(encoding="utf-8")


def test_a_leaky_dataset_is_flagged_in_metrics_report_and_log(small_dataset, tmp_path, monkeypatch, caplog):
    leaky = renamed_videos(load(small_dataset), "test", {"test-food-0": "train-food-0"})
    leaky = channels_everywhere(leaky, {"train-history-0": "shared", "test-history-0": "shared"})
    write_prepared(leaky, tmp_path / "leaky")
    with caplog.at_level(logging.WARNING):
        metrics, md = evaluate(monkeypatch, str(tmp_path / "leaky"), tmp_path / "report", [])
    assert metrics.checks.overlap.videos.shared == 1
    # the history channel, and the leaked video's own group (a video without a channel is its own group)
    assert metrics.checks.overlap.groups.shared == 2
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())       # the file, as written
    assert saved["checks"]["overlap"]["videos"]["examples"] == ["train-food-0"]
    assert EvalRecord.read(tmp_path / "report" / "metrics.json") == metrics
    assert "No video appears in two splits" not in md
    assert "WARNING: 1 of the 4 test videos also appear in train/validation (e.g. train-food-0)" in md
    assert "WARNING: 2 of the 4 test channels also appear in train/validation (compared by the dataset's split key" in md
    leaks = [r.getMessage() for r in caplog.records if r.getMessage().startswith("LEAK")]
    assert len(leaks) == 2 and "train-food-0" in leaks[0] and "shared" in leaks[1]


def test_a_clean_dataset_says_so_only_after_checking(small_dataset, tmp_path, monkeypatch, caplog):
    with caplog.at_level(logging.WARNING):
        metrics, md = evaluate(monkeypatch, small_dataset, tmp_path / "report", [])
    assert "No video appears in two splits: checked on the dataset, none of the 4 test videos" in md
    assert "No test channel appears in train/validation: checked over 4 channels" in md
    assert not [r for r in caplog.records if r.getMessage().startswith("LEAK")]
    load(small_dataset).remove_columns(["channel", "group"]).save_to_disk(str(tmp_path / "old"))
    metrics, md = evaluate(monkeypatch, str(tmp_path / "old"), tmp_path / "report_old", [])
    assert "Channels: unknown" in md   # made without a channel column: unknown, not zero


def test_known_predictions_give_known_scores_and_few_videos_wording(small_dataset, tmp_path, monkeypatch):
    # right on 3 of the 4 test videos (one per class, one clip each)
    metrics, md = evaluate(monkeypatch, small_dataset, tmp_path / "report", ["test-art_music-0", "test-food-0",
                                                                             "test-history-0"])
    assert metrics.video.accuracy == 0.75 and metrics.clip.accuracy == 0.75
    # P(X >= 3), X ~ Bin(4, 1/4) = (4 * 3 + 1) / 256
    assert metrics.video.binomial_test.p_value == pytest.approx(13 / 256)
    assert metrics.clip.binomial_test.p_value is None
    assert "| clips | 4 | 0.750" in md and "n/a (clips are not independent)" in md
    assert "Only 4 test videos (fewer than 30): the intervals are wide" in md
    assert "with 4 videos not called significant" in md
    assert "significant difference" not in md and "better than chance" not in md


def test_enough_videos_allow_a_claim_against_the_null(tmp_path, monkeypatch):
    dataset = make_prepared_dataset(tmp_path / "ds", videos_per_class=(1, 1, 8), clips_per_video=1, clip_seconds=0.2)
    right = [f"test-{name}-{i}" for name in CLASS_NAMES for i in range(8)]
    metrics, md = evaluate(monkeypatch, dataset, tmp_path / "report", right)
    assert metrics.checks.few_videos is False and metrics.video.n == 32
    assert "fewer than 30" not in md
    assert "(chance, 1/K); one-sided binomial test over videos p = 5.4e-20: above the null." in md


def test_unbalanced_test_split_tests_against_the_majority_rate(tmp_path, monkeypatch):
    from datasets import concatenate_datasets

    dataset = load(make_prepared_dataset(tmp_path / "ds", videos_per_class=(1, 1, 1), clips_per_video=1,
                                         clip_seconds=0.2))
    extra = dataset["test"].select([0, 0])  # two more art_music videos
    extra = extra.remove_columns("video_id").add_column("video_id", ["test-art_music-1", "test-art_music-2"])
    dataset["test"] = concatenate_datasets([dataset["test"], extra.cast(dataset["test"].features)])
    write_prepared(dataset, tmp_path / "unbalanced")
    # 6 test videos, 3 of art_music: the null is 3/6, not 1/4; the model is right on the 3 art_music videos
    metrics, md = evaluate(monkeypatch, str(tmp_path / "unbalanced"), tmp_path / "report",
                           ["test-art_music-0", "test-art_music-1", "test-art_music-2"])
    assert metrics.references.null.accuracy == 0.5
    assert metrics.video.binomial_test.null_accuracy == 0.5
    # P(X >= 3), X ~ Bin(6, 1/2) = 42 / 64
    assert metrics.video.binomial_test.p_value == pytest.approx(42 / 64)
    assert "the null accuracy is the majority-class rate: always answering art_music gives 0.500" in md
    assert "0.0 percentage points above the null accuracy 50.0% (majority-class rate of the test split)" in md


# The sentences a reader sees, written out (not rebuilt from the report's own templates, which would make the
# check pass whatever the templates say).
SELECTION_FLAG = {
    "en": ("WARNING: test is the split training evaluated on to select its checkpoint and stop early "
           "(run_config.json eval_split_name = test, with --allow_test_selection): these scores are "
           "optimistic; evaluate a split that training never saw."),
    "ru": ("ВНИМАНИЕ: test - выборка, по которой обучение выбирало контрольную точку и делало раннюю остановку "
           "(run_config.json eval_split_name = test, с --allow_test_selection): эти оценки оптимистичны; "
           "оценивайте на выборке, которую обучение не видело."),
}
SELECTION_OK = {"en": "Checkpoint selection used the test split, not the evaluated validation split.",
                "ru": "Контрольная точка выбиралась по выборке test, а не по оцениваемой выборке validation."}


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_evaluating_the_selection_split_is_flagged(small_dataset, tmp_path, monkeypatch, caplog, lang):
    """Bug caught: a report on the split that selected the checkpoint must say its scores are optimistic."""
    run = run_config_dir(tmp_path, _run_record("test", allow_test=True))
    with caplog.at_level(logging.WARNING):
        metrics, md = evaluate(monkeypatch, small_dataset, tmp_path / "report", [], run=run, lang=lang)
    assert metrics.checks.selection == Selection(flagged=True, selection_split="test", allow_test_selection=True)
    assert SELECTION_FLAG[lang] in " ".join(md.split())
    assert any("select its checkpoint" in r.getMessage() for r in caplog.records)
    # evaluated on another split than the one selection used: no flag
    metrics, md = evaluate(monkeypatch, small_dataset, tmp_path / "report2", [], run=run, lang=lang,
                           split="validation")
    assert metrics.checks.selection.flagged is False
    assert SELECTION_FLAG[lang].split(":")[0] + ":" not in md          # no "WARNING:" / "ВНИМАНИЕ:" at all
    assert SELECTION_OK[lang] in " ".join(md.split())


@pytest.mark.parametrize("few, interval, expected", [
    (False, [0.1, 0.3], "the paired interval excludes zero."),
    (False, [-0.1, 0.3], "the paired interval includes zero."),
    (True, [0.1, 0.3], "the paired interval excludes zero; with 12 test videos no difference is called significant."),
])
def test_baseline_sentence_wording(few, interval, expected):
    video = SimpleNamespace(accuracy=0.6, ci=SimpleNamespace(accuracy=(0.4, 0.8)))
    forest = SimpleNamespace(name="forest", video=video, difference_vs_model=SimpleNamespace(
        video=PairedDifference(accuracy_difference=0.2, ci=tuple(interval))))
    metrics = SimpleNamespace(checks=SimpleNamespace(few_videos=few), video=SimpleNamespace(n=12),
                              baselines={"forest": forest})
    sentence = best_baseline_sentence(TEXT["en"], metrics)
    assert sentence.endswith(expected) and "20.0 percentage points better" in sentence
    assert "significant" not in sentence.replace("no difference is called significant", "")


def test_language_files_have_the_same_keys():
    assert set(TEXT["en"]) == set(TEXT["ru"])
