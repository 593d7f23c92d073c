"""Preflight for Hub uploads: before hours of work, check that a push at the end can succeed.

``check_hub_push`` stops with one line (ValueError for what the user must change, OSError when the Hub cannot be
reached) when the Hub is in offline mode, no token is available or the Hub rejects it. The token is only passed on
to ``huggingface_hub``; it is never logged or written.

Example::

    from common.hub import check_hub_push
    user = check_hub_push("me/youtube-topics", token=None, flag="--push_to_hub")   # token from HF_TOKEN / hf auth login
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)
TRUE = {"1", "on", "yes", "true"}
NETWORK_MODULES = ("httpx", "httpcore", "requests", "urllib3")  # whose errors mean "no connection"


def offline_mode() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub read it at import, or as the environment says now: the project's one test
    of offline mode (the Hub push preflight and the check of a model id both use it)."""
    from huggingface_hub import constants

    return constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in TRUE


def whoami(token: str) -> dict:
    """The Hub's answer for ``token`` (one cheap authenticated call); tests replace it with a mock."""
    from huggingface_hub import HfApi

    return HfApi().whoami(token=token)


def check_hub_push(repo_id: str, token: str | None = None, flag: str = "--push_to_hub") -> str:
    """The Hub user name that ``token`` (or the saved token) pushes ``repo_id`` as; raises when a push would fail."""
    from huggingface_hub import get_token
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if offline_mode():
        raise ValueError(f"{flag} {repo_id}: HF_HUB_OFFLINE is set, so the Hub cannot be reached: unset it "
                         f"(HF_HUB_OFFLINE=0) or leave out {flag}")
    token = token or get_token()
    if not token:
        raise ValueError(f"{flag} {repo_id}: no Hugging Face token: pass --hub_token, set HF_TOKEN or run "
                         "`hf auth login`")
    try:
        user = whoami(token)
    except OfflineModeIsEnabled as exc:
        raise ValueError(f"{flag} {repo_id}: the Hub is in offline mode ({exc})") from None
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise ValueError(f"{flag} {repo_id}: the Hub rejected the token (HTTP {status}): check HF_TOKEN, "
                             "--hub_token or `hf auth login`") from None
        raise OSError(f"{flag} {repo_id}: the Hub answered HTTP {status} to a token check: try again later") from None
    except Exception as exc:  # OSError, or the HTTP client's connection errors (httpx's are not OSErrors)
        if not (isinstance(exc, OSError) or type(exc).__module__.startswith(NETWORK_MODULES)):
            raise
        raise OSError(f"{flag} {repo_id}: the Hub is unreachable ({type(exc).__name__}); check the network or "
                      f"leave out {flag}") from None
    name = (user or {}).get("name") or "?"
    logger.info("%s %s: token accepted for Hub user %s", flag, repo_id, name)
    return name
