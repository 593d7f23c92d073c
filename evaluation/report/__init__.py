"""The lab report: ``report.md`` and a self-contained ``report.html`` (pictures embedded as base64), in English or
Russian, shaped like the client's lab report (goal, data, method, results, comparison, conclusion, references).

``sections`` builds the report's blocks from the metrics dict ``evaluate_run`` returns, ``render`` writes them as
Markdown and HTML, and ``en``/``ru`` hold the strings, one file per language.

Example::

    import json
    from evaluation.report import write_report
    metrics = json.load(open("demo_out/report/metrics.json"))
    write_report(metrics, "demo_out/report", lang="ru")
"""

from __future__ import annotations

from pathlib import Path

from common.jsonl import atomic_write_text
from evaluation.report.render import render_html, render_markdown
from evaluation.report.sections import TEXT, build_blocks, conclusion_sentences

__all__ = ["TEXT", "build_blocks", "write_report"]


def write_report(metrics: dict, out, lang: str = "en") -> dict:
    """Write ``report.md`` and ``report.html`` into ``out``; returns their paths and the conclusion."""
    out = Path(out).resolve()
    resolved = resolve_paths(metrics, out)
    blocks = build_blocks(resolved, lang)
    md_path, html_path = out / "report.md", out / "report.html"
    atomic_write_text(md_path, render_markdown(blocks, out))
    atomic_write_text(html_path, render_html(blocks, out, lang))
    return {"md": str(md_path), "html": str(html_path), "lang": lang,
            "conclusion": conclusion_sentences(TEXT[lang], resolved)}


def resolve_paths(metrics: dict, out: Path) -> dict:
    """Figure paths made absolute (metrics may hold paths relative to the working directory)."""
    figures = {}
    for name, entry in metrics["figures"].items():
        figures[name] = {k: (str(out / Path(v).name) if k in ("png", "html") else v) for k, v in entry.items()}
    return {**metrics, "figures": figures}
