"""The bad-input harness (testing/badinput.py) in the suite: generated bad input for every command line, run
in-process; every outcome is a result or one ``PROG: error:`` line with exit 2, never a traceback, and finished
outputs stay as they were. A few examples per kind here (well under a minute); ``python -m bench --only badinput``
runs thousands.

Plus the named cases of issue 30, each as a user typed it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from testing.badinput import build_world, call, judge, kinds, write_audio

QUICK = settings(max_examples=12, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KINDS = kinds()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("badinput"))


def _generated(kind: str, max_examples: int = 12):
    """A hypothesis test of ``kind``: every generated input keeps the rule (the first problem fails it)."""
    runner, strategies = KINDS[kind]

    @settings(QUICK, max_examples=max_examples)
    @given(**strategies)
    def check(world, **drawn):
        problems = runner(world, **drawn)
        assert not problems, problems[0]
    return check


test_listings_never_crash_download = _generated("listing")
test_manifests_never_crash_prepare = _generated("manifest")
test_bad_audio_never_crashes_prepare_or_predict = _generated("audio")
test_config_files_never_crash_any_stage = _generated("config")
test_numeric_flags_never_crash_any_stage = _generated("number", max_examples=40)


# ---------------------------------------------------------------- the named cases of issue 30

@pytest.mark.parametrize("spelling", [["food,travel"], ["food", "travel"], ["food, travel"]])
def test_categories_in_comma_and_space_forms_select_both(world, spelling, tmp_path):
    """Bug caught (issue 30): `--categories food,travel`, the form the docs show, stopped with "['food,travel'] not
    in the listing"."""
    from download import DownloadConfig

    assert DownloadConfig(categories=spelling).categories == ["food", "travel"]
    prog, main = world["mains"]["download"]
    outcome = call(prog, main, ["--listing", str(world["listing"]), "--out", str(tmp_path / "o"), "--dry-run",
                                "--categories", *spelling])
    assert outcome.status == 0, outcome.stderr


def test_categories_from_a_yaml_config_as_a_string_or_a_list(world, tmp_path):
    prog, main = world["mains"]["download"]
    for text in ("categories: food,travel\n", "categories: [food, travel]\n"):
        config = tmp_path / "c.yaml"
        config.write_text(text)
        outcome = call(prog, main, [str(config), "--listing", str(world["listing"]), "--out", str(tmp_path / "o"),
                                    "--dry-run"])
        assert outcome.status == 0, outcome.stderr


@pytest.mark.parametrize("argv, words", [
    (["--limit", "-1"], "--limit -1"),
    (["--workers", "0"], "--workers 0"),
    (["--max-seconds", "nan"], "--max-seconds nan"),
])
def test_bad_download_numbers_are_refused_in_one_line(world, tmp_path, argv, words):
    """Bug caught (issue 30): `--limit -1` silently skipped the last video and exited 0."""
    prog, main = world["mains"]["download"]
    outcome = call(prog, main, ["--listing", str(world["listing"]), "--out", str(tmp_path / "o"), "--dry-run",
                                *argv])
    assert judge(outcome) is None and outcome.status == 2 and words in outcome.stderr, outcome.stderr


def test_clip_seconds_1e_9_is_refused_in_one_line(world, tmp_path):
    """Bug caught (issue 30): `--clip-seconds 1e-9` ended prepare in ZeroDivisionError."""
    folder = tmp_path / "af"
    write_audio(folder / "food" / "a.wav", "good")
    write_audio(folder / "travel" / "b.wav", "good")
    prog, main = world["mains"]["prepare"]
    outcome = call(prog, main, ["--audiofolder", str(folder), "--out", str(tmp_path / "o"), "--clip-seconds", "1e-9"])
    assert judge(outcome) is None and outcome.status == 2 and "--clip-seconds" in outcome.stderr, outcome.stderr


def test_a_3_ms_input_to_predict_gives_a_result(world, tmp_path):
    """Bug caught (issue 30): a 3-ms file ended predict in torch's "Calculated padded input size per channel"."""
    import soundfile as sf

    short = tmp_path / "short.wav"
    sf.write(str(short), np.full(48, 0.1, np.float32), 16000)
    prog, main = world["mains"]["predict"]
    outcome = call(prog, main, [str(world["run"]), str(short), "--format", "json"])
    assert judge(outcome) is None and outcome.status == 0, outcome.stderr


def test_predict_checks_its_inputs_before_loading_the_model(world, tmp_path, monkeypatch):
    """Bug caught (issue 30): predict loaded the model (minutes for a large one) before finding that an input did
    not exist."""
    import common.modeling as modeling

    def no_model(*args, **kwargs):
        raise AssertionError("the model was loaded before the inputs were checked")

    monkeypatch.setattr(modeling, "load_model", no_model)
    prog, main = world["mains"]["predict"]
    outcome = call(prog, main, [str(world["run"]), str(tmp_path / "missing.wav")])
    assert judge(outcome) is None and outcome.status == 2 and "missing.wav" in outcome.stderr, outcome.stderr
