"""Pieces shared by every stage: audio I/O at the project's one sampling rate, durable JSONL manifests,
atomic file writes, logging set-up and summary tables."""
