"""The download stage's exceptions (what stops or pauses a run) and the advice its stop messages give. Which failure is
whose, and what the run does about it, is the table of ``download.policy``.

Example::

    from download.errors import FatalError
    try:
        download_videos("listing.csv", "raw")
    except FatalError as stop:        # bot wall, network down, environment broken: the message says what to do
        print(stop)
"""

from __future__ import annotations

from common.errors import ExpectedError


class FatalError(ExpectedError, RuntimeError):
    """A condition that stops the run (no ffmpeg, bot check, unreadable listing); the message says what to do."""


class BotCheckError(FatalError):
    """YouTube refuses this machine (bot check, blocked IP, captcha): the whole run must stop (cookies, pacing)."""


class NetworkDown(FatalError):
    """The circuit breaker tripped: the network or the host is unreachable; nothing was lost."""


class RateLimited(FatalError):
    """YouTube's rate limit (or HTTP 429) outlasted every pause: the run stopped; nothing was lost."""


class EnvironmentBroken(FatalError):
    """The environment breaker tripped: videos in a row failed for this machine's or YouTube's reasons (formats
    hidden, 403s, a broken client), not their own; nothing was lost."""


BOT_CHECK_HELP = ("YouTube refuses this machine's requests. Stopped. Pass cookies of a signed-in browser session "
                  "(--cookies cookies.txt exported as docs/troubleshooting.md says, or --cookies-from-browser "
                  "firefox|chrome|...), keep the default pacing (--sleep) or slow down further, or use another IP "
                  "(--proxy, or several: --proxy-file); python -m download --check --online tells whether YouTube still refuses it.")
ENVIRONMENT_HELP = ("This is this machine's or a YouTube change's problem, not the videos': update yt-dlp (pip install "
                    "-U --pre 'yt-dlp[default]', the nightly), run python -m download --check --online, pass "
                    "cookies (--cookies), or a PO-token provider's arguments through --extractor-args "
                    "(docs/troubleshooting.md).")
COOKIES_ADVICE = ("pass cookies of a signed-in browser session (--cookies cookies.txt or --cookies-from-browser "
                  "firefox|chrome|...) and keep the default pacing (--sleep) or slow down further")
