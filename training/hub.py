"""Publish a finished run folder to the Hugging Face Hub: model, feature extractor, model card and run records.

The token comes from ``--hub_token``, the ``HF_TOKEN`` environment variable or ``hf auth login``; it is never
logged or written anywhere (train.py clears it from the arguments before anything is saved).

Example::

    from training.hub import push_run
    url = push_run("runs/wav2vec2-base", "me/youtube-topics-wav2vec2")
"""

from __future__ import annotations

import logging

from huggingface_hub import HfApi

from common.contract import RESUME_CONFIG

logger = logging.getLogger(__name__)

# Checkpoints are for resuming here, not for users of the model; training_args.bin is a pickle.
IGNORE_PATTERNS = ["checkpoint-*", "checkpoint-*/**", "incomplete-checkpoint-*", "incomplete-checkpoint-*/**",
                   "runs/**", "training_args.bin", "linear_probe/**", RESUME_CONFIG, ".*"]


def push_run(run_dir, repo_id: str, token: str | None = None, private: bool | None = None,
             revision: str | None = None, commit_message: str = "Upload fine-tuned audio classifier") -> str:
    """Create ``repo_id`` if needed and upload ``run_dir`` (without checkpoints); returns the commit URL."""
    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
    commit = api.upload_folder(folder_path=str(run_dir), repo_id=repo_id, repo_type="model", revision=revision,
                               commit_message=commit_message, ignore_patterns=IGNORE_PATTERNS)
    url = getattr(commit, "commit_url", None) or str(commit)
    logger.info("pushed %s to %s", run_dir, url)
    return url
