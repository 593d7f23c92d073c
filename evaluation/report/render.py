"""Rendering of report blocks: Markdown, and self-contained HTML with the pictures embedded as base64.

Example::

    from evaluation.report.render import render_markdown, render_html
    page = render_html(blocks, out_dir, lang="en")
"""

from __future__ import annotations

import base64
import html
from pathlib import Path


def _md_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks: list[tuple], out: Path) -> str:
    lines = []
    for kind, *payload in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + payload[0], ""]
        elif kind in ("p", "na"):
            lines += [payload[0], ""]
        elif kind == "table":
            headers, rows = payload
            lines.append("| " + " | ".join(_md_cell(h) for h in headers) + " |")
            lines.append("|" + "|".join("---" for _ in headers) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
        elif kind == "img":
            lines += [f"![{payload[1]}]({Path(payload[0]).relative_to(out).as_posix()})", "", f"*{payload[1]}*", ""]
        elif kind == "link":
            lines += [f"[{payload[1]}]({Path(payload[0]).relative_to(out).as_posix()})", ""]
        elif kind == "ol":
            lines += [f"{i}. {item}" for i, item in enumerate(payload[0], start=1)] + [""]
    return "\n".join(lines)


CSS = ("body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;line-height:1.45}"
       "table{border-collapse:collapse;margin:.6em 0 1.2em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
       "td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}img{max-width:100%}"
       ".na{color:#a33;font-style:italic}figcaption{color:#555;font-size:.9em;margin-bottom:1.2em}")


def render_html(blocks: list[tuple], out: Path, lang: str) -> str:
    esc = html.escape
    parts = [f"<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{esc(blocks[0][1])}</title>"
             f"<style>{CSS}</style></head><body>"]
    for kind, *payload in blocks:
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{esc(payload[0])}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{esc(payload[0])}</p>")
        elif kind == "na":
            parts.append(f"<p class=\"na\">{esc(payload[0])}</p>")
        elif kind == "table":
            headers, rows = payload
            head = "".join(f"<th>{esc(str(h))}</th>" for h in headers)
            body = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in rows)
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif kind == "img":
            data = base64.b64encode(Path(payload[0]).read_bytes()).decode("ascii")
            parts.append(f"<figure><img alt=\"{esc(payload[1])}\" src=\"data:image/png;base64,{data}\">"
                         f"<figcaption>{esc(payload[1])}</figcaption></figure>")
        elif kind == "link":
            parts.append(f"<p><a href=\"{esc(Path(payload[0]).relative_to(out).as_posix())}\">{esc(payload[1])}</a></p>")
        elif kind == "ol":
            parts.append("<ol>" + "".join(f"<li>{esc(item)}</li>" for item in payload[0]) + "</ol>")
    parts.append("</body></html>")
    return "\n".join(parts)
