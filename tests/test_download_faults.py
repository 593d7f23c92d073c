"""The download stage under faults: reason codes from real messages, an unreachable network (circuit breaker),
HTTP 429, YouTube's throttle, the --fetch choice, damaged outputs on resume, channel fields and --check. Real
yt-dlp and ffmpeg against testing.server on 127.0.0.1; nothing leaves the machine."""

import re
import csv
import json
import subprocess
import sys
import time
import urllib.request

import pytest
import soundfile as sf

from testing import ROOT
from testing.server import MediaServer, Throttle, free_port
from download import DownloadConfig, download_videos
from download.breaker import CircuitBreaker
from download.errors import NetworkDown, RateLimited
from download.policy import classify_error
from download.listing import ListingRow
from download.repair import repair_rows
from download.ytdlp import choose_fetch

FAST = dict(sleep=0, retries=0, backoff_s=0.01, http_retries=2, socket_timeout_s=5, stall_timeout_s=5)
HEADER = "Tanya Khanijow\n671K subscribers\nSUBSCRIBE\nThe journey to Arunachal begins\nSHOW MORE"


def _listing(path, urls, description="desc"):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["link", "title", "description", "category"])
        for number, url in enumerate(urls):
            writer.writerow([url, f"title {number}", description, "food"])
    return path


def _manifest(out):
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


# ---------------------------------------------------------------- reason codes (real messages)

@pytest.mark.parametrize("message, expected", [
    # ffmpeg on a PNG and on a text file posing as .mp3, under folders whose names hold "ssl" and "timeout"
    ("/data/classlist_raw/tmp/image-mp3-af39f33d8d/source.mp3: ffmpeg could not convert it to FLAC: [png @ "
     "0x555d666bb1c0] chunk too big | Output file #0 does not contain any stream", ("corrupt_media", False)),
    ("/data/classlist_raw/tmp/text-mp3-516a1441b0/source.mp3: ffmpeg could not convert it to FLAC: [mp3 @ "
     "0x55d553760940] Failed to read frame size: Could not seek to 2223. | file:/data/classlist_raw/tmp/"
     "text-mp3-516a1441b0/source.mp3: Invalid argument", ("corrupt_media", False)),
    ("/home/u/timeout_tests/ssl_raw/cut.m4a: ffmpeg could not convert it to FLAC: [mov,mp4,m4a,3gp,3g2,mj2 @ "
     "0x55acb6cfe940] moov atom not found | file:/home/u/timeout_tests/ssl_raw/cut.m4a: Invalid data found when "
     "processing input", ("corrupt_media", False)),
    ("ERROR: Did not get any data blocks", ("empty_media", False)),                     # a 0-byte file served
    ("empty media: the server sent a 0-byte file", ("empty_media", False)),
    ("truncated: decoded 3.10 s of audio, expected 20.00 s", ("truncated", False)),
    # a 404 whose URL holds "ssl" and "timeout" is still a 404
    ("ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found (caused by <HTTPError 404: Not "
     "Found>); url: http://ssl.example.com/timeout/x.webm", ("not_found", False)),
    ("ERROR: [generic] x: Unable to download webpage: HTTPConnection(host='127.0.0.1', port=33925): Failed to "
     "establish a new connection: [Errno 111] Connection refused (caused by TransportError(\"...\"))",
     ("network", True)),
    ("ERROR: [generic] x: Unable to download webpage: HTTPConnection(host='nohost.invalid', port=80): Failed to "
     "resolve 'nohost.invalid' ([Errno -2] Name or service not known)", ("network", True)),
    ("ERROR: [youtube] dQw4w9WgXcQ: Unable to download API page: [SSL: CERTIFICATE_VERIFY_FAILED] certificate "
     "verify failed: unable to get local issuer certificate (_ssl.c:1006)", ("network", True)),
    ("ERROR: unable to download video data: HTTP Error 429: Too Many Requests", ("rate_limited", True)),
])
def test_reason_codes_come_from_the_error_text_not_its_paths(message, expected):
    assert classify_error(message) == expected


# ---------------------------------------------------------------- circuit breaker (issue 15)

def test_refused_connections_stop_the_run_with_one_line_and_rerun_fetches_everything(media, tmp_path):
    root, videos = media
    port = free_port()                      # nothing listens there yet: every connection is refused
    listing = _listing(tmp_path / "l.csv", [f"http://127.0.0.1:{port}/{v.path}" for v in videos])
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "download", "--listing", str(listing), "--out", str(out), "--sleep", "0",
           "--breaker-start", "2"]           # default retries (4, back-off from 5 s): the breaker must cut them
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and last.startswith("python -m download: error: network unreachable")
    assert "127.0.0.1" in last and "Connection refused" in last and "nothing was lost" in last
    assert f"resume with: python -m download --listing {listing}" in last
    records = _manifest(out) if (out / "manifest.jsonl").exists() else []
    assert all(r["transient"] and r["status"] == "network" for r in records) and len(records) <= 2
    with MediaServer(root, port=port):     # the host is back: the same command fetches every video
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    ok = [r["id"] for r in _manifest(out) if r["status"] == "ok"]
    assert len(ok) == len(set(ok)) == len(videos)


def test_a_host_that_does_not_resolve_stops_the_run(tmp_path):
    listing = _listing(tmp_path / "l.csv", [f"http://nohost.invalid/v{i}.webm" for i in range(6)])
    with pytest.raises(NetworkDown, match="first 3 videos.*nohost.invalid.*(resolve|Name or service)"):
        download_videos(str(listing), tmp_path / "out", DownloadConfig(**{**FAST, "retries": 4, "backoff_s": 5}))
    records = _manifest(tmp_path / "out") if (tmp_path / "out" / "manifest.jsonl").exists() else []
    # the failure that trips the breaker stops the run before its record: the video is simply tried again next run
    assert 1 <= len(records) <= 3 and all(r["attempts"] == 1 and r["transient"] for r in records)


def test_network_failures_in_a_row_after_successes_trip_the_breaker(media, tmp_path):
    root, videos = media
    dead = free_port()
    with MediaServer(root) as server:
        urls = [server.url(videos[0].path)] + [f"http://127.0.0.1:{dead}/d{i}.webm" for i in range(4)]
        listing = _listing(tmp_path / "l.csv", urls)
        with pytest.raises(NetworkDown, match="2 attempts in a row"):
            download_videos(str(listing), tmp_path / "out", DownloadConfig(breaker_consecutive=2, **FAST))
    assert [r["status"] for r in _manifest(tmp_path / "out")][0] == "ok"


def test_a_flaky_server_does_not_trip_the_breaker(media, tmp_path):
    root, videos = media
    dead = free_port()
    with MediaServer(root) as server:
        # one dead link first, then videos that work: one network failure among successes is no outage
        urls = [f"http://127.0.0.1:{dead}/gone.webm"] + [server.url(v.path) for v in videos]
        listing = _listing(tmp_path / "l.csv", urls)
        from testing.server import Fault
        server.set_fault(videos[1].path, Fault("drop", at_byte=2000, times=1))    # resumed by yt-dlp
        summary = download_videos(str(listing), tmp_path / "out",
                                  DownloadConfig(breaker_start=2, breaker_consecutive=2, **FAST))
    assert summary.ok == len(videos)
    assert [r["status"] for r in _manifest(tmp_path / "out") if r["status"] != "ok"] == ["network"]


def test_id_repair_searches_stop_when_youtube_cannot_be_reached(tmp_path):
    from yt_dlp.utils import DownloadError
    calls = []

    def offline_search(query, n):        # what yt-dlp raises on a machine without DNS
        calls.append(query)
        raise DownloadError("ERROR: [youtube:search] Unable to download API page: HTTPSConnection(host="
                            "'www.youtube.com', port=443): Failed to resolve 'www.youtube.com' ([Errno -3] "
                            "Temporary failure in name resolution)")
    rows = [ListingRow(row=i, link="#NAME?", category="food", title=f"video {i}") for i in range(1, 8)]
    breaker = CircuitBreaker(3, 8, resume="python -m download --listing l.csv --out raw --repair-ids",
                             what="id searches")
    with pytest.raises(NetworkDown, match="first 3 id searches.*www.youtube.com.*resume with"):
        repair_rows(rows, tmp_path / "repairs.jsonl", search=offline_search, breaker=breaker)
    assert len(calls) == 3 and not (tmp_path / "repairs.jsonl").exists()    # nothing cached: retried next run


# ---------------------------------------------------------------- 429, throttle, --fetch

def test_persistent_429_stops_the_run_and_a_rerun_resumes_without_losing_anything(media, tmp_path):
    root, videos = media
    with MediaServer(root, rate_limit=12) as server:      # a few videos get through, then 429 for the rest
        listing = _listing(tmp_path / "l.csv", [server.url(v.path) for v in videos])
        with pytest.raises(RateLimited, match="429.*nothing was lost.*--cookies.*resume with"):
            download_videos(str(listing), tmp_path / "out", DownloadConfig(**{**FAST, "retries": 1,
                                                                              "rate_limit_pauses": 0}))
        first = _manifest(tmp_path / "out")
        done = {r["id"] for r in first if r["status"] == "ok"}
        assert 1 <= len(done) < len(videos) and all(r["status"] != "rate_limited" for r in first)   # unrecorded
        server.rate_limit = None
        summary = download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    ok = [r["id"] for r in _manifest(tmp_path / "out") if r["status"] == "ok"]
    assert summary.ok == len(videos) and len(ok) == len(set(ok)) == len(videos) and set(ok) >= done


def test_throttle_paces_unchunked_requests_and_spares_bounded_ranges(tmp_path):
    (tmp_path / "f.bin").write_bytes(bytes(200_000))
    throttle = Throttle(rate=100_000, burst=50_000, max_fast_range=150_000)
    with MediaServer(tmp_path, throttle=throttle) as server:
        started = time.monotonic()
        with urllib.request.urlopen(server.url("f.bin")) as response:
            assert len(response.read()) == 200_000
        unchunked = time.monotonic() - started
        for header in ("bytes=0-149999", "bytes=50000-", "bytes=0-199999"):
            request = urllib.request.Request(server.url("f.bin"), headers={"Range": header})
            with urllib.request.urlopen(request) as response:
                response.read()
        deadline = time.monotonic() + 10  # the server logs a request after its last byte: the client may be first
        while len(server.log) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        flags = {e["range"]: e["throttled"] for e in server.log}
    assert unchunked >= (200_000 - 50_000) / 100_000 * 0.9          # 150 kB past the burst at 100 kB/s
    assert flags == {None: True, "bytes=0-149999": False, "bytes=50000-": True, "bytes=0-199999": True}


def test_fetch_choice():
    class NoRanges:                   # a ydl whose Range probe fails
        def urlopen(self, request):
            raise OSError("no")
    info = {"url": "http://h/x.webm"}
    assert choose_fetch("auto", True, NoRanges(), info, 600, 1200) == "whole"          # YouTube: always whole
    assert choose_fetch("auto", False, NoRanges(), info, 60, 3600) == "whole"          # no Range support
    assert choose_fetch("auto", False, None, info, 600, 1200) == "whole"               # saves only half
    assert choose_fetch("sections", True, None, info, 600, 1200) == "sections"
    assert choose_fetch("sections", False, None, info, None, 300) == "whole"           # nothing to cut
    # bug: a probe that failed (a dropped connection) was taken for a streamed source of unknown length and read
    # as a section; the whole file through yt-dlp's resuming downloader is what such a source needs
    assert choose_fetch("auto", False, None, info, 600, None, streamed=False) == "whole"
    assert choose_fetch("auto", False, None, info, 600, None, streamed=True) == "sections"
    # bug: a DASH-segment format has no URL ffmpeg can read; its section fetch could only fail
    assert choose_fetch("sections", False, None, {**info, "protocol": "http_dash_segments"}, 600, 1200) == "whole"


def test_the_section_ffmpeg_goes_through_the_proxy_yt_dlp_uses(tmp_path):
    """Bug it guards against: --proxy reaching yt-dlp's own requests but not the section's ffmpeg (which would then
    read the media URL directly, from the machine's address)."""
    from yt_dlp import YoutubeDL
    from download.ytdlp import section_command

    info = {"url": "http://h.example/x.webm", "http_headers": {"User-Agent": "UA"}}
    with YoutubeDL({"quiet": True, "proxy": "10.0.0.1:3128"}) as ydl:
        args, env = section_command(ydl, info, 30.0, 10.0, tmp_path / "o.nut", stall_timeout_s=5)
    assert env["http_proxy"] == env["HTTP_PROXY"] == "http://10.0.0.1:3128"
    assert args[args.index("-headers") + 1] == "User-Agent: UA\r\n" and args[args.index("-i") + 1] == info["url"]
    with YoutubeDL({"quiet": True}) as ydl:
        assert section_command(ydl, info, 30.0, 10.0, tmp_path / "o.nut", stall_timeout_s=5)[1] is None


@pytest.mark.parametrize("fetch, expected", [("auto", "sections"), ("whole", "whole")])
def test_fetch_path_is_recorded_with_bytes_and_seconds(media, tmp_path, fetch, expected):
    root, _ = media
    with MediaServer(root) as server:
        listing = _listing(tmp_path / "l.csv", [server.url("long/tone.webm")])
        download_videos(str(listing), tmp_path / "out", DownloadConfig(max_seconds=20, fetch=fetch, **FAST))
    (rec,) = _manifest(tmp_path / "out")
    size = (root / "long" / "tone.webm").stat().st_size
    assert rec["status"] == "ok" and rec["fetch"] == expected and rec["duration_s"] == 20.0 and rec["fetch_s"] > 0
    assert (rec["bytes_fetched"] == size) if expected == "whole" else (0 < rec["bytes_fetched"] < size / 10)


def test_a_section_slower_than_the_floor_is_abandoned_for_the_whole_stream(media, tmp_path, monkeypatch):
    import download.ytdlp as ytdlp_module
    monkeypatch.setattr(ytdlp_module, "SECTION_WATCH_WINDOW_S", 1.0)
    root, _ = media
    with MediaServer(root, throttle=Throttle(rate=8 * 1024, burst=32 * 1024)) as server:
        listing = _listing(tmp_path / "l.csv", [server.url("long/tone.webm")])
        download_videos(str(listing), tmp_path / "out",
                        DownloadConfig(max_seconds=60, fetch="sections", section_min_rate="32K", **FAST))
    (rec,) = _manifest(tmp_path / "out")
    assert rec["status"] == "ok" and rec["fetch"] == "whole" and "below the floor" in rec["fetch_fallback"]
    assert sf.info(str(tmp_path / "out" / rec["path"])).frames == 60 * 16000


def test_a_slow_section_stops_only_the_ffmpeg_it_started(media, tmp_path, monkeypatch):
    """Bug: the speed watch found yt-dlp's ffmpeg by scanning /proc for children whose command line contained the
    work folder, and SIGKILLed every match: a process for another folder whose name the first one prefixes
    (``tmp/v1`` and ``tmp/v10``) died with it. Now the section's ffmpeg is started and stopped by ``SectionFetch``."""
    import download.ytdlp as ytdlp_module
    from yt_dlp import YoutubeDL

    monkeypatch.setattr(ytdlp_module, "SECTION_WATCH_WINDOW_S", 1.0)
    root, _ = media
    work = tmp_path / "tmp" / "v1"
    work.mkdir(parents=True)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(tmp_path / "tmp" / "v10")])
    try:
        with MediaServer(root, throttle=Throttle(rate=8 * 1024, burst=32 * 1024)) as server, \
                YoutubeDL({"quiet": True, "noprogress": True}) as ydl:
            info = ydl.extract_info(server.url("long/tone.webm"), download=False)
            fetch = ytdlp_module.SectionFetch(min_rate=32 * 1024)
            fetch.fetch(ydl, info, 270.0, 60.0, work, stall_timeout_s=5)
        assert fetch.slow and "below the floor" in fetch.slow and not (work / "source.nut").exists()
        assert bystander.poll() is None            # still running: nothing but the section's own ffmpeg was stopped
    finally:
        bystander.kill()
        bystander.wait()


def test_the_section_ffmpeg_sends_yt_dlps_cookies_and_headers(media, tmp_path):
    """Bug it guards against: the section is read by an ffmpeg this project starts, not by yt-dlp; without the
    cookies of --cookies and yt-dlp's HTTP headers a cookie-gated server (a signed-in YouTube session) refuses it.
    The cookie must reach the Range request that reads the section, not only yt-dlp's own requests."""
    root, _ = media
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tsecret42\n")
    with MediaServer(root) as server:
        listing = _listing(tmp_path / "l.csv", [server.url("long/tone.webm")])
        download_videos(str(listing), tmp_path / "out",
                        DownloadConfig(max_seconds=20, fetch="sections", cookies=str(cookies), **FAST))
        log = list(server.log)
    (rec,) = _manifest(tmp_path / "out")
    assert rec["status"] == "ok" and rec["fetch"] == "sections" and rec["method"] == "section"
    section_reads = [e for e in log if e["range"] and e["range"] != "bytes=0-0" and not e["range"].startswith("bytes=0-")]
    assert section_reads, log
    assert all(e["cookie"] == "session=secret42" for e in section_reads), section_reads
    assert all(e["user_agent"] and not e["user_agent"].startswith("Lavf") for e in section_reads), section_reads


# ---------------------------------------------------------------- resume, channel fields, --check

@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_flac_is_fetched_again_and_recorded_as_such(media, tmp_path, damage):
    root, videos = media
    with MediaServer(root) as server:
        listing = _listing(tmp_path / "l.csv", [server.url(videos[0].path)])
        download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
        (rec,) = _manifest(tmp_path / "out")
        path = tmp_path / "out" / rec["path"]
        data = bytearray(path.read_bytes())
        if damage == "truncate":          # the header still says the full length: sf.info cannot tell
            data = data[: len(data) * 2 // 3]
        else:
            data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        assert sf.info(str(path)).frames == rec["duration_s"] * 16000
        download_videos(str(listing), tmp_path / "out", DownloadConfig(**FAST))
    first, second = _manifest(tmp_path / "out")
    assert second["status"] == "ok" and "damaged" in second["refetched"] and second["sha256"] == first["sha256"]


def test_channel_fields_are_null_on_the_generic_path_and_listing_channel_comes_from_the_header(media, tmp_path):
    root, videos = media
    with MediaServer(root) as server:
        _listing(tmp_path / "a.csv", [server.url(videos[0].path)], description=HEADER)
        _listing(tmp_path / "b.csv", [server.url(videos[1].path)], description="A hand-written description")
        download_videos(str(tmp_path / "a.csv"), tmp_path / "out", DownloadConfig(**FAST))
        download_videos(str(tmp_path / "b.csv"), tmp_path / "out", DownloadConfig(**FAST))
    with_header, without = _manifest(tmp_path / "out")
    assert with_header["listing_channel"] == "Tanya Khanijow" and without["listing_channel"] is None
    for rec in (with_header, without):
        assert rec["status"] == "ok"
        assert [rec[k] for k in ("channel_id", "channel", "uploader_id", "upload_date", "duration")] == [None] * 5
        assert rec["size"] == (tmp_path / "out" / rec["path"]).stat().st_size and len(rec["sha256"]) == 64


def test_offline_check_reports_every_piece_and_names_what_is_missing(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "download", "--check"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    lines = proc.stdout.splitlines()
    assert [line.split(":")[0].split(" ")[0] for line in lines[:4]] == ["yt-dlp", "JS", "ffmpeg", "cookies"]
    assert lines[3] == "cookies: no cookies (guest session)"
    no_ffmpeg = subprocess.run([sys.executable, "-m", "download", "--check"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120, env={"PATH": str(tmp_path)})
    assert no_ffmpeg.returncode == 1 and "ffmpeg: missing" in no_ffmpeg.stdout
    assert "warning: ffmpeg is missing" in no_ffmpeg.stdout


def test_js_runtime_is_the_venv_deno_passed_by_path(tmp_path):
    deno = pytest.importorskip("deno")             # installed by `make venv` (requirements.txt)
    from download.ytdlp import js_runtime_info, ydl_options
    options = ydl_options(tmp_path, "dQw4w9WgXcQ", youtube=True, sleep_s=None, limit_rate=None, cookies=None,
                          cookies_from_browser=None, stall_timeout_s=30, socket_timeout_s=20, http_retries=5)
    assert options["js_runtimes"] == {"deno": {"path": str(deno.find_deno_bin())}}
    info = js_runtime_info(options["js_runtimes"])        # what yt-dlp itself reports (runs `deno --version`)
    assert info["name"] == "deno" and info["supported"] and info["version"].startswith("2.")


def test_online_check_reaches_each_host_once(media, tmp_path):
    with MediaServer(media[0]) as server:
        proc = subprocess.run([sys.executable, "-m", "download", "--check", "--online", "--urls",
                               server.url("x.webm"), f"http://127.0.0.1:{free_port()}/y.webm"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert f"127.0.0.1:{server.port} (127.0.0.1): reachable" in proc.stdout
    assert "cannot connect" in proc.stdout and "Connection refused" in proc.stdout


def test_channel_fields_are_copied_from_the_info_dict_when_the_extractor_has_them(media, tmp_path, monkeypatch):
    from yt_dlp import YoutubeDL
    real_extract = YoutubeDL.extract_info
    channel = {"channel_id": "UCyEd6QBSgat5kkC6svyjudA", "channel": "Mark Wiens", "uploader_id": "@MarkWiens",
               "upload_date": "20210314", "duration": 3.0}

    def extract_with_channel(self, url, *args, **kwargs):     # what the YouTube extractor adds to its info dict
        return {**real_extract(self, url, *args, **kwargs), **channel}
    monkeypatch.setattr(YoutubeDL, "extract_info", extract_with_channel)
    root, videos = media
    with MediaServer(root) as server:
        _listing(tmp_path / "l.csv", [server.url(videos[0].path)])
        download_videos(str(tmp_path / "l.csv"), tmp_path / "out", DownloadConfig(**FAST))
    (rec,) = _manifest(tmp_path / "out")
    assert rec["status"] == "ok" and {k: rec[k] for k in channel} == channel


@pytest.mark.parametrize("bad, named", [({"limit_rate": "fast"}, "--limit-rate 'fast'"), ({"retries": -1}, "--retries -1"),
                                        ({"backoff_s": -5.0}, "--backoff-s -5.0"), ({"http_retries": -2}, "--http-retries -2")])
def test_bad_rates_and_retry_counts_are_refused_before_any_download(bad, named):
    with pytest.raises(ValueError, match=re.escape(named)):
        DownloadConfig(**bad)
