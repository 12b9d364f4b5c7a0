"""Rendering a report, once as Markdown and once as one self-contained HTML file.

A report is a list of blocks (:class:`Heading`, :class:`Paragraph`, :class:`Bullets`,
:class:`Table`, :class:`Figure`); both renderers walk the same list, so the Markdown and the HTML
always say the same thing. HTML embeds figures as base64 PNG, so the file can be mailed on its own.

Every text of a block may come from a user's files (study and subgroup labels, spec title,
description, notes and limitations, audit file names), so the renderers escape it, once, here:

* HTML: all text is escaped (:func:`html.escape`); the only markup made from text is the report's
  own ``**bold**``, ``*italic*`` and ```code``` marks, added after escaping. Anchors and ids are
  reduced to ``[A-Za-z0-9_-]`` (:func:`anchor`), class names likewise, and every attribute is quoted
  and escaped.
* Markdown: a ``<`` that could open an HTML tag, comment or autolink (followed by a letter, ``/``,
  ``!`` or ``?``) is written as ``&lt;``, and ``\\``, ``[`` and ``]`` are backslash-escaped so no
  text forms a link or an image (``javascript:`` URLs included); in table cells (labels) ``*``, a
  backtick, ``~``, ``$`` and a ``_`` at a word boundary are escaped too; figure paths are
  percent-encoded. A Markdown viewer that renders HTML therefore shows the text instead of running
  it.
"""

from __future__ import annotations

import base64
import html
import math
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pandas as pd


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    text: str
    css: str = ""


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame
    caption: str = ""
    table_id: str = ""
    percent_columns: tuple[str, ...] = ()
    digits: int = 3


@dataclass(frozen=True)
class Figure:
    path: Path  # absolute path of the PNG while rendering
    relative: str  # path written into report.md (relative to the run directory)
    caption: str = ""


Block = Heading | Paragraph | Bullets | Table | Figure


def _cell(value, percent: bool, digits: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if percent:
            return f"{100 * value:.1f}%"
        if value != 0 and (abs(value) >= 1e4 or abs(value) < 10 ** (-digits)):
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _formatted(table: Table) -> pd.DataFrame:
    frame = table.frame.copy()
    for column in frame.columns:
        pct = column in table.percent_columns
        frame[column] = [
            _cell(v.item() if hasattr(v, "item") else v, pct, table.digits) for v in frame[column]
        ]
    return frame


_MD_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def md_text(text) -> str:
    """Text made inert for Markdown (see module docstring): no HTML tags, no links or images."""
    out = _MD_TAG_START.sub("&lt;", str(text).replace("\\", "\\\\"))
    return out.replace("[", "\\[").replace("]", "\\]")


def _md_line(text) -> str:
    """One-line Markdown text (headings, table cells, captions): escaped, newlines as spaces."""
    return md_text(text).replace("\r", " ").replace("\n", " ")


#: emphasis, code, strikethrough and math marks: `*`, a backtick, `~`, `$` anywhere, and `_` unless
#: it is inside a word (``ci_low`` cannot open emphasis in CommonMark, so column names stay
#: readable)
_MD_INLINE_MARK = re.compile(r"[*`~$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _md_cell(value) -> str:
    """A table cell: besides :func:`md_text`, inline marks are backslash-escaped, since cells hold
    labels from the user's files (``**Zhu**`` or ``$x^2$`` must not show bold or as math)."""
    return _MD_INLINE_MARK.sub(lambda m: "\\" + m.group(0), _md_line(value)).replace("|", "\\|")


def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + _md_line(block.text))
        elif isinstance(block, Paragraph):
            out.append(md_text(block.text))
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {md_text(item)}" for item in block.items))
        elif isinstance(block, Table):
            frame = _formatted(block)
            header = "| " + " | ".join(_md_cell(c) for c in frame.columns) + " |"
            rule = "|" + "|".join("---" for _ in frame.columns) + "|"
            rows = [
                "| " + " | ".join(_md_cell(v) for v in r) + " |"
                for r in frame.itertuples(index=False)
            ]
            caption = [f"*{_md_line(block.caption)}*", ""] if block.caption else []
            out.append("\n".join(caption + [header, rule] + rows))
        elif isinstance(block, Figure):
            caption = _md_line(block.caption)
            out.append(
                f"![{caption}]({quote(block.relative)})" + (f"\n\n*{caption}*" if caption else "")
            )
    return "\n\n".join(out) + "\n"


_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1050px;
margin:2em auto;padding:0 1.2em;color:#1d1d1f;line-height:1.45;font-size:15px}
h1{font-size:1.7em;border-bottom:2px solid #d62728;padding-bottom:.2em}
h2{font-size:1.35em;margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.15em}
h3{font-size:1.12em;margin-top:1.5em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:12.5px;display:block;overflow-x:auto}
th,td{border:1px solid #d9d9d9;padding:3px 7px;text-align:right;vertical-align:top}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
caption{caption-side:top;text-align:left;font-style:italic;color:#444;padding-bottom:.3em}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}
.warning{background:#fff3cd;border-left:4px solid #d39e00;padding:.5em .8em}
.ok{background:#e8f5e9;border-left:4px solid #2e7d32;padding:.5em .8em}
.headline{font-size:1.05em;background:#f7f7fb;border-left:4px solid #1f77b4;padding:.5em .8em}
nav{background:#fafafa;border:1px solid #eee;padding:.4em 1em;font-size:.92em}
code{background:#f4f4f4;padding:0 3px}
"""


def anchor(text: str) -> str:
    """An id/fragment made only of ``[A-Za-z0-9_-]`` (anything else becomes ``-``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", text) or "section"


def _heading_anchor(block: Heading) -> str:
    return anchor(block.anchor or block.text.lower())


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _inline(text: str) -> str:
    """Escape text, then restore the few Markdown inline marks the reports use (**, *, `)."""
    out = html.escape(str(text))
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", out)
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    return out


def to_html(blocks: list[Block], title: str) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta "
        f"charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
    ]
    toc = [b for b in blocks if isinstance(b, Heading) and b.level == 2]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(
                f"<h{block.level} "
                f'id="{_attr(_heading_anchor(block))}">{_inline(block.text)}</h{block.level}>'
            )
            if block.level == 1 and toc:
                links = " · ".join(
                    f'<a href="#{_attr(_heading_anchor(b))}">{html.escape(b.text)}</a>' for b in toc
                )
                parts.append(f"<nav>{links}</nav>")
        elif isinstance(block, Paragraph):
            css = f' class="{_attr(anchor(block.css))}"' if block.css else ""
            parts.append(f"<p{css}>{_inline(block.text)}</p>")
        elif isinstance(block, Bullets):
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in block.items) + "</ul>")
        elif isinstance(block, Table):
            frame = _formatted(block)
            tid = f' id="{_attr(anchor(block.table_id))}"' if block.table_id else ""
            head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>"
                for r in frame.itertuples(index=False)
            )
            cap = f"<caption>{html.escape(block.caption)}</caption>" if block.caption else ""
            parts.append(
                f"<table{tid}>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            )
        elif isinstance(block, Figure):
            data = base64.b64encode(Path(block.path).read_bytes()).decode()
            parts.append(
                f'<figure><img alt="{_attr(block.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(block.caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)
