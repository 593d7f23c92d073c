"""The bad-input harness: generated bad input for every stage's command line, run in-process, judged by one rule.

Every outcome must be a result (exit 0) or one ``PROG: error: ...`` line with exit 2 (argparse's usage errors
included); never a traceback, never another exit status, and no finished output changed or removed (ok audio files
and manifest lines already there stay byte for byte; a stage never writes into its inputs).

What is generated (hypothesis strategies, so a failure shrinks to a minimal input):

- **listings** for ``python -m download --dry-run``: CSV bytes in several encodings (UTF-8, with a BOM, UTF-16,
  Latin-1), NUL bytes, huge fields, stray quotes, missing or duplicate headers, ids with path characters, URLs with
  shell characters;
- **manifests** for ``python -m prepare --raw``: truncated lines, lines that are JSON but not objects, wrong field
  types, duplicate ids, next to real and broken audio files;
- **audio** for ``python -m prepare --audiofolder`` and ``python -m predict``: 0 bytes, 1 sample, 8 channels, 8 kHz
  and 192 kHz, NaN/inf floats, text with an audio extension;
- **config files** (YAML/JSON: unknown keys, wrong types, empty, not a mapping) for every stage;
- **numeric flags** of every stage (negative, zero, NaN, inf, huge, not a number).

``tests/test_badinput.py`` runs a few examples of each in ``make test``; ``python -m bench --only badinput`` runs
thousands and reports inputs tried and tracebacks found per stage (``bench/bench_badinput.py``).

Example::

    from testing.badinput import call, judge
    outcome = call("python -m download", download_main, ["--listing", "l.csv", "--out", "o", "--dry-run"])
    assert judge(outcome) is None, judge(outcome)
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import traceback
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from hypothesis import strategies as st

from common.contract import MANIFEST

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "latin-1")
PATHY = ("../../etc/passwd", "a/b", "..", ".", "a\\b", "/abs", "~user", "x\x00y", "CON", "a" * 300)
SHELLY = ("$(touch pwned)", "`id`", "; rm -rf ~", "| cat", "&& echo", "'\"", "%0a", "\n", "${HOME}")
HEADERS = ("link", "title", "description", "category", "url", "id", "", "link")


@dataclass
class Outcome:
    prog: str
    argv: list[str]
    status: int | None
    stderr: str
    crash: str | None = None      # the traceback of an exception that escaped the CLI


def call(prog: str, main: Callable, argv: list[str]) -> Outcome:
    """Run ``main(argv)`` in this process with stderr/stdout captured; exceptions that escape become ``crash``."""
    err, out = io.StringIO(), io.StringIO()
    status, crash = None, None
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.handlers[:] = []                  # as in a fresh process: no handler bound to an earlier test's stream
    root.setLevel(logging.WARNING)
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            status = main(argv)
        except SystemExit as exc:                      # argparse's usage errors
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except BaseException:  # noqa: BLE001 - the harness records what escaped, whatever it is
            crash = traceback.format_exc()
        finally:
            root.handlers[:] = handlers                # setup_logging(force=True) replaced them
            root.setLevel(level)
    return Outcome(prog, list(argv), status, err.getvalue(), crash)


def judge(outcome: Outcome) -> str | None:
    """None when the outcome keeps the rule, else what is wrong (with the argv and the tail of stderr)."""
    where = f"{outcome.prog} {' '.join(map(repr, outcome.argv))[:400]}"
    if outcome.crash:
        return f"traceback from {where}:\n{outcome.crash[-3000:]}"
    if "Traceback (most recent call last)" in outcome.stderr:
        return f"a traceback printed by {where}:\n{outcome.stderr[-3000:]}"
    if outcome.status not in (0, 2):
        return f"exit status {outcome.status} from {where}:\n{outcome.stderr[-2000:]}"
    if outcome.status == 2:
        errors = [line for line in outcome.stderr.splitlines() if ": error:" in line and
                  line.startswith((outcome.prog, "usage:", outcome.prog.split()[-1]))]
        if len(errors) != 1:
            return f"exit 2 with {len(errors)} error lines from {where}:\n{outcome.stderr[-2000:]}"
    return None


# ---------------------------------------------------------------- finished outputs stay

def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """relative path -> (size, sha256) of every file under ``folder``."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()} if folder.is_dir() else {}


def damage(before: dict[str, tuple[int, str]], folder: Path, appendable: tuple[str, ...] = (MANIFEST,)
           ) -> str | None:
    """What of a finished ``before`` snapshot is gone or changed under ``folder`` (an append-only file may grow if
    its old bytes stay); None when nothing."""
    folder = Path(folder)
    for name, (size, digest) in before.items():
        path = folder / name
        if not path.is_file():
            return f"{name} was removed"
        data = path.read_bytes()
        kept = data[:size] if Path(name).name in appendable else data
        if hashlib.sha256(kept).hexdigest() != digest:
            return f"{name} was changed" + (" (its old lines too)" if Path(name).name in appendable else "")
    return None


# ---------------------------------------------------------------- generators

def csv_listing() -> st.SearchStrategy[bytes]:
    """Bytes of a listing CSV: odd headers, cells with paths, shell characters, quotes, NULs, huge fields, and an
    encoding from ``ENCODINGS`` (sometimes broken mid-character)."""
    cell = st.one_of(st.sampled_from(PATHY + SHELLY), st.text(max_size=20),
                     st.from_regex(r"[A-Za-z0-9_-]{11}", fullmatch=True),
                     st.builds(lambda v: f"https://www.youtube.com/watch?v={v}",
                               st.sampled_from(SHELLY + ("dQw4w9WgXcQ", "short", ""))),
                     st.just("#NAME?"), st.just("x" * 200_000), st.just('"unclosed'), st.just("a\x00b"))
    header = st.lists(st.sampled_from(HEADERS), min_size=0, max_size=6)
    rows = st.lists(st.lists(cell, min_size=0, max_size=6), max_size=6)

    def encode(parts):
        head, body, encoding, cut = parts
        lines = [",".join(head)] + [",".join(_quote(c) for c in row) for row in body]
        data = "\n".join(lines).encode(encoding, errors="replace")
        return data[:-1] if cut and len(data) > 1 else data

    return st.tuples(header, rows, st.sampled_from(ENCODINGS), st.booleans()).map(encode)


def _quote(cell: str) -> str:
    return f'"{cell}"' if "," in cell and not cell.startswith('"') else cell


def manifest_lines() -> st.SearchStrategy[list[str]]:
    """Lines of a manifest.jsonl: good-looking records (some ok with a real file, some with wrong types), JSON that
    is not an object, truncated lines, duplicate ids."""
    ids = st.sampled_from(["aaaaaaaaaaa", "bbbbbbbbbbb", "ccccccccccc", "ggggggggggg", "../escape00", "dd"])
    value = st.one_of(st.none(), st.integers(-5, 5), st.floats(allow_nan=True), st.text(max_size=8), st.booleans(),
                      st.lists(st.integers(), max_size=2))
    record = st.fixed_dictionaries(
        {"id": ids, "status": st.sampled_from(["ok", "private", "network", 3, None])},
        optional={"path": st.sampled_from(["audio/aaaaaaaaaaa.flac", "audio/bbbbbbbbbbb.flac", "../x.flac", 7]),
                  "category": st.sampled_from(["food", "travel", "", None, 1]), "duration_s": value,
                  "sample_rate": st.sampled_from([16000, 8000, "16k", None]), "transient": value,
                  "schema_version": st.sampled_from([1, 2, 99, "2", None]), "channel_id": value})
    line = st.one_of(record.map(json.dumps), record.map(lambda r: json.dumps(r)[: max(1, len(json.dumps(r)) // 2)]),
                     st.sampled_from(['"just a string"', "[1, 2]", "null", "3", "{", "", "not json"]))
    return st.lists(line, max_size=8)


AUDIO_KINDS = ("empty", "one_sample", "eight_channels", "8k", "192k", "nan", "inf", "text", "good", "silence")


def write_audio(path: Path, kind: str, seconds: float = 1.0) -> Path:
    """A file of ``kind`` (``AUDIO_KINDS``) at ``path``: FLAC where the suffix says .flac and FLAC can hold it,
    else WAV bytes whatever the suffix says (float samples, a misnamed .mp3: what users hand over)."""
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([len(kind), zlib.crc32(path.name.encode())])    # distinct files: no dedupe
    if kind == "empty":
        path.write_bytes(b"")
        return path
    if kind == "text":
        path.write_text("this is not audio\n" * 10)
        return path
    rate, subtype = 16000, None
    if kind == "one_sample":
        data = np.array([0.1], np.float32)
    elif kind == "eight_channels":
        data = 0.1 * rng.standard_normal((int(16000 * seconds), 8)).astype(np.float32)
    elif kind in ("8k", "192k"):
        rate = 8000 if kind == "8k" else 192_000
        data = 0.1 * rng.standard_normal(int(rate * seconds)).astype(np.float32)
    elif kind in ("nan", "inf"):
        data = 0.1 * rng.standard_normal(int(16000 * seconds)).astype(np.float32)
        data[::97] = np.nan if kind == "nan" else np.inf
        subtype = "FLOAT"
    elif kind == "silence":
        data = np.zeros(int(16000 * seconds), np.float32)
    else:
        data = 0.1 * rng.standard_normal(int(16000 * seconds)).astype(np.float32)
    container = "FLAC" if path.suffix == ".flac" and subtype is None else "WAV"
    sf.write(str(path), data, rate, format=container, subtype=subtype)
    return path


def config_file_text() -> st.SearchStrategy[tuple[str, str]]:
    """(suffix, text) of a config file: unknown keys, wrong types, empty, not a mapping, broken syntax."""
    keys = st.sampled_from(["seed", "clip_seconds", "workers", "learning_rate", "categories", "no_such_key",
                            "max_seconds", "limit", "window_seconds", "num_train_epochs", "output_dir"])
    values = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                       st.text(max_size=10), st.booleans(), st.none(), st.lists(st.integers(), max_size=3),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
    mapping = st.dictionaries(keys, values, max_size=4)
    yaml_text = st.one_of(mapping.map(lambda d: "\n".join(f"{k}: {json.dumps(v)}" for k, v in d.items())),
                          st.sampled_from(["", "- a\n- b\n", "just text", "a: [1, 2", "{{", "\x00"]))
    json_text = st.one_of(mapping.map(json.dumps), st.sampled_from(["", "[]", "3", "{", '"x"']))
    return st.one_of(st.tuples(st.just(".yaml"), yaml_text), st.tuples(st.just(".json"), json_text))


def number_text() -> st.SearchStrategy[str]:
    """What a user may type where a number is wanted."""
    return st.one_of(st.sampled_from(["-1", "0", "nan", "NaN", "inf", "-inf", "1e999", "1e-9", "1e12", "abc", "",
                                      "0x10", "1,5", "2.5", "-0", "9" * 30]),
                     st.integers(-10**6, 10**6).map(str),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr))


def numeric_flags(arguments) -> list[str]:
    """``--flag_name`` of every int/float field of the stage's argument dataclasses."""
    import dataclasses
    import typing

    flags = []
    for kind in arguments:
        hints = typing.get_type_hints(kind)
        for field in dataclasses.fields(kind):
            hint = hints.get(field.name)
            names = {getattr(a, "__name__", str(a)) for a in typing.get_args(hint)} | {getattr(hint, "__name__", "")}
            if names & {"int", "float"} and "bool" not in names and "list" not in str(hint):
                flags.append("--" + field.name)
    return flags


def stage_mains() -> dict[str, tuple[str, Callable]]:
    """stage -> (PROG, main) of each command line the harness drives."""
    import eval as eval_cli
    import train
    from download.__main__ import PROG as DOWNLOAD, main as download_main
    from predict.__main__ import PROG as PREDICT, main as predict_main
    from prepare.__main__ import PROG as PREPARE, main as prepare_main

    from training.args import PROG as TRAIN

    return {"download": (DOWNLOAD, download_main), "prepare": (PREPARE, prepare_main),
            "predict": (PREDICT, predict_main), "train": (TRAIN, train.main), "eval": (eval_cli.PROG, eval_cli.main)}


# ---------------------------------------------------------------- the runs (shared by the tests and the bench)

def build_world(root: Path) -> dict:
    """What generated inputs run against: a finished download folder (guarded), a tiny run for predict, a good
    listing and a good audio file."""
    from testing.tiny_models import save_tiny_run

    root = Path(root)
    finished = root / "finished"
    write_audio(finished / "audio" / "aaaaaaaaaaa.flac", "good")
    (finished / MANIFEST).write_text(
        '{"id": "aaaaaaaaaaa", "url": "https://www.youtube.com/watch?v=aaaaaaaaaaa", "category": "food", '
        '"status": "ok", "path": "audio/aaaaaaaaaaa.flac", "duration_s": 1.0, "sample_rate": 16000}\n')
    run = save_tiny_run(root, ["food", "travel"], window_seconds=1.0)
    listing = root / "listing.csv"
    listing.write_text("link,title,description,category\naaaaaaaaaaa,t,d,food\nbbbbbbbbbbb,t,d,travel\n")
    good = write_audio(root / "good.wav", "good")
    return {"root": root, "finished": finished, "run": run, "listing": listing, "good": good,
            "mains": stage_mains()}


# Arguments that make each stage otherwise valid (or fail cheaply after parsing), for config files and numbers.
STAGE_ARGS = {
    "download": lambda w, work: ["--listing", str(w["listing"]), "--out", str(work / "out"), "--dry-run"],
    "prepare": lambda w, work: ["--raw", str(work / "no-such-raw"), "--out", str(work / "out")],
    "predict": lambda w, work: [str(w["run"]), str(w["good"]), "--out", str(work / "pred")],
    "train": lambda w, work: ["--dataset_name", str(work / "no-such-dataset"), "--output_dir", str(work / "run")],
    "eval": lambda w, work: ["--model", str(w["run"]), "--dataset", str(work / "no-such-dataset"),
                             "--out", str(work / "report")],
}
CATEGORY_SPELLINGS = ("food,travel", "food travel", ",", "../x", "$(id)", "nope")


def flag_cases() -> list[tuple[str, str]]:
    """(stage, --flag) for every numeric flag of every stage."""
    import eval as eval_cli
    from download.__main__ import ARGUMENTS as DOWNLOAD
    from predict.__main__ import ARGUMENTS as PREDICT
    from prepare.__main__ import ARGUMENTS as PREPARE
    from training.args import ARGUMENTS as TRAIN

    return [(stage, flag) for stage, arguments in (("download", DOWNLOAD), ("prepare", PREPARE),
                                                   ("predict", PREDICT), ("train", TRAIN),
                                                   ("eval", eval_cli.ARGUMENTS))
            for flag in numeric_flags(arguments)]


def _in_work(job: Callable[[Path], list[str]]) -> list[str]:
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="badinput-"))
    try:
        return job(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _problems(outcome: Outcome, guarded=None, folder=None) -> list[str]:
    found = [judge(outcome)]
    if guarded is not None:
        found.append(damage(guarded, folder))
    return [p for p in found if p]


def try_listing(world: dict, data: bytes, categories: str | None) -> list[str]:
    """``python -m download --dry-run`` on a generated listing, into a copy of a finished folder."""
    import shutil

    def job(work: Path) -> list[str]:
        prog, main = world["mains"]["download"]
        listing, out = work / "listing.csv", work / "out"
        listing.write_bytes(data)
        shutil.copytree(world["finished"], out)
        before = snapshot(out)
        argv = ["--listing", str(listing), "--out", str(out), "--dry-run"]
        argv += ["--categories", *categories.split(" ")] if categories else []
        return _problems(call(prog, main, argv), before, out)
    return _in_work(job)


GOOD_IDS = tuple(letter * 11 for letter in "abcdefhi")     # 4 per class: one broken still leaves 3


def try_manifest(world: dict, lines: list[str], broken: str) -> list[str]:
    """``python -m prepare --raw`` on a manifest of eight good records (3 splits of 2 classes, one broken) with
    generated lines after them, one of the eight files replaced by a ``broken`` one."""
    def job(work: Path) -> list[str]:
        prog, main = world["mains"]["prepare"]
        raw = work / "raw"
        good = []
        for n, video_id in enumerate(GOOD_IDS):
            write_audio(raw / "audio" / f"{video_id}.flac", broken if n == 0 else "good", seconds=1.5)
            good.append(json.dumps({"id": video_id, "url": f"https://www.youtube.com/watch?v={video_id}",
                                    "category": ("food", "travel")[n % 2], "status": "ok",
                                    "path": f"audio/{video_id}.flac", "duration_s": 1.5, "sample_rate": 16000,
                                    "channel_id": f"UC{video_id}"}))
        (raw / MANIFEST).write_text("\n".join(good + lines) + "\n")
        before = snapshot(raw)
        argv = ["--raw", str(raw), "--out", str(work / "out"), "--clip-seconds", "0.5", "--split", "0.34,0.33,0.33"]
        found = _problems(call(prog, main, argv), before, raw)
        return found + ([] if snapshot(raw) == before else ["prepare wrote into its --raw input"])
    return _in_work(job)


def try_audio(world: dict, kinds: list[str], suffix: str) -> list[str]:
    """``python -m prepare --audiofolder`` and ``python -m predict`` on generated audio files."""
    def job(work: Path) -> list[str]:
        folder = work / "af"
        files = [write_audio(folder / ("food" if i % 2 else "travel") / f"clip{i}{suffix}", kind)
                 for i, kind in enumerate(kinds)]
        before = snapshot(folder)
        prog, main = world["mains"]["prepare"]
        found = _problems(call(prog, main, ["--audiofolder", str(folder), "--out", str(work / "out"),
                                            "--clip-seconds", "0.5"]))
        found += [] if snapshot(folder) == before else ["prepare wrote into its --audiofolder input"]
        prog, main = world["mains"]["predict"]
        return found + _problems(call(prog, main, [str(world["run"]), *map(str, files), "--out", str(work / "p")]))
    return _in_work(job)


def try_config(world: dict, stage: str, config: tuple[str, str]) -> list[str]:
    """A stage with a generated config file first."""
    def job(work: Path) -> list[str]:
        prog, main = world["mains"][stage]
        suffix, text = config
        path = work / f"config{suffix}"
        path.write_text(text)
        return _problems(call(prog, main, [str(path), *STAGE_ARGS[stage](world, work)]))
    return _in_work(job)


def try_number(world: dict, case: tuple[str, str], value: str) -> list[str]:
    """A stage with one numeric flag set to a generated value."""
    def job(work: Path) -> list[str]:
        stage, flag = case
        prog, main = world["mains"][stage]
        return _problems(call(prog, main, [*STAGE_ARGS[stage](world, work), flag, value]))
    return _in_work(job)


def kinds() -> dict[str, tuple[Callable, dict]]:
    """name -> (runner, its hypothesis strategies by argument): what the tests and the bench iterate."""
    return {
        "listing": (try_listing, {"data": csv_listing(), "categories": st.one_of(
            st.none(), st.sampled_from(CATEGORY_SPELLINGS))}),
        "manifest": (try_manifest, {"lines": manifest_lines(), "broken": st.sampled_from(AUDIO_KINDS)}),
        "audio": (try_audio, {"kinds": st.lists(st.sampled_from(AUDIO_KINDS), min_size=1, max_size=4),
                              "suffix": st.sampled_from([".wav", ".flac", ".mp3", ".ogg"])}),
        "config": (try_config, {"stage": st.sampled_from(sorted(STAGE_ARGS)), "config": config_file_text()}),
        "number": (try_number, {"case": st.sampled_from(flag_cases()), "value": number_text()}),
    }
