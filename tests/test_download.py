"""The download stage end to end: real yt-dlp and ffmpeg against testing.server on 127.0.0.1, plus the YouTube-only
logic (pacing, cookies, bot check, format choice) with fakes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import soundfile as sf

from common.audio import probe
from testing.server import Fault, MediaServer, Throttle
from testing.synth import write_kaggle_listing
from download import DownloadConfig, download_videos, latest_records
from download.errors import FatalError, RateLimited
from download.ids import UnsafeIdError
from download.listing import Video
from download.ytdlp import YOUTUBE_PACING, choose_audio_format, plan_section, ydl_options
from testing import ROOT

FAST = dict(sleep=0, retries=0, backoff_s=0.01, http_retries=2, socket_timeout_s=5, stall_timeout_s=5)


@pytest.fixture
def server(media):
    with MediaServer(media[0]) as srv:
        yield srv


def _listing(path, rows):
    with open(path, "w") as handle:
        handle.write("link,title,description,category\n")
        for url, category in rows:
            handle.write(f"{url},title of {url.rsplit('/', 1)[-1]},desc,{category}\n")
    return path


def _manifest(out):
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_audio_has_exact_rate_channels_and_duration(media, server, tmp_path):
    root, videos = media
    listing = write_kaggle_listing(videos, server.base_url, tmp_path / "listing.csv")
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(workers=2, **FAST))
    assert (summary.ok, summary.failed) == (4, 0)
    records = {r["category"]: r for r in _manifest(tmp_path / "out")}
    for video in videos:
        rec = records[video.category]
        info = sf.info(str(tmp_path / "out" / rec["path"]))
        source = probe(root / video.path)
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
        assert rec["path"] == f"audio/{rec['id']}.flac" and rec["title"] == video.title
        assert abs(info.duration - source["duration_s"]) < 0.03 and rec["duration_s"] == round(info.duration, 3)
        assert rec["section_start_s"] == 0 and rec["sample_rate"] == 16000 and rec["attempts"] == 1
        assert rec["bytes_downloaded"] == (root / video.path).stat().st_size
    assert "ok" in summary.table() and not list((tmp_path / "out" / "tmp").glob("*"))


def test_middle_section_of_a_10_minute_source_has_exactly_the_requested_length(media, server, tmp_path):
    listing = _listing(tmp_path / "l.csv", [(server.url("long/tone.webm"), "travel")])
    size = (media[0] / "long" / "tone.webm").stat().st_size
    download_videos(str(listing), tmp_path / "mid", DownloadConfig(max_seconds=20, **FAST))
    (rec,) = _manifest(tmp_path / "mid")
    info = sf.info(str(tmp_path / "mid" / rec["path"]))
    assert info.frames == 20 * 16000 and rec["duration_s"] == 20.0 and rec["method"] == "section"
    assert rec["source_duration_s"] == pytest.approx(600.0, abs=0.1)
    assert rec["section_start_s"] == pytest.approx((rec["source_duration_s"] - 20) / 2, abs=0.001)
    # only the section travelled: ~130 KB of audio plus the probes (ffprobe's duration, yt-dlp's range check,
    # ffmpeg's header and cue reads), whose open-ended reads the server cuts short by a timing-dependent amount
    # (0.75-0.86 MB measured); a whole fetch is the 4 MB
    assert server.bytes_for("long/tone.webm") < size / 3
    download_videos(str(listing), tmp_path / "start", DownloadConfig(max_seconds=20, section="start", **FAST))
    (rec,) = _manifest(tmp_path / "start")
    assert rec["section_start_s"] == 0 and sf.info(str(tmp_path / "start" / rec["path"])).frames == 20 * 16000


def test_stalled_section_download_falls_back_to_full_download_and_local_cut(media, server, tmp_path):
    listing = _listing(tmp_path / "l.csv", [(server.url("long/tone.webm"), "travel")])
    size = (media[0] / "long" / "tone.webm").stat().st_size
    # the first read that reaches the middle of the file (the section download) gets 3 s of silence, then a reset
    server.set_fault("long/tone.webm", Fault("stall", at_byte=size // 2, times=1, stall_s=3))
    download_videos(str(listing), tmp_path / "out", DownloadConfig(max_seconds=20, **{**FAST, "stall_timeout_s": 1}))
    (rec,) = _manifest(tmp_path / "out")
    assert rec["status"] == "ok" and rec["method"] == "full"
    assert sf.info(str(tmp_path / "out" / rec["path"])).frames == 20 * 16000
    assert rec["section_start_s"] == pytest.approx((rec["source_duration_s"] - 20) / 2, abs=0.001)


def test_plan_section():
    assert plan_section(600, 60, "middle") == (270.0, 60.0)
    assert plan_section(600, 60, "start") == (0.0, 60.0)
    assert plan_section(30, 60, "middle") == (0.0, None) and plan_section(None, 0, "middle") == (0.0, None)
    # bug: an unknown duration (a live or streamed source) used to mean "keep everything"; now it is capped
    assert plan_section(None, 60, "middle") == (0.0, 60.0)


def test_max_seconds_caps_a_source_of_unknown_duration(tmp_path):
    """Bug: with no duration in the container (a live or streamed source), --max-seconds was not enforced: the whole
    file downloaded and was kept. Now ffmpeg reads up to the cap, the first --max-seconds are kept, and a streamed
    source shorter than the cap is kept whole without failing as ``truncated``."""
    from testing.synth import tone_source

    tone_source(tmp_path / "media" / "live.webm", 600, streamed=True)
    tone_source(tmp_path / "media" / "short.webm", 4, streamed=True)
    live_fault = Fault("live", times=None)
    with MediaServer(tmp_path / "media", faults={"live.webm": live_fault, "short.webm": live_fault}) as server:
        assert probe(server.url("live.webm")).get("duration_s") is None     # the premise: no length known
        listing = _listing(tmp_path / "l.csv", [(server.url("live.webm"), "music"), (server.url("short.webm"), "food")])
        summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(max_seconds=10, **FAST))
        served = server.bytes_for("live.webm")
    assert summary.ok == 2, _manifest(tmp_path / "out")
    live, short = sorted(_manifest(tmp_path / "out"), key=lambda r: r["category"] != "music")
    assert sf.info(str(tmp_path / "out" / live["path"])).frames == 10 * 16000 and live["section_start_s"] == 0
    assert live["fetch"] == "sections" and served < (tmp_path / "media" / "live.webm").stat().st_size / 4
    assert abs(sf.info(str(tmp_path / "out" / short["path"])).duration - 4) < 0.1


def test_faults_are_recorded_failures_while_the_rest_succeed(media, server, tmp_path):
    root, videos = media
    by_cat = {v.category: v.path for v in videos}
    server.set_fault(by_cat["food"], Fault("404"))
    server.set_fault(by_cat["history"], Fault("html"))
    webm_size = (root / by_cat["art_music"]).stat().st_size
    server.set_fault(by_cat["art_music"], Fault("truncate", at_byte=webm_size // 2))
    listing = write_kaggle_listing(videos, server.base_url, tmp_path / "listing.csv")
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(workers=2, **FAST))
    status = {r["category"]: r["status"] for r in _manifest(tmp_path / "out")}
    assert status == {"food": "not_found", "history": "not_media", "art_music": "truncated", "travel": "ok"}
    assert sorted(p.name for p in (tmp_path / "out" / "audio").glob("*.flac")) == [
        f"{r['id']}.flac" for r in _manifest(tmp_path / "out") if r["status"] == "ok"]
    assert "not_found:1" in summary.table()


def test_dropped_connection_is_resumed_or_recorded_never_a_short_ok(media, server, tmp_path):
    root, videos = media
    path = next(v.path for v in videos if v.path.endswith(".m4a"))
    size = (root / path).stat().st_size
    listing = _listing(tmp_path / "l.csv", [(server.url(path), "food")])
    fault = Fault("drop", at_byte=size // 2, times=2)
    server.set_fault(path, fault)
    download_videos(str(listing), tmp_path / "resumed", DownloadConfig(**FAST))
    (rec,) = _manifest(tmp_path / "resumed")
    assert fault.times == 0                                                      # both drops really happened
    assert rec["status"] == "ok" and rec["bytes_downloaded"] == size and rec["attempts"] == 1
    assert abs(rec["duration_s"] - probe(root / path)["duration_s"]) < 0.03
    server.set_fault(path, Fault("drop", at_byte=size // 2))                     # drops every time
    download_videos(str(listing), tmp_path / "dropped", DownloadConfig(**FAST))
    (rec,) = _manifest(tmp_path / "dropped")
    assert rec["status"] == "network" and rec["transient"] is True and rec["path"] is None
    assert not list((tmp_path / "dropped").rglob("*.flac"))


def test_permanent_failures_are_not_retried_unless_asked(media, server, tmp_path):
    video = media[1][0]
    listing = _listing(tmp_path / "l.csv", [(server.url(video.path), video.category)])
    server.set_fault(video.path, Fault("404"))
    download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    server.set_fault(video.path, None)
    server.reset_counters()
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    assert server.requests == 0 and summary.skipped == 1 and summary.failed == 1
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(retry_failed=True, **FAST))
    assert [r["status"] for r in _manifest(tmp_path / "out")] == ["not_found", "ok"]
    assert latest_records(tmp_path / "out")[summary.listing.videos[0].id].status == "ok"


@pytest.mark.parametrize("slow", [dict(latency_s=0.4), dict(throttle=Throttle(rate=32 * 1024, burst=16 * 1024))],
                         ids=["latency", "throttled"])
def test_killed_run_resumes_without_redownloading_or_duplicating(media, tmp_path, slow):
    root, videos = media
    with MediaServer(root, **slow) as server:
        listing = write_kaggle_listing(videos, server.base_url, tmp_path / "listing.csv")
        out = tmp_path / "out"
        cmd = [sys.executable, "-m", "download", "--listing", str(listing), "--out", str(out), "--sleep", "0",
               "--retries", "0"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline and not ((out / "manifest.jsonl").exists() and _manifest(out)):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        first = {r["id"] for r in _manifest(out) if r["status"] == "ok"}
        assert 1 <= len(first) < 4
        server.reset_counters()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        records = _manifest(out)
        ids = [r["id"] for r in records]
        assert len(ids) == len(set(ids)) == 4 and all(r["status"] == "ok" for r in records)
        fetched_again = {e["path"] for e in server.log}
        assert not fetched_again & {v.path for v in videos if any(v.path.rsplit("/", 1)[-1].replace(".", "-") in i
                                                                   for i in first)}
        assert len(fetched_again) == 4 - len(first)
        # nothing half-written survives the resumed run: only the ok files, no staged audio, no work folders
        assert sorted(p.name for p in (out / "audio").iterdir()) == sorted(f"{i}.flac" for i in ids)
        assert not (out / "tmp").exists() or not any((out / "tmp").iterdir())


def test_ctrl_c_records_the_downloads_in_flight_and_exits_130(media, tmp_path):
    """Bug caught: Ctrl-C waited for the downloads in flight and then discarded their records, so finished audio was
    orphaned and fetched again by the next run. Now each finished one is recorded before the run stops (exit 130)."""
    root, videos = media
    with MediaServer(root, throttle=Throttle(rate=24 * 1024, burst=8 * 1024)) as server:
        listing = write_kaggle_listing(videos, server.base_url, tmp_path / "listing.csv")
        out = tmp_path / "out"
        cmd = [sys.executable, "-m", "download", "--listing", str(listing), "--out", str(out), "--sleep", "0",
               "--retries", "0", "--workers", "2"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline and len([e for e in server.log if e["bytes"]]) < 2:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGINT)                 # the main process only, as a terminal's Ctrl-C reaches Python
        _, stderr = proc.communicate(timeout=120)
        fetched = {e["path"] for e in server.log}
    assert proc.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr.strip().splitlines()[-1]
    records = _manifest(out)
    assert 2 <= len(records) < len(videos) and all(r["status"] == "ok" for r in records), records
    assert {r["url"].split("/", 3)[-1] for r in records} == fetched        # nothing fetched is left unrecorded
    assert all((out / r["path"]).is_file() for r in records)


def test_broken_ok_file_is_fetched_again_and_superseded(media, server, tmp_path):
    video = media[1][1]
    listing = _listing(tmp_path / "l.csv", [(server.url(video.path), video.category)])
    download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    (rec,) = _manifest(tmp_path / "out")
    (tmp_path / "out" / rec["path"]).write_bytes(b"fLaC torn")
    download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    assert [r["status"] for r in _manifest(tmp_path / "out")] == ["ok", "ok"]
    assert sf.info(str(tmp_path / "out" / rec["path"])).samplerate == 16000


def test_per_category_categories_and_shards(media, server, tmp_path):
    root, videos = media
    rows = [(server.url(v.path), v.category) for v in videos] + [(server.url(videos[0].path) + "?copy=2", videos[0].category)]
    listing = _listing(tmp_path / "l.csv", rows)
    summary = download_videos(str(listing), tmp_path / "pc", DownloadConfig(per_category=1, categories=["art_music", "food"], **FAST))
    assert sorted(r["category"] for r in _manifest(tmp_path / "pc")) == ["art_music", "food"]
    assert summary.listing.totals()["usable"] == 5


def test_shards_from_the_command_line_split_the_listing_and_prepare_merges_them(media, server, tmp_path):
    """Bug caught: --shard was tested only with --dry-run, which returns before any video is selected. Two shards
    of one listing, run as a user runs them, fetch disjoint halves that together are the whole listing, and
    prepare reads both folders as one download."""
    from download.__main__ import main
    from prepare.sources import read_download_dirs

    root, videos = media
    from download.ids import generic_id
    from download.listing import shard_of

    rows = [(server.url(v.path), v.category) for v in videos] + [(server.url(videos[0].path) + "?copy=2", videos[0].category)]
    copy = 3      # ids hash the URL (its port too): add copies until each shard has one, so the test never flakes
    while len({shard_of(generic_id(url), 2) for url, _ in rows}) < 2:
        rows.append((server.url(videos[0].path) + f"?copy={copy}", videos[0].category))
        copy += 1
    listing = _listing(tmp_path / "l.csv", rows)
    for k in (1, 2):
        assert main(["--listing", str(listing), "--out", str(tmp_path / f"s{k}"), "--shard", f"{k}/2", "--sleep", "0",
                     "--retries", "0"]) == 0
    ids = [{r["id"] for r in _manifest(tmp_path / f"s{k}")} for k in (1, 2)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    assert len(ids[0] | ids[1]) == len(rows) and all(r["status"] == "ok" for k in (1, 2)
                                                      for r in _manifest(tmp_path / f"s{k}"))
    merged, dropped, _ = read_download_dirs([tmp_path / "s1", tmp_path / "s2"])
    assert {v.video_id for v in merged} == ids[0] | ids[1] and dropped == []


def test_bot_check_stops_the_run_with_the_cookie_advice(monkeypatch, tmp_path):
    from yt_dlp.utils import DownloadError

    import download.ytdlp as ytdlp_module

    def fake_fetch_media(url, *args, **kwargs):      # a fake of YouTube's answer to a flagged guest session
        raise DownloadError("ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm you’re not a bot. Use --cookies")
    monkeypatch.setattr(ytdlp_module, "fetch_media", fake_fetch_media)
    listing = _listing(tmp_path / "l.csv", [("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "food")])
    with pytest.raises(FatalError, match="--cookies-from-browser"):
        download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    assert not (tmp_path / "out" / "manifest.jsonl").exists()      # not recorded: the next run tries it again


def test_429_is_retried_with_backoff_then_stops_the_run_unrecorded(monkeypatch, tmp_path):
    """Bug caught: a 429 that outlasts the back-off recorded the video as failed (or was retried forever)."""
    from yt_dlp.utils import DownloadError

    import download.ytdlp as ytdlp_module
    calls = []

    def fake_fetch_media(url, *args, **kwargs):      # a fake server that always answers 429
        calls.append(time.monotonic())
        raise DownloadError("ERROR: unable to download video data: HTTP Error 429: Too Many Requests")
    monkeypatch.setattr(ytdlp_module, "fetch_media", fake_fetch_media)
    listing = _listing(tmp_path / "l.csv", [("https://youtu.be/dQw4w9WgXcQ", "food")])
    config = DownloadConfig(**{**FAST, "retries": 2, "backoff_s": 0.1, "rate_limit_pauses": 0})
    with pytest.raises(RateLimited, match="429.*nothing was lost.*--cookies.*resume with: python -m download"):
        download_videos(str(listing), tmp_path / "out", config)     # 429 through every retry stops the run
    assert not (tmp_path / "out" / "manifest.jsonl").exists()       # not recorded: it stays pending
    assert calls[1] - calls[0] >= 0.1 and calls[2] - calls[1] >= 0.2       # exponential backoff
    with pytest.raises(RateLimited):
        download_videos(str(listing), tmp_path / "out", config)
    assert len(calls) == 6                                                  # tried again next run


def test_an_unexpected_error_costs_one_video_not_the_run(monkeypatch, media, server, tmp_path):
    import download.ytdlp as ytdlp_module

    real_fetch = ytdlp_module.fetch_media
    root, videos = media

    def fake_fetch_media(url, *args, **kwargs):      # a fake yt-dlp quirk on one URL only
        if url.endswith(videos[0].path):
            raise KeyError("formats")
        return real_fetch(url, *args, **kwargs)
    monkeypatch.setattr(ytdlp_module, "fetch_media", fake_fetch_media)
    listing = write_kaggle_listing(videos, server.base_url, tmp_path / "listing.csv")
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    status = {r["url"].rsplit("/", 1)[-1]: (r["status"], r["message"]) for r in _manifest(tmp_path / "out")}
    assert status.pop(videos[0].path.rsplit("/", 1)[-1]) == ("error", "KeyError: 'formats'")
    assert {s for s, _ in status.values()} == {"ok"} and summary.ok == len(videos) - 1


def test_limit_counts_only_finished_videos_as_skipped(media, server, tmp_path):
    root, videos = media
    listing = write_kaggle_listing(videos, server.base_url, tmp_path / "listing.csv")
    first = download_videos(str(listing), tmp_path / "out", DownloadConfig(limit=1, **FAST))
    assert (first.skipped, first.attempted, first.ok) == (0, 1, 1)
    second = download_videos(str(listing), tmp_path / "out", DownloadConfig(limit=1, **FAST))
    assert (second.skipped, second.attempted, second.ok) == (1, 1, 2)


def test_missing_cookies_file_is_named():
    with pytest.raises(ValueError, match="--cookies /nonexistent/cookies.txt: no such file"):
        DownloadConfig(cookies="/nonexistent/cookies.txt")


def test_youtube_options_pacing_cookies_and_rate(tmp_path):
    common = dict(limit_rate=None, cookies=None, cookies_from_browser=None, stall_timeout_s=30, socket_timeout_s=20,
                  http_retries=5)
    yt = ydl_options(tmp_path, "dQw4w9WgXcQ", youtube=True, sleep_s=None, **common)
    assert {k: yt[k] for k in YOUTUBE_PACING} == YOUTUBE_PACING and "js_runtimes" in yt
    generic = ydl_options(tmp_path, "x", youtube=False, sleep_s=None, **common)
    assert "sleep_interval" not in generic and "js_runtimes" not in generic
    custom = ydl_options(tmp_path, "x", youtube=True, sleep_s=3, **{**common, "limit_rate": "500K",
                         "cookies": "c.txt", "cookies_from_browser": "firefox:work"})
    assert (custom["sleep_interval"], custom["max_sleep_interval"], custom["ratelimit"]) == (3, 6, 500 * 1024)
    assert custom["cookiefile"] == "c.txt" and custom["cookiesfrombrowser"] == ("firefox", "work")
    with pytest.raises(ValueError, match="--limit-rate 'fast'"):
        ydl_options(tmp_path, "x", youtube=False, sleep_s=0, **{**common, "limit_rate": "fast"})


def test_audio_format_choice_on_a_fake_youtube_format_list():
    formats = [  # what yt-dlp lists for a typical video (abridged), worst first
        {"format_id": "599", "acodec": "mp4a.40.5", "vcodec": "none", "abr": 31, "asr": 22050},
        {"format_id": "600", "acodec": "opus", "vcodec": "none", "abr": 35, "asr": 48000},
        {"format_id": "139", "acodec": "mp4a.40.5", "vcodec": "none", "abr": 48, "asr": 22050},
        {"format_id": "249", "acodec": "opus", "vcodec": "none", "abr": 50, "asr": 48000},
        {"format_id": "250", "acodec": "opus", "vcodec": "none", "abr": 70, "asr": 48000},
        {"format_id": "140", "acodec": "mp4a.40.2", "vcodec": "none", "abr": 129, "asr": 44100},
        {"format_id": "251", "acodec": "opus", "vcodec": "none", "abr": 135, "asr": 48000},
        {"format_id": "18", "acodec": "mp4a.40.2", "vcodec": "avc1", "tbr": 500, "asr": 44100},
    ]
    assert choose_audio_format(formats)["format_id"] == "249"
    assert choose_audio_format([f for f in formats if f["acodec"] != "opus"])["format_id"] == "140"
    assert choose_audio_format([formats[-1]])["format_id"] == "18"
    assert choose_audio_format([{"format_id": "sb0", "acodec": "none", "vcodec": "none"}]) is None


def test_unsafe_ids_never_become_videos():
    for bad in ("../../etc/passwd", "a/b", "x\x00y"):
        with pytest.raises(UnsafeIdError):
            Video(id=bad, url="http://h/x", category="food")


def test_cli_fatal_stops_have_nonzero_exit_and_the_reason_last(tmp_path):
    listing = _listing(tmp_path / "l.csv", [("http://127.0.0.1:9/x.webm", "food")])
    env = {**os.environ, "PATH": str(tmp_path)}       # no ffmpeg on PATH
    proc = subprocess.run([sys.executable, "-m", "download", "--listing", str(listing), "--out", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "ffmpeg" in proc.stderr.strip().splitlines()[-1]
    proc = subprocess.run([sys.executable, "-m", "download", "--listing", str(tmp_path / "missing.csv"), "--out",
                           str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "missing.csv: no such file" in proc.stderr.strip().splitlines()[-1]


def test_server_range_parsing():
    from testing.server import parse_range
    assert parse_range("bytes=0-", 100) == (0, 99) and parse_range("bytes=10-19", 100) == (10, 19)
    assert parse_range("bytes=-30", 100) == (70, 99) and parse_range("bytes=90-500", 100) == (90, 99)
    assert parse_range(None, 100) is None and parse_range("items=1-2", 100) is None
    with pytest.raises(ValueError):
        parse_range("bytes=100-", 100)
