"""A tiny document model (headings, text, tables, images, galleries, folded details)
with two renderers.

Markdown links images by relative path; HTML embeds them as data URIs so the file
stands alone (mail it, open it from anywhere). Markdown keeps to what GitHub renders in
a pull-request comment (`<details>` included), since report.md is posted as one.
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
class Cell:
    """A table cell with more to say than its text: a note (a tooltip in HTML, listed under
    the table too, since a phone has no hover) and a tone that colours it as a badge."""
    text: str
    note: str = ""
    tone: str = ""  # good | bad | neutral | muted: a badge; "" plain


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str | Cell]]


@dataclass(frozen=True)
class Image:
    path: Path  # relative to the report's folder
    caption: str


@dataclass(frozen=True)
class Gallery:
    """Pictures to compare, side by side where the page is wide enough (each at least
    min_width pixels, or the page's width)."""
    images: Sequence[Image]
    min_width: int = 330


@dataclass(frozen=True)
class Details:
    """Blocks folded under a one-line summary; `anchor` lets a link land on it."""
    summary: str
    blocks: Sequence[Block]
    anchor: str = ""


Block = Heading | Text | Table | Image | Gallery | Details


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


def notes(table: Table) -> list[str]:
    """The notes of a table's cells, in reading order, each once."""
    return list(dict.fromkeys(c.note for r in table.rows for c in r if isinstance(c, Cell) and c.note))


def text_of(value: str | Cell) -> str:
    return value.text if isinstance(value, Cell) else str(value)


def to_markdown(blocks: Sequence[Block]) -> str:
    toc = contents(blocks, anchors(blocks))
    return "\n\n".join(markdown_block(b, toc) for b in blocks) + "\n"


def markdown_block(b: Block, toc: list[tuple[int, str, str]]) -> str:
    if isinstance(b, Heading):
        out = f"{'#' * b.level} {b.text}"
        if b.level == 1 and toc:
            out += "\n\n" + "\n".join(f"{'  ' * (level - 2)}- [{text}](#{anchor})" for level, text, anchor in toc)
        return out
    if isinstance(b, Text):
        return b.text
    if isinstance(b, Table):
        listed = notes(b)

        def cell(value: str | Cell) -> str:
            text = text_of(value).replace("|", "\\|")
            if isinstance(value, Cell) and value.tone:
                text = f"**{text}**"
            if isinstance(value, Cell) and value.note:
                text += f" [{listed.index(value.note) + 1}]"
            return text

        table = "\n".join(["| " + " | ".join(map(cell, b.header)) + " |", "|" + "---|" * len(b.header)]
                          + ["| " + " | ".join(map(cell, r)) + " |" for r in b.rows])
        return table + "".join(f"\n\n[{i}] {note}" for i, note in enumerate(listed, 1))
    if isinstance(b, Gallery):
        return "\n".join(markdown_block(i, toc) for i in b.images)
    if isinstance(b, Details):  # GitHub renders it; blank lines let the markdown inside render too
        inner = "\n\n".join(markdown_block(x, toc) for x in b.blocks)
        anchor = f'<a id="{b.anchor}"></a>' if b.anchor else ""
        return f"<details><summary>{html.escape(b.summary)}</summary>{anchor}\n\n{inner}\n\n</details>"
    return f"![{b.caption}]({b.path.as_posix()})"


# Wide tables scroll inside their own box, so the page itself never scrolls sideways (a
# phone-width window included); numbers right-aligned, text left-aligned.
STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;
overflow-wrap:anywhere}.scroll{overflow-x:auto;margin:1em 0}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 10px;text-align:left;vertical-align:top;
overflow-wrap:normal}th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap}
nav{background:#f7f7f7;border:1px solid #ddd;padding:.5em 1em;display:inline-block}nav ul{margin:.2em 0;
padding-left:1.2em}figure{margin:1em 0}img{max-width:100%;height:auto}figcaption{color:#555;font-size:90%}
.gallery{display:grid;gap:0 1em}
details{border:1px solid #ddd;border-radius:4px;padding:.3em .8em;margin:.6em 0}summary{cursor:pointer;font-weight:600}
.tip{text-decoration:underline dotted;cursor:help}.notes{font-size:90%;color:#444}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:90%;font-weight:600;white-space:nowrap}
.good{background:#d7f0dc;color:#14532d}.bad{background:#fbd5d5;color:#7f1d1d}.neutral{background:#fdf0c8;color:#5c4400}
.muted{background:#e8e8e8;color:#444}"""

NUMBER = re.compile(r"^[-+]?[\d,.]+%?( \(\d+\))?( \[[-+]?[\d.,]+, [-+]?[\d.,]+\])?$")


def cell(value: str | Cell) -> str:
    text = text_of(value)
    inner = html.escape(text)
    if isinstance(value, Cell) and (value.tone or value.note):
        classes = " ".join(filter(None, ["badge " + value.tone if value.tone else "", "tip" if value.note else ""]))
        title = f' title="{html.escape(value.note)}"' if value.note else ""
        inner = f'<span class="{classes}"{title}>{inner}</span>'
    return f'<td class="num">{inner}</td>' if NUMBER.match(text) else f"<td>{inner}</td>"


def to_html(blocks: Sequence[Block], base: Path, title: str) -> str:
    esc = html.escape
    ids = anchors(blocks)
    toc = contents(blocks, ids)

    def render(i: int | None, b: Block) -> str:
        if isinstance(b, Heading):
            return (f'<h{b.level} id="{ids[i]}">{esc(b.text)}</h{b.level}>'
                    + (toc_html(toc) if b.level == 1 and toc else ""))
        if isinstance(b, Text):
            return f"<p>{esc(b.text)}</p>"
        if isinstance(b, Table):
            head = "".join(f"<th>{esc(str(h))}</th>" for h in b.header)
            rows = "".join("<tr>" + "".join(map(cell, r)) + "</tr>" for r in b.rows)
            listed = "".join(f"<li>{esc(n)}</li>" for n in notes(b))
            return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'
                    + (f'<details class="notes"><summary>Notes</summary><ol>{listed}</ol></details>'
                       if listed else ""))
        if isinstance(b, Gallery):
            columns = f"repeat(auto-fill,minmax(min(100%,{b.min_width}px),1fr))"
            return (f'<div class="gallery" style="grid-template-columns:{columns}">'
                    + "".join(render(None, x) for x in b.images) + "</div>")
        if isinstance(b, Details):
            anchor = f' id="{esc(b.anchor)}"' if b.anchor else ""
            return (f"<details{anchor}><summary>{esc(b.summary)}</summary>"
                    + "\n".join(render(None, x) for x in b.blocks) + "</details>")
        data = base64.b64encode((base / b.path).read_bytes()).decode("ascii")
        return (f'<figure><img alt="{esc(b.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{esc(b.caption)}</figcaption></figure>")

    body = [render(i, b) for i, b in enumerate(blocks)]
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
