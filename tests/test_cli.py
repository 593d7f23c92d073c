"""The one command-line layer (common.cli) across every entry point: --help, both flag spellings, config files with
overrides, repeatable list flags, and the error rule (one line, exit status 2; a bug keeps its traceback)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from common.cli import UsageError, parse_config, run_cli
from bench.docgen import STAGE_MODULES, doc_files, flags_table, render
from testing import ROOT

# stage -> (module with main(), argv with one bad value that the stage's own checks refuse, what the line names)
ENTRY_POINTS = {
    "download": ("download.__main__", ["--listing", "x.csv", "--out", "o", "--workers", "0"], "--workers 0"),
    "prepare": ("prepare.__main__", ["--raw", "r", "--out", "o", "--split", "0.5,0.6"], "--split"),
    "train": ("train", ["--dataset_name", "d", "--precision", "fp8"], "--precision 'fp8'"),
    "eval": ("eval", ["--model", "m", "--dataset", "d", "--out", "o", "--bootstrap", "3"], "--bootstrap 3"),
    "predict": ("predict.__main__", ["m", "x.wav", "--batch-size", "0"], "--batch-size 0"),
    "features": ("predict.features.__main__", ["m", "x.wav", "--layer", "seven"], "--layer"),
    "demo": ("demo.__main__", ["--videos-per-class", "1"], "--videos-per-class 1"),
    "bench": ("bench.__main__", ["--only", "nothing"], "--only"),
    "bench-gpu": ("bench.gpu", ["--steps", "0"], "--steps 0"),
    "app": ("predict.app", ["m", "--port", "0"], "--port 0"),
}


def one_error_line(capsys, prog: str) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{prog}: error: "), err
    return err[0]


def the_error_line(capsys, prog: str) -> str:
    """The one ``PROG: error:`` line of a stage that logged progress (and progress bars, hence ``\\r``) first."""
    import re

    err = capsys.readouterr().err
    lines = [line for line in re.split(r"[\r\n]", err) if line.startswith(f"{prog}: error: ")]
    assert len(lines) == 1 and "Traceback" not in err, err[-3000:]
    return lines[0]


def test_every_stage_is_registered_for_docs():
    assert set(ENTRY_POINTS) == set(STAGE_MODULES)


@pytest.mark.parametrize("stage", sorted(ENTRY_POINTS))
def test_help_works(stage, capsys):
    module = importlib.import_module(ENTRY_POINTS[stage][0])
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage: python" in capsys.readouterr().out


@pytest.mark.parametrize("stage", sorted(ENTRY_POINTS))
def test_bad_value_and_unknown_flag_are_one_line_exit_2(stage, capsys):
    name, bad_argv, named = ENTRY_POINTS[stage]
    module = importlib.import_module(name)
    prog = importlib.import_module(STAGE_MODULES[stage]).PROG
    assert module.main(bad_argv) == 2
    assert named in one_error_line(capsys, prog)
    assert module.main(bad_argv + ["--no-such-flag", "1"]) == 2
    assert "--no-such-flag" in one_error_line(capsys, prog)


def test_train_user_error_from_the_shell_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, "train.py", "--dataset_name", str(tmp_path / "missing"), "--output_dir",
                           str(tmp_path / "run")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("python train.py: error: ") and "Traceback" not in done.stderr


@dataclass
class Toy:
    clip_seconds: float = field(default=10.0, metadata={"help": "seconds (95% of clips)"})
    raw: list[str] = field(default_factory=list, metadata={"help": "folders"})
    name: str | None = field(default=None, metadata={"help": "a name"})
    fast: bool = field(default=False, metadata={"help": "go fast"})

    def __post_init__(self):
        if self.clip_seconds <= 0:
            raise ValueError(f"--clip-seconds {self.clip_seconds}: expected > 0")


def parse(argv):
    return parse_config(Toy, argv, prog="toy")[0]


def test_both_spellings_and_repeatable_lists():
    assert parse(["--clip_seconds", "5"]).clip_seconds == parse(["--clip-seconds", "5"]).clip_seconds == 5.0
    assert parse(["--raw", "a", "--raw", "b"]).raw == ["a", "b"] == parse(["--raw", "a", "b"]).raw
    assert parse(["--fast"]).fast is True and parse(["--fast", "false"]).fast is False


def test_config_file_then_flags_override(tmp_path):
    config = tmp_path / "toy.yaml"
    config.write_text("clip-seconds: 3\nraw: [c, d]\nname: from_file\nfast: true\n")
    from_file = parse([str(config)])
    assert (from_file.clip_seconds, from_file.raw, from_file.name, from_file.fast) == (3.0, ["c", "d"], "from_file", True)
    overridden = parse([str(config), "--raw", "a", "--name", "cli"])
    assert (overridden.clip_seconds, overridden.raw, overridden.name) == (3.0, ["a"], "cli")  # a list is replaced
    as_json = tmp_path / "toy.json"
    as_json.write_text('{"clip_seconds": 2}')
    assert parse([str(as_json)]).clip_seconds == 2.0


def test_config_file_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("clip_secnds: 3\n")
    with pytest.raises(UsageError, match=r"bad.yaml: unknown key 'clip_secnds'; did you mean \['clip_seconds'\]"):
        parse([str(bad)])
    bad.write_text("clip_seconds: three\n")
    with pytest.raises(UsageError, match=r"bad.yaml: clip_seconds = 'three'"):
        parse([str(bad)])
    with pytest.raises(UsageError, match="missing.yaml: no such file"):
        parse([str(tmp_path / "missing.yaml")])


def test_help_text_with_percent_signs_renders(capsys):
    with pytest.raises(SystemExit):
        parse(["--help"])
    assert "95% of clips" in capsys.readouterr().out


def test_run_cli_keeps_tracebacks_for_bugs(capsys):
    def bug(argv):
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        run_cli("toy", bug, [])

    def bad_input(argv):
        raise FileNotFoundError("data/x.csv: no such file")

    assert run_cli("toy", bad_input, []) == 2
    assert one_error_line(capsys, "toy") == "toy: error: data/x.csv: no such file"


def test_committed_flag_and_bench_tables_match_the_code():
    stale = [str(path.relative_to(ROOT)) for path in doc_files() if path.is_file()
             and render(path.read_text(encoding="utf-8")) != path.read_text(encoding="utf-8")]
    assert not stale, f"run `make docs`: stale tables in {stale}"
    blocks = "".join(path.read_text(encoding="utf-8") for path in doc_files() if path.is_file())
    for stage in STAGE_MODULES:
        assert f"<!-- BEGIN FLAGS {stage} -->" in blocks, stage
        assert flags_table(stage) in blocks


# ---------------------------------------------------------------- the one family of expected errors, per stage

@pytest.fixture(scope="module")
def spoiled(tmp_path_factory):
    """A prepared dataset whose train and test splits each hold one undecodable clip, and a tiny model for it."""
    from common.modeling import load_feature_extractor, load_model
    from testing.synthetic import CLASS_NAMES, corrupt_audio, make_prepared_dataset
    from testing.tiny_models import save_tiny_model

    root = tmp_path_factory.mktemp("spoiled")
    good = make_prepared_dataset(root / "good")
    corrupt_audio(good, root / "bad_test", "test", row=1)
    corrupt_audio(good, root / "bad_train", "train", row=0)
    base = save_tiny_model("wav2vec2", root / "base")
    load_model(base, class_names=CLASS_NAMES).save_pretrained(root / "model")
    load_feature_extractor(base).save_pretrained(root / "model")
    return root, str(root / "model")


def test_undecodable_audio_in_a_dataset_is_one_line_exit_2_in_eval_and_train(spoiled, capsys):
    """Bug caught: soundfile's LibsndfileError (a RuntimeError) escaped eval.py and train.py as a traceback; it is
    now an AudioError that names the clip, and the entry points give one line and exit status 2."""
    import eval as eval_cli
    import train
    from testing.train_runs import run_argv

    root, model = spoiled
    assert eval_cli.main(["--model", model, "--dataset", str(root / "bad_test"), "--out", str(root / "report"),
                          "--baselines", "false", "--bootstrap", "20"]) == 2
    line = the_error_line(capsys, eval_cli.PROG)
    assert "test-" in line and "cannot decode" in line, line
    assert train.main(run_argv(root / "bad_train", model, root / "run", "--num_train_epochs", "1")) == 2
    line = the_error_line(capsys, train.PROG)
    assert "train-art_music-0_0.flac" in line and "cannot decode" in line, line


def test_predict_url_input_when_the_download_stage_stops_is_one_line_exit_2(spoiled, tmp_path, monkeypatch, capsys):
    """Bug caught: a URL input of predict whose download stopped (bot check, network down, rate limit: FatalError)
    escaped as a traceback; predict and predict.features now end in the download stage's one line, exit 2."""
    from predict import __main__ as predict_cli
    from predict.features import __main__ as features_cli
    from testing import fake_youtube

    _, model = spoiled
    monkeypatch.setenv(fake_youtube.ENV, str(fake_youtube.write_scenarios(tmp_path / "yt.json", {
        "fakeVid0001": {"playability": "bot_check"}})))
    url = "https://www.youtube.com/watch?v=fakeVid0001"
    for cli in (predict_cli, features_cli):
        assert cli.main([model, url, "--out", str(tmp_path / cli.__name__)]) == 2
        line = the_error_line(capsys, cli.PROG)
        assert "bot_check on fakeVid0001" in line, line


def test_verbose_prints_the_traceback_of_an_expected_error(tmp_path, capsys):
    """Bug caught: --verbose is documented to show the traceback of an expected error; without it only the line."""
    import eval as eval_cli

    argv = ["--model", str(tmp_path / "nowhere"), "--dataset", str(tmp_path / "none"), "--out", str(tmp_path / "r")]
    assert eval_cli.main(argv) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert eval_cli.main(argv + ["--verbose"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith(f"{eval_cli.PROG}: error: ")


def test_ctrl_c_is_exit_130_with_how_to_resume(capsys):
    """Bug caught: Ctrl-C must not print a traceback or look like a failure of the input (exit 130, resume hint);
    the download stage's own Ctrl-C path is tested in tests/test_download.py."""
    def interrupted(argv):
        raise KeyboardInterrupt

    assert run_cli("toy", interrupted, []) == 130
    assert "run the same command again to resume" in capsys.readouterr().err
