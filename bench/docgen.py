"""Generate the flag tables and benchmark tables of ``docs/*.md`` from the code: ``python -m bench.docgen`` (``make docs``).

A flag table is built from the same ``common.cli.ArgumentParser`` that answers ``--help``, so the docs cannot disagree
with the command line; a benchmark table is built from ``bench/results.json``; a record table from the typed records
of ``common.contract`` (each field's type and doc line, then the parts it holds). Each table lives between markers::

    <!-- BEGIN FLAGS prepare -->  ...  <!-- END FLAGS prepare -->
    <!-- BEGIN BENCH download -->  ...  <!-- END BENCH download -->
    <!-- BEGIN RECORD RunRecord -->  ...  <!-- END RECORD RunRecord -->
    <!-- BEGIN POLICY download -->  ...  <!-- END POLICY download -->   (download.policy's rule table)

``python -m bench.docgen --check`` exits 1 (naming the file and block) when a committed table is stale.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# stage -> the module whose ARGUMENTS (dataclass types) and PROG declare its command line
STAGE_MODULES = {
    "download": "download.__main__",
    "prepare": "prepare.__main__",
    "train": "training.args",
    "eval": "eval",
    "predict": "predict.__main__",
    "features": "predict.features.__main__",
    "app": "predict.app",
    "demo": "demo.__main__",
    "bench": "bench.__main__",
    "bench-gpu": "bench.gpu",
}
BLOCK = re.compile(r"(<!-- BEGIN (FLAGS|BENCH|RECORD|POLICY) ([\w-]+) -->\n)(.*?)(<!-- END \2 \3 -->)", re.S)


def stage_parser(stage: str):
    from common.cli import ArgumentParser

    module = importlib.import_module(STAGE_MODULES[stage])
    return ArgumentParser(module.ARGUMENTS, prog=module.PROG)


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def flags_table(stage: str) -> str:
    """A markdown table of the stage's options: flag spellings, default, help (as ``--help`` shows them)."""
    parser = stage_parser(stage)
    rows = ["| flag | default | meaning |", "|---|---|---|"]
    negated = {a.dest: a.option_strings[-1] for a in parser.added
               if any(s.startswith(("--no_", "--no-")) for s in a.option_strings)}
    for action in parser.added:
        if action.dest == "help" or any(s.startswith(("--no_", "--no-")) for s in action.option_strings):
            continue
        if not action.option_strings:
            nargs = " ..." if action.nargs in ("+", "*") else ""
            rows.append(f"| `{action.metavar or action.dest.upper()}{nargs}` (positional) | required | "
                        f"{_cell((action.help or '').replace('%%', '%'))} |")
            continue
        flags = " / ".join(f"`{s}`" for s in action.option_strings)
        if action.dest in negated:
            flags += f" (off: `{negated[action.dest]}`)"
        if action.required:
            default = "required"
        else:
            default = "" if action.default in (None, "") else f"`{action.default}`"
        rows.append(f"| {flags} | {_cell(default)} | {_cell((action.help or '').replace('%%', '%'))} |")
    return "\n".join(rows) + "\n"


def bench_table(stage: str, results_path: Path = ROOT / "bench" / "results.json") -> str:
    """A markdown table of one stage's benchmark rows in ``bench/results.json`` (figure, value, reference, target)."""
    if not results_path.is_file():
        return f"_No results yet: run `python -m bench --only {stage}`._\n"
    data = json.loads(results_path.read_text(encoding="utf-8"))
    result = data.get("results", {}).get(stage)
    if not result:
        return f"_No results yet: run `python -m bench --only {stage}`._\n"
    rows = ["| figure | value | same-run reference | ratio | target |", "|---|---|---|---|---|"]
    for row in result.get("rows", []):
        value = f"{row.get('value')} {row.get('unit', '')}".strip()
        rows.append("| " + " | ".join(_cell("" if row.get(k) is None else row.get(k)) if k != "value" else _cell(value)
                                      for k in ("figure", "value", "reference", "ratio", "target")) + " |")
    rows.append("")
    machine = result.get("machine", data.get("machine", "unknown machine"))
    when = f"measured {result['measured_on']} on " if result.get("measured_on") else ""
    rows.append(f"_{when}{machine}, Python {result.get('python', data.get('python', '?'))}; "
                f"`python -m bench --only {stage}` took {result.get('wall_s', '?')} s._")
    return "\n".join(rows) + "\n"


def _parts_of(tp) -> list[type]:
    """The record parts a field type holds (``list[ClassScores]``, ``dict[str, SystemScores] | None``, ...)."""
    import dataclasses
    import typing

    if dataclasses.is_dataclass(tp):
        return [tp]
    return [part for arg in typing.get_args(tp) for part in _parts_of(arg)]


def record_table(name: str, shown: set | None = None) -> str:
    """The fields of the record ``name`` of ``common.contract`` (type, meaning), then each part it holds, once per
    page (``shown``: the parts an earlier table of the page has listed)."""
    import dataclasses
    import typing

    import common.contract as contract
    from common.contract.base import type_name

    top = next(cls for cls in contract.record_classes() if cls.__name__ == name)
    seen = shown if shown is not None else set()
    lines, todo = [], [top]
    while todo:
        cls = todo.pop(0)
        if cls in seen:
            continue
        seen.add(cls)
        hints = typing.get_type_hints(cls)
        title = (f"`{cls.__name__}` (`{cls.FILE}`, schema_version {cls.VERSION})" if cls is top and cls.FILE
                 else f"`{cls.__name__}`")
        lines += ["" if lines else None, f"{title}: {_cell((cls.__doc__ or '').strip().splitlines()[0])}"
                  if cls.__doc__ and not cls.__doc__.startswith(cls.__name__) else title, "",
                  "| field | type | meaning |", "|---|---|---|"]
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            lines.append(f"| `{f.name}` | `{_cell(type_name(hints[f.name]))}`{'' if required else ' (optional)'} | "
                         f"{_cell(f.metadata.get('doc', ''))} |")
            todo += [part for part in _parts_of(hints[f.name]) if part not in seen]
    return "\n".join(line for line in lines if line is not None) + "\n"


def policy_table(_: str = "download") -> str:
    """The download stage's failure policy: each reason code, whose it is on YouTube and elsewhere, what the run
    does, and a real message that yields it (``download.policy.RULES``, first match wins)."""
    from download.policy import policy_table as rows

    lines = ["| reason | whose (YouTube) | whose (other sites) | what the run does | a message that yields it |",
             "|---|---|---|---|---|"]
    lines += [f"| `{reason}` | {whose} | {elsewhere} | {_cell(action)} | {_cell(example)} |"
              for reason, whose, elsewhere, action, example in rows()]
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    shown: set = set()      # record parts already listed on this page

    def replace(match: re.Match) -> str:
        kind, stage = match.group(2), match.group(3)
        body = record_table(stage, shown) if kind == "RECORD" else {"FLAGS": flags_table, "BENCH": bench_table,
                                                                     "POLICY": policy_table}[kind](stage)
        return match.group(1) + body + match.group(5)

    return BLOCK.sub(replace, text)


def doc_files(root: Path = ROOT) -> list[Path]:
    return sorted((root / "docs").glob("*.md")) + [root / "README.md"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.docgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale tables (exit 1), write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path in doc_files():
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if args.check else 'updated'}: {path.relative_to(ROOT)}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
