"""Listing ingestion: read a CSV (or a plain list of URLs, or ``kaggle:OWNER/DATASET[/FILE]``), find its columns,
and classify every row as usable, duplicate, conflicting, damaged, ``#NAME?``, empty or unparseable.

Nothing here touches the network except ``kaggle:`` sources (through ``kagglehub``).

Example::

    from download.listing import read_listing, classify_listing
    rows = read_listing("../shared/data/youtube-videos-dataset/youtube.csv")
    listing = classify_listing(rows)
    print(len(listing.videos), listing.totals())          # 2035 usable videos, counts per row status
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from common.provenance import file_sha256
from common.text import listing_channel
from download.ids import (DAMAGED, EMPTY, GENERIC, NAME_ERROR, UNPARSEABLE, YOUTUBE, ParsedLink, check_safe_id,
                          parse_link, youtube_url)

logger = logging.getLogger(__name__)

LINK_COLUMNS = ("link", "url", "video_url", "youtube_url", "video_id", "videoid", "youtube_id", "ytid", "id", "video",
                "href")
CATEGORY_COLUMNS = ("category", "label", "class", "genre", "categories", "tag")
TITLE_COLUMNS = ("title", "name", "video_title")
DESCRIPTION_COLUMNS = ("description", "desc", "channel")
UNLABELED = "unlabeled"
# Row statuses, in report order.
USABLE, DUPLICATE, CONFLICTING = "usable", "duplicate", "conflicting"
STATUSES = (USABLE, DUPLICATE, CONFLICTING, DAMAGED, NAME_ERROR, EMPTY, UNPARSEABLE)


class ListingError(ValueError):
    """A listing that cannot be read; the message names the source and what was expected."""


@dataclass
class ListingRow:
    row: int                      # 1-based data row (CSV record number, or line number of a text list)
    link: str
    category: str
    title: str = ""
    description: str = ""
    parsed: ParsedLink | None = None
    repaired_from: str | None = None   # the damaged link this row's id was repaired from (see download.repair)

    def __post_init__(self):
        if self.parsed is None:
            self.parsed = parse_link(self.link)


@dataclass
class Video:
    """One distinct video to download."""
    id: str
    url: str
    category: str
    title: str = ""
    description: str = ""
    rows: list[int] = field(default_factory=list)
    repaired_from: str | None = None

    def __post_init__(self):
        check_safe_id(self.id)

    @property
    def listing_channel(self) -> str | None:
        """The channel name of the scraped header the description begins with (common.text's rule), else None."""
        return listing_channel(self.description)


@dataclass
class ClassifiedListing:
    source: str
    rows: list[ListingRow]
    status: dict[int, str]                # row number -> one of STATUSES
    videos: list[Video]                   # usable, one per distinct id, in listing order
    conflicts: dict[str, list[str]]       # id -> the categories it is listed under (all its rows excluded)
    sha256: str = ""

    def counts(self) -> dict[str, dict[str, int]]:
        """Per category: rows, then one count per row status, then repaired rows."""
        table: dict[str, dict[str, int]] = {}
        for row in self.rows:
            entry = table.setdefault(row.category, {"rows": 0, **{s: 0 for s in STATUSES}, "repaired": 0})
            entry["rows"] += 1
            entry[self.status[row.row]] += 1
            entry["repaired"] += row.repaired_from is not None
        return dict(sorted(table.items()))

    def totals(self) -> dict[str, int]:
        total = {"rows": 0, **{s: 0 for s in STATUSES}, "repaired": 0}
        for entry in self.counts().values():
            for key, value in entry.items():
                total[key] += value
        return total

    def report(self) -> dict:
        return {
            "source": self.source,
            "sha256": self.sha256,
            "per_category": self.counts(),
            "totals": self.totals(),
            "conflicting_ids": {k: v for k, v in sorted(self.conflicts.items())},
            "damaged_conflicting_links": _damaged_conflicts(self.rows),
        }


def _damaged_conflicts(rows: list[ListingRow]) -> dict[str, list[str]]:
    """Damaged links listed under two categories: reported, although they are already unusable as damaged."""
    categories = defaultdict(set)
    for row in rows:
        if row.parsed.kind == DAMAGED:
            categories[row.link.strip()].add(row.category)
    return {k: sorted(v) for k, v in sorted(categories.items()) if len(v) > 1}


# ---------------------------------------------------------------- reading

def resolve_source(source: str) -> Path:
    """A local path for ``source``: the path itself, or the file fetched by kagglehub for ``kaggle:OWNER/DATASET[/FILE]``."""
    if not source.startswith("kaggle:"):
        path = Path(source)
        if not path.is_file():
            raise ListingError(f"--listing {source}: no such file (expected a CSV/text file or kaggle:OWNER/DATASET[/FILE])")
        return path
    parts = source[len("kaggle:"):].strip("/").split("/")
    if len(parts) < 2 or not all(parts):
        raise ListingError(f"--listing {source}: expected kaggle:OWNER/DATASET or kaggle:OWNER/DATASET/FILE")
    handle, inner = "/".join(parts[:2]), "/".join(parts[2:]) or None
    try:
        import kagglehub
    except ImportError as exc:
        raise ListingError(f"--listing {source}: kagglehub is not installed (pip install kagglehub)") from exc
    try:
        local = Path(kagglehub.dataset_download(handle, path=inner))
    except Exception as exc:  # kagglehub raises requests/HTTP/its own errors; all mean "could not fetch"
        raise ListingError(
            f"--listing {source}: could not fetch Kaggle dataset {handle!r} ({type(exc).__name__}: {exc}). "
            "It needs network access and, for some datasets, Kaggle credentials (~/.kaggle/kaggle.json); "
            "or download the CSV yourself and pass its path.") from exc
    if local.is_dir():
        csvs = sorted(local.rglob("*.csv"))
        if len(csvs) != 1:
            raise ListingError(f"--listing {source}: dataset holds {len(csvs)} CSV files "
                               f"({', '.join(p.name for p in csvs[:5])}); name one: kaggle:{handle}/FILE")
        local = csvs[0]
    return local


def _pick(headers: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in headers}
    return next((lowered[n] for n in names if n in lowered), None)


def _looks_like_link(value: str) -> bool:
    return parse_link(value).kind in (YOUTUBE, GENERIC, DAMAGED, NAME_ERROR)


def _link_column_by_content(headers: list[str], records: list[dict]) -> str | None:
    sample = records[:200]
    best, best_hits = None, 0
    for header in headers:
        hits = sum(_looks_like_link(r.get(header) or "") and parse_link(r.get(header)).kind != DAMAGED for r in sample)
        if hits > best_hits:
            best, best_hits = header, hits
    return best if sample and best_hits * 2 >= len(sample) else None


def _read_text_list(text: str) -> list[ListingRow]:
    """``URL_OR_ID [CATEGORY]`` per line; blank lines and ``#`` comments (other than ``#NAME?``) are skipped."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or (stripped.startswith("#") and not stripped.startswith("#NAME?")):
            continue
        fields = stripped.split(None, 1)
        category = fields[1].strip() if len(fields) > 1 else UNLABELED
        rows.append(ListingRow(row=number, link=fields[0], category=category or UNLABELED))
    return rows


def read_listing(source: str | Path) -> list[ListingRow]:
    """Read every row of a listing: a CSV with a header (columns found by name, or the id/URL column by content)
    or a text file of ``URL_OR_ID [CATEGORY]`` lines; ``kaggle:OWNER/DATASET[/FILE]`` is fetched first."""
    path = resolve_source(str(source))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ListingError(f"--listing {source}: cannot read it as UTF-8 text ({exc})") from exc
    first_line = text.split("\n", 1)[0]
    first_token = first_line.split()[0] if first_line.split() else ""
    if path.suffix.lower() in (".txt", ".list") or ("," not in first_line and parse_link(first_token).kind in (YOUTUBE, GENERIC)):
        rows = _read_text_list(text)
        if not rows:
            raise ListingError(f"--listing {source}: no URLs or ids found (expected one per line, optional category)")
        return rows
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        headers = list(reader.fieldnames or [])
        records = list(reader)
    except csv.Error as exc:
        raise ListingError(f"--listing {source}: not a readable CSV ({exc})") from exc
    known = {name for names in (LINK_COLUMNS, CATEGORY_COLUMNS, TITLE_COLUMNS, DESCRIPTION_COLUMNS) for name in names}
    # a row of data where the header should be: a link in it and no known column name ("description" alone is
    # 11 characters of the id alphabet, so the known names decide)
    if not known & {h.strip().lower() for h in headers} and any(
            parse_link(h.strip()).kind in (YOUTUBE, GENERIC) for h in headers):
        raise ListingError(f"--listing {source}: its first row {first_line.strip()[:80]!r} looks like data, not a "
                           "header: a CSV listing needs a header row such as 'link,category' (or give a .txt file "
                           "of 'URL CATEGORY' lines)")
    if not headers:
        raise ListingError(f"--listing {source}: empty file (expected a CSV header such as link,title,description,category)")
    link_col = _pick(headers, LINK_COLUMNS) or _link_column_by_content(headers, records)
    if link_col is None:
        raise ListingError(f"--listing {source}: no id/URL column among {headers}; expected a column named one of "
                           f"{', '.join(LINK_COLUMNS)} or holding YouTube ids/URLs")
    cat_col = _pick(headers, CATEGORY_COLUMNS)
    title_col, desc_col = _pick(headers, TITLE_COLUMNS), _pick(headers, DESCRIPTION_COLUMNS)
    if cat_col is None:
        logger.warning("%s: no category column among %s (expected one of %s); every row is %r",
                       source, headers, ", ".join(CATEGORY_COLUMNS), UNLABELED)
    rows = []
    for number, record in enumerate(records, start=1):
        def cell(col):
            value = record.get(col) if col else None
            return value.strip() if isinstance(value, str) else ""
        rows.append(ListingRow(row=number, link=cell(link_col), category=cell(cat_col) or UNLABELED,
                               title=cell(title_col), description=cell(desc_col)))
    return rows


def listing_sha256(source: str | Path) -> str:
    """sha256 of the listing file ("" when it cannot be resolved)."""
    try:
        return file_sha256(resolve_source(str(source)))
    except ListingError:
        return ""


# ---------------------------------------------------------------- classification

def classify_listing(rows: list[ListingRow], source: str = "", sha256: str = "") -> ClassifiedListing:
    """Give every row a status. A video listed under two categories is excluded (all its rows ``conflicting``);
    repeats under the same category are collapsed into the first row (the rest ``duplicate``)."""
    categories_of: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.parsed.kind in (YOUTUBE, GENERIC):
            categories_of[row.parsed.video_id].add(row.category)
    conflicts = {vid: sorted(cats) for vid, cats in categories_of.items() if len(cats) > 1}
    status: dict[int, str] = {}
    videos: dict[str, Video] = {}
    for row in rows:
        kind, vid = row.parsed.kind, row.parsed.video_id
        if kind not in (YOUTUBE, GENERIC):
            status[row.row] = kind
        elif vid in conflicts:
            status[row.row] = CONFLICTING
        elif vid in videos:
            status[row.row] = DUPLICATE
            videos[vid].rows.append(row.row)
        else:
            status[row.row] = USABLE
            videos[vid] = Video(id=vid, url=row.parsed.url or youtube_url(vid), category=row.category,
                                title=row.title, description=row.description, rows=[row.row],
                                repaired_from=row.repaired_from)
    return ClassifiedListing(source=source, rows=rows, status=status, videos=list(videos.values()),
                             conflicts=conflicts, sha256=sha256)


def listing_table(listing: ClassifiedListing) -> tuple[list[str], list[list]]:
    """Headers and rows (one per category plus a total) for ``common.cli.format_table``."""
    headers = ["category", "rows", *STATUSES, "repaired"]
    body = [[cat, *entry.values()] for cat, entry in listing.counts().items()]
    body.append(["TOTAL", *listing.totals().values()])
    return headers, body


def parse_categories(value: str | list[str] | None) -> list[str] | None:
    """``--categories``: one comma-separated string (``food,travel``, a config file's ``categories: a,b``) or a list
    whose items may themselves hold commas (``--categories food,travel history``)."""
    if not value:
        return None
    items = [value] if isinstance(value, str) else list(value)
    names = [c.strip() for item in items for c in str(item).split(",") if c.strip()]
    if not names:
        raise ListingError(f"--categories {value!r}: expected category names such as food,travel or food travel")
    return list(dict.fromkeys(names))


def select_videos(videos: list[Video], categories: list[str] | None = None, shard: tuple[int, int] | None = None
                  ) -> list[Video]:
    """The videos of the wanted categories that fall in shard K of N (by a stable hash of the id)."""
    if categories:
        known = {v.category for v in videos}
        unknown = [c for c in categories if c not in known]
        if unknown:
            raise ListingError(f"--categories: {unknown} not in the listing; its categories are {sorted(known)}")
        videos = [v for v in videos if v.category in categories]
    if shard:
        index, count = shard
        videos = [v for v in videos if shard_of(v.id, count) == index]
    return videos


def shard_of(video_id: str, count: int) -> int:
    """Shard (1-based) of an id: the same on every machine and Python run (unlike ``hash``)."""
    return int(hashlib.sha256(video_id.encode("utf-8")).hexdigest()[:12], 16) % count + 1


def parse_shard(value: str | None, count: int | None = None, environ=None) -> tuple[int, int] | None:
    """``K/N`` (1-based), or ``auto``: this task's shard from the batch system's environment: a Slurm job array
    (``SLURM_ARRAY_TASK_ID`` - ``SLURM_ARRAY_TASK_MIN`` + 1 of ``SLURM_ARRAY_TASK_COUNT``) or a Kubernetes Indexed
    Job (``JOB_COMPLETION_INDEX`` + 1 of ``count``, ``--shard-count``, which Kubernetes does not put in the
    environment)."""
    if not value:
        return None
    if str(value).strip().lower() == "auto":
        return shard_from_environment(count, os.environ if environ is None else environ)
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(value))
    if not match or not (1 <= int(match.group(1)) <= int(match.group(2))):
        raise ListingError(f"--shard {value!r}: expected K/N with 1 <= K <= N, e.g. 2/8, or auto (a Slurm array "
                           "task or a Kubernetes Indexed Job)")
    return int(match.group(1)), int(match.group(2))


def shard_from_environment(count: int | None, environ) -> tuple[int, int]:
    """``--shard auto``: (K, N) from Slurm's or Kubernetes' variables; a clear error naming them when neither is
    set or they disagree with each other."""
    def integer(name: str) -> int:
        text = environ.get(name, "")
        if not text.strip().isdigit():
            raise ListingError(f"--shard auto: ${name}={text!r} is not a whole number")
        return int(text)

    if "SLURM_ARRAY_TASK_ID" in environ:
        task = integer("SLURM_ARRAY_TASK_ID")
        first = integer("SLURM_ARRAY_TASK_MIN") if "SLURM_ARRAY_TASK_MIN" in environ else 0
        total = count if count is not None else (integer("SLURM_ARRAY_TASK_COUNT")
                                                 if "SLURM_ARRAY_TASK_COUNT" in environ else None)
        if total is None:
            raise ListingError("--shard auto: $SLURM_ARRAY_TASK_COUNT is not set (Slurm < 20.02?); give "
                               "--shard-count N, the number of array tasks")
        where = f"Slurm array task {task} (first {first}, {total} tasks)"
        index = task - first + 1
    elif "JOB_COMPLETION_INDEX" in environ:
        if count is None:
            raise ListingError("--shard auto in a Kubernetes Indexed Job needs --shard-count N (the Job's "
                               "completions; Kubernetes does not put it in the environment)")
        total, index = count, integer("JOB_COMPLETION_INDEX") + 1
        where = f"Kubernetes completion index {index - 1} of {count}"
    else:
        raise ListingError("--shard auto: neither $SLURM_ARRAY_TASK_ID (a Slurm job array, sbatch --array) nor "
                           "$JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard K/N")
    if not 1 <= index <= total:
        raise ListingError(f"--shard auto: {where} gives shard {index} of {total}, outside 1..{total} (an array "
                           "with gaps? give --shard-count N with N >= the highest task id - the first + 1)")
    return index, total
