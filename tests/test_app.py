"""The web app (predict/app.py): the predict path behind a Gradio page, a Hub Space written and pushed (through a
FAKE of the Hub's API, named as such), and the page in a real headless Chromium (Debian's chromium +
chromium-driver, selenium) that uploads a WAV and reads the class and the timeline plot. The browser test skips
with its reason where no browser is installed; CI (.ci/run) installs one. Its screenshot is kept in
``$YTAC_ARTIFACTS`` (default ``artifacts/``): ``artifacts/app.png``."""

from __future__ import annotations

import ast
import os
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from common.audio import AudioError
from testing import ROOT

NAMES = ["food", "travel"]
ARTIFACTS = Path(os.environ.get("YTAC_ARTIFACTS", ROOT / "artifacts"))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from testing.tiny_models import save_tiny_run

    return save_tiny_run(tmp_path_factory.mktemp("app"), NAMES, window_seconds=1.0)


def _wav(path: Path, seconds: float = 3.0) -> Path:
    rng = np.random.default_rng(1)
    sf.write(str(path), (0.1 * rng.standard_normal(int(16000 * seconds))).astype(np.float32), 16000)
    return path


def test_the_app_runs_the_predict_path_once_loaded(run_dir, tmp_path):
    """Bug caught: a second inference path in the app would disagree with `python -m predict` and the report.
    The page's answer is predict_inputs' own, with the model loaded once."""
    from predict.app import AppConfig, Classifier
    from predict.classify import PredictConfig, predict_inputs

    classifier = Classifier(AppConfig(model=str(run_dir), work_dir=str(tmp_path / "work")))
    wav = _wav(tmp_path / "clip.wav")
    probabilities, figure, audio, csv, notes = classifier(str(wav), None)
    (expected,) = predict_inputs(PredictConfig(model=str(run_dir), inputs=[str(wav)]))
    assert probabilities == pytest.approx(expected.probabilities)
    assert [trace.name for trace in figure.data] == NAMES and len(figure.data[0].x) == len(expected.timeline) == 3
    assert audio == str(wav) and Path(csv).read_text().count("\n") == 4 and notes == ""


def test_bad_input_is_a_readable_error_naming_the_file(run_dir, tmp_path):
    from predict.app import AppConfig, Classifier

    classifier = Classifier(AppConfig(model=str(run_dir), work_dir=str(tmp_path / "work")))
    text = tmp_path / "notes.wav"
    text.write_text("not audio\n")
    with pytest.raises(AudioError, match="notes.wav"):
        classifier(str(text), None)
    with pytest.raises(ValueError, match="give a file"):
        classifier(None, "  ")


def test_a_space_is_written_with_the_spaces_yaml_and_the_projects_own_packages(tmp_path):
    from predict.app import SPACE_PACKAGES, write_space

    files = write_space("me/yt-audio", tmp_path / "space")
    names = {str(p.relative_to(tmp_path / "space")) for p in files}
    assert {"app.py", "requirements.txt", "README.md", "predict/app.py", "predict/classify.py"} <= names
    readme = (tmp_path / "space" / "README.md").read_text()
    assert readme.startswith("---\n") and "sdk: gradio" in readme and "- me/yt-audio" in readme
    app = (tmp_path / "space" / "app.py").read_text()
    ast.parse(app)
    assert 'model="me/yt-audio"' in app and "gradio" in (tmp_path / "space" / "requirements.txt").read_text()
    assert all((tmp_path / "space" / package / "__init__.py").is_file() for package in SPACE_PACKAGES)


class FakeHubApi:
    """FAKE of ``huggingface_hub.HfApi``: records the calls, uploads nothing."""

    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kwargs):
        self.calls.append(("create_repo", repo_id, kwargs))

    def upload_folder(self, folder_path, repo_id, **kwargs):
        self.calls.append(("upload_folder", repo_id, sorted(str(p.relative_to(folder_path))
                                                            for p in Path(folder_path).rglob("*") if p.is_file())))


def test_push_space_creates_a_gradio_space_and_uploads_the_folder(tmp_path):
    from predict.app import push_space

    api = FakeHubApi()
    url = push_space("me/yt-audio", "me/yt-audio-demo", api=api)
    assert url == "https://huggingface.co/spaces/me/yt-audio-demo"
    (create, upload) = api.calls
    assert create[1] == "me/yt-audio-demo" and create[2]["repo_type"] == "space" and create[2]["space_sdk"] == "gradio"
    assert upload[1] == "me/yt-audio-demo" and "app.py" in upload[2] and "predict/app.py" in upload[2]


def test_a_space_needs_a_hub_model_not_a_local_folder(run_dir):
    from predict.app import main

    assert main([str(run_dir), "--write-space", "x"]) == 2


# ---------------------------------------------------------------- in a real browser

def _browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("no chromium/chromedriver installed (Debian: apt-get install chromium chromium-driver)")
    selenium = pytest.importorskip("selenium", reason="selenium not installed (pip install selenium)")
    del selenium
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1300"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver), options=options)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_in_a_real_browser_an_uploaded_wav_shows_its_class_and_timeline(run_dir, tmp_path):
    """Bug caught: a page that builds but does not work (a component that never receives the upload, a plot that
    never renders, an error shown as a traceback) passes every Python-level test. Headless Chromium uploads a WAV,
    clicks Classify, and reads the class and the plotly timeline from the page; a text file named .wav shows one
    readable error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from predict.app import AppConfig, build

    browser = _browser()
    port = _free_port()
    page = build(AppConfig(model=str(run_dir), work_dir=str(tmp_path / "work"), port=port))
    page.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        started = time.perf_counter()
        browser.get(f"http://127.0.0.1:{port}")
        wait = WebDriverWait(browser, 90)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"))
        browser.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(_wav(tmp_path / "c.wav")))
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#upload audio, #upload canvas, #upload wave"))
        browser.find_element(By.CSS_SELECTOR, "#classify").click()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#timeline .js-plotly-plot"))
        label = browser.find_element(By.CSS_SELECTOR, "#label").text
        assert any(name in label for name in NAMES) and "%" in label, label
        assert "class probability per window" in browser.find_element(By.CSS_SELECTOR, "#timeline").text
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "app.png"))
        first_prediction_s = time.perf_counter() - started
        assert first_prediction_s < 90

        text = tmp_path / "notes.wav"
        text.write_text("not audio\n")
        browser.refresh()
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#upload input[type=file]"))
        browser.find_element(By.CSS_SELECTOR, "#upload input[type=file]").send_keys(str(text))
        time.sleep(1.0)
        browser.find_element(By.CSS_SELECTOR, "#classify").click()
        wait.until(lambda b: "unreadable audio file" in b.find_element(By.TAG_NAME, "body").text)
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "notes.wav" in body and "Traceback" not in body
    finally:
        browser.quit()
        page.close()
