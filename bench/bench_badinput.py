"""The bad-input harness at scale (testing/badinput.py): thousands of generated bad inputs through every stage's
command line in-process (listings, manifests, audio files, config files, numeric flags); per kind, inputs tried,
tracebacks, other breaks of the rule (an exit status other than 0/2, an error without its one ``PROG: error:``
line, a finished output changed). The goal is 0. ``tests/test_badinput.py`` runs the same kinds with a few examples
in ``make test``.

    python -m bench --only badinput                                 # 2,600 inputs, ~3 min on 2 cores
    BADINPUT_EXAMPLES=50 python -m bench --only badinput --out /tmp/b.json     # a quick look
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

logger = logging.getLogger(__name__)
# Inputs per kind (the numeric flags span every stage's flags, so they get more).
EXAMPLES = {"listing": 500, "manifest": 300, "audio": 300, "config": 500, "number": 1000}


def run_kind(world: dict, kind: str, examples: int, found: list[str]) -> int:
    """Run ``examples`` generated inputs of ``kind``; append every problem to ``found``; return inputs tried."""
    from hypothesis import HealthCheck, Phase, given, settings

    from testing.badinput import kinds

    runner, strategies = kinds()[kind]
    tried = [0]

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(**strategies)
    def each(**drawn):
        tried[0] += 1
        found.extend(runner(world, **drawn))

    each()
    return tried[0]


def run(tmp_dir: Path) -> dict:
    """Bad inputs tried per kind and the tracebacks (and other breaks of the one error rule) they found."""
    from testing.badinput import build_world

    scale = int(os.environ.get("BADINPUT_EXAMPLES", "0"))
    world = build_world(Path(tmp_dir) / "world")
    logging.getLogger().setLevel(logging.ERROR)        # the stages' own logs would drown the bench's
    rows, total, total_tracebacks, problems = [], 0, 0, {}
    for kind, examples in EXAMPLES.items():
        found: list[str] = []
        started = time.perf_counter()
        tried = run_kind(world, kind, scale or examples, found)
        tracebacks = sum("traceback" in problem for problem in found)
        total, total_tracebacks = total + tried, total_tracebacks + tracebacks
        problems[kind] = found[:20]
        rows.append({"figure": f"{kind}: generated inputs / tracebacks / other breaks of the rule",
                     "value": f"{tried} / {tracebacks} / {len(found) - tracebacks}", "unit": "",
                     "reference": None, "ratio": None, "target": "0 tracebacks, 0 breaks",
                     "seconds": round(time.perf_counter() - started, 1)})
        for problem in found[:3]:
            logger.warning("%s: %s", kind, problem[:2000])
    rows.append({"figure": "all stages: generated inputs / tracebacks", "value": f"{total} / {total_tracebacks}",
                 "unit": "", "reference": None, "ratio": None, "target": ">= 2000 inputs, 0 tracebacks"})
    return {"rows": rows, "problems": problems}
