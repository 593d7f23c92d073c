"""predict: streamed windows equal window_bounds, local files end to end (CLI, outputs, resume keyed on the model's
content), eval.py's aggregation rule (mean logits), the default window from run_config.json, clear one-line errors,
odd local file names, and the transformers pipeline() round trip on a saved run."""

import csv
import io
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from common.audio import SAMPLING_RATE
from common.modeling import iter_windows, load_feature_extractor, load_model, predict_windows, window_bounds
from predict import PredictConfig, predict_inputs
from predict.__main__ import main
from testing.tiny_models import save_tiny_run

NAMES = ["music", "speech", "noise"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder as train.py writes it: classifier with class names + feature extractor + run_config.json."""
    return save_tiny_run(tmp_path_factory.mktemp("run"), NAMES, window_seconds=2.0)


def noise(seconds, seed=0):
    return (0.1 * np.random.default_rng(seed).standard_normal(int(round(seconds * SAMPLING_RATE)))).astype(np.float32)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 400), window=st.integers(1, 60), hop=st.integers(1, 60), block=st.integers(1, 70))
def test_streamed_windows_equal_window_bounds(n, window, hop, block):
    samples = np.arange(n, dtype=np.float32)
    blocks = [samples[i:i + block] for i in range(0, n, block)]
    got = [(start, chunk) for start, chunk in iter_windows(blocks, window, hop)]
    want = window_bounds(n, window, hop)
    assert [(s, s + len(c)) for s, c in got] == want
    for start, chunk in got:
        np.testing.assert_array_equal(chunk, samples[start:start + len(chunk)])


def test_predict_local_files_cli_outputs_and_resume(run_dir, tmp_path, capsys):
    audio = noise(5.3)
    sf.write(tmp_path / "talk.wav", audio, SAMPLING_RATE)
    sf.write(tmp_path / "talk48k.flac", noise(1.2, seed=1), 48_000)  # not 16 kHz: decoded through ffmpeg
    out = tmp_path / "out"
    main([str(run_dir), str(tmp_path / "talk.wav"), str(tmp_path / "talk48k.flac"), "--out", str(out),
          "--format", "csv", "--batch-size", "2"])
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    talk = [r for r in rows if r["input"].endswith("talk.wav")]
    # the run record's eval_window_seconds=2 -> windows [0,2) [2,4) and the tail window [3.3,5.3)
    assert [(float(r["start_s"]), float(r["end_s"])) for r in talk] == [(0.0, 2.0), (2.0, 4.0), (3.3, 5.3)]
    assert len([r for r in rows if r["input"].endswith("talk48k.flac")]) == 1  # 1.2 s < one window

    # Streamed windows give the same probabilities as common.modeling on the whole array.
    model, extractor = load_model(str(run_dir)), load_feature_extractor(str(run_dir))
    logits = torch.from_numpy(predict_windows(model, extractor, [audio], 2.0).logits)
    reference = torch.softmax(logits, -1).numpy()
    streamed = np.array([[float(r[n]) for n in NAMES] for r in talk])
    np.testing.assert_allclose(streamed, reference, atol=1e-5)

    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(records) == 2 and records[0]["n_windows"] == 3
    # The input's scores follow eval.py: softmax of the mean window logits (not the mean of window softmaxes).
    clip = torch.softmax(logits.mean(0), -1).numpy()
    assert records[0]["label"] == NAMES[int(clip.argmax())]
    np.testing.assert_allclose([records[0]["probabilities"][n] for n in NAMES], clip, atol=1e-6)
    timeline = json.loads((out / records[0]["timeline_json"]).read_text())
    assert len(timeline["timeline"]) == 3 and (out / records[0]["timeline_csv"]).is_file()
    info = json.loads((out / "run_info.json").read_text())
    assert info["resolved"]["window_seconds"] == 2.0 and info["inputs"][str(tmp_path / "talk.wav")]["sha256"]

    # A re-run skips what is done: no new manifest records, same answers.
    again = predict_inputs(PredictConfig(model=str(run_dir), inputs=[str(tmp_path / "talk.wav")], out=str(out)))
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 2
    assert again[0].label == records[0]["label"]
    assert "already predicted" in capsys.readouterr().err  # main() routed logging to stderr


def test_hop_and_window_flags(run_dir, tmp_path):
    sf.write(tmp_path / "a.wav", noise(3.0), SAMPLING_RATE)
    [result] = predict_inputs(PredictConfig(model=str(run_dir), inputs=[str(tmp_path / "a.wav")], window_seconds=1.0,
                                            hop_seconds=0.5))
    assert [(w["start_s"], w["end_s"]) for w in result.timeline] == [(i * 0.5, i * 0.5 + 1.0) for i in range(5)]


def test_json_format_and_repeated_input(run_dir, tmp_path, capsys):
    sf.write(tmp_path / "a.wav", noise(1.0), SAMPLING_RATE)
    main([str(run_dir), str(tmp_path / "a.wav"), str(tmp_path / "a.wav"), "--format", "json", "--out", str(tmp_path / "o")])
    printed = json.loads(capsys.readouterr().out)
    assert len(printed) == 2 and printed[0] == printed[1] and len(printed[0]["timeline"]) == 1
    assert len((tmp_path / "o" / "predictions.jsonl").read_text().splitlines()) == 1  # predicted once


def test_the_same_audio_under_two_names_keeps_each_name(run_dir, tmp_path):
    """Bug caught: results reused by content came back with the earlier input's input, id, url and offset, and
    run_info.json dropped the second name. Each input now keeps its identity; the windows are computed once."""
    import shutil

    sf.write(tmp_path / "first.wav", noise(3.0), SAMPLING_RATE)
    shutil.copy(tmp_path / "first.wav", tmp_path / "copy.wav")
    inputs = [str(tmp_path / "first.wav"), str(tmp_path / "copy.wav")]
    out = tmp_path / "o"
    first, copy = predict_inputs(PredictConfig(model=str(run_dir), inputs=inputs, out=str(out)))
    assert (first.input, copy.input) == tuple(inputs) and first.id != copy.id and copy.id.startswith("copy")
    assert copy.probabilities == first.probabilities and copy.timeline == first.timeline
    info = json.loads((out / "run_info.json").read_text())
    assert set(info["inputs"]) == set(inputs) and info["inputs"][inputs[1]]["id"] == copy.id
    records = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["input"] for r in records] == inputs and (out / "timelines" / f"{copy.id}.json").is_file()
    # a re-run in the other order: each name still gets its own result, nothing is recorded again
    again = predict_inputs(PredictConfig(model=str(run_dir), inputs=inputs[::-1], out=str(out)))
    assert [r.input for r in again] == inputs[::-1] and [r.id for r in again] == [copy.id, first.id]
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 2


def test_a_reused_prediction_moves_to_the_new_sections_offset():
    """Bug caught: a URL whose downloaded section is byte-identical to an earlier input kept the earlier offset."""
    from predict.classify import InputResult, as_source
    from predict.sources import Source

    earlier = InputResult(input="a.wav", id="a", label="x", probabilities={"x": 1.0}, duration_s=2.0,
                          timeline=[{"start_s": 0.0, "end_s": 2.0, "label": "x", "probabilities": {"x": 1.0}}],
                          seconds=0.1, warnings=["a.wav: shorter than one window"])
    moved = as_source(earlier, Source(input="http://h/v", id="v", path="p.flac", url="http://h/v", offset_s=30.0))
    assert (moved.input, moved.id, moved.url, moved.offset_s) == ("http://h/v", "v", "http://h/v", 30.0)
    assert moved.timeline[0]["start_s"] == 30.0 and moved.timeline[0]["end_s"] == 32.0
    assert moved.warnings == ["http://h/v: shorter than one window"]


def test_bad_inputs_name_the_problem(run_dir, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        predict_inputs(PredictConfig(model=str(run_dir), inputs=[str(tmp_path / "missing.wav")]))
    with pytest.raises(FileNotFoundError, match="no config.json"):
        predict_inputs(PredictConfig(model=str(tmp_path), inputs=[str(tmp_path / "x.wav")]))
    assert main([str(run_dir), "x.wav", "--format", "xml"]) == 2
    assert main([str(run_dir), "x.wav", "--window-seconds", "0"]) == 2
    assert "--window-seconds 0.0: expected a number >= 0.025" in capsys.readouterr().err


def test_silent_and_short_inputs_are_labelled_with_a_warning(run_dir, tmp_path, caplog, capsys):
    """Window 2 s (run_config.json): 0.1 s of noise is shorter than a window; 3 s of zeros is silent; 3 s of noise
    and 3 s of quiet (-40 dBFS) speech-level noise are neither."""
    sf.write(tmp_path / "short.wav", noise(0.1), SAMPLING_RATE)
    sf.write(tmp_path / "silent.wav", np.zeros(3 * SAMPLING_RATE, np.float32), SAMPLING_RATE)
    sf.write(tmp_path / "fine.wav", noise(3.0), SAMPLING_RATE)
    sf.write(tmp_path / "quiet.wav", noise(3.0) * 0.05, SAMPLING_RATE)
    inputs = [str(tmp_path / f"{name}.wav") for name in ("short", "silent", "fine", "quiet")]
    with caplog.at_level("WARNING", logger="predict.classify"):
        short, silent, fine, quiet = predict_inputs(PredictConfig(model=str(run_dir), inputs=inputs))
    assert len(short.warnings) == 1 and "0.10 s of audio, shorter than one 2-s window" in short.warnings[0]
    assert len(silent.warnings) == 1 and "silent" in silent.warnings[0]
    assert fine.warnings == [] and quiet.warnings == []
    assert [r.message for r in caplog.records if r.levelname == "WARNING"] == short.warnings + silent.warnings
    main([str(run_dir), inputs[1], "--format", "json"])  # the JSON answer carries them too
    assert "silent" in json.loads(capsys.readouterr().out)[0]["warnings"][0]


def test_pipeline_round_trip_matches_predict(run_dir, tmp_path):
    from transformers import pipeline

    audio = noise(1.5, seed=3)
    classifier = pipeline("audio-classification", model=str(run_dir), device="cpu")
    scores = {item["label"]: item["score"] for item in classifier(audio.copy(), top_k=len(NAMES))}
    assert set(scores) == set(NAMES)
    sf.write(tmp_path / "clip.wav", audio, SAMPLING_RATE)
    [result] = predict_inputs(PredictConfig(model=str(run_dir), inputs=[str(tmp_path / "clip.wav")]))
    # 1.5 s < the 2-s window: one window, so the pipeline's per-input scores are comparable to both the window's
    # probabilities and the input's (softmax of the mean of one window's logits).
    assert len(result.timeline) == 1
    for name in NAMES:
        assert scores[name] == pytest.approx(result.timeline[0]["probabilities"][name], abs=1e-4)
        assert scores[name] == pytest.approx(result.probabilities[name], abs=1e-4)


def test_predict_loopback_url_through_download_stage(run_dir, tmp_path):
    import subprocess

    from testing.server import MediaServer

    media = tmp_path / "media"
    media.mkdir()
    sf.write(tmp_path / "tone.wav", noise(2.5, seed=4), SAMPLING_RATE)
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(tmp_path / "tone.wav"), "-c:a", "libopus",
                    str(media / "tone.webm")], check=True)
    out = tmp_path / "out"
    with MediaServer(media) as server:
        url = server.url("tone.webm")
        [result] = predict_inputs(PredictConfig(model=str(run_dir), inputs=[url], out=str(out)))
        assert server.requests > 0
        with pytest.raises(RuntimeError, match="missing.webm"):
            predict_inputs(PredictConfig(model=str(run_dir), inputs=[server.url("missing.webm")], out=str(out)))
    assert result.url == url and result.duration_s == pytest.approx(2.5, abs=0.05)
    spans = [x for w in result.timeline for x in (w["start_s"], w["end_s"])]
    assert spans == pytest.approx([0.0, 2.0, result.duration_s - 2.0, result.duration_s], abs=1e-3)
    record = json.loads((out / "downloads" / "manifest.jsonl").read_text().splitlines()[0])
    assert record["status"] == "ok" and (out / "downloads" / record["path"]).is_file()


def test_multi_label_model_gets_sigmoid_of_mean_logits(run_dir, tmp_path):
    run = tmp_path / "multi"
    shutil.copytree(run_dir, run)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "problem_type": "multi_label_classification"}))
    audio = noise(4.5, seed=5)
    sf.write(tmp_path / "a.wav", audio, SAMPLING_RATE)
    [result] = predict_inputs(PredictConfig(model=str(run), inputs=[str(tmp_path / "a.wav")]))
    logits = torch.from_numpy(predict_windows(load_model(str(run)), load_feature_extractor(str(run)), [audio], 2.0).logits)
    np.testing.assert_allclose([result.probabilities[n] for n in NAMES], torch.sigmoid(logits.mean(0)).numpy(), atol=1e-6)
    np.testing.assert_allclose([[w["probabilities"][n] for n in NAMES] for w in result.timeline],
                               torch.sigmoid(logits).numpy(), atol=1e-6)


def test_retrained_model_in_the_same_folder_is_predicted_again(run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    sf.write(tmp_path / "a.wav", noise(2.0, seed=6), SAMPLING_RATE)
    config = PredictConfig(model=str(run), inputs=[str(tmp_path / "a.wav")], out=str(tmp_path / "out"))
    [old] = predict_inputs(config)
    retrained = load_model(str(run))
    with torch.no_grad():
        retrained.classifier.bias += torch.tensor([3.0, -3.0, 0.0])  # "retraining" into the same run folder
    retrained.save_pretrained(run)
    [new] = predict_inputs(config)
    assert len((tmp_path / "out" / "predictions.jsonl").read_text().splitlines()) == 2  # not skipped
    assert new.probabilities["music"] > old.probabilities["music"] + 0.1
    [same] = predict_inputs(config)  # the unchanged model is still skipped
    assert same.probabilities == new.probabilities
    assert len((tmp_path / "out" / "predictions.jsonl").read_text().splitlines()) == 2


def test_cli_errors_are_one_line_and_exit_2(run_dir, tmp_path, capsys, monkeypatch):
    (tmp_path / "runs").mkdir()
    sf.write(tmp_path / "a.wav", noise(0.5), SAMPLING_RATE)
    (tmp_path / "broken.mp3").write_bytes(b"not audio at all")
    cases = [([str(run_dir), str(tmp_path / "missing.wav")], "missing.wav"),
             ([str(run_dir), str(tmp_path / "broken.mp3")], "broken.mp3"),
             ([str(tmp_path / "runs" / "dmeo"), str(tmp_path / "a.wav")], "no such run folder or Hub model"),
             (["not a model!", str(tmp_path / "a.wav")], "no such run folder or Hub model: not a model!"),
             (["someone/not-cached-model", str(tmp_path / "a.wav")], "not in the local Hub cache"),
             ([str(run_dir), "http://127.0.0.1:9/a.webm"], "--out")]
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for argv, expected in cases:
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, argv
        assert "Traceback" not in err and expected in err, (argv, err)
        assert err.strip().splitlines()[-1].startswith("python -m predict: error:"), err


def test_check_model_source(run_dir, tmp_path, monkeypatch):
    from predict.loading import ModelSourceError, check_model_source

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    check_model_source(str(run_dir))  # a run folder passes
    for bad in ("not a model!", "a/b/c", "owner/-name", "x--y/z", str(tmp_path / "nope"), "./runs/demo"):
        with pytest.raises(ModelSourceError, match="no such run folder or Hub model"):
            check_model_source(bad)
    with pytest.raises(ModelSourceError, match="not in the local Hub cache"):
        check_model_source("facebook/surely-not-cached-here")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.is_offline_mode", lambda: False)
    check_model_source("facebook/wav2vec2-base")  # online: a well-formed Hub id is left to from_pretrained


@pytest.mark.parametrize("name", ["-odd.flac", "pipe:odd.flac", "concat:odd.flac"])
def test_odd_local_file_names_are_files_to_ffmpeg(name, tmp_path, monkeypatch):
    from predict.sources import read_all, resolve_local

    monkeypatch.chdir(tmp_path)
    sf.write(name, noise(1.5, seed=7), 48_000)  # 0.5 s at 48 kHz: not 16 kHz, so decoded through ffmpeg
    source = resolve_local(name)
    assert len(read_all(source.path)) == pytest.approx(0.5 * SAMPLING_RATE, abs=2)
