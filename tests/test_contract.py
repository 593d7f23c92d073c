"""The hand-off contract (common/contract/): typed records that read and write every file one stage hands the next.

Each test names the bug it catches."""

from __future__ import annotations

import ast
import json
import math
from dataclasses import fields, is_dataclass

import pytest

from common.contract import (RECORDS, ContractError, DatasetBuild, DownloadRecord, EvalRecord, PrepareStats,
                             RunRecord, VideoRow, latest_download_records, read_manifest, record_classes)
from testing import ROOT

# The project's packages and entry points (tests, docs and the contract module itself aside).
SOURCES = [path for package in ("common", "download", "prepare", "training", "evaluation", "predict", "demo", "bench",
                                "testing")
           for path in sorted((ROOT / package).rglob("*.py")) if "contract" not in path.parts] + [
    ROOT / "train.py", ROOT / "eval.py"]
FILES = {"manifest.jsonl", "prepare_stats.json", "prepare_videos.jsonl", "run_config.json", "resume_config.json",
         "metrics.json"}
# Keys that are also record field names but are read from something else, each with what it is read from.
OTHER_KEYS = {
    "video_id", "duration_s",      # the prepared dataset's columns (common.data.clip_features), read through Arrow
    "sample_rate",                 # ffprobe's stream fields (common/audio.py)
    "uploader_id",                 # yt-dlp's info dict (testing/fake_youtube.py builds one)
    "max_length_seconds",          # the YAML recipes' keys (configs/*.yaml, read by bench/bench_demo_choice.py)
    "crop_seconds",                # bench/gpu.py's own results document
    "format_id", "channel_id",     # yt-dlp's format and info dicts (download/ytdlp.py, download/check.py)
    "macro_f1",                    # common.metrics.scores_from_confusion's and the evaluate module's result dicts
    "per_category",                # listing_report.json, the download stage's listing summary (ClassifiedListing)
}


def _string_key_reads(tree: ast.AST):
    """(line, key) of ``x["key"]`` loads and ``x.get("key", ...)`` calls."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)):
            yield node.lineno, node.slice.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.lineno, node.args[0].value


def _file_names(tree: ast.AST):
    """(line, name) of string constants naming a contract file: ``"run_config.json"``, ``"out/metrics.json"``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and " " not in node.value:
            name = node.value.rsplit("/", 1)[-1]
            if name in FILES:
                yield node.lineno, node.value


def record_field_names() -> set[str]:
    """The names the check looks for: every field name of a record with an underscore (``section_start_s``,
    ``eval_window_seconds``). One-word names (``status``, ``path``) are shared with too many other dicts (yt-dlp's,
    transformers', the report's strings) to tell apart in the source; a record refuses a string-key read of those at
    run time instead (``Part.__getitem__``), and the tests read every record through the stages."""
    return {f.name for cls in record_classes() for f in fields(cls) if "_" in f.name}


def contract_violations(sources=SOURCES, root=ROOT) -> list[str]:
    names = record_field_names() - OTHER_KEYS
    found = []
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(root)
        found += [f"{where}:{line}: reads the field {key!r} by string key" for line, key in _string_key_reads(tree)
                  if key in names]
        found += [f"{where}:{line}: names the contract file {name!r} (use common.contract's constant and record)"
                  for line, name in _file_names(tree)]
    return found


def test_no_field_of_a_hand_off_file_is_read_by_string_key_outside_the_contract():
    """Bug caught: a reader downstream guessed a field back, or read it under a name another stage no longer
    writes (a dict read survives a renamed field until a user meets it)."""
    assert contract_violations() == []


def test_the_check_catches_a_string_key_read_and_a_file_read_by_name(tmp_path):
    """The source check is not vacuous."""
    (tmp_path / "stage").mkdir()
    bad = tmp_path / "stage" / "reader.py"
    bad.write_text('import json\nrun = json.load(open("out/run_config.json"))\nwindow = run["eval_window_seconds"]\n'
                   'start = record.get("section_start_s", 0)\n')
    assert contract_violations([bad], tmp_path) == [
        "stage/reader.py:3: reads the field 'eval_window_seconds' by string key",
        "stage/reader.py:4: reads the field 'section_start_s' by string key",
        "stage/reader.py:2: names the contract file 'out/run_config.json' (use common.contract's constant and record)"]


def test_a_bad_or_missing_field_is_one_error_naming_file_field_and_type():
    """Bug caught: a malformed manifest line or run record surfaced as a KeyError or AttributeError far from the
    file."""
    with pytest.raises(ContractError, match=r"m\.jsonl:3: field 'duration_s': expected float \| null, got \"long\""):
        DownloadRecord.from_json({"id": "a", "status": "ok", "duration_s": "long"}, "m.jsonl:3")
    with pytest.raises(ContractError, match=r"run_config\.json: missing field 'eval_window_seconds' \(expected float\)"):
        RunRecord.from_json({"base_model": "b", "dataset_name": "d", "max_length_seconds": 1.0}, "run_config.json")
    with pytest.raises(ContractError, match=r"expected a JSON object \(DownloadRecord\), got str \"just a string\""):
        DownloadRecord.from_json("just a string", "m.jsonl:4")
    with pytest.raises(ContractError, match=r"schema_version.*at most 2.*update yt-audio-classify"):
        DownloadRecord.from_json({"id": "a", "status": "ok", "schema_version": 99})
    with pytest.raises(TypeError, match="read 'status' as an attribute"):
        DownloadRecord(id="a", status="ok")["status"]
    nested = {"base_model": "b", "dataset_name": "d", "max_length_seconds": 1.0, "eval_window_seconds": 1.0,
              "dataset_build": {"clip_seconds": "5", "hop_seconds": 5, "train_row_seconds": 5, "group_by": "video",
                                "class_names": ["a"]}}
    with pytest.raises(ContractError, match=r"field 'dataset_build\.clip_seconds': expected float"):
        RunRecord.from_json(nested, "run_config.json")


def test_manifest_lines_that_are_not_records_are_skipped_counted_and_named(tmp_path, caplog):
    """Bug caught (issue 30): a manifest line that is JSON but not an object ended prepare in AttributeError."""
    manifest = tmp_path / "raw" / "manifest.jsonl"
    manifest.parent.mkdir()
    manifest.write_text('{"id": "aaaaaaaaaaa", "status": "ok"}\n"just a string"\n[1, 2]\n{"status": "ok"}\n'
                        '{"id": "bbbbbbbbbbb", "status": "ok", "attempts": "x"}\n{"id": "ccccccccccc", "sta')
    read = read_manifest(manifest)
    assert [r.id for r in read.records] == ["aaaaaaaaaaa"]
    assert [p.split(": ", 1)[0] for p in read.problems] == [f"{manifest}:{n}" for n in (2, 3, 4, 5, 6)]
    assert "holds" not in read.problems[0] and "got str" in read.problems[0]
    problems = []
    assert list(latest_download_records([tmp_path / "raw"], problems)) == ["aaaaaaaaaaa"] and len(problems) == 5
    assert f"{manifest}:2" in caplog.text


def _every_field_filled(cls, depth=0):
    """An instance of ``cls`` whose every field holds a value of its type (for the round trip)."""
    import typing

    hints = typing.get_type_hints(cls)

    def value(tp, name):
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin in (typing.Union, __import__("types").UnionType):
            return value(next(a for a in args if a is not type(None)), name)
        if tp is bool:
            return True
        if tp is int:
            return 3
        if tp is float:
            return 2.5
        if tp is str:
            return f"{name}-text"
        if tp is typing.Any:
            return {"any": [1, "two"]}
        if origin is typing.Literal:
            return args[0]
        if origin is list:
            return [value(args[0], name)]
        if origin is tuple:
            return tuple(value(a, name) for a in (args[:1] if args[-1] is Ellipsis else args))
        if origin is dict:
            return {"key": value(args[1], name)}
        if is_dataclass(tp):
            return _every_field_filled(tp, depth + 1)
        raise AssertionError(f"no sample value for {tp}")

    return cls(**{f.name: value(hints[f.name], f.name) for f in fields(cls) if f.init})


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_every_record_round_trips_through_json(cls):
    """Bug caught: a field written but not read back (or read under another type) lost data at the hand-off."""
    record = _every_field_filled(cls)
    text = json.dumps(record.to_json())
    again = cls.from_json(json.loads(text))
    assert again == record and again.to_json()["schema_version"] == cls.VERSION


def test_previous_version_files_load():
    """Bug caught: a run folder, dataset or manifest written before the records existed stopped loading."""
    old_manifest_line = {"id": "aaaaaaaaaaa", "url": "https://www.youtube.com/watch?v=aaaaaaaaaaa", "category": "food",
                         "status": "ok", "path": "audio/aaaaaaaaaaa.flac", "sample_rate": 16000, "duration_s": 12.0,
                         "section_start_s": 0.0, "transient": False, "listing_rows": [3], "channel_id": None}
    assert DownloadRecord.from_json(old_manifest_line).section_start_s == 0.0
    old_stats = {"config": {"raw": ["r"], "out": "o", "clip_seconds": 5.0, "hop_seconds": 5.0,
                            "train_clip_seconds": 15.0, "max_clips_per_video": 20, "min_rms_db": -50.0,
                            "split": "0.8,0.1,0.1", "group_by": "channel", "max_videos_per_group": 10, "seed": 0,
                            "balance": "videos"},
                 "class_names": ["a", "b"], "splits": {"train": {"a": {"videos": 1, "clips": 2, "hours": 0.1}}},
                 "dropped": {"videos": {}, "clips": {}}, "dropped_examples": [], "content_sha256": "c" * 64,
                 "grouping": {"group_by": "channel", "group_source_counts": {"video": 2}},
                 "inputs": {"manifests": [{"path": "r/manifest.jsonl", "sha256": "d" * 64, "records": 3}],
                            "audiofolder": None, "videos_scanned": 2, "source_files_sha256": "e" * 64,
                            "hours_scanned": 0.2}, "versions": {"datasets": "5.2.0"}, "elapsed_s": 1.0}
    stats = PrepareStats.from_json(old_stats)
    assert (stats.build.clip_seconds, stats.build.train_row_seconds, stats.build.group_by) == (5.0, 15.0, "channel")
    assert stats.build.command is None               # not recorded then; never invented
    old_run = {"model_args": {"model_name_or_path": "facebook/wav2vec2-base"},
               "data_args": {"eval_split_name": "validation", "allow_test_selection": False},
               "training_args": {"load_best_model_at_end": False, "learning_rate": 3e-5}, "base_model": "m",
               "max_length_seconds": 2.0, "eval_window_seconds": 2.0, "dataset_name": "d",
               "dataset_fingerprint": {"train": {"sha256": "f" * 64}},
               "dataset_stats": {"splits": {"train": {"clips": 8, "per_class": {"a": 8}}}, "prepare_stats": old_stats},
               "versions": {}, "hardware": {"device": "cpu", "device_name": "x", "n_processes": 1, "torch_threads": 1,
                                            "mixed_precision": "no"}, "train_runtime_s": 3.0}
    run = RunRecord.from_json(old_run)
    assert (run.eval_split_name, run.selects_checkpoint, run.dataset_build) == ("validation", False, None)
    assert run.dataset_stats.prepare_stats.build.clip_seconds == 5.0      # the nested old stats migrate too
    assert VideoRow.from_json({"video_id": "v", "split": "train", "category": "a", "clips": 2}).description is None


def test_non_finite_numbers_survive_the_round_trip():
    """Bug caught: -inf (--min-rms-db -inf keeps every clip) written as a string or lost."""
    build = DatasetBuild(clip_seconds=5.0, hop_seconds=5.0, train_row_seconds=15.0, group_by="video",
                         class_names=["a"], min_rms_db=float("-inf"))
    assert math.isinf(DatasetBuild.from_json(json.loads(json.dumps(build.to_json()))).min_rms_db)


def test_every_field_of_every_record_has_a_doc_line_for_the_contract_page():
    """Bug caught: docs/contract.md listing fields without saying what they hold."""
    undocumented = [f"{cls.__name__}.{f.name}" for cls in record_classes() for f in fields(cls)
                    if f.init and not f.metadata.get("doc")]
    assert undocumented == []
    assert EvalRecord in RECORDS and len(RECORDS) == 6
