"""A FAKE of YouTube for offline tests: a yt-dlp extractor that stands in for ``YoutubeIE`` at yt-dlp's own extension
point (a plugin class with ``plugin_name``, which replaces the built-in extractor) and answers
``https://www.youtube.com/watch?v=ID`` from a scenario file instead of YouTube.

What a user sees comes from yt-dlp's own code wherever yt-dlp has it: playability reasons go through the same steps
as ``YoutubeIE._real_extract``'s ``if not formats:`` block (yt-dlp 2026.10.26) with ``self._youtube_login_hint``,
``self.raise_geo_restricted`` and ``self.raise_no_formats``; a missing PO token through
``self._report_pot_format_skipped``; "No video formats found!", "Only images are available" and "Requested format is
not available" through ``YoutubeDL`` itself. The few sentences yt-dlp writes inline (the rate-limit and captcha
tails, the n-challenge and SABR warnings, the blocked-IP error) are copied here and checked against the installed
yt-dlp's source by tests/test_download_youtube.py, so a change of wording in a future yt-dlp fails a test.

Scenarios: a JSON file named by ``$YTAC_FAKE_YOUTUBE`` (so a ``python -m download`` subprocess sees them too),
``{video_id: scenario}``; a scenario is a dict with any of:

- ``formats``: yt-dlp format dicts (``url`` on a loopback ``testing.server.MediaServer``, ``acodec``, ``abr``,
  ``language``, ``language_preference``, ``preference``, ...); ``vcodec`` defaults to ``none``;
- ``duration`` (YouTube's integer seconds), ``channel``, ``channel_id``, ``title``;
- ``reason``/``subreason``/``countries``: the playability status when there are no formats (``geo``: a shortcut for
  the uploader's country block); ``captcha``: the status carries a captcha view model;
- ``rate_limited_until``: a Unix time before which YouTube answers with its session rate limit;
- ``invalid_responses``: every player response is for another video (a blocked IP);
- ``warnings``: names from ``WARNINGS`` (or literal text) reported before the formats;
- ``drm``: the streams carry DRM license info (yt-dlp's own ``report_drm``, after its tv-client DRM warning);
- ``unexpected``: the extraction fails with an error yt-dlp did not expect (``ExtractorError(expected=False)``,
  which appends yt-dlp's own please-report text), e.g. "Failed to extract any player response";
- ``rate_limited_proxies``: proxies (``--proxy`` URLs) through which YouTube answers with its session rate limit.

Sessions: the file's ``"_sessions"`` entry is a list of rules that apply to every video, the known-good one
included, as YouTube's blocks and changes do: ``{"until": UNIX_TIME (absent: always), "proxy": URL (absent: every
proxy and none), ...}`` plus any scenario keys (``playability``, ``unexpected``, ...), which replace the video's
formats. The known-good video ``jNQXAC9IVRw`` (``--check-video``'s default) is playable unless the file says
otherwise; its format is never fetched (the check only extracts).

Every extraction appends ``ID PROXY`` to ``$YTAC_FAKE_YOUTUBE_LOG`` when it is set: how tests count them.

YouTube search (``ytsearchN:QUERY``, what ``--repair-ids`` runs) is answered by ``FakeYoutubeSearchIE`` from the
file's ``"_search"`` entry: ``{"_search": {QUERY: [{"id": ..., "title": ...}, ...]}}`` (no entry: no results).

Use it in-process by importing this module (the class definition is the registration), or in a subprocess with
``PYTHONPATH=testing/ytdlp_plugins`` (yt-dlp's plugin loader finds ``yt_dlp_plugins/extractor/fake_youtube.py``).

Example::

    from testing.fake_youtube import write_scenarios, healthy
    write_scenarios(tmp / "yt.json", {"aaaaaaaaaaa": healthy(server.url("food/food_00.webm"), 3)})
    monkeypatch.setenv("YTAC_FAKE_YOUTUBE", str(tmp / "yt.json"))
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from yt_dlp.extractor.youtube import YoutubeIE, YoutubeSearchIE
from yt_dlp.utils import ExtractorError, remove_end

ENV = "YTAC_FAKE_YOUTUBE"
LOG_ENV = "YTAC_FAKE_YOUTUBE_LOG"
KNOWN_GOOD_ID = "jNQXAC9IVRw"
KNOWN_GOOD = {"formats": [{"url": "http://127.0.0.1:9/never-fetched.webm", "format_id": "251", "ext": "webm",
                           "acodec": "opus", "abr": 130, "asr": 48_000, "protocol": "http"}], "duration": 19,
              "title": "Me at the zoo"}
PLUGIN_DIR = Path(__file__).resolve().parent / "ytdlp_plugins"

# Playability reasons as YouTube sends them (yt-dlp adds the rest).
REASONS = {
    "age_restricted": {"reason": "Sign in to confirm your age",
                       "subreason": "This video may be inappropriate for some users."},
    "private": {"reason": "Private video. Sign in if you've been granted access to this video"},
    "members_only": {"reason": "Join this channel to get access to members-only content like this video, and other "
                               "exclusive perks."},
    "removed": {"reason": "This video has been removed by the uploader"},
    "account_terminated": {"reason": "This video is no longer available because the YouTube account associated with "
                                     "this video has been terminated."},
    "geo_restricted": {"reason": "Video unavailable",
                       "subreason": "The uploader has not made this video available in your country",
                       "countries": ["US"]},
    "pay_to_watch": {"reason": "This video requires payment to watch."},
    "live_or_premiere": {"reason": "This live event will begin in 3 days."},
    "bot_check": {"reason": "Sign in to confirm you’re not a bot",
                  "subreason": "This helps protect our community. Learn more"},
    "captcha": {"reason": "Please complete the challenge", "captcha": True},
    "session_rate_limited": {"reason": "This content isn't available, try again later."},
    "client_broken": {"reason": "The following content is not available on this app.",
                      "subreason": "Watch this content on the latest version of YouTube."},
    # The same words for a removed video and a blocked session (yt-dlp #13527, #14117).
    "content_unavailable": {"reason": "Video unavailable", "subreason": "This content isn't available."},
    # A YouTube change (yt-dlp #16212, #17389): the tv client's STS, then every client.
    "page_reload": {"reason": "The page needs to be reloaded."},
    "account_closed": {"reason": "This video is no longer available because the uploader has closed their YouTube "
                                 "account."},
    "premium_only": {"reason": "This video is only available to Music Premium members"},
}

# Sentences yt-dlp writes inline in ``yt_dlp/extractor/youtube/_video.py`` (checked against its source by the tests).
RATE_LIMIT_TAIL = ("has been rate-limited by YouTube for up to an hour. It is recommended to use `-t sleep` to add a "
                   "delay between video requests to avoid exceeding the rate limit. For more information, refer to  "
                   "https://github.com/yt-dlp/yt-dlp/wiki/Extractors#this-content-isnt-available-try-again-later")
CAPTCHA_TAIL = ". YouTube is requiring a captcha challenge before playback"
IP_BLOCKED = "All player responses are invalid. Your IP is likely being blocked by Youtube"
EJS_WIKI_URL = "https://github.com/yt-dlp/yt-dlp/wiki/EJS"    # yt-dlp's own link (checked by the tests)
EJS_HELP = ("Ensure you have a supported JavaScript runtime and challenge solver script distribution installed. "
            "Review any warnings presented before this message. "
            f"For more details, refer to  {EJS_WIKI_URL}")
DRM_TV_WARNING = ("Some tv client https formats have been skipped as they are DRM protected. The current session may "
                  "have an experiment that applies DRM to all videos on the tv client. See  "
                  "https://github.com/yt-dlp/yt-dlp/issues/12563  for more details.")
SABR_TEMPLATE = ("{}Some {} client https formats have been skipped as they are missing a URL. "
                 "{}. See  https://github.com/yt-dlp/yt-dlp/issues/12482  for more details")
WARNINGS = {
    "n_challenge": f"n challenge solving failed: Some formats may be missing. {EJS_HELP}",
    "signature": f"Signature solving failed: Some formats may be missing. {EJS_HELP}",
    # yt-dlp warns for clients other than web/web_safari (for those two it only writes a debug line)
    "sabr": SABR_TEMPLATE.format("", "mweb", "YouTube may have enabled the SABR-only streaming experiment for "
                                 "the current session"),
}
# Checked against yt-dlp's source: each must appear there verbatim.
INLINE_PHRASES = ("has been rate-limited by YouTube for up to an hour. It is recommended to use `-t sleep` to add a "
                  "delay", "between video requests to avoid exceeding the rate limit. For more information, refer to",
                  CAPTCHA_TAIL.lstrip(". "), IP_BLOCKED,
                  "n challenge solving failed: Some formats may be missing.", "Signature solving failed: Some formats "
                  "may be missing.", "YouTube may have enabled the SABR-only streaming experiment for",
                  "client https formats have been skipped as they are missing a URL.",
                  "This content isn't available, try again later", "The uploader has not made this video available "
                  "in your country", "This helps protect our community. Learn more",
                  "formats have been skipped as they are DRM protected. ",
                  "an experiment that applies DRM to all videos on the tv client. ")

STORYBOARD = {"format_id": "sb0", "ext": "mhtml", "acodec": "none", "vcodec": "none", "protocol": "mhtml",
              "format_note": "storyboard"}


def audio_format(url: str, format_id: str = "251", *, acodec: str = "opus", abr: float = 130, asr: int = 48_000,
                 ext: str = "webm", language: str | None = "en", language_preference: int = 10,
                 note: str = "English original (default), medium", **extra) -> dict:
    """One audio-only YouTube format (defaults: the original-language opus track, itag 251)."""
    return {"url": url, "format_id": format_id, "ext": ext, "acodec": acodec, "vcodec": "none", "abr": abr,
            "asr": asr, "language": language, "language_preference": language_preference, "format_note": note,
            "protocol": "https" if url.startswith("https") else "http", **extra}


def healthy(url: str, duration: int, **extra) -> dict:
    """A playable video with one original-language audio track at ``url``."""
    return {"formats": [audio_format(url)], "duration": duration, **extra}


def write_scenarios(path, scenarios: dict[str, dict]) -> Path:
    """Write the scenario file atomically (a running download may be reading it)."""
    path = Path(path)
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(scenarios, indent=1))
    os.replace(staged, path)
    return path


def write_id_listing(path, ids, category: str = "food") -> Path:
    """A Kaggle-format listing of bare YouTube ids (all of ``category``), for the scenarios' videos."""
    import csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["link", "title", "description", "category"])
        for video_id in ids:
            writer.writerow([video_id, f"title {video_id}", "Fake Channel\nsomething", category])
    return Path(path)


def search_scenarios(results: dict[str, list[dict]]) -> dict:
    """The scenario-file entry for YouTube search: query -> its results (``id``, ``title``), in order."""
    return {"_search": results}


def error_of(scenario: dict, folder, video_id: str = "fakeVid0000") -> str:
    """The message yt-dlp raises for ``scenario`` through this fake (yt-dlp's own code builds it), extracting with
    the download stage's format choice; the scenario file is written into ``folder``."""
    from yt_dlp import YoutubeDL
    from yt_dlp.utils import DownloadError

    from download.ytdlp import choose_audio_format

    path = write_scenarios(Path(folder) / "one-scenario.json", {video_id: scenario})
    saved = os.environ.get(ENV)
    os.environ[ENV] = str(path)
    options = {"quiet": True, "no_warnings": True,
               "format": lambda ctx: [f] if (f := choose_audio_format(ctx["formats"])) else []}
    try:
        with YoutubeDL(options) as ydl:
            ydl.extract_info(f"https://www.youtube.com/watch?v={video_id}", download=False)
    except DownloadError as error:
        return str(error)
    finally:
        if saved is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = saved
    raise AssertionError(f"the scenario {scenario} extracted without an error")


def load_scenarios() -> dict[str, dict]:
    path = os.environ.get(ENV)
    return json.loads(Path(path).read_text()) if path and Path(path).is_file() else {}


def session_rule(scenarios: dict, proxy: str | None) -> dict | None:
    """The first ``"_sessions"`` rule in force for this proxy now, if any."""
    for rule in scenarios.get("_sessions", ()):
        if time.time() < rule.get("until", float("inf")) and rule.get("proxy", proxy) == proxy:
            return {key: value for key, value in rule.items() if key not in ("until", "proxy")}
    return None


def log_extraction(video_id: str, proxy: str | None) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{video_id} {proxy or '-'}\n")


def extractions(path) -> list[tuple[str, str]]:
    """``(id, proxy or '-')`` per extraction logged to ``$YTAC_FAKE_YOUTUBE_LOG``."""
    path = Path(path)
    return [tuple(line.split(" ", 1)) for line in path.read_text().splitlines()] if path.is_file() else []


class FakeYoutubeIE(YoutubeIE, plugin_name="ytac_fake"):
    """FAKE: YouTube's watch pages answered from ``$YTAC_FAKE_YOUTUBE`` (see the module docstring); never online."""

    def _real_extract(self, url):
        video_id = self._match_id(url)
        proxy = self.get_param("proxy")
        log_extraction(video_id, proxy)
        scenarios = load_scenarios()
        scenario = scenarios.get(video_id)
        if scenario is None:
            scenario = (KNOWN_GOOD if video_id == KNOWN_GOOD_ID else
                        {"reason": "Video unavailable", "subreason": "This video is unavailable"})
        session = session_rule(scenarios, proxy)
        if session is not None:          # a block or a change: every video answers the same, formats or not
            scenario = {**{k: v for k, v in scenario.items() if k not in ("formats", "playability")}, **session}
        scenario = {**REASONS.get(scenario.get("playability", ""), {}), **scenario}
        for warning in scenario.get("warnings", ()):
            if warning == "po_token":
                self._report_pot_format_skipped(video_id, "mweb", "https")    # yt-dlp's own message
            else:
                self.report_warning(WARNINGS.get(warning, warning), video_id)
        if scenario.get("invalid_responses"):
            raise ExtractorError(IP_BLOCKED, expected=True)
        if scenario.get("unexpected"):
            raise ExtractorError(scenario["unexpected"], video_id=video_id)    # yt-dlp adds its please-report
        if scenario.get("drm"):
            self.report_warning(DRM_TV_WARNING, video_id, only_once=True)
            self.report_drm(video_id)
        limited = (time.time() < scenario.get("rate_limited_until", 0)
                   or (proxy is not None and proxy in scenario.get("rate_limited_proxies", ())))
        formats = [] if limited else [{"vcodec": "none", **f} for f in scenario.get("formats", ())]
        if limited:
            scenario = {**scenario, **REASONS["session_rate_limited"]}
        if not formats:
            self._no_formats(scenario)
        return {"id": video_id, "title": scenario.get("title", f"fake video {video_id}"), "formats": formats,
                "duration": scenario.get("duration"), "channel": scenario.get("channel", "Fake Channel"),
                "channel_id": scenario.get("channel_id", "UCfakefakefakefakefakefa"),
                "uploader_id": scenario.get("uploader_id", "@fake"), "upload_date": "20210101",
                "webpage_url": url}

    def _no_formats(self, scenario: dict) -> None:
        """What ``YoutubeIE._real_extract`` does when a player response has no formats (yt-dlp 2026.10.26)."""
        reason, subreason = scenario.get("reason", ""), scenario.get("subreason")
        if subreason:
            if subreason.startswith("The uploader has not made this video available in your country"):
                self.raise_geo_restricted(subreason, scenario.get("countries"), metadata_available=True)
            if subreason != reason:
                reason += f". {subreason}"
        if reason:
            if "sign in" in reason.lower():
                reason = remove_end(reason, "This helps protect our community. Learn more")
                reason = f'{remove_end(reason.strip(), ".")}. {self._youtube_login_hint}'
            elif scenario.get("captcha"):
                reason += CAPTCHA_TAIL
            elif "This content isn't available, try again later" in reason:
                who = "Your account" if self.is_authenticated else "The current session"
                reason = f'{remove_end(reason.strip(), ".")}. {who} {RATE_LIMIT_TAIL}'
            self.raise_no_formats(reason, expected=True)


class FakeYoutubeSearchIE(YoutubeSearchIE, plugin_name="ytac_fake"):
    """FAKE: ``ytsearchN:QUERY`` answered from the scenario file's ``"_search"`` entry; never online. yt-dlp's own
    ``SearchInfoExtractor`` parses the URL, counts the results and builds the playlist."""

    def _search_results(self, query):
        for entry in load_scenarios().get("_search", {}).get(query, []):
            yield self.url_result(f"https://www.youtube.com/watch?v={entry['id']}", YoutubeIE, entry["id"],
                                  entry.get("title"))
