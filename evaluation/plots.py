"""Report pictures: confusion matrices, per-class accuracy, PCA/t-SNE maps of clip embeddings (training curves:
``common.runs.write_curves``, the one drawing train.py also writes).

PNG files via matplotlib (Agg backend, no display needed) and one interactive plotly HTML (plotly.js embedded, so it
opens offline). Each function returns the written path, or raises ``ValueError`` with the reason it cannot draw.

Example::

    from evaluation.plots import plot_confusion
    plot_confusion([[5, 1], [0, 6]], ["a", "b"], "Video level", "out/confusion_video.png")
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig, path) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def plot_confusion(confusion, class_names: Sequence[str], title: str, path) -> str:
    """Counts (left) and row-normalised recall (right) side by side."""
    counts = np.asarray(confusion, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    size = 2.2 + 0.9 * len(class_names)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, matrix, fmt, name in ((axes[0], counts, "{:.0f}", "counts"), (axes[1], normalised, "{:.2f}", "row-normalised")):
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(matrix.max(), 1e-9))
        for i in range(len(class_names)):
            for j in range(len(class_names)):
                dark = matrix[i, j] > matrix.max() / 2
                ax.text(j, i, fmt.format(matrix[i, j]), ha="center", va="center", color="white" if dark else "black")
        ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
        ax.set_yticks(range(len(class_names)), class_names)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{title} ({name})")
    return _save(fig, path)


def plot_per_class_accuracy(per_class: dict[str, dict], class_names: Sequence[str], chance: float, path) -> str:
    """Per-class recall (= accuracy on that class) for each level given (level -> class -> ``ClassScores``), with
    the chance line."""
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(class_names), 3.6))
    width = 0.8 / max(len(per_class), 1)
    for i, (level, metrics) in enumerate(per_class.items()):
        values = [metrics[name].recall for name in class_names]
        ax.bar(np.arange(len(class_names)) + i * width - 0.4 + width / 2, values, width, label=level)
    ax.axhline(chance, color="grey", linestyle="--", label=f"chance {chance:.2f}")
    ax.set_xticks(range(len(class_names)), class_names, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (recall)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def project_embeddings(embeddings: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """2-D PCA and t-SNE of clip embeddings (t-SNE perplexity scaled down for small sets)."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    n = len(embeddings)
    if n < 4:
        raise ValueError(f"only {n} clip embeddings; PCA/t-SNE maps need at least 4")
    x = np.asarray(embeddings, dtype=np.float64)
    pca = PCA(n_components=2, random_state=seed).fit_transform(x)
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed,
                max_iter=500 if n < 200 else 1000).fit_transform(x)
    return {"PCA": pca, "t-SNE": tsne}


def plot_embedding_maps(maps: dict[str, np.ndarray], labels, class_names: Sequence[str], png_path, html_path) -> tuple[str, str]:
    labels = np.asarray(labels)
    fig, axes = plt.subplots(1, len(maps), figsize=(5.2 * len(maps), 4.4))
    for ax, (name, points) in zip(np.atleast_1d(axes), maps.items()):
        for k, class_name in enumerate(class_names):
            chosen = labels == k
            ax.scatter(points[chosen, 0], points[chosen, 1], s=12, alpha=0.75, label=class_name)
        ax.set_title(f"{name} of clip embeddings")
        ax.set_xticks([]), ax.set_yticks([])
    np.atleast_1d(axes)[0].legend(fontsize=8)
    png = _save(fig, png_path)
    return png, write_embedding_html(maps, labels, class_names, html_path)


PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def write_embedding_html(maps, labels, class_names, html_path, hover: Sequence[str] | None = None) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=len(maps), subplot_titles=list(maps))
    for col, points in enumerate(maps.values(), start=1):
        for k, class_name in enumerate(class_names):
            chosen = np.asarray(labels) == k
            figure.add_trace(go.Scatter(x=points[chosen, 0], y=points[chosen, 1], mode="markers", name=class_name,
                                        legendgroup=class_name, showlegend=col == 1,
                                        text=None if hover is None else [h for h, c in zip(hover, chosen) if c],
                                        marker={"size": 6, "color": PALETTE[k % len(PALETTE)]}), row=1, col=col)
    figure.update_layout(title="Clip embeddings of the fine-tuned model", width=1100, height=520)
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    figure.write_html(str(html_path), include_plotlyjs=True, full_html=True)
    return str(html_path)
