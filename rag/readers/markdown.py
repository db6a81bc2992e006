"""Markdown read as CommonMark (markdown-it-py): what a reader of the rendered page sees.

A soft line break is a space; headings, list items, table rows and code blocks are blocks of
their own; inline HTML, comments, reference-link definitions, front matter and mdBook's
`{{#...}}` directives are left out of the text.
"""

import re
from pathlib import Path

from rag.readers.base import BULLET, Builder, Content, decode_text, missing

READER = "markdown-it/2"
FRONT_MATTER = re.compile(r"\A(?:---|\+\+\+)[ \t]*\r?\n.*?\r?\n(?:---|\+\+\+|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL)
DIRECTIVE = re.compile(r"\{\{#[^{}]*\}\}")


def read(path: Path, data: bytes) -> Content:
    """The rendered text of a Markdown file, with its blocks."""
    return markdown_to_content(decode_text(path, data))


def markdown_to_content(source: str) -> Content:
    try:
        from markdown_it import MarkdownIt
    except ImportError as exc:
        raise missing(".md", "markdown-it-py") from exc
    source = FRONT_MATTER.sub("", source, count=1)
    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    out = Builder()
    walk(tokens, out)
    return out.content()


def walk(tokens, out: Builder):
    """Adds the blocks of a token stream: each heading, paragraph, list item, row and code block."""
    lists: list[list] = []  # one [ordered, number] per open list
    item_open = False  # the next paragraph is a list item's first
    header: list[str] = []
    row: list[str] | None = None
    in_head = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if kind == "heading_open":
            out.heading(inline_text(tokens[i + 1]))
            i += 2
        elif kind in ("bullet_list_open", "ordered_list_open"):
            lists.append([kind == "ordered_list_open", int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            item_open = True
        elif kind == "list_item_close":
            item_open = False
        elif kind == "paragraph_open":
            text = inline_text(tokens[i + 1])
            if item_open and lists:
                ordered, number = lists[-1]
                out.item(text, f"{number}. " if ordered else BULLET)
                lists[-1][1] += 1
                item_open = False
            else:
                out.paragraph(text)
            i += 2
        elif kind in ("fence", "code_block"):
            out.code(token.content)
        elif kind == "html_block":
            out.paragraph(visible_html(token.content))
        elif kind == "thead_open":
            in_head, header = True, []
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            row = []
        elif kind in ("th_open", "td_open"):
            row.append(inline_text(tokens[i + 1]))
            i += 2
        elif kind == "tr_close":
            if in_head:
                header = row
            else:
                out.row(row, header)
            row = None
        i += 1


def inline_text(token) -> str:
    """The visible text of an inline token: its words, with inline HTML and images left out."""
    parts: list[str] = []
    hidden = 0
    for child in token.children or []:
        kind = child.type
        if kind == "html_inline":
            hidden += html_depth(child.content)
            hidden = max(hidden, 0)
        elif hidden:
            continue
        elif kind in ("text", "code_inline"):
            parts.append(child.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif kind == "image":
            continue
    return DIRECTIVE.sub("", "".join(parts))


def html_depth(tag: str) -> int:
    """+1 when an inline tag opens an element whose content is hidden, -1 when it closes one."""
    name = re.match(r"<(/?)([a-zA-Z][\w-]*)", tag)
    if not name or name.group(2).lower() not in ("sup", "sub", "script", "style"):
        return 0
    return -1 if name.group(1) else 1


def visible_html(html: str) -> str:
    """The words a block of raw HTML shows (none for a comment or a bare tag)."""
    if html.lstrip().startswith("<!--"):
        return ""
    try:
        from bs4 import BeautifulSoup
    except ImportError as exc:
        raise missing(".md", "beautifulsoup4") from exc
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(("script", "style", "sup", "sub")):
        tag.decompose()
    return DIRECTIVE.sub("", " ".join(soup.get_text(" ").split()))
