"""Id repair (``--repair-ids``): find the real id of a cut-short or ``#NAME?`` row by searching YouTube for its title.

The damage is deterministic: the Kaggle scraper ran ``str.strip('https://www.youtube.com/watch?v=')``, which removes
any of those characters from both ends of the real id. A search candidate is accepted for a damaged row only when
stripping its id the same way gives exactly the damaged id and its title agrees after normalisation; a ``#NAME?``
row (no fragment left to check) only on an exact, unique title match. Every search answer is cached in
``DIR/repairs.jsonl`` so a query never runs twice, even across runs.

Example (offline, with a fake search function)::

    from download.repair import repair_rows
    fake_search = lambda query, n: [{"id": "sAbcdefghij", "title": "Paris in 4K"}]
    repaired = repair_rows(rows, "out/repairs.jsonl", search=fake_search)
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Callable

from common.jsonl import append_jsonl, read_jsonl
from download.breaker import CircuitBreaker
from download.errors import BotCheckError
from download.policy import is_bot_check, is_network_failure
from download.ids import DAMAGED, NAME_ERROR, YOUTUBE_ID, kaggle_strip, parse_link, youtube_url
from download.listing import ListingRow

logger = logging.getLogger(__name__)

SEARCH_HOST = "www.youtube.com"
SearchFn = Callable[[str, int], list[dict]]   # (query, max_results) -> [{"id": ..., "title": ...}, ...]


def normalize_title(title: str) -> str:
    """Case, accents, punctuation and spacing removed: how titles are compared."""
    text = unicodedata.normalize("NFKD", title or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return re.sub(r"[\W_]+", " ", text).strip()


def choose_repair(row: ListingRow, candidates: list[dict]) -> tuple[str | None, str]:
    """The repaired id for ``row`` among search ``candidates`` and why; ``None`` when no single candidate fits."""
    want = normalize_title(row.title)
    same_title = {c["id"] for c in candidates
                  if isinstance(c.get("id"), str) and YOUTUBE_ID.fullmatch(c["id"]) and normalize_title(c.get("title", "")) == want}
    if row.parsed.kind == DAMAGED:
        fragment = row.link.strip()
        fits = sorted(i for i in same_title if kaggle_strip(i) == fragment)
        if len(fits) == 1:
            return fits[0], "title matches and the id strips to the damaged id"
        if len(fits) > 1:
            return None, f"ambiguous: {len(fits)} candidates fit"
        return None, "no candidate with the same title whose id strips to the damaged id"
    if len(same_title) == 1:
        return next(iter(same_title)), "unique exact title match"
    return None, f"{len(same_title)} candidates with exactly this title (need exactly 1)"


def load_cache(path: Path) -> dict[str, list[dict]]:
    """query -> search results, from earlier runs (the latest record of a query wins)."""
    if not path.exists():
        return {}
    return {rec["query"]: rec.get("results", []) for rec in read_jsonl(path) if "query" in rec}


def repair_rows(rows: list[ListingRow], cache_path, search: SearchFn | None = None, max_results: int = 5,
                breaker: CircuitBreaker | None = None) -> list[ListingRow]:
    """Return ``rows`` with every repairable damaged/``#NAME?`` row replaced by one holding the real id
    (``repaired_from`` keeps the old link). Rows without a title are left as they are. A failed search leaves its
    row unrepaired and uncached (tried again next run); network failures feed ``breaker``, which stops the run
    (``NetworkDown``) when searches cannot reach YouTube."""
    cache_path = Path(cache_path)
    cache = load_cache(cache_path)
    search = search or youtube_search
    out, repaired, searched = [], 0, 0
    for row in rows:
        if row.parsed.kind not in (DAMAGED, NAME_ERROR) or not row.title.strip():
            out.append(row)
            continue
        query = row.title.strip()
        if query not in cache:
            try:
                results = [{"id": r.get("id"), "title": r.get("title", "")} for r in search(query, max_results)]
            except BotCheckError as exc:
                from download.errors import BOT_CHECK_HELP
                raise BotCheckError(f"during --repair-ids, searching for row {row.row} ({query!r}): {exc} "
                                    f"{BOT_CHECK_HELP} Nothing was lost: searches so far are cached in "
                                    f"{cache_path}.") from exc
            except Exception as exc:  # network trouble: leave the row damaged, try again next run (nothing cached)
                logger.warning("row %d: search for %r failed (%s); left unrepaired", row.row, query, exc)
                if breaker is not None and is_network_failure(str(exc)):
                    breaker.failure(f"row {row.row}", SEARCH_HOST, str(exc))     # raises NetworkDown on the trip
                elif breaker is not None:
                    breaker.other_failure()
                out.append(row)
                continue
            if breaker is not None:
                breaker.success()
            searched += 1
            cache[query] = results
            new_id, reason = choose_repair(row, results)
            append_jsonl(cache_path, {"query": query, "max_results": max_results, "results": results,
                                      "row": row.row, "link": row.link, "repaired_id": new_id, "reason": reason})
        new_id, reason = choose_repair(row, cache[query])
        if new_id is None:
            logger.debug("row %d (%s): not repaired: %s", row.row, row.link, reason)
            out.append(row)
            continue
        repaired += 1
        out.append(ListingRow(row=row.row, link=youtube_url(new_id), category=row.category, title=row.title,
                              description=row.description, parsed=parse_link(new_id), repaired_from=row.link))
    logger.info("id repair: %d rows repaired, %d new searches (cache: %s)", repaired, searched, cache_path)
    return out


def search_options(cookies: str | None = None, cookies_from_browser: str | None = None, sleep_s: float | None = None,
                   extra: dict | None = None, work_dir=None) -> dict:
    """``YoutubeDL`` options of the id searches: the run's cookies (a private copy in ``work_dir``), its pacing
    (yt-dlp's ``-t sleep`` request interval unless ``--sleep`` says otherwise) and its passthrough options."""
    from download.ytdlp import YOUTUBE_PACING, worker_cookies

    options = {"sleep_interval_requests": YOUTUBE_PACING["sleep_interval_requests"] if sleep_s is None else sleep_s / 10}
    if cookies:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        options["cookiefile"] = worker_cookies(cookies, Path(work_dir))
    if cookies_from_browser:
        options["cookiesfrombrowser"] = tuple(cookies_from_browser.split(":", 1))
    return {**options, **(extra or {})}


def youtube_search(query: str, max_results: int, options: dict | None = None) -> list[dict]:
    """Real search through yt-dlp (``ytsearchN:``): id and title of the first ``max_results`` results.
    ``options``: cookies, pacing and passthrough (``search_options``). Raises ``BotCheckError`` when YouTube
    refuses this machine."""
    from yt_dlp import YoutubeDL
    from yt_dlp.utils import DownloadError

    options = {"quiet": True, "no_warnings": True, "skip_download": True, "extract_flat": True,
               "sleep_interval_requests": 1, **(options or {})}
    try:
        with YoutubeDL(options) as ydl:
            info = ydl.extract_info(f"ytsearch{max_results}:{query}", download=False)
    except DownloadError as exc:
        if is_bot_check(str(exc)):
            raise BotCheckError(" ".join(str(exc).split())[:400]) from exc
        raise
    return [{"id": e.get("id"), "title": e.get("title", "")} for e in (info or {}).get("entries") or []]
