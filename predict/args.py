"""Command lines built from the argument dataclasses: ``MODEL INPUT...`` positionals plus one ``--flag`` per field.

``HfArgumentParser`` only makes ``--flags``; the predict commands read best as ``python -m predict MODEL FILE...``,
so this small builder keeps the dataclass (with ``help=`` on every field) as the single declaration of each option.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import sys
import types
import typing
from typing import Sequence

POSITIONAL = ("model", "inputs")


def _option_type(tp):
    """The converter argparse needs for a field's annotation (``float | None`` -> ``float``)."""
    if isinstance(tp, str):
        tp = eval(tp, {"typing": typing})  # annotations are strings under `from __future__ import annotations`
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and args:
        tp = args[0]
    return tp


def build_parser(config_cls, description: str, prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for field in dataclasses.fields(config_cls):
        help_text = field.metadata.get("help", "")
        if field.name == "model":
            parser.add_argument("model", metavar="MODEL", help=help_text)
        elif field.name == "inputs":
            parser.add_argument("inputs", metavar="INPUT", nargs="+", help=help_text)
        else:
            tp = _option_type(field.type)
            flag = "--" + field.name.replace("_", "-")
            default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
            if tp is bool:
                parser.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=default,
                                    help=help_text)
            else:
                parser.add_argument(flag, dest=field.name, type=tp, default=default,
                                    choices=field.metadata.get("choices"), help=help_text)
    return parser


def parse_config(config_cls, argv: Sequence[str] | None, description: str, prog: str):
    """Parse ``argv`` into ``config_cls``; its ``__post_init__`` errors are reported as usage errors naming the flag."""
    parser = build_parser(config_cls, description, prog)
    namespace = parser.parse_args(argv)
    try:
        return config_cls(**vars(namespace))
    except ValueError as exc:
        parser.error(str(exc))


def expected_errors() -> tuple[type[BaseException], ...]:
    """What bad input raises (a missing or unreadable file, a failed URL, a bad value, an unknown MODEL): reported
    in one line, unlike a bug, which keeps its traceback."""
    from common.audio import AudioError
    from predict.urls import UrlInputError

    return OSError, ValueError, AudioError, UrlInputError


@contextlib.contextmanager
def exit_on_error(prog: str):
    """Turn an expected error into ``prog: error: <message>`` on stderr and exit status 2 (as argparse does)."""
    try:
        yield
    except expected_errors() as exc:
        logging.getLogger(prog).debug("details", exc_info=True)
        sys.stderr.write(f"{prog}: error: {exc}\n")
        raise SystemExit(2) from None
