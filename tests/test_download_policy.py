"""The download stage's failure policy (download/policy.py) and the pool that acts on it (download/pool.py), against a
FAKE YouTube (testing/fake_youtube.py) whose messages come from yt-dlp's own code: a failure whose words YouTube also
uses for a blocked session or a change is never recorded as the video's until a known-good video was asked; a
rate limit on one proxy does not stop the others; Ctrl-C never leaves a permanent failure. Real yt-dlp, real
ffmpeg, loopback servers; no network.

Each test names the bug it catches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from download import DownloadConfig, download_videos
from download.errors import EnvironmentBroken
from download.listing import ListingError, parse_shard
from download.policy import (ENVIRONMENT, FALLBACK, RULES, UNSURE, VIDEO, classify, classify_failure,
                             policy_table)
from testing import ROOT, fake_youtube
from testing.fake_youtube import KNOWN_GOOD_ID, extractions, healthy, write_id_listing, write_scenarios
from bench.bench_chaos import default_sigint
from testing.server import ForwardingProxy, MediaServer

FAST = dict(sleep=0, retries=0, backoff_s=0.01, http_retries=1, socket_timeout_s=5, stall_timeout_s=5)


def _id(n: int) -> str:
    return f"policyV{n:04d}"          # 11 characters, a valid YouTube id


def _manifest(out: Path) -> list[dict]:
    path = out / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def youtube(media, tmp_path, monkeypatch):
    """(server, videos, write scenarios, extraction log) with the fake YouTube reading ``tmp_path/yt.json``."""
    root, videos = media
    path, log = tmp_path / "yt.json", tmp_path / "extractions.log"
    monkeypatch.setenv(fake_youtube.ENV, str(path))
    monkeypatch.setenv(fake_youtube.LOG_ENV, str(log))
    with MediaServer(root) as server:
        yield server, videos, (lambda scenarios: write_scenarios(path, scenarios)), log


# ---------------------------------------------------------------- the table

def test_every_rules_example_gives_its_own_reason_and_the_table_covers_every_rule():
    """Bug caught: a rule placed after a broader one never fires (its example would be classified by the other),
    and docs/troubleshooting.md's table drifted from the code."""
    for rule in RULES:
        assert classify(rule.example, youtube=True).reason == rule.reason, rule.example
        assert classify(rule.example, youtube=False).whose == rule.whose_on(False)
    assert [row[0] for row in policy_table()] == [rule.reason for rule in RULES] + [FALLBACK.reason]
    assert classify("a sentence YouTube has never said", youtube=True).whose == UNSURE
    assert classify("a sentence a CDN has never said", youtube=False).whose == VIDEO


@pytest.mark.parametrize("scenario, expected", [
    ({"playability": "content_unavailable"}, ("content_unavailable", UNSURE)),
    ({"playability": "page_reload"}, ("page_reload", ENVIRONMENT)),
    ({"unexpected": "Failed to extract any player response"}, ("extractor_error", ENVIRONMENT)),
    ({"drm": True}, ("drm", UNSURE)),
    ({"playability": "account_closed"}, ("account_terminated", VIDEO)),
    ({"playability": "premium_only"}, ("premium_only", VIDEO)),
    ({"playability": "removed"}, ("removed", VIDEO)),
])
def test_youtubes_words_for_a_block_or_a_change_are_never_the_videos_own(scenario, expected, tmp_path):
    """Bug caught (issue 28): "The page needs to be reloaded." and yt-dlp's please-report text were the video's
    permanent `error`; "This content isn't available." (a removed video and a blocked session alike) and DRM (after
    the tv client's DRM experiment) were recorded without asking a known-good video."""
    message = fake_youtube.error_of(scenario, tmp_path)
    if "unexpected" in scenario:
        assert "please report this issue" in message.lower()       # yt-dlp's own text
    assert classify_failure(message, youtube=True) == expected


# ---------------------------------------------------------------- the known-good check

def test_a_session_block_over_every_video_clears_and_leaves_no_permanent_record(youtube, tmp_path):
    """Bug caught: YouTube answered "This content isn't available." to every video of a blocked session, and each
    was recorded as removed for good. Now the known-good video fails too, so the videos go back to the queue; the
    block lifts and every video is fetched, none ever recorded as failed."""
    server, videos, scenarios, log = youtube
    plan = {_id(n): healthy(server.url(videos[n].path), 3) for n in range(3)}
    scenarios({**plan, "_sessions": [{"until": time.time() + 2.0, "playability": "content_unavailable"}]})
    summary = download_videos(str(write_id_listing(tmp_path / "l.csv", plan)), tmp_path / "out",
                              DownloadConfig(**FAST, rate_limit_wait=1.0, rate_limit_pauses=5))
    records = _manifest(tmp_path / "out")
    assert summary.ok == 3 and [r["status"] for r in records] == ["ok"] * 3, records
    assert summary.checks >= 1 and any(video == KNOWN_GOOD_ID for video, _ in extractions(log))


def test_a_removed_video_with_the_blocks_words_is_recorded_with_the_check_that_proves_it(youtube, tmp_path):
    """Bug caught: the other side of the same words: while the known-good video works, "This content isn't
    available." is the video's own, recorded permanently, with when and what proved it."""
    server, videos, scenarios, log = youtube
    plan = {_id(1): {"playability": "content_unavailable"}, _id(2): healthy(server.url(videos[0].path), 3)}
    scenarios(plan)
    summary = download_videos(str(write_id_listing(tmp_path / "l.csv", plan)), tmp_path / "out", DownloadConfig(**FAST))
    by_id = {r["id"]: r for r in _manifest(tmp_path / "out")}
    gone = by_id[_id(1)]
    assert gone["status"] == "content_unavailable" and gone["whose"] == VIDEO and gone["transient"] is False
    assert KNOWN_GOOD_ID in gone["checked"] and "extracted fine" in gone["checked"]
    assert by_id[_id(2)]["status"] == "ok" and summary.checks == 1
    # a later run does not try it again (permanent), and asks nothing
    before = len(extractions(log))
    download_videos(str(write_id_listing(tmp_path / "l.csv", plan)), tmp_path / "out", DownloadConfig(**FAST))
    assert len(extractions(log)) == before


@pytest.mark.parametrize("change", [{"playability": "page_reload"},
                                    {"unexpected": "Failed to extract any player response"}])
def test_a_youtube_change_on_every_video_stops_early_with_exit_2_and_nothing_permanent(change, youtube, tmp_path):
    """Bug caught (issue 28): a YouTube change failed 12 of 12 videos permanently and the run exited 0. Now the
    run stops after --environment-breaker videos (few extractions), exits 2 from the shell, and every record stays
    retryable."""
    server, videos, scenarios, log = youtube
    plan = {_id(n): healthy(server.url(videos[n % len(videos)].path), 3) for n in range(30)}
    scenarios({**plan, "_sessions": [change]})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake_youtube.PLUGIN_DIR), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "download", "--listing", str(write_id_listing(tmp_path / "l.csv", plan)),
                           "--out", str(tmp_path / "out"), "--sleep", "0", "--retries", "0"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m download: error:") and "resume" in last.lower(), last
    records = _manifest(tmp_path / "out")
    assert records and all(r["transient"] and r["whose"] == ENVIRONMENT for r in records), records
    assert len(extractions(log)) <= 10


def test_the_breaker_stops_in_process_too(youtube, tmp_path):
    """The same stop through the library call: ``EnvironmentBroken`` names the reason and what to do."""
    server, videos, scenarios, _ = youtube
    plan = {_id(n): healthy(server.url(videos[0].path), 3) for n in range(8)}
    scenarios({**plan, "_sessions": [{"playability": "page_reload"}]})
    with pytest.raises(EnvironmentBroken, match="page_reload"):
        download_videos(str(write_id_listing(tmp_path / "l.csv", plan)), tmp_path / "out",
                        DownloadConfig(**FAST, environment_breaker=3))
    assert len(_manifest(tmp_path / "out")) == 3


# ---------------------------------------------------------------- proxies

def test_a_rate_limit_on_one_proxy_moves_its_videos_to_the_other_without_a_pool_wide_wait(youtube, tmp_path):
    """Bug caught: one proxy's rate limit paused every download for an hour. With --proxy-file, the limited proxy
    pauses alone, its video goes back to the queue, and the other proxy fetches everything."""
    server, videos, scenarios, log = youtube
    with ForwardingProxy() as limited, ForwardingProxy() as good:
        plan = {_id(n): healthy(server.url(videos[n % len(videos)].path), 3) for n in range(5)}
        scenarios({**plan, "_sessions": [{"proxy": limited.url, "playability": "session_rate_limited"}]})
        proxies = tmp_path / "proxies.txt"
        proxies.write_text(f"# two exit addresses\n{limited.url}\n{good.url}\n")
        started = time.monotonic()
        summary = download_videos(str(write_id_listing(tmp_path / "l.csv", plan)), tmp_path / "out",
                                  DownloadConfig(**FAST, proxy_file=str(proxies), rate_limit_wait=3600))
        elapsed = time.monotonic() - started
        assert good.requests >= 5            # the media really went through the good proxy
    records = _manifest(tmp_path / "out")
    assert summary.ok == 5 and all(r["status"] == "ok" and r["proxy"] == good.url for r in records), records
    assert elapsed < 120
    rows = {row[0]: row for row in summary.proxies}
    assert rows[limited.url][1] == 0 and rows[limited.url][3] >= 1 and rows[limited.url][4] == 1
    assert rows[good.url][1] == 5


def test_proxy_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "p.txt"
    bad.write_text("http://127.0.0.1:3128\nftp://user:secret@host:21\n")
    with pytest.raises(ValueError, match=r"line 2.*\*\*\*.*not a proxy URL") as info:
        DownloadConfig(proxy_file=str(bad))
    assert "secret" not in str(info.value)
    bad.write_text("# nothing\n")
    with pytest.raises(ValueError, match="no proxy URL"):
        DownloadConfig(proxy_file=str(bad))
    bad.write_text("direct\nsocks5://127.0.0.1:1080\n")
    assert DownloadConfig(proxy_file=str(bad)).proxy_urls == [None, "socks5://127.0.0.1:1080"]


# ---------------------------------------------------------------- --shard auto

@pytest.mark.parametrize("environ, count, expected", [
    ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "8"}, None, (4, 8)),
    ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, None, (1, 4)),
    ({"JOB_COMPLETION_INDEX": "0"}, 5, (1, 5)),
])
def test_shard_auto_reads_slurm_and_kubernetes(environ, count, expected):
    assert parse_shard("auto", count, environ) == expected


@pytest.mark.parametrize("environ, count, words", [
    ({}, None, "neither"), ({"JOB_COMPLETION_INDEX": "2"}, None, "--shard-count"),
    ({"JOB_COMPLETION_INDEX": "7"}, 4, "outside 1..4"), ({"SLURM_ARRAY_TASK_ID": "x"}, None, "not a whole number"),
])
def test_shard_auto_errors_say_what_is_missing(environ, count, words):
    with pytest.raises(ListingError, match=words):
        parse_shard("auto", count, environ)


def test_shard_auto_from_the_environment_through_the_config(monkeypatch):
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "2")
    monkeypatch.setenv("SLURM_ARRAY_TASK_MIN", "1")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "3")
    assert DownloadConfig(shard="auto").shard == (2, 3)
    with pytest.raises(ValueError, match="--shard-count 4: goes with --shard auto"):
        DownloadConfig(shard="1/2", shard_count=4)


# ---------------------------------------------------------------- Ctrl-C

def _ffmpeg_converting(pid: int) -> bool:
    """An ffmpeg descendant of ``pid`` writing FLAC (the conversion), found through /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"ffmpeg") and b"flac" in cmdline and int(stat[1]) == pid:
            return True
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the ffmpeg child")
def test_ctrl_c_while_ffmpeg_converts_never_leaves_a_permanent_failure(media, tmp_path):
    """Bug caught: Ctrl-C in a terminal reaches the whole process group; ffmpeg ends "normally" with status 255 and
    a short file, which was recorded as the video's own `truncated` (or corrupt) failure. Three interrupted runs
    leave no failure at all; a fourth finishes every video."""
    root, videos = media
    with MediaServer(root) as server:
        listing = tmp_path / "l.csv"
        rows = [server.url("long/tone.webm")] + [server.url(v.path) for v in videos[:3]]
        listing.write_text("link,category\n" + "".join(f"{url},food\n" for url in rows))
        out = tmp_path / "out"
        cmd = [sys.executable, "-m", "download", "--listing", str(listing), "--out", str(out), "--sleep", "0",
               "--retries", "0", "--max-seconds", "0"]
        interrupted = 0
        for _ in range(3):
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True, preexec_fn=default_sigint)
            deadline = time.time() + 60
            while time.time() < deadline and proc.poll() is None and not _ffmpeg_converting(proc.pid):
                time.sleep(0.005)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)          # what a terminal's Ctrl-C does: the whole group
                interrupted += 1
            _, stderr = proc.communicate(timeout=120)
            assert proc.returncode in (0, 130), stderr[-2000:]         # 0: it had finished before the signal
            assert all(r["status"] == "ok" for r in _manifest(out)), (_manifest(out), stderr[-2000:])
        assert interrupted >= 1
        final = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]
    records = _manifest(out)
    assert {r["url"] for r in records} == set(rows) and all(r["status"] == "ok" for r in records)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the ffmpeg child")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_an_ffmpeg_killed_alone_is_retried_not_blamed_on_the_video(sig, media, tmp_path):
    """Bug caught: ffmpeg stopped by a signal of its own (the OOM killer, a `kill`, SIGTERM ending it "normally"
    with status 255 and a short file) was the video's `truncated`/`corrupt_media` failure for good. Now it is
    `interrupted`: retried at once, and the video ends ok."""
    import threading

    root, _ = media
    with MediaServer(root) as server:
        listing = tmp_path / "l.csv"
        listing.write_text(f"link,category\n{server.url('long/tone.webm')},food\n")
        result = {}
        worker = threading.Thread(target=lambda: result.update(summary=download_videos(
            str(listing), tmp_path / "out", DownloadConfig(**{**FAST, "retries": 1}, max_seconds=0))))
        worker.start()
        deadline, killed = time.time() + 60, False
        while time.time() < deadline and worker.is_alive() and not killed:
            for entry in Path("/proc").iterdir():
                try:
                    cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if cmdline[0].endswith(b"ffmpeg") and b"flac" in cmdline and parent == os.getpid():
                    time.sleep(0.3)      # mid-conversion: ffmpeg's own handler is in place and output written
                    os.kill(int(entry.name), sig)
                    killed = True
                    break
            time.sleep(0.005)
        worker.join(timeout=120)
    assert killed
    (record,) = _manifest(tmp_path / "out")
    assert record["status"] == "ok" and record["attempts"] == 2, record


def test_the_shipped_sbatch_array_script_runs_a_download_command_that_parses(monkeypatch):
    """Bug caught: the array script in docs/scaling.md drifts from the command line (a renamed flag fails every
    task of a 24-hour array at once)."""
    import re
    import shlex

    from common.cli import parse_config
    from download.__main__ import ARGUMENTS

    script = (ROOT / "configs" / "slurm" / "download-array.sbatch").read_text()
    line = next(line for line in script.splitlines() if line.startswith("python -m download"))
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    monkeypatch.setenv("SLURM_ARRAY_TASK_MIN", "1")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "4")
    words = [re.sub(r"\$\{?(\w+)\}?", lambda m: os.environ.get(m.group(1), m.group(1).lower()), word)
             for word in shlex.split(line.replace('"$@"', ""))[3:]]
    _, config, _ = parse_config(ARGUMENTS, words, prog="python -m download")
    assert config.shard == (3, 4) and "--out" in words and words[words.index("--out") + 1].endswith("-3")
