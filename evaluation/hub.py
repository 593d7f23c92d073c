"""The model page on the Hub: eval.py's results as the card's ``model-index`` (the Hub's results table) and one clip
per class as the inference widget's examples (``eval.py --push-results USER/MODEL``).

The card is the model repository's README.md (or, when the repository has none yet, the run folder's, as train.py
wrote it); its YAML gains ``model-index`` (accuracy and macro-F1 at clip and video level on the evaluated split,
the split's rule as the dataset config: ``channel-disjoint`` or ``video-level``) and ``widget`` (``examples/<class>.flac``,
the first clip of each class in the evaluated split, uploaded in the same commit). The Hub then shows the results
table and a widget that works on the examples.

Example::

    from evaluation.hub import push_results
    push_results(record, "me/yt-audio-wav2vec2")        # record: evaluate_run's EvalRecord
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)
EXAMPLES = "examples"


def split_rule(record) -> str:
    """How the evaluated split was made: ``channel-disjoint`` (prepare --group-by channel), else ``video-level``."""
    stats = record.data.prepare_stats
    return "channel-disjoint" if stats is not None and stats.build.group_by == "channel" else "video-level"


def eval_results(record, dataset_id: str):
    """``huggingface_hub.EvalResult``s of ``record``: accuracy and macro-F1 at clip and video level."""
    from huggingface_hub import EvalResult

    results = []
    for level, scores in (("video", record.video), ("clip", record.clip)):
        for metric, value, args in (("accuracy", scores.accuracy, None), ("f1", scores.macro_f1, {"average": "macro"})):
            results.append(EvalResult(
                task_type="audio-classification", task_name="Audio classification", dataset_type=dataset_id,
                dataset_name=dataset_id, dataset_config=split_rule(record), dataset_split=record.split,
                metric_type=metric, metric_value=round(float(value), 4), metric_args=args,
                metric_name=f"{level} {'accuracy' if metric == 'accuracy' else 'macro-F1'}"))
    return results


def example_clips(dataset: str, split: str, folder: Path) -> dict[str, Path]:
    """class -> ``folder/<class>.flac``: the first clip of each class in ``split`` (its encoded bytes as prepare
    wrote them). Only the label column is read whole; the audio of those few rows alone."""
    from common.data import load_prepared

    rows = load_prepared(dataset)[split]
    names = rows.features["label"].names
    first: dict[str, int] = {}
    for index, label in enumerate(rows["label"]):
        first.setdefault(names[int(label)], index)
    folder.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    for name, audio in zip(first, rows.select(list(first.values()))["audio"]):
        if audio and audio.get("bytes"):
            found[name] = folder / f"{name}.flac"
            found[name].write_bytes(audio["bytes"])
    return found


def card_text(repo_id: str, model: str, api) -> str:
    """The repository's README.md, else the run folder's, else a minimal card."""
    try:
        return Path(api.hf_hub_download(repo_id, "README.md")).read_text(encoding="utf-8")
    except Exception as exc:  # no repository yet, no card in it, no network: fall back, saying so
        logger.info("%s: no README.md on the Hub (%s); starting from the run folder's card", repo_id,
                    type(exc).__name__)
    local = Path(model) / "README.md"
    if local.is_file():
        return local.read_text(encoding="utf-8")
    return "---\npipeline_tag: audio-classification\nlibrary_name: transformers\n---\n\n# " + repo_id + "\n"


def updated_card(text: str, record, repo_id: str, examples: dict[str, Path]) -> str:
    """``text`` with its YAML's ``model-index`` and ``widget`` replaced by ``record``'s."""
    from huggingface_hub import ModelCard

    card = ModelCard(text)
    dataset_id = record.config.get("dataset", "dataset")
    dataset_id = Path(dataset_id).name if Path(dataset_id).exists() else dataset_id
    card.data.model_name = repo_id
    card.data.eval_results = eval_results(record, dataset_id)
    card.data.pipeline_tag = "audio-classification"
    card.data.widget = [{"src": f"https://huggingface.co/{repo_id}/resolve/main/{EXAMPLES}/{name}.flac",
                         "example_title": name} for name in sorted(examples)]
    return str(card)


def push_results(record, repo_id: str, api=None, token: str | None = None) -> str:
    """Update ``repo_id``'s card (model-index, widget) and upload the widget's examples in one commit; returns the
    model page's URL. ``api``: a ``huggingface_hub.HfApi`` (tests pass a fake)."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = api or HfApi(token=token)
    with tempfile.TemporaryDirectory(prefix="ytac-results-") as tmp:
        examples = example_clips(record.config["dataset"], record.split, Path(tmp) / EXAMPLES)
        card = updated_card(card_text(repo_id, record.model, api), record, repo_id, examples)
        operations = [CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode("utf-8"))]
        operations += [CommitOperationAdd(path_in_repo=f"{EXAMPLES}/{path.name}", path_or_fileobj=str(path))
                       for path in examples.values()]
        api.create_commit(repo_id, operations=operations, repo_type="model",
                          commit_message=f"eval.py: {record.split} results and widget examples")
    return f"https://huggingface.co/{repo_id}"
