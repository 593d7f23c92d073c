"""The download stage's failure policy, in one table: which words of a failure give which reason code, whose failure
it is, and what the run does about it. The pool (``download.pool``) acts on ``whose``; docs/troubleshooting.md's
table is generated from ``RULES`` (``python -m bench.docgen``).

Whose a failure is:

- ``video``: the video's own (private, removed, age-restricted, ...): recorded, never retried without
  ``--retry-failed``;
- ``unsure`` (YouTube): words YouTube also uses when it blocks a session, changes, or meets a problem the project has
  never seen ("This content isn't available", DRM, an empty file, any other text): never recorded as the video's on
  its own word. The failure is held until a known-good video (``--check-video``) is extracted with the run's own
  options: if that works, the held failures are the videos' own and are recorded with the check; if it fails too,
  they are this session's (the proxy pauses, the videos go back to the queue);
- ``environment``: this machine's or a YouTube change's (formats hidden, HTTP 403, a broken client, "The page needs
  to be reloaded", an unexpected extractor error): recorded as retryable, and ``--environment-breaker`` of them in
  a row stop the run;
- ``retry``: transient (network, 5xx, HTTP 429): retried with back-off, then recorded as retryable;
- ``interrupted``: a child (ffmpeg, ffprobe) stopped by a signal: retried; while the run is stopping, not recorded;
- ``pause``: YouTube's session rate limit: the proxy (or the whole run) waits ``--rate-limit-wait``, unrecorded;
- ``stop``: YouTube refuses this IP (bot check, blocked IP, captcha): the proxy is retired (with one proxy, the run
  stops), unrecorded.

On other sites than YouTube some words mean the file's fault (a 403 or a missing format is the file's), and no
failure is ``unsure``: there is no known-good video to ask.

The message is matched with its local paths and URLs removed (``error_text``): an output folder named
``classlist_raw`` must not make an error "ssl", nor a host name or file name make one "timeout" or "not found".

Example::

    from download.policy import classify
    classify("ERROR: [youtube] abc: Video unavailable. This content isn't available.", youtube=True)
    # Verdict(reason='content_unavailable', whose='unsure')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "Me at the zoo" (2005), YouTube's first video: public, short, everywhere. What --check --online extracts and what
# an unsure failure is judged against (--check-video).
CHECK_VIDEO = "https://www.youtube.com/watch?v=jNQXAC9IVRw"

VIDEO, UNSURE, ENVIRONMENT, RETRY, INTERRUPTED, PAUSE, STOP = (
    "video", "unsure", "environment", "retry", "interrupted", "pause", "stop")
# What the run does for each kind (the docs' table says it per rule).
ACTIONS = {
    VIDEO: "recorded as the video's (permanent; --retry-failed tries again)",
    UNSURE: "held; a known-good video is extracted (--check-video): if it works, recorded as the video's with the "
            "check; if not, the session's: the proxy pauses and the video goes back to the queue",
    ENVIRONMENT: "recorded as retryable; --environment-breaker in a row stop the run with what to do",
    RETRY: "retried with back-off (--retries), then recorded as retryable",
    INTERRUPTED: "retried; not recorded while the run is stopping (Ctrl-C)",
    PAUSE: "not recorded; the proxy (with one, the run) waits --rate-limit-wait, at most --rate-limit-pauses times",
    STOP: "not recorded; the proxy is retired (with one, the run stops with what to do)",
}

# Connection-level failures: the network (or the host) is down, not the video. What the network breaker counts.
NETWORK_PATTERNS = (
    r"connection (refused|reset|aborted)", r"failed to establish a new connection", r"failed to resolve",
    r"name or service not known", r"temporary failure in name resolution", r"nodename nor servname",
    r"no address associated with hostname", r"getaddrinfo failed", r"network is unreachable", r"no route to host",
    r"\btimed? ?out\b", r"read timed out", r"\bssl\b", r"sslerror", r"certificate verify failed",
    r"remote end closed", r"broken pipe", r"incompleteread", r"connectionerror", r"transporterror",
    r"giving up after \d+ (fragment )?retries",
)


@dataclass(frozen=True)
class Rule:
    reason: str                       # the reason code recorded (the manifest's ``status``)
    whose: str                        # on YouTube
    patterns: tuple[str, ...]         # regexes over ``error_text``; the first rule that matches wins
    example: str                      # a real message that yields it (yt-dlp's, YouTube's or ffmpeg's words)
    elsewhere: str | None = None      # whose on other sites, where it differs

    def whose_on(self, youtube: bool) -> str:
        return self.whose if youtube or self.elsewhere is None else self.elsewhere


# First match wins, so the specific rules come first. Each YouTube example is built through yt-dlp's own code by
# tests/test_download_policy.py (through testing/fake_youtube.py) and must classify as its rule says.
RULES: tuple[Rule, ...] = (
    Rule("interrupted", INTERRUPTED, (r"stopped by sig\w+", r"killed by a signal"),
         "ffmpeg was stopped by SIGINT (killed by a signal)"),
    Rule("bot_check", STOP, (r"confirm you.?re not a bot", r"sign in to confirm you.?re not"),
         "Sign in to confirm you're not a bot. Use --cookies-from-browser or --cookies for the authentication."),
    Rule("ip_blocked", STOP, (r"your ip is likely being blocked", r"all player responses are invalid"),
         "All player responses are invalid. Your IP is likely being blocked by Youtube"),
    Rule("captcha", STOP, (r"requiring a captcha", r"captcha challenge"),
         "Please complete the challenge. YouTube is requiring a captcha challenge before playback"),
    Rule("session_rate_limited", PAUSE, (r"has been rate.?limited by youtube",
                                         r"this content isn.?t available, try again later"),
         "This content isn't available, try again later. The current session has been rate-limited by YouTube for "
         "up to an hour."),
    Rule("rate_limited", RETRY, (r"\b429\b", r"too many requests", r"rate.?limit", r"try again later"),
         "HTTP Error 429: Too Many Requests"),
    Rule("page_reload", ENVIRONMENT, (r"the page needs to be reloaded",),
         "The page needs to be reloaded.", elsewhere=ENVIRONMENT),
    Rule("no_formats", ENVIRONMENT, (r"no video formats found",), "No video formats found!", elsewhere=VIDEO),
    Rule("format_unavailable", ENVIRONMENT, (r"requested format is not available",),
         "Requested format is not available. Use --list-formats for a list of available formats", elsewhere=VIDEO),
    Rule("extractor_error", ENVIRONMENT, (r"please report this issue", r"confirm you are on the latest version"),
         "Failed to extract any player response; please report this issue on  https://github.com/yt-dlp/yt-dlp/"
         "issues?q= , filling out the appropriate issue template. Confirm you are on the latest version using  "
         "yt-dlp -U", elsewhere=ENVIRONMENT),
    Rule("truncated", UNSURE, (r"^truncated:",),
         "truncated: decoded 3.10 s of audio, expected 20.00 s", elsewhere=VIDEO),
    Rule("empty_media", UNSURE, (r"did not get any data blocks", r"^empty media", r"the downloaded file is empty"),
         "The downloaded file is empty", elsewhere=VIDEO),
    Rule("corrupt_media", UNSURE, (r"moov atom not found", r"invalid data found", r"could not (convert|decode)",
                                   r"no audio stream", r"ffprobe failed", r"error while decoding",
                                   r"does not contain any stream", r"failed to read frame size", r"postprocessing"),
         "ffmpeg could not convert it to FLAC: moov atom not found", elsewhere=VIDEO),
    Rule("age_restricted", VIDEO, (r"confirm your age", r"age.?restricted", r"inappropriate for some users",
                                   r"age.?verification"),
         "Sign in to confirm your age. This video may be inappropriate for some users."),
    Rule("geo_restricted", VIDEO, (r"available in your country", r"geo.?restrict", r"blocked it in your country",
                                   r"not available from your location"),
         "The uploader has not made this video available in your country"),
    Rule("private", VIDEO, (r"private video", r"this video is private"),
         "Private video. Sign in if you've been granted access to this video"),
    Rule("premium_only", VIDEO, (r"music premium", r"youtube premium members", r"premium members"),
         "This video is only available to Music Premium members"),
    Rule("members_only", VIDEO, (r"members.?only", r"join this channel", r"available to this channel.?s members"),
         "Join this channel to get access to members-only content like this video, and other exclusive perks."),
    Rule("pay_to_watch", VIDEO, (r"requires payment", r"rent this video", r"purchase this video", r"paid content"),
         "This video requires payment to watch."),
    Rule("account_terminated", VIDEO, (r"account .*(terminated|closed|suspended)", r"closed their youtube account",
                                       r"account .*has been terminated"),
         "This video is no longer available because the uploader has closed their YouTube account."),
    Rule("removed", VIDEO, (r"removed by the uploader", r"copyright claim", r"has been removed",
                            r"violating youtube", r"no longer available"),
         "Video unavailable. This video has been removed by the uploader"),
    Rule("live_or_premiere", VIDEO, (r"live event will begin", r"premieres? in", r"this live event",
                                     r"premiere will begin", r"live stream recording is not available"),
         "This live event will begin in 3 days."),
    Rule("drm", UNSURE, (r"drm protected",), "This video is DRM protected", elsewhere=VIDEO),
    Rule("client_broken", ENVIRONMENT, (r"the following content is not available on this app",),
         "The following content is not available on this app.. Watch this content on the latest version of YouTube."),
    Rule("server_error", RETRY, (r"http error 5\d\d", r"internal server error", r"bad gateway", r"service unavailable",
                                 r"gateway time-?out"),
         "HTTP Error 503: Service Unavailable"),
    Rule("not_found", UNSURE, (r"http error 404", r"\b404\b", r"http error 410", r"\bnot found\b"),
         "Unable to download webpage: HTTP Error 404: Not Found", elsewhere=VIDEO),
    Rule("forbidden", ENVIRONMENT, (r"http error 403", r"\b403\b", r"\bforbidden\b"),
         "unable to download video data: HTTP Error 403: Forbidden", elsewhere=VIDEO),
    Rule("not_media", VIDEO, (r"unsupported url", r"is not a valid url"), "Unsupported URL: http://127.0.0.1/page"),
    Rule("network", RETRY, NETWORK_PATTERNS + (r"did not get any data", r"content too short",
                                               r"the downloaded file is too short", r"unable to download",
                                               r"end of file"),
         "[Errno 111] Connection refused"),
    Rule("content_unavailable", UNSURE, (r"this content isn.?t available",),
         "Video unavailable. This content isn't available.", elsewhere=VIDEO),
    Rule("unavailable", UNSURE, (r"video unavailable", r"not available", r"\bunavailable\b"),
         "Video unavailable. This video is unavailable", elsewhere=VIDEO),
)
# Any other message: on YouTube the words are new (a YouTube change is likelier than a video of a new kind).
FALLBACK = Rule("error", UNSURE, (), "something nobody expected", elsewhere=VIDEO)


@dataclass(frozen=True)
class Verdict:
    reason: str
    whose: str

    @property
    def transient(self) -> bool:
        """Worth trying again in a later run: every failure that is not the video's own."""
        return self.whose != VIDEO


# yt-dlp's login hint (``InfoExtractor._login_hint`` + ``YoutubeBaseInfoExtractor._youtube_login_hint``), which it
# appends to every playability reason containing "sign in": age, private, members and the bot check alike. It says
# nothing about the video, so it is cut before matching (after URLs became "<url>").
_LOGIN_HINT = (re.compile(r"\.?\s*also\s+see\s+<url>\s+for\s+tips\s+on\s+effectively\s+exporting\s+youtube\s+cookies\.?"),
               re.compile(r"\.?\s*use --(?:cookies|username)\b.*?for how to manually pass cookies\.?", re.DOTALL),
               re.compile(r"\.?\s*use --(?:cookies|username)\b[^.|]*(?:for the authentication|account credentials)"
                          r"\.?"))
_QUOTED_PATH = re.compile(r"""(['"])[^'"\n]*[/\\][^'"\n]*\1""")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
_PATH = re.compile(r"(?<![\w.])(?:file:)?(?:[A-Za-z]:)?(?:\.{0,2}[/\\])?(?:[\w.@+-]+[/\\])+[\w.@+-]*:?")
_PTR = re.compile(r"\[[\w,]+ @ 0x[0-9a-f]+\]\s*", re.IGNORECASE)     # ffmpeg's "[mp3 @ 0x55d5...]" context


def error_text(message: str) -> str:
    """The message in lower case with yt-dlp's login hint, local paths, URLs and ffmpeg's pointer tags removed or
    replaced by ``<path>``/``<url>``: what the rules see. ``HTTP Error 404``, ``[Errno 111]`` and the words of the
    error itself stay."""
    text = _PTR.sub("", message or "")
    text = _URL.sub("<url>", text).lower()
    for hint in _LOGIN_HINT:
        text = hint.sub("", text)
    text = _QUOTED_PATH.sub("<path>", text)
    return _PATH.sub("<path>", text)


def rule_for(message: str) -> Rule:
    text = error_text(message)
    return next((rule for rule in RULES if any(re.search(p, text) for p in rule.patterns)), FALLBACK)


def classify(message: str, youtube: bool = False) -> Verdict:
    """The reason code of a failure and whose it is (on YouTube when ``youtube``)."""
    rule = rule_for(message)
    return Verdict(rule.reason, rule.whose_on(youtube))


def classify_failure(message: str, youtube: bool = False) -> tuple[str, str]:
    """``(reason, whose)``; ``classify`` as a pair."""
    verdict = classify(message, youtube)
    return verdict.reason, verdict.whose


def classify_error(message: str, youtube: bool = False) -> tuple[str, bool]:
    """``(reason, transient)``: transient = worth trying again in a later run (not the video's own)."""
    verdict = classify(message, youtube)
    return verdict.reason, verdict.transient


def is_bot_check(message: str) -> bool:
    """YouTube refuses this IP (bot check, blocked IP, captcha)."""
    return classify(message, youtube=True).whose == STOP


def is_network_failure(message: str) -> bool:
    """A connection-level failure (refused, name resolution, timeout, TLS, dropped): the host, not the video."""
    text = error_text(message)
    return rule_for(message).reason == "network" and any(re.search(p, text) for p in NETWORK_PATTERNS)


def policy_table() -> list[list[str]]:
    """The table of docs/troubleshooting.md: reason, whose on YouTube, whose elsewhere, what the run does, example."""
    return [[rule.reason, rule.whose, rule.whose_on(False), ACTIONS[rule.whose], rule.example]
            for rule in (*RULES, FALLBACK)]
