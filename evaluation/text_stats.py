"""How the text and audio systems compare on the same videos: per-class recall, agreement counts, and examples of
the videos where they disagree (for report section 5.1).
"""

from __future__ import annotations

import numpy as np

from common.contract.evaluation import Agreement, Disagreement


def per_class_recall(y_true, y_pred, class_names) -> dict[str, float | None]:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {name: (float((y_pred[y_true == k] == k).mean()) if (y_true == k).any() else None)
            for k, name in enumerate(class_names)}


def disagreements(video_ids, y_true, predictions: dict[str, np.ndarray], texts, class_names, limit: int = 5
                  ) -> list[Disagreement]:
    """Videos where audio and text disagree: those where one of them is right first, then by id. ``predictions``:
    system (audio, text, fusion) -> predicted class index per video; ``texts``: video id -> VideoText."""
    audio, text = predictions["audio"], predictions["text"]
    rows = []
    for v, vid in enumerate(video_ids):
        if audio[v] == text[v]:
            continue
        rows.append(Disagreement(
            video_id=vid, title=texts[vid].title if vid in texts else "", true_class=class_names[y_true[v]],
            predicted={k: class_names[p[v]] for k, p in predictions.items()},
            right="audio" if audio[v] == y_true[v] else "text" if text[v] == y_true[v] else "neither"))
    rows.sort(key=lambda r: (r.right == "neither", r.video_id))
    return rows[:limit]


def agreement_counts(y_true, audio, text) -> Agreement:
    """How often audio and text agree, and when they disagree which one is right."""
    y_true, audio, text = map(np.asarray, (y_true, audio, text))
    differ = audio != text
    return Agreement(videos=int(len(y_true)), agree=int((~differ).sum()),
                     disagree_audio_right=int((differ & (audio == y_true)).sum()),
                     disagree_text_right=int((differ & (text == y_true)).sum()),
                     disagree_neither_right=int((differ & (audio != y_true) & (text != y_true)).sum()))
