"""The one command-line layer of every stage: dataclass arguments, config files, one error rule, summary tables.

Every entry point (``python -m download``, ``python -m prepare``, ``python train.py``, ``python eval.py``,
``python -m predict``, ``python -m predict.features``, ``python -m demo``, ``python -m bench``) declares its options
as dataclass fields with ``help=`` and parses them here, on transformers' ``HfArgumentParser``:

- both spellings of a flag: ``--clip_seconds 5`` and ``--clip-seconds 5``;
- a config file first: ``python -m prepare configs/prepare.yaml --seed 1`` (YAML or JSON; keys are field names,
  with ``_`` or ``-``); flags after it override the file, the file overrides the defaults;
- positional inputs where a stage has them (``metadata={"positional": "+"}``), list fields that take several values
  and may be repeated (``--raw A --raw B`` == ``--raw A B``), ``metadata={"cli_type": str}`` where the command line
  takes a string that ``__post_init__`` parses (``--shard 1/4``);
- one error rule (``run_cli``): an expected error (bad flag, bad value, missing file, bad input data) prints one line
  ``PROG: error: ...`` and exits 2; anything else is a bug and keeps its traceback.

Example::

    from common.cli import parse_config, run_cli
    config, = parse_config(PrepareConfig, argv, prog="python -m prepare", description="...")
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import logging
import sys
from pathlib import Path
from typing import Callable, Iterable, Sequence

from tqdm import tqdm
from transformers import HfArgumentParser

from common.errors import ExpectedError

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


class UsageError(ExpectedError, ValueError):
    """A bad command line or config file: reported in one line with exit status 2."""


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )


@dataclasses.dataclass
class LoggingArguments:
    verbose: bool = dataclasses.field(default=False, metadata={"help": "Debug logging (with tracebacks of expected "
                                                                       "errors).", "aliases": ["-v"]})


class _ListAction(argparse.Action):
    """``--raw A B`` and ``--raw A --raw B`` both give [A, B]; the first use on the command line replaces the
    default (or the config file's list) instead of appending to it."""

    def __call__(self, parser, namespace, values, option_string=None):
        seen = namespace.__dict__.setdefault("_lists_given", set())
        current = [] if self.dest not in seen else list(getattr(namespace, self.dest) or [])
        seen.add(self.dest)
        setattr(namespace, self.dest, current + list(values))


class ArgumentParser(HfArgumentParser):
    """``HfArgumentParser`` plus positionals, repeatable lists, config files and one-line errors, on public API only:
    ``HfArgumentParser`` turns each dataclass field into an ``add_argument`` call with the field's metadata, and this
    class's ``add_argument`` (argparse's public method) reads the project's own metadata keys there:
    ``positional`` (True or an ``nargs``), ``cli_type`` (what the command line parses the value with); list fields
    become repeatable (``_ListAction``) and help texts literal (``%`` escaped)."""

    def __init__(self, dataclass_types, prog: str, description: str | None = None):
        self.added: list[argparse.Action] = []    # every action, as add_argument returned it
        super().__init__(dataclass_types, prog=prog, description=description)

    def add_argument(self, *names, **kwargs):
        positional, cli_type = kwargs.pop("positional", None), kwargs.pop("cli_type", None)
        if kwargs.get("help"):  # help texts are literal: "95% intervals" must not break argparse's %-formatting
            kwargs["help"] = kwargs["help"].replace("%", "%%")
        if positional is not None:
            dest = names[0].lstrip("-").replace("-", "_")
            action = super().add_argument(dest, nargs=None if positional is True else positional,
                                          metavar=kwargs.get("metavar", dest.upper()), help=kwargs.get("help"))
        else:
            if cli_type is not None:
                kwargs["type"] = cli_type
            if kwargs.get("nargs") == "+" and names and not names[0].startswith(("--no_", "--no-")):
                kwargs["action"] = _ListAction     # --raw A B == --raw A --raw B
            action = super().add_argument(*names, **kwargs)
        self.added.append(action)
        return action

    def error(self, message):
        raise UsageError(f"{message} (see --help)")

    # ------------------------------------------------------------------ parsing
    def _actions_by_dest(self) -> dict:
        return {a.dest: a for a in self.added if a.option_strings and a.dest != "help"
                and not any(s.startswith("--no_") or s.startswith("--no-") for s in a.option_strings)}

    def _coerce(self, action, value, source: str):
        def one(item):
            if isinstance(item, dict):  # e.g. TrainingArguments' lr_scheduler_kwargs
                item = json.dumps(item)
            # YAML gives numbers and booleans; converting their text keeps int("2.5") an error, as on the command line
            return item if action.type is None else action.type(item if isinstance(item, str) else str(item))

        if value is None:
            return None
        try:
            if action.nargs in ("+", "*"):
                values = value if isinstance(value, (list, tuple)) else [value]
                return [one(v) for v in values]
            if isinstance(value, (list, tuple)):
                raise UsageError(f"{source}: {action.dest} takes one value, got a list {value!r}")
            coerced = one(value)
        except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
            if isinstance(exc, UsageError):
                raise
            raise UsageError(f"{source}: {action.dest} = {value!r}: {exc}") from exc
        if action.choices is not None and coerced not in action.choices:
            raise UsageError(f"{source}: {action.dest} = {value!r}: expected one of {list(action.choices)}")
        return coerced

    def apply_defaults(self, values: dict, source: str) -> set[str]:
        """Make ``values`` (field name -> value, ``-`` or ``_`` spellings) the defaults; returns the names set."""
        actions = self._actions_by_dest()
        given = set()
        for key, value in values.items():
            dest = str(key).replace("-", "_")
            if dest not in actions:
                close = difflib.get_close_matches(dest, sorted(actions), n=3)
                raise UsageError(f"{source}: unknown key {key!r}" + (f"; did you mean {close}?" if close else
                                                                      f"; expected some of {sorted(actions)}"))
            action = actions[dest]
            coerced = self._coerce(action, value, source)
            action.default = coerced
            action.required = False
            given.add(dest)
        return given

    def parse(self, argv: Sequence[str] | None = None, defaults: dict | None = None
              ) -> tuple[argparse.Namespace, set[str]]:
        """``[config.yaml|json] [--flag value ...]`` -> (namespace, the names given by the file or the flags).

        ``defaults`` (project defaults, lowest precedence) are applied first, then the config file, then the flags."""
        argv = list(sys.argv[1:] if argv is None else argv)
        if defaults:
            self.apply_defaults(defaults, "project defaults")
        given: set[str] = set()
        if argv and argv[0].endswith(CONFIG_SUFFIXES) and not argv[0].startswith("-"):
            given |= self.apply_defaults(read_config_file(argv[0]), f"config file {argv[0]}")
            argv = argv[1:]
        namespace = self.parse_args(argv)
        explicit = {a.dest for a in self.added
                    for s in a.option_strings if any(arg == s or arg.startswith(s + "=") for arg in argv)}
        namespace.__dict__.pop("_lists_given", None)
        return namespace, given | explicit

    def to_dataclasses(self, namespace: argparse.Namespace) -> tuple:
        """Build each dataclass from the namespace; its ``__post_init__`` checks the values (ValueError names the flag)."""
        outputs = []
        for dtype in self.dataclass_types:
            names = {f.name for f in dataclasses.fields(dtype) if f.init}
            outputs.append(dtype(**{k: v for k, v in vars(namespace).items() if k in names}))
        return tuple(outputs)


def read_config_file(path: str) -> dict:
    """A YAML or JSON mapping of field names to values."""
    import yaml

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"config file {path}: no such file (expected YAML or JSON with the command's field names)")
    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"config file {path}: not valid {file.suffix[1:].upper()} ({exc})") from exc
    data = data or {}
    if not isinstance(data, dict):
        raise UsageError(f"config file {path}: expected a mapping of flag names to values, got {type(data).__name__}")
    return data


def parse_config(dataclass_types, argv: Sequence[str] | None = None, *, prog: str, description: str | None = None,
                 defaults: dict | None = None) -> tuple:
    """Parse ``argv`` (optionally led by a config file) into one instance of each dataclass type."""
    if dataclasses.is_dataclass(dataclass_types):
        dataclass_types = [dataclass_types]
    parser = ArgumentParser(dataclass_types, prog=prog, description=description)
    namespace, _ = parser.parse(argv, defaults)
    return parser.to_dataclasses(namespace)


def description_of(doc: str | None) -> str:
    """The first paragraph of a module docstring, for ``--help``."""
    return (doc or "").strip().split("\n\n")[0]


def run_cli(prog: str, run: Callable, argv: Sequence[str] | None = None,
            expected: Iterable[type[BaseException]] = ()) -> int:
    """Call ``run(argv)`` under the one error rule; returns the exit status (0, or 2 on an expected error).

    Expected errors: ``common.errors.ExpectedError`` (the project's family: bad audio, a stopped download, a bad
    listing, ...), ``OSError`` (missing or unreadable files), ``ValueError`` (bad values, ``UsageError``) and the
    stage's own ``expected`` classes. They print ``PROG: error: <message>`` on stderr (the traceback only with
    ``--verbose``/debug logging). Ctrl-C prints how to resume and exits 130. A bug keeps its traceback."""
    try:
        status = run(argv)
    except (ExpectedError, OSError, ValueError, *expected) as exc:
        logging.getLogger(prog).debug("traceback of the error below", exc_info=True)
        message = " ".join(str(exc).split()) or type(exc).__name__
        # the bars the error left open (the Trainer's, a decode loop's) are closed first, so that the error is the
        # last line, on a line of its own, with no bar redrawn after it
        for bar in list(getattr(tqdm, "_instances", ())):
            bar.close()
        sys.stderr.write(f"{prog}: error: {message}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted; what was finished is kept: run the same command again to resume\n")
        return 130
    return status if isinstance(status, int) else 0


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain-text table with right-aligned numbers, for stage summaries in logs and terminals."""
    rows = [["" if v is None else (f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row] for row in rows]
    widths = [max([len(str(h))] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line([str(h) for h in headers]), sep, *(line(r) for r in rows)])
