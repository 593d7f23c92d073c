"""Crash safety of a run folder: resume from the last COMPLETE checkpoint, recognise a finished run.

The Trainer writes a checkpoint file by file (weights, optimizer, scheduler, RNG state, trainer_state.json last), so a
kill during a save leaves ``checkpoint-N/`` with some of them, and ``transformers.trainer_utils.get_last_checkpoint``
(the highest N) then points every rerun at it. Here a checkpoint counts only when its weights, optimizer and scheduler
state and trainer_state.json are all present and readable; the others are renamed ``incomplete-checkpoint-N`` (set
aside with a warning, never deleted) and the run resumes from the newest complete one.

(Writing each checkpoint to a temporary folder and renaming it would need a copy of ``Trainer._save_checkpoint``,
which names the folder, saves, records the best checkpoint and rotates old ones in one method: the check on resume
covers the same kills without patching transformers.)

A run is finished when its folder holds the final weights, all_results.json and run_config.json (written last);
``check_finished`` compares the stored configuration with this command's and names what differs.

Example::

    from training.checkpoints import last_complete_checkpoint, check_finished
    checkpoint = last_complete_checkpoint("runs/x")              # None: start from scratch
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import zipfile
from pathlib import Path

from common.contract import RESUME_CONFIG, RUN_CONFIG, RunRecord

logger = logging.getLogger(__name__)

CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
SET_ASIDE_PREFIX = "incomplete-"
WEIGHTS = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
# Saved beside the model by torch.save (zip archives whose directory is written last: a torn file has none).
TRAINING_STATE = ("optimizer.pt", "scheduler.pt")
# ---------------------------------------------------------------- file checks

def _safetensors_problem(path: Path) -> str | None:
    """None when the header parses and the file is as long as the header says."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            return f"{path.name}: {size} bytes, no safetensors header"
        (header_len,) = struct.unpack("<Q", prefix)
        if header_len > size - 8:
            return f"{path.name}: header of {header_len} bytes in a {size}-byte file"
        try:
            header = json.loads(handle.read(header_len))
        except ValueError:
            return f"{path.name}: unreadable safetensors header"
    end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    if size != 8 + header_len + end:
        return f"{path.name}: {size} bytes, the header describes {8 + header_len + end} (truncated)"
    return None


def _torch_file_problem(path: Path) -> str | None:
    if not zipfile.is_zipfile(path):
        return f"{path.name}: not a complete torch archive ({path.stat().st_size} bytes)"
    return None


def _weights_problem(folder: Path) -> str | None:
    present = [name for name in WEIGHTS if (folder / name).is_file()]
    if not present:
        return f"no model weights ({' / '.join(WEIGHTS)})"
    name = present[0]
    if name == "model.safetensors":
        return _safetensors_problem(folder / name)
    if name == "pytorch_model.bin":
        return _torch_file_problem(folder / name)
    try:
        shards = set(json.loads((folder / name).read_text(encoding="utf-8"))["weight_map"].values())
    except (ValueError, KeyError):
        return f"{name}: unreadable"
    for shard in sorted(shards):
        problem = (_safetensors_problem(folder / shard) if (folder / shard).is_file() else f"{shard}: missing")
        if problem:
            return problem
    return None


def checkpoint_problem(folder, needs_training_state: bool = True) -> str | None:
    """Why ``folder`` (a ``checkpoint-N``) cannot be resumed from, or None when it is complete.

    Complete: readable weights, trainer_state.json at step N, and (unless ``needs_training_state`` is False, as for
    ``--save_only_model``) readable optimizer.pt and scheduler.pt."""
    folder = Path(folder)
    problem = _weights_problem(folder)
    if problem:
        return problem
    if needs_training_state:
        for name in TRAINING_STATE:
            path = folder / name
            problem = f"{name}: missing" if not path.is_file() else _torch_file_problem(path)
            if problem:
                return problem
    try:
        state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "trainer_state.json: missing"
    except ValueError:
        return "trainer_state.json: not valid JSON"
    match = CHECKPOINT.match(folder.name)
    if match and state.get("global_step") != int(match.group(1)):
        return f"trainer_state.json: global_step {state.get('global_step')}, expected {match.group(1)}"
    return None


def _set_aside(folder: Path, problem: str) -> Path:
    target = folder.with_name(SET_ASIDE_PREFIX + folder.name)
    n = 1
    while target.exists():
        n += 1
        target = folder.with_name(f"{SET_ASIDE_PREFIX}{folder.name}.{n}")
    os.replace(folder, target)
    logger.warning("%s is incomplete (%s): set aside as %s", folder, problem, target.name)
    return target


def last_complete_checkpoint(output_dir, needs_training_state: bool = True) -> str | None:
    """The newest complete ``checkpoint-N`` of ``output_dir`` (None when there is none).

    Incomplete checkpoints are renamed ``incomplete-checkpoint-N`` (out of the Trainer's ``checkpoint-*`` rotation)
    with a warning that says what is missing. Call it on one process at a time
    (``training_args.main_process_first()``)."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return None
    found = sorted(((int(m.group(1)), p) for p in output_dir.iterdir()
                    if p.is_dir() and (m := CHECKPOINT.match(p.name))), reverse=True)
    complete = None
    for _, folder in found:
        problem = checkpoint_problem(folder, needs_training_state)
        if problem:
            _set_aside(folder, problem)
        elif complete is None:
            complete = str(folder)
    return complete


# ---------------------------------------------------------------- finished and resumed runs

def differences(stored: dict, wanted: dict, prefix: str = "") -> list[str]:
    """``key: stored -> wanted`` for each leaf that differs between two nested dicts."""
    out = []
    for key in sorted(set(stored) | set(wanted)):
        a, b = stored.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return out


def _shown(changed: list[str]) -> str:
    return "; ".join(changed[:5]) + (f"; and {len(changed) - 5} more" if len(changed) > 5 else "")


class ChangedRunError(ValueError):
    """The output folder holds a run (finished, or to be resumed) made with another configuration or dataset."""


def check_finished(output_dir, run: RunRecord) -> dict | None:
    """The stored results when ``output_dir`` holds a finished run of this ``run``; None when it holds no finished
    run; ChangedRunError naming what differs when it was made otherwise."""
    output_dir = Path(output_dir)
    stored_path, results_path = output_dir / RUN_CONFIG, output_dir / "all_results.json"
    if not (stored_path.is_file() and results_path.is_file()) or _weights_problem(output_dir):
        return None
    changed = differences(RunRecord.read(stored_path).comparable(), run.comparable())
    if changed:
        raise ChangedRunError(f"--output_dir {output_dir} holds a finished run made with another configuration "
                              f"({_shown(changed)}): delete that folder or pass another --output_dir to train again")
    return json.loads(results_path.read_text(encoding="utf-8"))


def check_resume(output_dir, run: RunRecord, allow_changes: bool = False) -> None:
    """Before resuming from a checkpoint of ``output_dir``: the run that wrote it (its ``resume_config.json``) must
    have this configuration and dataset, or a resumed run would be neither. ChangedRunError names the keys that
    differ, unless ``allow_changes`` (``--allow_resume_changes``), which only warns."""
    stored_path = Path(output_dir) / RESUME_CONFIG
    if not stored_path.is_file():
        logger.warning("%s has no %s (a run started before it was written): resuming without comparing its "
                       "configuration", output_dir, RESUME_CONFIG)
        return
    changed = differences(RunRecord.read(stored_path).comparable(), run.comparable())
    if not changed:
        return
    message = (f"--output_dir {output_dir} holds an unfinished run made with another configuration or dataset "
               f"({_shown(changed)})")
    if allow_changes:
        logger.warning("%s; resuming anyway (--allow_resume_changes)", message)
        return
    raise ChangedRunError(f"{message}: resuming it would mix the two; delete the folder or pass another "
                          "--output_dir to start again, or --allow_resume_changes true to resume anyway")
