"""Crash safety: kill -9 download, prepare and train at seeded random moments; the reruns must end where an
uninterrupted run ends.

Then the download again, on a folder of its own: SIGINT, SIGTERM and SIGKILL sent to a converting ffmpeg/ffprobe
child alone (the stage goes on) and to the whole process group (a terminal's Ctrl-C, a batch system's kill), twice
each; no video may be recorded as failed for good, and after the same command runs to the end its ok records must
equal the reference's.

Each stage runs as its CLI in a child process of its own process group, on synthetic videos served by the loopback
server (testing.server) and the tiny recipe with a tiny random wav2vec2 (testing.tiny_models). First every stage runs
once uninterrupted (the reference; its wall time sets the range of kill moments). Then, stage after stage, the same
command is started and its whole process group killed with SIGKILL after a seeded random delay, N times, and finally
run to the end. A kill "lands" when the process was still running. Compared with the reference:

- download: each manifest record with status ok (minus timings, byte counts and messages) and the sha256 of its FLAC;
- prepare: the dataset's ``content_sha256`` from prepare_stats.json;
- train: every tensor of the final model.safetensors (close to 1e-5; bit-identical is reported too).

    python -m bench --only chaos                              # 4 kills per stage, seed 13, a few minutes
    python -c "from bench.bench_chaos import chaos; print(chaos('/tmp/c', kills_per_stage=1))"
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
STAGES = ("download", "prepare", "train")
KILLS_PER_STAGE, SEED = 4, 13
CHILD_ROUNDS = 2            # rounds of (SIGINT, SIGTERM, SIGKILL) x (an ffmpeg/ffprobe child, the process group)
# Manifest fields that measure a particular attempt rather than what was fetched.
ATTEMPT_FIELDS = {"fetch_s", "bytes_fetched", "bytes_downloaded", "message", "elapsed_s", "attempts", "finished_at",
                  "started_at", "downloaded_at", "timestamp"}
ENV = {"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
       "TOKENIZERS_PARALLELISM": "false"}


def commands(work: Path, listing: Path, model: Path, epochs: int) -> dict[str, list[str]]:
    """The three stages' command lines, writing under ``work``."""
    py = sys.executable
    return {
        "download": [py, "-m", "download", "--listing", str(listing), "--out", str(work / "raw"), "--sleep", "0",
                     "--workers", "1", "--retries", "0"],
        "prepare": [py, "-m", "prepare", "--raw", str(work / "raw"), "--out", str(work / "dataset"),
                    "--clip-seconds", "1", "--split", "0.5,0.25,0.25",
                    # a few videos per class share channels: too few channels for 3 splits; crash safety is the point
                    "--group-by", "video"],
        "train": [py, "train.py", "configs/tiny-cpu.yaml", "--model_name_or_path", str(model),
                  "--dataset_name", str(work / "dataset"), "--output_dir", str(work / "run"),
                  "--max_length_seconds", "1.0", "--per_device_train_batch_size", "4", "--max_train_samples", "48",
                  "--max_eval_samples", "48", "--num_train_epochs", str(epochs)],
    }


def run_to_end(argv: list[str], log: Path) -> float:
    """Run a stage to completion; its output goes to ``log``. Returns the wall time."""
    started = time.perf_counter()
    with open(log, "ab") as handle:
        done = subprocess.run(argv, cwd=ROOT, env={**os.environ, **ENV}, stdout=handle, stderr=handle)
    if done.returncode != 0:
        last = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"{' '.join(argv[1:3])} failed (exit {done.returncode}): {last} (log: {log})")
    return time.perf_counter() - started


def kill_after(argv: list[str], delay_s: float, log: Path) -> bool:
    """Start a stage and SIGKILL its process group (it and its ffmpeg children) after ``delay_s``; True when the kill
    landed, False when the stage had already finished."""
    with open(log, "ab") as handle:
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **ENV}, stdout=handle, stderr=handle,
                                start_new_session=True)
        try:
            proc.wait(timeout=delay_s)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(argv[:3])} failed (exit {proc.returncode}) before its kill: see {log}")
            return False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this Popen created: the stage and its children only
            proc.wait()
            return True


CHILD_SIGNALS = tuple((target, sig) for target in ("child", "group")
                      for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL))


def media_children(pid: int) -> list[int]:
    """The ffmpeg/ffprobe processes whose parent is ``pid`` (through /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")[0]
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid and command.rsplit(b"/", 1)[-1] in (b"ffmpeg", b"ffprobe"):
            found.append(int(entry.name))
    return found


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def signal_during_media(argv: list[str], target: str, sig: int, rng: random.Random, log: Path) -> dict:
    """Start the download, wait for an ffmpeg/ffprobe child, then after a random moment of its life send ``sig``
    to that child alone (``target`` "child": the stage goes on) or to the whole process group ("group": what a
    terminal's Ctrl-C does, or a batch system's kill); wait for the stage to end."""
    with open(log, "ab") as handle:
        # SIGINT as a terminal leaves it: a job started in the background of a script inherits it ignored
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **ENV}, stdout=handle, stderr=handle,
                                start_new_session=True, preexec_fn=default_sigint)
        deadline, children = time.monotonic() + 120, []
        while time.monotonic() < deadline and proc.poll() is None and not (children := media_children(proc.pid)):
            time.sleep(0.002)
        landed = False
        if children and proc.poll() is None:
            time.sleep(rng.uniform(0, 0.05))
            try:
                if target == "child":
                    os.kill(children[0], sig)
                else:
                    os.killpg(proc.pid, sig)
                landed = True
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return {"target": target, "signal": signal.Signals(sig).name, "landed": landed, "exit": proc.returncode}


def permanent_failures(raw: Path) -> list[str]:
    """Ids recorded as failed for good (the video's own) in ``raw``'s manifest."""
    from common.contract import MANIFEST, read_manifest

    return sorted({r.id for r in read_manifest(raw / MANIFEST).records if not r.ok and not r.transient})


def children_chaos(work_root: Path, listing: Path, model: Path, reference: dict, rounds: int, rng: random.Random
                   ) -> dict:
    """SIGINT, SIGTERM and SIGKILL to a converting ffmpeg/ffprobe child and to the whole process group, ``rounds``
    times each, on one download folder; then the same command to the end. No video may be recorded as failed for
    good, and the ok records must equal the uninterrupted reference's."""
    work = work_root / "children"
    work.mkdir(exist_ok=True)
    argv = commands(work, listing, model, 1)["download"]
    events = []
    for _ in range(rounds):
        for target, sig in CHILD_SIGNALS:
            event = signal_during_media(argv, target, sig, rng, work / "download.log")
            event["permanent_failures"] = permanent_failures(work / "raw")
            events.append(event)
            logger.info("download: %s to %s: %s, exit %s, permanent failures %s", event["signal"], target,
                        "landed" if event["landed"] else "missed", event["exit"], event["permanent_failures"])
    run_to_end(argv, work / "download.log")
    got = stage_outputs_download(work)
    differing = sorted(i for i in set(reference) | set(got) if reference.get(i) != got.get(i))
    return {"events": events, "landed": sum(e["landed"] for e in events),
            "permanent_failures": sorted({i for e in events for i in e["permanent_failures"]}),
            "identical": not differing and bool(got), "differing_ids": differing}


def progress(stage: str, work: Path) -> str:
    """What a killed stage had finished: ok downloads, prepare's staging folder, train's checkpoints."""
    if stage == "download":
        from common.contract import MANIFEST, read_manifest

        return f"{sum(record.ok for record in read_manifest(work / 'raw' / MANIFEST).records)} ok records"
    if stage == "prepare":
        return "staging folder left" if (work / ".dataset.partial").exists() else "no staging folder"
    names = sorted(p.name for p in (work / "run").glob("*checkpoint-*")) if (work / "run").is_dir() else []
    return ", ".join(names) or "no checkpoint"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stage_outputs_download(work: Path) -> dict:
    """The ok records (minus what measures an attempt) with their FLAC hashes."""
    from common.contract import MANIFEST, read_manifest

    records = {}
    for record in read_manifest(work / "raw" / MANIFEST).records:   # a torn line is skipped, as stages do
        if record.ok:
            kept = {k: v for k, v in record.to_json().items() if k not in ATTEMPT_FIELDS}
            kept["flac_sha256"] = _sha256(work / "raw" / str(record.path))
            records[record.id] = kept
    return records


def stage_outputs(work: Path) -> dict:
    """What must not depend on kills: ok records with their FLAC hashes, the dataset hash, the final weights."""
    from safetensors.torch import load_file

    from common.contract import STATS, PrepareStats

    stats = PrepareStats.read(work / "dataset" / STATS)
    return {"download": stage_outputs_download(work), "prepare": stats.content_sha256,
            "train": load_file(work / "run" / "model.safetensors")}


def compare(reference: dict, resumed: dict) -> dict:
    """Per stage: identical (bool) and a short note on what differs."""
    import torch

    out = {}
    ref_records, got_records = reference["download"], resumed["download"]
    differing = sorted(i for i in set(ref_records) | set(got_records) if ref_records.get(i) != got_records.get(i))
    out["download"] = {"identical": not differing and bool(ref_records), "records": len(got_records),
                       "differing_ids": differing}
    out["prepare"] = {"identical": reference["prepare"] == resumed["prepare"], "content_sha256": resumed["prepare"]}
    a, b = reference["train"], resumed["train"]
    same_names = set(a) == set(b)
    max_diff = max((float((a[n].float() - b[n].float()).abs().max()) for n in a if n in b), default=float("inf"))
    close = same_names and all(torch.allclose(a[n], b[n], rtol=1e-5, atol=1e-6) for n in a)
    out["train"] = {"identical": close, "bit_identical": same_names and all(torch.equal(a[n], b[n]) for n in a),
                    "max_abs_diff": max_diff, "tensors": len(b)}
    return out


def chaos(work_root, kills_per_stage: int = KILLS_PER_STAGE, seed: int = SEED, videos_per_class: int = 4,
          seconds: float = 30.0, epochs: int = 8, kill_window: tuple[float, float] = (0.15, 0.95),
          child_rounds: int = CHILD_ROUNDS) -> dict:
    """Reference run, then ``kills_per_stage`` seeded kill -9's per stage and a final run; returns the comparison.

    A kill comes after a uniform random fraction in ``kill_window`` of the stage's uninterrupted wall time."""
    from testing.server import MediaServer
    from testing.synth import synthesize_videos, write_kaggle_listing
    from testing.tiny_models import save_tiny_wav2vec2

    work_root = Path(work_root)
    work_root.mkdir(parents=True, exist_ok=True)
    videos = synthesize_videos(work_root / "media", videos_per_class=videos_per_class, min_seconds=seconds,
                               max_seconds=seconds, seed=seed)
    model = Path(save_tiny_wav2vec2(work_root / "tiny-wav2vec2", seed=seed))
    rng = random.Random(seed)
    result = {"kills_per_stage": kills_per_stage, "seed": seed, "videos": len(videos), "stages": {}}
    with MediaServer(work_root / "media") as server:
        listing = write_kaggle_listing(videos, server.base_url, work_root / "listing.csv")
        ref_cmds = commands(work_root / "reference", listing, model, epochs)
        chaos_cmds = commands(work_root / "chaos", listing, model, epochs)
        (work_root / "chaos").mkdir(exist_ok=True)
        (work_root / "reference").mkdir(exist_ok=True)
        reference_s = {stage: run_to_end(ref_cmds[stage], work_root / "reference" / f"{stage}.log")
                       for stage in STAGES}
        for stage in STAGES:
            log = work_root / "chaos" / f"{stage}.log"
            moments, landed = [], 0
            for _ in range(kills_per_stage):
                delay = round(rng.uniform(*kill_window) * reference_s[stage], 2)
                hit = kill_after(chaos_cmds[stage], delay, log)
                moments.append({"after_s": delay, "landed": hit, "left": progress(stage, work_root / "chaos")})
                landed += hit
                logger.info("%s: kill -9 after %.2f s %s (%s)", stage, delay, "landed" if hit else "missed (finished)",
                            moments[-1]["left"])
            run_to_end(chaos_cmds[stage], log)
            result["stages"][stage] = {"reference_s": round(reference_s[stage], 1), "kills": moments,
                                       "kills_landed": landed}
        if child_rounds:
            result["children"] = children_chaos(work_root, listing, model,
                                                stage_outputs_download(work_root / "reference"), child_rounds, rng)
    comparison = compare(stage_outputs(work_root / "reference"), stage_outputs(work_root / "chaos"))
    set_aside = sorted(p.name for p in (work_root / "chaos" / "run").glob("incomplete-checkpoint-*"))
    for stage in STAGES:
        result["stages"][stage].update(comparison[stage])
    result["stages"]["train"]["checkpoints_set_aside"] = set_aside
    result["kills_landed"] = sum(s["kills_landed"] for s in result["stages"].values())
    result["kills_survived"] = sum(s["kills_landed"] for s in result["stages"].values() if s["identical"])
    return result


def run(tmp_dir) -> dict:
    """kill -9 download, prepare and train at seeded random moments; kills survived with outputs identical to an
    uninterrupted run's (manifest ok records and FLAC hashes, dataset content hash, final model weights)."""
    result = chaos(Path(tmp_dir), KILLS_PER_STAGE, SEED)
    rows = [{"figure": "kill -9 survived, outputs identical to an uninterrupted run", "value": result["kills_survived"],
             "unit": "kills", "reference": result["kills_landed"],
             "ratio": round(result["kills_survived"] / max(result["kills_landed"], 1), 2), "target": "all"}]
    for stage in STAGES:
        info = result["stages"][stage]
        rows.append({"figure": f"{stage}: kills landed / identical after resume", "value": info["kills_landed"],
                     "unit": "kills", "reference": f"{len(info['kills'])} tried", "ratio": None,
                     "target": "identical" if info["identical"] else "DIFFERENT"})
    children = result.get("children")
    if children:
        rows.append({"figure": "download: SIGINT/SIGTERM/SIGKILL to an ffmpeg/ffprobe child or the process group "
                               "landed / videos recorded failed for good",
                     "value": f"{children['landed']} / {len(children['permanent_failures'])}", "unit": "",
                     "reference": f"{len(children['events'])} tried", "ratio": None,
                     "target": ("0 failed, identical" if children["identical"] and not children["permanent_failures"]
                                else "FAILED FOR GOOD or DIFFERENT")})
    return {"rows": rows, **result}
