"""Two CPU processes (DDP over gloo) train one model and report one consistent result.

accelerate 1.15's ``launch --cpu --num_processes 2`` starts ONE process (its CPU route needs mpirun); on a machine
without GPUs, ``launch --multi_gpu --num_processes 2`` starts two through torchrun and they pick gloo.

The 2-process run's validation metrics (gathered from both processes) must equal a single-process evaluation of
the saved model over the same windows: no window lost or counted twice. About 15-25 s on 2 cores.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common.data import clip_array, load_prepared
from testing.server import free_port
from common.modeling import load_feature_extractor, load_model, predict_windows
from testing.tiny_models import save_tiny_model
from testing.synthetic import make_prepared_dataset as prepared_dataset
from testing.train_runs import run_argv

ROOT = Path(__file__).resolve().parents[1]


def test_two_cpu_processes_train_one_consistent_model(tmp_path):
    # 24 validation clips -> 48 windows, in batches of 5 per process: the last round is padded, and the padding
    # must be dropped again when the predictions are gathered.
    data = prepared_dataset(tmp_path / "dataset", videos_per_class=(2, 3, 1))
    model = save_tiny_model("wav2vec2", tmp_path / "model")
    out = tmp_path / "run"
    launcher = Path(sys.executable).with_name("accelerate")
    command = [str(launcher), "launch", "--multi_gpu", "--num_processes", "2", "--num_cpu_threads_per_process", "1",
               "--main_process_port", str(free_port()), "train.py",
               *run_argv(data, model, out, "--per_device_eval_batch_size", "5")]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}  # CPU, gloo
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=170)
    assert done.returncode == 0, done.stderr[-3000:]

    run = json.loads((out / "run_config.json").read_text())
    assert run["hardware"]["n_processes"] == 2
    results = json.loads((out / "all_results.json").read_text())
    # 16 training clips, 4 per device, 2 devices: 2 optimizer steps per epoch.
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["global_step"] == 4

    validation = load_prepared(data)["validation"]
    arrays = [clip_array(cell) for cell in validation["audio"]]
    out_windows = predict_windows(load_model(str(out)), load_feature_extractor(str(out)), arrays, window_s=1.0)
    labels = np.asarray(validation["label"])
    clip_logits = np.stack([out_windows.logits[out_windows.clip_index == i].mean(0) for i in range(len(arrays))])
    assert results["eval_accuracy"] == pytest.approx(float((clip_logits.argmax(-1) == labels).mean()))
    window_hits = out_windows.logits.argmax(-1) == labels[out_windows.clip_index]
    assert results["eval_window_accuracy"] == pytest.approx(float(window_hits.mean()))
