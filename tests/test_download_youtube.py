"""The download stage against YouTube as it answers today, through a FAKE YouTube (testing/fake_youtube.py): a yt-dlp
extractor plugin that replaces ``YoutubeIE`` and builds every message with yt-dlp's own code, so the exact text a
user sees reaches the classifier. Real yt-dlp, real ffmpeg, a loopback media server; no network.

Each test names the bug it catches."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import time

import pytest

from download import DownloadConfig, download_videos
from download.errors import BotCheckError, EnvironmentBroken, RateLimited
from download.policy import ENVIRONMENT, PAUSE, STOP, VIDEO, classify_failure
from download.ytdlp import choose_audio_format, passthrough_options
from testing import fake_youtube
from testing.fake_youtube import STORYBOARD, audio_format, healthy, write_id_listing, write_scenarios
from testing.server import MediaServer

FAST = dict(sleep=0, retries=0, backoff_s=0.01, http_retries=1, socket_timeout_s=5, stall_timeout_s=5)
HARD = ("age_restricted", "private", "members_only", "removed", "account_terminated", "geo_restricted",
        "pay_to_watch", "live_or_premiere")


def _id(n: int) -> str:
    return f"fakeVid{n:04d}"          # 11 characters, a valid YouTube id


def _manifest(out):
    path = out / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def youtube(media, tmp_path, monkeypatch):
    """(server, scenarios writer) with the fake YouTube reading ``tmp_path/yt.json``."""
    root, videos = media
    path = tmp_path / "yt.json"
    monkeypatch.setenv(fake_youtube.ENV, str(path))
    with MediaServer(root) as server:
        yield server, videos, (lambda scenarios: write_scenarios(path, scenarios))


def _error_of(scenario: dict, monkeypatch, tmp_path) -> str:
    """The message yt-dlp raises for ``scenario`` through the fake (yt-dlp's own code builds it)."""
    return fake_youtube.error_of(scenario, tmp_path, video_id=_id(0))


# ---------------------------------------------------------------- the double is yt-dlp's own wording

def test_the_fakes_inline_sentences_are_in_the_installed_yt_dlp():
    """Bug caught: a future yt-dlp rewords a message the fake copies; the classifier would then be tested on text
    users never see."""
    import yt_dlp.extractor.youtube._video as video_module
    source = inspect.getsource(video_module)
    missing = [phrase for phrase in fake_youtube.INLINE_PHRASES if phrase not in source]
    assert not missing, f"yt-dlp no longer says: {missing}"
    from pathlib import Path

    import yt_dlp
    ejs = (Path(yt_dlp.__file__).parent / "extractor" / "youtube" / "jsc" / "_builtin" / "ejs.py").read_text()
    assert repr(fake_youtube.EJS_WIKI_URL) in ejs, "yt-dlp's EJS help link moved"


@pytest.mark.parametrize("case, expected", [(c, (c, VIDEO)) for c in HARD] + [
    ("bot_check", ("bot_check", STOP)), ("captcha", ("captcha", STOP)),
    ("session_rate_limited", ("session_rate_limited", PAUSE)), ("client_broken", ("client_broken", ENVIRONMENT)),
])
def test_each_playability_reason_gets_its_own_code_not_the_login_hints(case, expected, monkeypatch, tmp_path):
    """Bug caught: yt-dlp appends "Use --cookies-from-browser or --cookies for the authentication" to every reason
    containing "sign in"; matching that hint made age-restricted and private videos bot checks that stop the run."""
    message = _error_of({"playability": case}, monkeypatch, tmp_path)
    if case in ("age_restricted", "private", "bot_check"):
        assert "--cookies-from-browser or --cookies for the authentication" in message     # yt-dlp's hint is there
    assert classify_failure(message, youtube=True) == expected


def test_environment_failures_from_yt_dlp_are_never_the_videos(monkeypatch, tmp_path):
    """Bug caught: "Requested format is not available" (SABR, PO token, n challenge), "No video formats found" and a
    blocked IP were recorded as the video's own permanent failure."""
    only_images = _error_of({"formats": [STORYBOARD], "warnings": ["n_challenge", "sabr"]}, monkeypatch, tmp_path)
    assert classify_failure(only_images, youtube=True)[1] == ENVIRONMENT
    no_formats = _error_of({"formats": [], "reason": ""}, monkeypatch, tmp_path)
    assert classify_failure(no_formats, youtube=True) == ("no_formats", ENVIRONMENT)
    blocked = _error_of({"invalid_responses": True}, monkeypatch, tmp_path)
    assert classify_failure(blocked, youtube=True) == ("ip_blocked", STOP)
    assert classify_failure("ERROR: unable to download video data: HTTP Error 403: Forbidden", youtube=True) == (
        "forbidden", ENVIRONMENT)
    assert classify_failure("ERROR: unable to download video data: HTTP Error 403: Forbidden") == ("forbidden", VIDEO)


# ---------------------------------------------------------------- format choice

def test_the_original_track_wins_over_a_cheaper_dub_drc_and_damaged_formats():
    """Bug caught: the cheapest audio stream was taken, which on today's YouTube is often an auto-dubbed or
    descriptive track, a DRC variant or one yt-dlp marks damaged."""
    original = audio_format("u", "251", abr=130)
    formats = [audio_format("u", "249-1", abr=50, language="de", language_preference=-1),          # a dub
               audio_format("u", "249-desc", abr=48, language="en-desc", language_preference=-10),  # descriptive
               audio_format("u", "250-drc", abr=70, note="English original (default), DRC"),        # drc
               audio_format("u", "249", abr=55, preference=-10),                                     # damaged
               original]
    assert choose_audio_format(formats)["format_id"] == "251"
    dubs_only = [audio_format("u", "249-1", abr=50, language="de", language_preference=-1),
                 audio_format("u", "251-1", abr=130, language="de", language_preference=-1)]
    assert choose_audio_format(dubs_only)["format_id"] == "249-1"       # only dubs: the smallest that is enough


# ---------------------------------------------------------------- the run

def test_a_listing_of_healthy_and_hard_videos_finishes_and_a_rerun_extracts_nothing(youtube, tmp_path):
    """Bug caught: the first age-restricted or private video raised a bot check and stopped the run for good."""
    server, videos, scenarios = youtube
    cheap_dub = audio_format(server.url(videos[1].path), "249-1", abr=50, language="de", language_preference=-1)
    plan = {_id(1): healthy(server.url(videos[0].path), 3),
            _id(2): {"formats": [cheap_dub, audio_format(server.url(videos[2].path), "251", abr=130)], "duration": 3}}
    plan.update({_id(10 + i): {"playability": case} for i, case in enumerate(HARD)})
    plan[_id(3)] = healthy(server.url(videos[3].path), 3)
    scenarios(plan)
    listing = write_id_listing(tmp_path / "l.csv", list(plan))
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    records = {r["id"]: r for r in _manifest(tmp_path / "out")}
    assert {records[_id(i)]["status"] for i in (1, 2, 3)} == {"ok"}
    assert (records[_id(2)]["format_id"], records[_id(2)]["audio_language"]) == ("251", "en")   # not the dub
    hard = {records[_id(10 + i)]["status"]: records[_id(10 + i)] for i in range(len(HARD))}
    assert sorted(hard) == sorted(HARD)                            # each its own, distinct reason; none a bot check
    assert not any(r["transient"] for r in hard.values())
    assert summary.ok == 3
    requests = server.requests
    scenarios({})                                  # a rerun must not even ask YouTube again
    again = download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    assert again.attempted == 0 and server.requests == requests and len(_manifest(tmp_path / "out")) == len(plan)


def test_a_bot_wall_mid_run_stops_in_one_line_and_records_nothing_for_the_walled_video(youtube, tmp_path):
    """Bug caught: a bot check must stop the run (every later video would fail the same way) without recording the
    walled video as failed; the CLI says so in one line with exit status 2."""
    server, videos, scenarios = youtube
    plan = {_id(1): healthy(server.url(videos[0].path), 3), _id(2): {"playability": "bot_check"},
            _id(3): healthy(server.url(videos[1].path), 3)}
    path = scenarios(plan)
    listing = write_id_listing(tmp_path / "l.csv", list(plan))
    env = {**os.environ, fake_youtube.ENV: str(path),
           "PYTHONPATH": os.pathsep.join([str(fake_youtube.PLUGIN_DIR), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "download", "--listing", str(listing), "--out", str(tmp_path / "out"),
                           "--sleep", "0", "--retries", "0"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m download: error: bot_check on fakeVid0002") and "resume with" in last
    assert [r["id"] for r in _manifest(tmp_path / "out")] == [_id(1)]         # the walled video stays pending
    plan[_id(2)] = healthy(server.url(videos[2].path), 3)                     # cookies fixed it: the rerun goes on
    scenarios(plan)
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    assert summary.ok == 3


def test_no_audio_anywhere_trips_the_environment_breaker_and_marks_nothing_failed(youtube, tmp_path):
    """Bug caught: one YouTube change (formats hidden by SABR / a failed n challenge) marked the whole listing
    permanently failed in an hour."""
    server, videos, scenarios = youtube
    plan = {_id(i): {"formats": [STORYBOARD], "duration": 3, "warnings": ["n_challenge"]} for i in range(1, 8)}
    scenarios(plan)
    listing = write_id_listing(tmp_path / "l.csv", list(plan))
    with pytest.raises(EnvironmentBroken) as info:
        download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST, environment_breaker=3))
    message = str(info.value)
    assert "3 videos in a row" in message and "n challenge solving failed" in message and "update yt-dlp" in message
    assert "nothing was lost" in message and "resume with" in message.lower()
    records = _manifest(tmp_path / "out")
    assert len(records) <= 3 and all(r["transient"] for r in records)            # retryable, never permanent
    assert all(any("n challenge" in w for w in r["warnings"]) for r in records)  # the cause is in the record
    for video_id in plan:                                                        # fixed: the rerun fetches all
        plan[video_id] = healthy(server.url(videos[0].path), 3)
    scenarios(plan)
    assert download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST)).ok == len(plan)


def test_the_session_rate_limit_pauses_the_pool_then_goes_on(youtube, tmp_path):
    """Bug caught: YouTube's one-hour session rate limit was retried for ~75 s and then stopped the run as "HTTP
    429"; it must pause the whole pool and continue."""
    server, videos, scenarios = youtube
    until = time.time() + 1.5
    plan = {_id(1): {**healthy(server.url(videos[0].path), 3), "rate_limited_until": until},
            _id(2): {**healthy(server.url(videos[1].path), 3), "rate_limited_until": until}}
    scenarios(plan)
    listing = write_id_listing(tmp_path / "l.csv", list(plan))
    started = time.monotonic()
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST, rate_limit_wait=2))
    assert summary.ok == 2 and time.monotonic() - started >= 2
    assert [r["status"] for r in _manifest(tmp_path / "out")] == ["ok", "ok"]        # the limit left no record


def test_a_rate_limit_past_the_pauses_stops_cleanly_naming_the_cause(youtube, tmp_path):
    """Bug caught: the stop message said "HTTP 429" for YouTube's session rate limit and recorded the video."""
    server, videos, scenarios = youtube
    plan = {_id(1): {**healthy(server.url(videos[0].path), 3), "rate_limited_until": time.time() + 3600}}
    scenarios(plan)
    listing = write_id_listing(tmp_path / "l.csv", list(plan))
    with pytest.raises(RateLimited, match="past 1 pause.*session_rate_limited.*rate-limited by YouTube.*outlasted.*resume"):
        download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST, rate_limit_wait=0.2,
                                                                       rate_limit_pauses=1))
    assert _manifest(tmp_path / "out") == []


# ---------------------------------------------------------------- passthrough, cookies, --check --online

def test_passthrough_options_use_yt_dlps_own_parser_and_the_record_redacts_credentials(tmp_path):
    """Bug caught: yt-dlp's standard workarounds (player clients, PO-token providers, a proxy) could not be passed,
    and a proxy password would land in the run's records."""
    from download.downloader import recorded_config

    config = DownloadConfig(extractor_args=["youtube:player_client=tv,web_safari", "youtubepot-bgutilhttp:base_url="
                                            "http://127.0.0.1:4416"], proxy="socks5://user:secret@127.0.0.1:1080",
                            force_ipv4=True, remote_components=["ejs:github"], ytdlp_option=['geo_bypass_country="DE"'])
    extra = config.ytdlp_extra
    assert extra["extractor_args"]["youtube"]["player_client"] == ["tv", "web_safari"]
    assert extra["extractor_args"]["youtubepot-bgutilhttp"]["base_url"] == ["http://127.0.0.1:4416"]
    assert (extra["proxy"], extra["source_address"], extra["remote_components"], extra["geo_bypass_country"]) == (
        "socks5://user:secret@127.0.0.1:1080", "0.0.0.0", ["ejs:github"], "DE")
    recorded = json.dumps(recorded_config(config))
    assert "secret" not in recorded and "***@127.0.0.1:1080" in recorded
    with pytest.raises(ValueError, match="IE_KEY:ARGS"):
        passthrough_options(["player_client=tv"])
    with pytest.raises(ValueError, match="--ytdlp-option.*not JSON"):
        DownloadConfig(ytdlp_option=["geo_bypass_country=DE"])


def test_each_worker_gets_its_own_cookie_copy_and_the_original_is_untouched(youtube, tmp_path, monkeypatch):
    """Bug caught: with several workers each YoutubeDL.close rewrote the same cookie file in place."""
    import download.ytdlp as ytdlp_module

    server, videos, scenarios = youtube
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n.youtube.com\tTRUE\t/\tTRUE\t2000000000\tSID\tabc\n")
    before = cookies.read_bytes()
    seen = []
    real = ytdlp_module.ydl_options

    def spy(*args, **kwargs):
        seen.append(kwargs["cookies"])
        return real(*args, **kwargs)
    monkeypatch.setattr(ytdlp_module, "ydl_options", spy)
    plan = {_id(i): healthy(server.url(videos[i].path), 3) for i in range(3)}
    scenarios(plan)
    summary = download_videos(str(write_id_listing(tmp_path / "l.csv", list(plan))), tmp_path / "out",
                              DownloadConfig(**FAST, workers=3, cookies=str(cookies)))
    assert summary.ok == 3 and len(set(seen)) == 3 and str(cookies) not in seen
    assert cookies.read_bytes() == before


def test_a_bot_check_during_repair_ids_ends_in_one_line(monkeypatch, tmp_path, capsys):
    """Bug caught: BotCheckError was not a FatalError, so a bot check during --repair-ids ended in a traceback."""
    import download.downloader as downloader_module
    from download.__main__ import main

    def walled(query, max_results, options=None):   # a fake search answered by YouTube's bot wall
        raise BotCheckError("bot_check: Sign in to confirm you’re not a bot")
    monkeypatch.setattr(downloader_module, "youtube_search", walled)
    listing = tmp_path / "l.csv"
    listing.write_text('link,title,description,category\n#NAME?,Paris in 4K,"Chan\nd",travel\n')
    assert main(["--listing", str(listing), "--out", str(tmp_path / "out"), "--repair-ids", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("python -m download: error: during --repair-ids") and "cookies" in err[-1]


def test_repair_searches_carry_the_runs_cookies_and_pacing(tmp_path):
    """Bug caught: --repair-ids searches ran as a guest, unpaced, whatever --cookies said."""
    from download.repair import search_options

    cookies = tmp_path / "c.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n")
    options = search_options(str(cookies), None, None, {"proxy": "http://127.0.0.1:1"}, tmp_path / "w")
    assert options["cookiefile"] != str(cookies) and open(options["cookiefile"]).read() == cookies.read_text()
    assert options["sleep_interval_requests"] == 0.75 and options["proxy"] == "http://127.0.0.1:1"


def test_check_online_extracts_a_video_and_gives_a_verdict(youtube, tmp_path, capsys):
    """Bug caught: --check --online only opened a TCP connection, so it could not tell that YouTube refuses this
    machine before a 10-hour run."""
    from download.__main__ import main

    server, videos, scenarios = youtube
    fmt = audio_format(server.url(videos[0].path), "251", _client="tv")
    scenarios({_id(1): {"formats": [fmt, STORYBOARD], "duration": 3}, _id(2): {"playability": "bot_check"},
               _id(3): {"formats": [STORYBOARD], "warnings": ["n_challenge"]}})
    url = "https://www.youtube.com/watch?v="
    main(["--check", "--online", "--check-video", url + _id(1)])
    out = capsys.readouterr().out
    assert "youtube verdict" not in out and "player client: tv" in out and "chosen: 251" in out and "verdict: ready" in out
    assert main(["--check", "--online", "--check-video", url + _id(2)]) == 1
    out = capsys.readouterr().out
    assert "bot check: yes (bot_check)" in out and "verdict: YouTube refuses this machine" in out
    assert main(["--check", "--online", "--check-video", url + _id(3)]) == 1
    out = capsys.readouterr().out
    assert "JS challenge: failed" in out and "offers this machine no usable audio" in out


def test_check_warns_about_an_old_yt_dlp_and_a_mismatched_solver():
    """Bug caught: nothing told a user that a months-old yt-dlp or a yt-dlp-ejs of another major.minor (ignored by
    yt-dlp) was installed."""
    from datetime import date

    from download.check import ejs_mismatch, ytdlp_age_days

    assert ytdlp_age_days("2026.10.26", today=date(2027, 1, 1)) == 67
    assert ytdlp_age_days("2026.10.26.233110", today=date(2026, 10, 27)) == 1
    assert ejs_mismatch("0.8.0", "0.8.2") is None
    assert "yt-dlp expects 0.9.0" in ejs_mismatch("0.8.0", "0.9.0")
    assert ejs_mismatch() is None                   # requirements.txt installs the pinned one


def test_a_short_video_whose_whole_second_duration_rounds_up_is_not_truncated(youtube, tmp_path):
    """Bug caught: YouTube's ``duration`` is whole seconds; a 3.0-s audio stream listed as 4 s decoded 1 s short
    of the duration and failed for good as ``truncated``. The check now follows what the file's container holds;
    a stream really cut short of its own container's length is still ``truncated``."""
    from testing.server import Fault

    server, videos, scenarios = youtube
    webm = next(v for v in videos if v.path.endswith(".webm"))
    scenarios({_id(1): healthy(server.url(webm.path), 4)})
    listing = write_id_listing(tmp_path / "l.csv", [_id(1)])
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    (record,) = _manifest(tmp_path / "out")
    assert summary.ok == 1 and record["status"] == "ok", record
    assert abs(record["duration_s"] - 3.0) < 0.05
    server.set_fault(webm.path, Fault("truncate", at_byte=(server.root / webm.path).stat().st_size // 2))
    scenarios({_id(2): healthy(server.url(webm.path), 3)})
    listing = write_id_listing(tmp_path / "l2.csv", [_id(2)])
    download_videos(str(listing), tmp_path / "out2", DownloadConfig(**FAST))
    (record,) = _manifest(tmp_path / "out2")
    assert record["status"] == "truncated", record


def test_repair_ids_through_the_download_stage_fetches_the_repaired_video(youtube, tmp_path):
    """Bug caught: --repair-ids was tested only on repair_rows with an injected search; through download_videos the
    search goes through yt-dlp's own ``ytsearchN:`` extractor (here the fake's), the repaired id is fetched and its
    record says where it came from; a title YouTube does not find stays a damaged row, not a fetch."""
    import csv

    server, videos, scenarios = youtube
    scenarios({"w7BMd70vfoI": healthy(server.url(videos[0].path), 3),
               **fake_youtube.search_scenarios({"Paris walk": [{"id": "w7BMd70vfoI", "title": "Paris walk"}]})})
    listing = tmp_path / "l.csv"
    with open(listing, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["link", "title", "description", "category"])
        writer.writerow(["7BMd70vfoI", "Paris walk", "Fake Channel\nx", "travel"])
        writer.writerow(["nZIULGD0", "Nowhere", "Fake Channel\ny", "travel"])
    summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(repair_ids=True, **FAST))
    (record,) = _manifest(tmp_path / "out")
    assert summary.ok == 1 and record["id"] == "w7BMd70vfoI" and record["repaired_from"] == "7BMd70vfoI"
    assert summary.listing.totals()["repaired"] == 1
    repairs = [json.loads(line) for line in (tmp_path / "out" / "repairs.jsonl").read_text().splitlines()]
    assert len(repairs) == 2                                   # both searches cached for the next run
