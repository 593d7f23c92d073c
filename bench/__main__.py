"""Run one benchmark per stage and write ``bench/results.json``: ``python -m bench [--only download,prepare] [--out FILE]``.

Each ``bench/bench_<stage>.py`` has a ``run(tmp_dir) -> dict`` whose docstring says what it measures. The stage
``train-gpu`` (``bench/gpu.py``: wav2vec2-base and whisper-small throughput, MFU and data wait on one GPU; its tiny
mode on a CPU) runs only when named: ``python -m bench --only train-gpu --out bench/gpu_results.json``. A benchmark
reports rows ``{"figure", "value", "unit", "reference", "ratio", "target"}``: the reference is measured in the same
run (a plain approach, or the same work done another way), so the ratio holds on any machine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import platform
import sys
import tempfile
import time
from pathlib import Path

from common.cli import format_table, setup_logging
from common.jsonl import atomic_write_json

STAGES = ("download", "prepare", "train", "eval", "predict")
# Stages run only when --only names them, and the module of each.
EXTRA_STAGES = {"train-gpu": "bench.gpu"}
logger = logging.getLogger("bench")


def _rows(stage: str, result: dict) -> list[dict]:
    rows = result.get("rows")
    if rows is None:  # a flat dict of figures
        rows = [{"figure": key, "value": value} for key, value in result.items() if not isinstance(value, (dict, list))]
    return [{"stage": stage, **row} for row in rows]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(STAGES),
                        help=f"comma-separated stages to run, of {','.join(STAGES + tuple(EXTRA_STAGES))} "
                             f"(default: {','.join(STAGES)})")
    parser.add_argument("--out", default="bench/results.json", help="where to write the results (JSON)")
    args = parser.parse_args(argv)
    setup_logging()
    stages = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(stages) - set(STAGES) - set(EXTRA_STAGES))
    if unknown:
        parser.error(f"--only: unknown stage(s) {unknown}; expected some of {list(STAGES) + list(EXTRA_STAGES)}")
    results, rows = {}, []
    for stage in stages:
        module = importlib.import_module(EXTRA_STAGES.get(stage, f"bench.bench_{stage}"))
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


if __name__ == "__main__":
    sys.exit(main())
