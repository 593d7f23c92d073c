"""eval.py end to end on tiny inputs: outputs, report sections in en and ru, baselines, windowing in bounded memory."""

import csv
import json
import re
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import eval as eval_cli
from dataclasses import replace

from common.audio import encode_flac
from common.contract import EvalRecord, PrepareStats, RunRecord
from common.contract.dataset import DroppedCounts
from common.contract.run import Hardware
from common.data import clip_features
from common.jsonl import append_jsonl
from common.modeling import load_feature_extractor, load_model
from evaluation import inference
from evaluation.report import TEXT
from testing.synthetic import CLASS_NAMES, tone_clip, write_prepared
from testing.tiny_models import save_tiny_model


def tone_split(rng, n_videos, clips_per_video, clip_seconds, prefix):
    """Rows of class-dependent tones; built with from_dict + cast (encoding an Audio feature needs torchcodec)."""
    from datasets import Dataset

    rows = {name: [] for name in clip_features(CLASS_NAMES)}
    for label, name in enumerate(CLASS_NAMES):
        for v in range(n_videos):
            for c in range(clips_per_video):
                rows["audio"].append({"bytes": encode_flac(tone_clip(label, clip_seconds, rng)), "path": f"{c}.flac"})
                rows["label"].append(label)
                rows["video_id"].append(f"{prefix}-{name}-{v}")
                rows["channel"].append(f"{prefix}-{name}-{v}")
                rows["group"].append(f"channel:{prefix}-{name}-{v}")
                rows["start_s"].append(c * clip_seconds)
                rows["duration_s"].append(clip_seconds)
                rows["title"].append(f"{name} | video {v}")
    return Dataset.from_dict(rows).cast(clip_features(CLASS_NAMES))


def save_dataset(path, videos=(6, 2, 4), clips_per_video=2, clip_seconds=1.0):
    """The splits in prepare's layout, with a build record whose dropped counts the report shows."""
    from datasets import DatasetDict

    rng = np.random.default_rng(0)
    splits = {s: tone_split(rng, n, clips_per_video, clip_seconds, s) for s, n in zip(("train", "validation", "test"), videos)}
    path = Path(write_prepared(DatasetDict(splits), path, clip_seconds=clip_seconds))
    stats = PrepareStats.read(path / "prepare_stats.json")
    replace(stats, dropped=DroppedCounts(videos={"balance_undersampled": 3}, clips={"silent": 5})).write(
        path / "prepare_stats.json")
    return str(path)


def save_run_dir(tmp, class_names=CLASS_NAMES, run_files=True):
    """A tiny wav2vec2 with the dataset's labels; with ``run_files`` also the files train.py writes."""
    import torch

    torch.manual_seed(0)
    base = save_tiny_model("wav2vec2", tmp / "base")
    run = tmp / ("run" if run_files else "bare")
    load_model(base, class_names=list(class_names)).save_pretrained(run)
    load_feature_extractor(base).save_pretrained(run)
    if run_files:
        RunRecord(base_model=base, dataset_name="d", max_length_seconds=0.5, eval_window_seconds=0.5,
                  training_args={"learning_rate": 3e-5, "num_train_epochs": 3, "per_device_train_batch_size": 4},
                  model_args={"freeze_feature_encoder": True}, hardware=Hardware(device="cpu", torch_threads=1),
                  train_runtime_s=42.0).write(run / "run_config.json")
        (run / "trainer_state.json").write_text(json.dumps({"log_history": [
            {"epoch": e, "loss": 1.4 - 0.1 * e} for e in (1, 2, 3)] + [
            {"epoch": e, "eval_loss": 1.3 - 0.1 * e, "eval_accuracy": 0.3 + 0.1 * e} for e in (1, 2, 3)]}))
        (run / "all_results.json").write_text(json.dumps({"eval_accuracy": 0.6, "train_runtime": 42.0}))
    return str(run)


def save_downloads(path):
    records = [("a1", "art_music", "ok"), ("a2", "art_music", "ok"), ("a3", "art_music", "unavailable"),
               ("f1", "food", "ok"), ("f2", "food", "private"), ("f3", "food", "private"),
               ("h1", "history", "network"), ("h1", "history", "ok"),  # retried: the last record wins
               ("t1", "travel", "ok")]
    for video_id, category, status in records:
        append_jsonl(path / "manifest.jsonl", {"id": video_id, "category": category, "status": status,
                                               "message": f"{status} message", "duration_s": 1800.0})
    (path / "listing_report.json").write_text(json.dumps({"per_category": {
        c: {"rows": 5, "usable": 3, "damaged_id": 2} for c in CLASS_NAMES}}))
    return str(path)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    dataset = save_dataset(tmp / "dataset")
    return {"tmp": tmp, "dataset": dataset, "run": save_run_dir(tmp), "bare": save_run_dir(tmp, run_files=False),
            "downloads": save_downloads(tmp / "downloads")}


@pytest.fixture(scope="module")
def full_run(inputs):
    out = inputs["tmp"] / "report_en"
    metrics = eval_cli.run(["--model", inputs["run"], "--dataset", inputs["dataset"], "--split", "test", "--out",
                             str(out), "--lang", "en", "--baselines", "--downloads", inputs["downloads"],
                             "--bootstrap", "200", "--seed", "1"])
    return out, metrics


PLACEHOLDERS = re.compile(r"\bXX\b|\bNone\b|\bnan\b|\{\w*\}|TODO")


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def section_titles(lang):
    t = TEXT[lang]
    return [t[k] for k in ("title", "goal", "data", "listing", "downloads", "balance", "splits", "method", "recipe",
                           "hardware", "protocol", "results", "comparison", "text", "conclusion", "references")]


def test_full_run_writes_every_output(full_run):
    out, metrics = full_run
    for name in ("metrics.json", "predictions_clips.csv", "predictions_videos.csv", "report.md", "report.html",
                 "confusion_video.png", "confusion_clip.png", "per_class_accuracy.png", "training_curves.png",
                 "embeddings.png", "embeddings.html"):
        assert (out / name).stat().st_size > 0, name
    saved = json.loads((out / "metrics.json").read_text())
    clips, videos = read_csv(out / "predictions_clips.csv"), read_csv(out / "predictions_videos.csv")
    # the headline agrees with the per-video predictions written beside it (recounted here, not read back)
    assert EvalRecord.from_json(saved) == metrics                                      # the file is the record
    assert metrics.video.accuracy == pytest.approx(sum(row["label"] == row["predicted"] for row in videos) / 16)
    assert metrics.clip.accuracy == pytest.approx(sum(row["label"] == row["predicted"] for row in clips) / 32)
    assert len(clips) == 32 and len(videos) == 16 and metrics.n_videos == 16
    # the run record's eval_window_seconds (0.5 s) sets the window: two windows per 1-s clip
    assert metrics.inference.window_seconds == 0.5 and metrics.inference.n_windows == 64
    assert {row["windows"] for row in clips} == {"2"}
    # scores from known predictions: tests/test_eval_checks.py; here the CSVs name every clip and video once
    assert sorted(row["video_id"] for row in videos) == sorted({row["video_id"] for row in clips})
    low, high = metrics.video.ci.accuracy
    assert low <= metrics.video.accuracy <= high
    assert metrics.references.chance == 0.25
    assert metrics.references.majority.class_name == "art_music"  # balanced train: lowest index wins the tie
    assert metrics.inference.window_source == "run_config.json eval_window_seconds"
    from common.provenance import files_sha256
    run = Path(metrics.model)
    hashed = sorted(p for p in run.iterdir() if p.name in ("config.json", "model.safetensors", "preprocessor_config.json"))
    assert metrics.input_hashes.model_fingerprint == "sha256:" + files_sha256(hashed)
    assert metrics.versions["torch"] and metrics.versions["scipy"]


def test_baselines_beat_chance_on_separable_tones(full_run):
    _, metrics = full_run
    baselines = metrics.baselines
    assert set(baselines) == {"handcrafted_logistic_regression", "handcrafted_random_forest",
                              "frozen_encoder_logistic_regression"}
    for name in ("handcrafted_logistic_regression", "handcrafted_random_forest"):
        video = baselines[name].video
        assert video.accuracy >= 0.9, (name, video.accuracy)
        assert video.binomial_test.p_value < 0.001
    assert baselines["frozen_encoder_logistic_regression"].clip.accuracy > 0.5
    # majority on a balanced test split is exactly chance
    assert metrics.references.majority.video.accuracy == pytest.approx(0.25)
    # fitted on clips of the test clips' length (here the train rows are such clips already)
    assert metrics.baseline_protocol.to_json() == {"unit_seconds": 1.0, "train_clips": 48, "train_rows": 48,
                                                   "eval_clips": 32}


def test_text_and_fusion_on_the_same_videos(full_run):
    out, metrics = full_run
    text = metrics.text
    # the tone dataset's titles name the class ("food | video 3"): TF-IDF on titles alone is perfect
    assert text.sources["title column"] == 48 and text.n_videos == {"validation": 8, "test": 16}
    tfidf = text.systems["text_tfidf"]
    assert tfidf.video.accuracy == 1.0 and tfidf.video.n == metrics.video.n == 16
    assert tfidf.clip.n == metrics.clip.n  # video predictions repeated on each clip
    fusion = text.fusion["fusion_tfidf"]
    # the run selected its checkpoint on validation (train.py's default): the weight is cross-fitted on the 16
    # test videos; the titles are perfect and the tiny audio model is near chance: every fold picks text alone
    assert fusion.chosen_on == "cross_fit" and [f.videos for f in fusion.folds] == [4, 3, 3, 3, 3]
    assert fusion.weight == 1.0 and {f.weight for f in fusion.folds} == {1.0}
    assert text.systems["fusion_tfidf"].video.accuracy == 1.0
    assert set(text.per_class_recall) >= {"audio", "text_tfidf", "fusion_tfidf"}
    agreement = text.agreement
    assert agreement.agree + agreement.disagree_audio_right + agreement.disagree_text_right \
        + agreement.disagree_neither_right == 16
    assert len(text.disagreements) == min(5, 16 - agreement.agree)
    assert len((out / "texts.jsonl").read_text().splitlines()) == 16
    md = (out / "report.md").read_text()
    assert "5.1 Text alone and audio + text together" in md and "late fusion" in md
    assert "Text alone (TF-IDF) reaches 1.000" in md
    assert "cross-fitted on the 16 test videos in 5 folds" in md and "cross-fitted on the evaluated videos" in md


def test_english_report_has_every_section_and_no_placeholder(full_run):
    out, metrics = full_run
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for title in section_titles("en"):
        assert title in md and title in page, title
    assert not PLACEHOLDERS.search(md), PLACEHOLDERS.search(md)
    # downloads: the retried video counts as ok; failure reasons per category
    assert "| food | 3 | 1 | 2 | 33% | 0.50 | private: 2 |" in md
    assert "| history | 1 | 1 | 0 | 100% |" in md
    assert "balance_undersampled" in md and "| learning_rate | 3e-05 |" in md
    assert f"{metrics.video.accuracy:.3f}" in metrics.report.conclusion[0]
    # self-contained: every picture inline, no file references except the interactive map link
    assert page.count("data:image/png;base64,") == 5 and not re.search(r'src="(?!data:)', page)
    assert "MFCC + spectral, logistic regression" in md


def test_russian_report_with_missing_inputs_says_not_available(inputs):
    out = inputs["tmp"] / "report_ru"
    metrics = eval_cli.run(["--model", inputs["bare"], "--dataset", inputs["dataset"], "--out", str(out),
                             "--lang", "ru", "--aggregate", "vote", "--window_seconds", "1.0", "--bootstrap", "50"])
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for title in section_titles("ru"):
        assert title in md and title in page, title
    assert not PLACEHOLDERS.search(md), PLACEHOLDERS.search(md)
    assert "Выводы" in md and "нулевой точности 25.0% (случайное угадывание, 1/K)" in md
    for reason in ("no download directory given", "run_config.json not found", "trainer_state.json",
                   "baselines were not requested", "all_results.json"):
        assert re.search(r"нет данных \(not available\): .*" + re.escape(reason), md), reason
    assert metrics.inference.n_windows == 32 and metrics.inference.aggregate == "vote"
    # vote: a video's prediction is the class with most clip votes (ties by mean logits)
    clips = read_csv(out / "predictions_clips.csv")
    for row in read_csv(out / "predictions_videos.csv"):
        votes = [c["predicted"] for c in clips if c["video_id"] == row["video_id"]]
        assert votes.count(row["predicted"]) == max(votes.count(v) for v in set(votes))


def test_label_mismatch_and_bad_flags_fail_clearly(inputs, tmp_path):
    other = save_run_dir(tmp_path, class_names=["cats", "dogs", "birds", "cars"], run_files=False)
    with pytest.raises(ValueError, match=r"predicts labels \['cats'.*ClassLabel names are \['art_music'"):
        eval_cli.run(["--model", other, "--dataset", inputs["dataset"], "--out", str(tmp_path / "r")])
    with pytest.raises(ValueError, match="--split 'dev'.*has splits"):
        eval_cli.run(["--model", inputs["bare"], "--dataset", inputs["dataset"], "--out", str(tmp_path / "r"),
                       "--split", "dev"])
    with pytest.raises(ValueError, match="--bootstrap 5"):
        eval_cli.run(["--model", inputs["bare"], "--dataset", inputs["dataset"], "--out", str(tmp_path / "r"),
                       "--bootstrap", "5"])


def test_long_clips_are_windowed_in_bounded_batches(inputs, monkeypatch):
    """40-s clips, 1-s windows, batches of 4: no forward pass ever sees more than 4 x 1 s; clips are decoded lazily
    (at most the current clip and the previous one, whose windows may still wait in the batch, are alive: the peak
    traced memory for six clips is that for two); a clip's logits are the mean of its windows' logits."""
    import common.modeling

    split = tone_split(np.random.default_rng(1), 2, 1, 40.0, "long").select(range(6))
    model, extractor, columns = inference.load_eval_model(inputs["bare"], CLASS_NAMES)
    batches = []
    real_featurize = common.modeling.featurize

    def spy(extractor_, arrays, *rest, **options):
        batches.append([len(a) for a in arrays])
        return real_featurize(extractor_, arrays, *rest, **options)

    def traced_peak(data):
        tracemalloc.start()
        result = inference.infer_split(model, extractor, columns, data, window_s=1.0, batch_size=4)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return result, peak

    monkeypatch.setattr(common.modeling, "featurize", spy)
    _, peak_two = traced_peak(split.select([0, 1]))
    out, peak_six = traced_peak(split)
    assert out.n_windows == 240 and out.windows_per_clip.tolist() == [40] * 6
    assert max(len(b) for b in batches) == 4 and max(max(b) for b in batches) == 16000
    clip_bytes = 40 * 16000 * 4
    # holding every decoded clip would add 4 x clip_bytes (10 MB) for six clips
    assert peak_six < peak_two + clip_bytes / 4, (peak_two, peak_six)
    direct = common.modeling.predict_windows(model, extractor, [inference.clip_array(split[1]["audio"])],
                                             window_s=1.0, batch_size=4)
    np.testing.assert_allclose(out.clip_logits[1], direct.logits[:, columns].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_every_flag_parses_and_a_yaml_config_works(tmp_path):
    argv = ["--model", "m", "--dataset", "d", "--out", "o", "--split", "validation", "--lang", "ru", "--baselines",
            "--base_model", "b", "--downloads", "x", "y", "--aggregate", "vote", "--batch_size", "3",
            "--window_seconds", "2.5", "--bootstrap", "20", "--seed", "7", "--device", "cpu"]
    config = eval_cli.parse_args(argv)
    assert (config.split, config.lang, config.baselines, config.base_model, config.downloads, config.aggregate,
            config.batch_size, config.window_seconds, config.bootstrap, config.seed, config.device) == (
        "validation", "ru", True, "b", ["x", "y"], "vote", 3, 2.5, 20, 7, "cpu")
    recipe = tmp_path / "eval.yaml"
    recipe.write_text("model: m\ndataset: d\nout: o\nlang: ru\nbootstrap: 50\nbaselines: true\ndownloads: [x, y]\n")
    from_file = eval_cli.parse_args([str(recipe)])
    assert (from_file.model, from_file.lang, from_file.bootstrap, from_file.aggregate, from_file.baselines,
            from_file.downloads) == ("m", "ru", 50, "mean", True, ["x", "y"])
    # config file + flags: the flags override the file, the rest of the file stays
    overridden = eval_cli.parse_args([str(recipe), "--bootstrap", "70", "--downloads", "z", "--baselines", "false",
                                      "--aggregate", "vote"])
    assert (overridden.model, overridden.lang, overridden.bootstrap, overridden.downloads, overridden.baselines,
            overridden.aggregate) == ("m", "ru", 70, ["z"], False, "vote")
    as_json = tmp_path / "eval.json"
    as_json.write_text(json.dumps({"model": "m", "dataset": "d", "out": "o", "seed": 3}))
    assert eval_cli.parse_args([str(as_json), "--out", "p"]).out == "p"
    (tmp_path / "bad.yaml").write_text("model: m\nmodle: typo\n")
    with pytest.raises(ValueError, match=r"bad.yaml: unknown key 'modle'; did you mean \['model'\]"):
        eval_cli.parse_args([str(tmp_path / "bad.yaml")])
    with pytest.raises(ValueError, match="missing.yaml: no such file"):
        eval_cli.parse_args([str(tmp_path / "missing.yaml"), "--seed", "1"])
    with pytest.raises(ValueError, match="--lang.*invalid choice: 'de'"):
        eval_cli.parse_args(["--model", "m", "--dataset", "d", "--out", "o", "--lang", "de"])


def test_split_train_refuses_baselines_fitted_on_it(inputs):
    out = inputs["tmp"] / "report_train"
    metrics = eval_cli.run(["--model", inputs["run"], "--dataset", inputs["dataset"], "--split", "train", "--out",
                            str(out), "--baselines", "--text_encoder", "none", "--bootstrap", "20"])
    assert metrics.baselines == {}
    assert set(metrics.baselines_missing) == {"handcrafted_logistic_regression", "handcrafted_random_forest",
                                              "frozen_encoder_logistic_regression"}
    assert all("fitted on the train split" in r for r in metrics.baselines_missing.values())
    assert metrics.text.systems == {} and "--split train" in metrics.text.missing["all"]
    md = (out / "report.md").read_text()
    assert "fitted on the train split" in md and "MFCC + spectral, logistic regression |" not in md


def test_main_turns_bad_input_into_one_line_and_exit_code_2(inputs, tmp_path, capsys):
    other = save_run_dir(tmp_path, class_names=["cats", "dogs", "birds", "cars"], run_files=False)
    cases = {
        "label mismatch": (["--model", other, "--dataset", inputs["dataset"]], "model .* predicts labels"),
        "missing dataset": (["--model", inputs["bare"], "--dataset", str(tmp_path / "nowhere")], str(tmp_path / "nowhere")),
        "bad config value": (["--model", inputs["bare"], "--dataset", inputs["dataset"], "--bootstrap", "5"],
                             "--bootstrap 5"),
        "missing config file": ([str(tmp_path / "none.yaml")], "none.yaml: no such file"),
        "missing model folder": (["--model", str(tmp_path / "no_run"), "--dataset", inputs["dataset"]],
                                 "--model: no such run folder or Hub model: .*no_run"),
    }
    for name, (argv, expected) in cases.items():
        capsys.readouterr()
        assert eval_cli.main(argv + ["--out", str(tmp_path / "r")]) == 2, name
        stderr = capsys.readouterr().err
        errors = [line for line in stderr.splitlines() if line.startswith("python eval.py: error: ")]
        assert "Traceback" not in stderr, (name, stderr)
        assert len(errors) == 1 and re.search(expected, errors[0]), (name, errors)


def test_command_line_exits_2_without_a_traceback(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(eval_cli.__file__).parent
    proc = subprocess.run([sys.executable, str(root / "eval.py"), "--model", str(tmp_path / "no_model"), "--dataset",
                           str(tmp_path / "no_dataset"), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=root, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "no_dataset" in proc.stderr


def test_loading_the_frozen_encoder_leaves_the_callers_torch_rng_alone(tmp_path):
    """Bug caught: load_encoder called torch.manual_seed(0), reseeding the whole evaluation and ignoring --seed."""
    import torch

    base = save_tiny_model("wav2vec2", tmp_path / "base")
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    first, _ = inference.load_encoder(base, CLASS_NAMES)
    assert torch.equal(torch.rand(3), expected)
    second, _ = inference.load_encoder(base, CLASS_NAMES)      # and its (unused) head stays reproducible
    assert torch.equal(first.classifier.weight, second.classifier.weight)


def test_baselines_are_fitted_on_clips_of_the_scored_length_cut_from_the_train_rows(tmp_path):
    """Bug caught (issue 29): the baselines were fitted on prepare's 3-clip train rows and scored on 1-clip test
    clips: a third as many items, of another length, which leaned the comparison towards the model."""
    from common.audio import SAMPLING_RATE
    from common.data import clip_array, load_prepared
    from evaluation.baselines import train_pieces
    from testing.synthetic import make_prepared_dataset

    dataset = load_prepared(make_prepared_dataset(tmp_path / "ds", videos_per_class=(2, 1, 1), clips_per_video=1,
                                                  clip_seconds=1.0, train_row_seconds=3.0))
    train = dataset["train"]
    pieces = train_pieces(train, clip_samples=SAMPLING_RATE)
    assert len(pieces) == 3 * len(train) and pieces.labels.tolist() == [l for l in train["label"] for _ in range(3)]
    arrays = list(pieces.arrays())
    assert {len(a) for a in arrays} == {SAMPLING_RATE}
    row = clip_array(train[1]["audio"])
    np.testing.assert_array_equal(np.concatenate(arrays[3:6]), row[:3 * SAMPLING_RATE])
    whole = train_pieces(train, clip_samples=None)           # no build record: the rows as they are
    assert len(whole) == len(train) and [len(a) for a in whole.arrays()] == [3 * SAMPLING_RATE] * len(train)


class FakeHubApi:
    """FAKE of ``huggingface_hub.HfApi`` for --push_results: a repository without a README yet; records the commit,
    uploads nothing."""

    def __init__(self):
        self.commits = []

    def hf_hub_download(self, repo_id, filename):
        raise FileNotFoundError(f"{repo_id}/{filename}: not in this fake repository")

    def create_commit(self, repo_id, operations, **kwargs):
        self.commits.append((repo_id, operations, kwargs))


def test_push_results_writes_the_model_index_and_widget_examples(full_run, inputs):
    """Bug caught: a model page whose widget has nothing to play and whose results table is empty; the card now
    carries model-index (accuracy and macro-F1 at clip and video level, the split's rule) and one example clip
    per class, uploaded in the same commit."""
    import yaml
    from huggingface_hub import ModelCard

    from evaluation.hub import push_results

    _, metrics = full_run
    api = FakeHubApi()
    assert push_results(metrics, "me/yt-audio", api=api) == "https://huggingface.co/me/yt-audio"
    ((repo, operations, kwargs),) = api.commits
    files = {op.path_in_repo: op for op in operations}
    assert repo == "me/yt-audio" and kwargs["repo_type"] == "model"
    assert set(files) == {"README.md", *(f"examples/{name}.flac" for name in CLASS_NAMES)}
    card = files["README.md"].path_or_fileobj.decode()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["pipeline_tag"] == "audio-classification"
    assert [w["example_title"] for w in meta["widget"]] == sorted(CLASS_NAMES)
    assert meta["widget"][0]["src"] == f"https://huggingface.co/me/yt-audio/resolve/main/examples/{sorted(CLASS_NAMES)[0]}.flac"
    results = meta["model-index"][0]["results"][0]
    assert results["dataset"]["split"] == "test"
    values = {m["name"]: m["value"] for m in results["metrics"]}
    assert values["video accuracy"] == round(metrics.video.accuracy, 4)
    assert values["clip macro-F1"] == round(metrics.clip.macro_f1, 4)
    assert ModelCard(card).data.eval_results          # huggingface_hub reads its own model-index back
    assert all(files[f"examples/{name}.flac"].upload_info.size > 1000 for name in CLASS_NAMES)   # real clips


def test_push_results_needs_user_slash_model(inputs):
    assert eval_cli.main(["--model", inputs["run"], "--dataset", inputs["dataset"], "--out", "x",
                          "--push_results", "no-slash"]) == 2


def test_the_report_headlines_fine_tuning_against_its_own_frozen_encoder(full_run):
    """Bug caught (issue 32): the report could not say that a fine-tune was no better than a logistic regression
    on its own frozen encoder; the comparison section and the conclusion now open with it, with the paired
    interval over test videos."""
    out, metrics = full_run
    frozen = metrics.baselines["frozen_encoder_logistic_regression"]
    low, high = frozen.difference_vs_model.video.ci
    report = (out / "report.md").read_text(encoding="utf-8")
    sentence = (f"fine-tuned minus frozen = {frozen.difference_vs_model.video.accuracy_difference:+.3f} "
                f"[{low:+.3f}, {high:+.3f}] over {metrics.video.n} videos (paired)")
    assert report.count("Fine-tuning against its own frozen encoder") >= 2 and sentence in report
