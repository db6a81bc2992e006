"""reStructuredText through docutils: its document tree walked into section titles, paragraphs,
list items, table rows and literal blocks. Directives that reach outside the file (include,
raw) are off, and docutils' own warnings stay out of the text."""

from pathlib import Path

from rag.readers.base import Builder, Content, decode_text, missing, parsing

READER = "docutils/2"
SETTINGS = {"report_level": 5, "halt_level": 5, "file_insertion_enabled": False, "raw_enabled": False,
            "warning_stream": False, "input_encoding": "unicode", "_disable_config": True}
HIDDEN = ("comment", "system_message", "substitution_definition", "target", "raw", "pending", "docinfo")


def read(path: Path, data: bytes) -> Content:
    """The text of a reStructuredText file."""
    try:
        from docutils.core import publish_doctree
    except ImportError as exc:
        raise missing(".rst", "docutils", "formats") from exc
    source = decode_text(path, data)
    out = Builder()
    with parsing(path):  # docutils' SystemMessage and what a broken table raises
        walk(publish_doctree(source, settings_overrides=SETTINGS).children, out)
    return out.content()


def walk(nodes, out: Builder):
    for child in nodes:
        name = child.tagname
        if name in HIDDEN:
            continue
        if name in ("title", "subtitle", "rubric"):
            out.heading(child.astext())
        elif name == "paragraph":
            out.paragraph(child.astext())
        elif name in ("literal_block", "doctest_block"):
            out.code(child.astext())
        elif name == "list_item" or name == "definition_list_item" or name == "field":
            item(child, out)
        elif name == "table":
            table(child, out)
        elif hasattr(child, "children"):
            walk(child.children, out)


def item(node, out: Builder):
    """A list item: its first paragraph (or term) is the item; what follows is walked."""
    children = [c for c in node.children if c.tagname not in HIDDEN]
    if not children:
        return
    first, rest = children[0], children[1:]
    if first.tagname in ("term", "field_name") and rest:
        body = rest[0].children[0] if rest[0].children else None
        if body is not None and body.tagname == "paragraph":
            out.item(f"{first.astext()}: {body.astext()}")
            rest = [*rest[0].children[1:], *rest[1:]]
        else:
            out.item(first.astext())
    elif first.tagname == "paragraph":
        out.item(first.astext())
    else:
        rest = children
    walk(rest, out)


def table(node, out: Builder):
    header: list[str] = []
    for group in node.findall(lambda n: n.tagname in ("thead", "tbody")):
        for row in group.findall(lambda n: n.tagname == "row"):
            cells = [entry.astext() for entry in row.children]
            if group.tagname == "thead":
                header = cells
            else:
                out.row(cells, header)
