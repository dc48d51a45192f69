"""A tiny document model (headings, text, tables, images) with two renderers.

Markdown links images by relative path; HTML embeds them as data URIs so the file
stands alone (mail it, open it from anywhere).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class Image:
    path: Path  # relative to the report's folder
    caption: str


Block = Heading | Text | Table | Image


def slug(text: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(blocks: Sequence[Block]) -> dict[int, str]:
    """The anchor of each heading (by position in blocks), made unique as GitHub does (-1, -2)."""
    seen: dict[str, int] = {}
    out: dict[int, str] = {}
    for i, b in enumerate(blocks):
        if isinstance(b, Heading):
            base = slug(b.text)
            out[i] = base if base not in seen else f"{base}-{seen[base]}"
            seen[base] = seen.get(base, 0) + 1
    return out


def contents(blocks: Sequence[Block], ids: dict[int, str]) -> list[tuple[int, str, str]]:
    """(level, text, anchor) of every heading below the title: the table of contents."""
    return [(b.level, b.text, ids[i]) for i, b in enumerate(blocks) if isinstance(b, Heading) and b.level > 1]


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    toc = contents(blocks, anchors(blocks))
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {b.text}")
            if b.level == 1 and toc:
                out.append("\n".join(f"{'  ' * (level - 2)}- [{text}](#{anchor})" for level, text, anchor in toc))
        elif isinstance(b, Text):
            out.append(b.text)
        elif isinstance(b, Table):
            cell = lambda s: str(s).replace("|", "\\|")  # noqa: E731
            out.append("\n".join(["| " + " | ".join(map(cell, b.header)) + " |",
                                  "|" + "---|" * len(b.header)]
                                 + ["| " + " | ".join(map(cell, r)) + " |" for r in b.rows]))
        else:
            out.append(f"![{b.caption}]({b.path.as_posix()})")
    return "\n\n".join(out) + "\n"


# Wide tables scroll inside their own box, so the page itself never scrolls sideways (a
# phone-width window included); numbers right-aligned, text left-aligned.
STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
overflow-wrap:anywhere}.scroll{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 10px;text-align:left;vertical-align:top;
overflow-wrap:normal}th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}
nav{background:#f7f7f7;border:1px solid #ddd;padding:.5em 1em;display:inline-block}nav ul{margin:.2em 0;
padding-left:1.2em}figure{margin:1em 0}img{max-width:100%;height:auto}figcaption{color:#555;font-size:90%}"""

NUMBER = re.compile(r"^[-+]?[\d,.]+%?( \(\d+\))?( \[[-+]?[\d.,]+, [-+]?[\d.,]+\])?$")


def cell(value: object) -> str:
    text = str(value)
    return f'<td class="num">{html.escape(text)}</td>' if NUMBER.match(text) else f"<td>{html.escape(text)}</td>"


def to_html(blocks: Sequence[Block], base: Path, title: str) -> str:
    esc = html.escape
    ids = anchors(blocks)
    toc = contents(blocks, ids)
    body: list[str] = []
    for i, b in enumerate(blocks):
        if isinstance(b, Heading):
            body.append(f'<h{b.level} id="{ids[i]}">{esc(b.text)}</h{b.level}>')
            if b.level == 1 and toc:
                body.append(toc_html(toc))
        elif isinstance(b, Text):
            body.append(f"<p>{esc(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{esc(str(h))}</th>" for h in b.header)
            rows = "".join("<tr>" + "".join(map(cell, r)) + "</tr>" for r in b.rows)
            body.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>')
        else:
            data = base64.b64encode((base / b.path).read_bytes()).decode("ascii")
            body.append(f'<figure><img alt="{esc(b.caption)}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{esc(b.caption)}</figcaption></figure>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def toc_html(entries: list[tuple[int, str, str]]) -> str:
    """Nested lists of links, one level per heading level."""
    out, depth = ['<nav aria-label="Contents"><strong>Contents</strong>'], 1
    for level, text, anchor in entries:
        while depth < level:
            out.append("<ul>")
            depth += 1
        while depth > level:
            out.append("</ul>")
            depth -= 1
        out.append(f'<li><a href="#{anchor}">{html.escape(text)}</a></li>')
    out.extend(["</ul>"] * (depth - 1))
    return "".join(out) + "</nav>"
