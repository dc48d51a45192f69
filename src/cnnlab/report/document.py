"""A tiny document model (headings, text, tables, images) with two renderers.

Markdown links images by relative path; HTML embeds them as data URIs so the file
stands alone (mail it, open it from anywhere).
"""

from __future__ import annotations

import base64
import html
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


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {b.text}")
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


STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:90%}"""


def to_html(blocks: Sequence[Block], base: Path, title: str) -> str:
    esc = html.escape
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{esc(b.text)}</h{b.level}>")
        elif isinstance(b, Text):
            body.append(f"<p>{esc(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{esc(str(h))}</th>" for h in b.header)
            rows = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in r) + "</tr>" for r in b.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            data = base64.b64encode((base / b.path).read_bytes()).decode("ascii")
            body.append(f'<figure><img alt="{esc(b.caption)}" src="data:image/png;base64,{data}">'
                        f"<figcaption>{esc(b.caption)}</figcaption></figure>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
