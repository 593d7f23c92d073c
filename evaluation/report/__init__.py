"""The lab report: ``report.md`` and a self-contained ``report.html`` (pictures embedded as base64), in English or
Russian, shaped like the client's lab report (goal, data, method, results, comparison, conclusion, references).

``sections`` builds the report's blocks from the evaluation record (``common.contract.EvalRecord``, what
``evaluate_run`` returns and ``metrics.json`` holds), ``render`` writes them as Markdown and HTML, and ``en``/``ru``
hold the strings, one file per language.

Example::

    from common.contract import EvalRecord
    from evaluation.report import write_report
    write_report(EvalRecord.read("demo_out/report/metrics.json"), "demo_out/report", lang="ru")
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from common.contract import EvalRecord
from common.contract.evaluation import ReportFiles
from common.jsonl import atomic_write_text
from evaluation.report.render import render_html, render_markdown
from evaluation.report.sections import TEXT, build_blocks, conclusion_sentences

__all__ = ["TEXT", "build_blocks", "write_report"]


def write_report(metrics: EvalRecord, out, lang: str = "en") -> ReportFiles:
    """Write ``report.md`` and ``report.html`` into ``out``; returns their paths and the conclusion."""
    out = Path(out).resolve()
    resolved = resolve_paths(metrics, out)
    blocks = build_blocks(resolved, lang)
    md_path, html_path = out / "report.md", out / "report.html"
    atomic_write_text(md_path, render_markdown(blocks, out))
    atomic_write_text(html_path, render_html(blocks, out, lang))
    return ReportFiles(md=str(md_path), html=str(html_path), lang=lang,
                       conclusion=conclusion_sentences(TEXT[lang], resolved))


def resolve_paths(metrics: EvalRecord, out: Path) -> EvalRecord:
    """Figure paths made absolute (a record may hold paths relative to the working directory)."""
    def inside(path):
        return str(out / Path(path).name) if path else path

    return replace(metrics, figures={name: replace(figure, png=inside(figure.png), html=inside(figure.html))
                                     for name, figure in metrics.figures.items()})
