"""Run one benchmark per stage and write ``bench/results.json``: ``python -m bench [--only download,prepare] [--out FILE]``.

Each ``bench/bench_<stage>.py`` has a ``run(tmp_dir) -> dict`` whose docstring says what it measures. A benchmark
reports rows ``{"figure", "value", "unit", "reference", "ratio", "target"}``: the reference is measured in the same
run (a plain approach, or the same work done another way), so the ratio holds on any machine.
"""

from __future__ import annotations

import importlib
import json
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path

from dataclasses import dataclass, field

from common.cli import description_of, format_table, parse_config, run_cli, setup_logging
from common.jsonl import atomic_write_json

STAGES = ("download", "prepare", "train", "eval", "predict", "chaos")
logger = logging.getLogger("bench")


def _rows(stage: str, result: dict) -> list[dict]:
    rows = result.get("rows")
    if rows is None:  # a flat dict of figures
        rows = [{"figure": key, "value": value} for key, value in result.items() if not isinstance(value, (dict, list))]
    return [{"stage": stage, **row} for row in rows]


PROG = "python -m bench"


@dataclass
class BenchArguments:
    only: str = field(default=",".join(STAGES), metadata={
        "help": f"Comma-separated stages to run, of {','.join(STAGES)}."})
    out: str = field(default="bench/results.json", metadata={"help": "Where to write the results (JSON)."})

    def __post_init__(self):
        self.stages = [s.strip() for s in self.only.split(",") if s.strip()]
        unknown = sorted(set(self.stages) - set(STAGES))
        if unknown:
            raise ValueError(f"--only: unknown stage(s) {unknown}; expected some of {list(STAGES)}")


ARGUMENTS = (BenchArguments,)  # its command line (docs: common.docgen)


def run(argv=None) -> int:
    (args,) = parse_config(ARGUMENTS, argv, prog=PROG, description=description_of(__doc__))
    setup_logging()
    stages = args.stages
    results, rows = {}, []
    for stage in stages:
        module = importlib.import_module(f"bench.bench_{stage}")
        logger.info("benchmark %s: %s", stage, (module.run.__doc__ or "").strip().splitlines()[0:1])
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"bench_{stage}_") as tmp:
            result = module.run(Path(tmp))
        result["wall_s"] = round(time.perf_counter() - started, 1)
        results[stage] = result
        rows += _rows(stage, result)
    atomic_write_json(args.out, {"machine": platform.platform(), "python": sys.version.split()[0],
                                 "results": results})
    print(format_table(["stage", "figure", "value", "reference", "ratio", "target"],
                       [[r.get("stage"), r.get("figure"), f"{r.get('value')} {r.get('unit', '')}".strip(),
                         r.get("reference"), r.get("ratio"), r.get("target")] for r in rows]))
    logger.info("wrote %s", args.out)
    return 0


def main(argv=None) -> int:
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
