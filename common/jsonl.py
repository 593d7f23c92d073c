"""Durable files: append-only JSONL manifests and atomic writes.

A record is flushed and fsync'ed before ``append_jsonl`` returns, so a crash loses at most the record being
written. A ``kill -9`` mid-write can leave a partial last line: ``append_jsonl`` then starts its record on a new
line (never glued onto the torn one), and ``read_jsonl`` skips the partial line with a warning naming it.

Example::

    from common.jsonl import append_jsonl, latest_records
    append_jsonl("out/manifest.jsonl", {"id": "a", "status": "ok"})
    latest_records("out/manifest.jsonl")["a"]["status"]          # 'ok' (the last record of each id wins)
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator

logger = logging.getLogger(__name__)


def append_jsonl(path, record: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    with open(path, "a+b") as handle:
        end = handle.seek(0, os.SEEK_END)
        if end and os.pread(handle.fileno(), 1, end - 1) != b"\n":
            line = b"\n" + line       # the last line is torn (a killed write): never glue a record onto it
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path, problems: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records (JSON objects) of a JSONL file. A line that is not valid JSON (a torn write) or holds
    another JSON value (a string, a list) is skipped with a warning naming the file and line (also appended to
    ``problems``)."""
    path = Path(path)
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                note = f"{path}:{number}: skipped a partial line (torn write)"
            else:
                if isinstance(record, dict):
                    yield record
                    continue
                note = f"{path}:{number}: skipped a line holding a JSON {type(record).__name__}, not an object"
            logger.warning(note)
            if problems is not None:
                problems.append(note)


def latest_records(path, key: str = "id", keep_keyless: bool = False) -> dict[str, dict[str, Any]]:
    """``key`` value -> the last record holding it (a later record supersedes an earlier one, e.g. a retry that
    succeeded). Records without ``key`` are dropped, or kept as ``"<line N without id>"`` with ``keep_keyless``.
    A missing file gives ``{}``."""
    path = Path(path)
    if not path.is_file():
        return {}
    latest: dict[str, dict[str, Any]] = {}
    for number, record in enumerate(read_jsonl(path), start=1):
        value = record.get(key)
        if value is not None:
            latest[str(value)] = record
        elif keep_keyless:
            latest[f"<line {number} without {key}>"] = record
    return latest


def atomic_write_text(path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def atomic_write_json(path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
