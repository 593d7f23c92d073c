"""Run one benchmark per stage and update ``bench/results.json`` (other stages' figures are kept): ``python -m bench [--only download,prepare] [--out FILE]``.

Each ``bench/bench_<stage>.py`` has a ``run(tmp_dir) -> dict`` whose docstring says what it measures. The stage
``train-gpu`` (``bench/gpu.py``: wav2vec2-base and whisper-small throughput, MFU and data wait on one GPU; its tiny
mode on a CPU) runs only when named: ``python -m bench --only train-gpu --out bench/gpu_results.json``. A benchmark
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
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from common.cli import LoggingArguments, description_of, format_table, parse_config, run_cli, setup_logging
from common.jsonl import atomic_write_json

STAGES = ("download", "prepare", "train", "eval", "predict", "leakage", "chaos")
# Stages run only when --only names them, and the module of each.
EXTRA_STAGES = {"train-gpu": "bench.gpu", "recipes": "bench.bench_recipes", "levers": "bench.bench_levers",
                "demo-choice": "bench.bench_demo_choice", "recipes-10s": "bench.bench_recipes_10s",
                "crops": "bench.bench_crops", "policy": "bench.bench_policy", "badinput": "bench.bench_badinput"}
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
        "help": f"Comma-separated stages to run, of {','.join(STAGES + tuple(EXTRA_STAGES))} (the extra ones "
                "only when named)."})
    out: str = field(default="bench/results.json", metadata={"help": "Where to write the results (JSON)."})

    def __post_init__(self):
        self.stages = [s.strip() for s in self.only.split(",") if s.strip()]
        unknown = sorted(set(self.stages) - set(STAGES) - set(EXTRA_STAGES))
        if unknown:
            raise ValueError(f"--only: unknown stage(s) {unknown}; expected some of "
                             f"{list(STAGES) + list(EXTRA_STAGES)}")


ARGUMENTS = (BenchArguments, LoggingArguments)  # its command line (docs: bench.docgen)


def run(argv=None) -> int:
    args, logs = parse_config(ARGUMENTS, argv, prog=PROG, description=description_of(__doc__))
    setup_logging(logs.verbose)
    stages = args.stages
    # Other stages' figures in the file are kept: each stage's result carries its own machine and date.
    out = Path(args.out)
    results = json.loads(out.read_text(encoding="utf-8")).get("results", {}) if out.is_file() else {}
    rows = []
    for stage in stages:
        module = importlib.import_module(EXTRA_STAGES.get(stage, f"bench.bench_{stage}"))
        logger.info("benchmark %s: %s", stage, (module.run.__doc__ or "").strip().splitlines()[0:1])
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix=f"bench_{stage}_") as tmp:
            result = module.run(Path(tmp))
        result["wall_s"] = round(time.perf_counter() - started, 1)
        result.update(machine=platform.platform(), python=sys.version.split()[0], measured_on=date.today().isoformat())
        results[stage] = result
        rows += _rows(stage, result)
    atomic_write_json(out, {"results": results})
    print(format_table(["stage", "figure", "value", "reference", "ratio", "target"],
                       [[r.get("stage"), r.get("figure"), f"{r.get('value')} {r.get('unit', '')}".strip(),
                         r.get("reference"), r.get("ratio"), r.get("target")] for r in rows]))
    logger.info("wrote %s", args.out)
    return 0


def main(argv=None) -> int:
    return run_cli(PROG, run, argv)


if __name__ == "__main__":
    sys.exit(main())
