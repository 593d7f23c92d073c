"""The machinery of the typed records: frozen dataclasses that read and write JSON with their types checked.

A record class declares its fields with types (``str``, ``int``, ``float``, ``bool``, ``X | None``, ``list[X]``,
``tuple[X, ...]``, ``dict[str, X]``, ``Literal[...]``, another part or ``Any``) and, in each field's metadata, a
``doc`` line (docs/contract.md is generated from them). ``from_json`` converts a JSON value field by field and
raises one ``ContractError`` naming the file, the field (with its path: ``video.ci.accuracy``), the expected type
and the value found; ``to_json`` gives the JSON value back (``from_json(to_json(r)) == r``).

A top-level record (``Record``) carries ``schema_version``. A file without one is version 1 (what the project wrote
before the records existed); ``migrate`` turns an older version's JSON into the current layout, so old run folders,
datasets and manifests keep loading. A newer version than this code knows is an error that says to update.

Example::

    from dataclasses import dataclass, field
    from common.contract.base import Part, Record, doc

    @dataclass(frozen=True)
    class Point(Part):
        x: float = field(metadata=doc("the x coordinate"))

    Point.from_json({"x": 1}, source="p.json")        # Point(x=1.0)
    Point.from_json({"x": "a"}, source="p.json")      # ContractError: p.json: field 'x': expected float, got 'a'
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Literal, Union

from common.errors import ExpectedError


class ContractError(ExpectedError, ValueError):
    """A file or record that does not match its declared layout: the message names the file, the field, the type
    expected and what was found."""


def doc(text: str, **extra) -> dict:
    """Field metadata: the line docs/contract.md shows for the field."""
    return {"doc": text, **extra}


class _Mismatch(Exception):
    def __init__(self, where: str, expected: str, value):
        super().__init__(where)
        self.where, self.expected, self.value = where, expected, value


def type_name(tp) -> str:
    """A type as docs and error messages write it: ``float | None``, ``list[str]``, ``dict[str, ClassScores]``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return "any JSON value"
    if tp is type(None):
        return "null"
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (list, tuple):
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return f"list[{type_name(args[0])}]"
        if origin is tuple:
            return f"[{', '.join(type_name(a) for a in args)}]"
        return f"list[{type_name(args[0])}]"
    if origin is dict:
        return f"dict[str, {type_name(args[1])}]"
    return getattr(tp, "__name__", str(tp))


def _shown(value) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@lru_cache(maxsize=None)
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _convert(value, tp, where: str):
    """``value`` (a JSON value) as ``tp``; ``_Mismatch`` naming ``where`` when it is not one."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(value, option, where)
            except _Mismatch as mismatch:
                if mismatch.where != where:      # a nested field of a matching part: report the nested one
                    raise
        raise _Mismatch(where, type_name(tp), value)
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch(where, "null", value)
    if origin is Literal:
        if value in args:
            return value
        raise _Mismatch(where, type_name(tp), value)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin in (list, tuple):
        if isinstance(value, (list, tuple)):
            if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
                if len(value) != len(args):
                    raise _Mismatch(where, type_name(tp), value)
                return tuple(_convert(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
            converted = [_convert(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
            return tuple(converted) if origin is tuple else converted
    elif origin is dict:
        if isinstance(value, dict):
            return {str(k): _convert(v, args[1], f"{where}.{k}") for k, v in value.items()}
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, dict):
            return tp._from_mapping(value, where)
    else:
        raise TypeError(f"bug: {where} is declared as {tp!r}, which the records do not support")
    raise _Mismatch(where, type_name(tp), value)


def _to_json(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.to_json()
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return value                    # json writes NaN/Infinity; Python's reader takes them back
    return value


@dataclasses.dataclass(frozen=True)
class Part:
    """A typed piece of a record (no version of its own)."""

    @classmethod
    def fields_of(cls) -> tuple[dataclasses.Field, ...]:
        return tuple(f for f in dataclasses.fields(cls) if f.init)

    @classmethod
    def _from_mapping(cls, data: dict, where: str = ""):
        hints, values = _hints(cls), {}
        for f in cls.fields_of():
            path = f"{where}.{f.name}" if where else f.name
            if f.name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise _Mismatch(path, type_name(hints[f.name]), _MISSING)
                continue
            values[f.name] = _convert(data[f.name], hints[f.name], path)
        return cls(**values)

    @classmethod
    def from_json(cls, data, source: str = "record"):
        """The part (or record) held by the JSON value ``data``; ``ContractError`` naming ``source`` otherwise."""
        if not isinstance(data, dict):
            raise ContractError(f"{source}: expected a JSON object ({cls.__name__}), got {type(data).__name__} "
                                f"{_shown(data)}")
        try:
            return cls._from_mapping(data)
        except _Mismatch as mismatch:
            if mismatch.value is _MISSING:
                raise ContractError(f"{source}: missing field {mismatch.where!r} (expected {mismatch.expected})") \
                    from None
            raise ContractError(f"{source}: field {mismatch.where!r}: expected {mismatch.expected}, got "
                                f"{_shown(mismatch.value)}") from None

    def to_json(self) -> dict:
        return {f.name: _to_json(getattr(self, f.name)) for f in self.fields_of()}

    def __getitem__(self, key):
        raise TypeError(f"{type(self).__name__} is a typed record: read {key!r} as an attribute "
                        f"(record.{key}), not by string key")


_MISSING = object()


@dataclasses.dataclass(frozen=True)
class Record(Part):
    """A top-level record: one file (or one JSONL line) of a hand-off, with ``schema_version``."""

    VERSION: ClassVar[int] = 1
    FILE: ClassVar[str] = ""       # the file name it is stored under (docs, error messages)

    @classmethod
    def migrate(cls, data: dict, version: int) -> dict:
        """``data`` of an older ``version`` in the current layout (subclasses override)."""
        return data

    @classmethod
    def _from_mapping(cls, data: dict, where: str = ""):
        version = data.get("schema_version", 1)
        path = f"{where}.schema_version" if where else "schema_version"
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise _Mismatch(path, "an integer >= 1", version)
        if version > cls.VERSION:
            raise _Mismatch(path, f"at most {cls.VERSION} ({cls.__name__}; a newer version wrote it: update "
                                  "yt-audio-classify)", version)
        if version < cls.VERSION:
            data = cls.migrate(dict(data), version)
        return super()._from_mapping(data, where)

    @classmethod
    def from_json(cls, data, source: str | None = None):
        return super().from_json(data, source or cls.FILE or cls.__name__)

    def to_json(self) -> dict:
        return {"schema_version": self.VERSION, **super().to_json()}

    @classmethod
    def read(cls, path):
        """The record stored in the JSON file ``path``; ``ContractError`` (or ``FileNotFoundError``) naming it."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (expected {cls.FILE or cls.__name__})")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ContractError(f"{path}: not readable JSON ({error})") from None
        return cls.from_json(data, str(path))

    def write(self, path) -> Path:
        """Write the record to ``path`` atomically (renamed into place)."""
        from common.jsonl import atomic_write_json

        atomic_write_json(path, self.to_json())
        return Path(path)


def record_classes(root=Part) -> list[type]:
    """Every part and record class defined so far (for docs and the tests)."""
    found, todo = [], [root]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found
