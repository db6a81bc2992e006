"""AsciiDoc through asciidoc-py (AsciiDoc's own Python implementation; no Ruby): its DocBook
output walked into section titles, paragraphs, list items, table rows and code blocks.

asciidoc-py is GPLv2+, so rag runs its command line as a program of its own and does not import
it. It runs in safe mode: system macros (`sys::[...]`, which would run shell commands) are
refused and an include may not reach outside the file's folder. Its HTML backends do not run
in safe mode (their own templates use `ifeval`), DocBook 5 does.
"""

import importlib.util
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from rag.errors import DocumentError
from rag.readers.base import Builder, Content, decode_text, missing, parsing

READER = "asciidoc-py/1"
SECONDS = 60  # a document that takes longer is refused, not waited for
DOCBOOK = "{http://docbook.org/ns/docbook}"
PARAGRAPHS = {"simpara", "para", "attribution", "caption"}
CODE = {"programlisting", "screen", "literallayout"}
HIDDEN = {"indexterm", "remark", "colspec", "spanspec", "info"}


def read(path: Path, data: bytes) -> Content:
    """The text of an AsciiDoc file."""
    if importlib.util.find_spec("asciidoc") is None:
        raise missing(".adoc", "asciidoc", "adoc")
    decode_text(path, data)  # a binary file or another encoding is refused as for any text file
    command = [sys.executable, "-m", "asciidoc", "--safe", "--backend", "docbook5", "--out-file", "-", path.name]
    try:
        done = subprocess.run(command, cwd=path.parent, capture_output=True, timeout=SECONDS)
    except subprocess.TimeoutExpired as exc:
        raise DocumentError(path, f"asciidoc did not finish within {SECONDS} s") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DocumentError(path, f"asciidoc could not read it: {message[-1] if message else done.returncode}")
    out = Builder()
    with parsing(path):
        root = ElementTree.fromstring(done.stdout)
        title = root.find(f"{DOCBOOK}info/{DOCBOOK}title")
        if title is not None:
            out.heading(text_of(title))
        walk(root, out)
    return out.content()


def walk(children, out: Builder):
    """Adds the blocks of an element's children (or of a list of elements)."""
    for child in children:
        name = local(child.tag)
        if name in HIDDEN:
            continue
        if name == "title":
            out.heading(text_of(child))
        elif name in PARAGRAPHS:
            out.paragraph(text_of(child))
        elif name in CODE:
            out.code("".join(child.itertext()))
        elif name == "listitem":
            item(child, out)
        elif name == "varlistentry":
            entry(child, out)
        elif name == "tgroup":
            table(child, out)
        else:
            walk(child, out)


def item(node, out: Builder, term: str = ""):
    """A list item: its first paragraph is the item (after its term, in a labelled list)."""
    children = [c for c in node if local(c.tag) not in HIDDEN]
    if children and local(children[0].tag) in PARAGRAPHS:
        first = text_of(children[0])
        out.item(f"{term}: {first}" if term else first)
        children = children[1:]
    elif term:
        out.item(term)
    walk(children, out)


def entry(node, out: Builder):
    terms = [text_of(t) for t in node if local(t.tag) == "term"]
    for child in node:
        if local(child.tag) == "listitem":
            item(child, out, " / ".join(terms))


def table(tgroup, out: Builder):
    """Each body row a unit, its cells after the header row's column names."""
    header: list[str] = []
    for group in tgroup:
        rows = [[text_of(cell) for cell in row if local(cell.tag) == "entry"] for row in group if local(row.tag) == "row"]
        if local(group.tag) == "thead":
            header = rows[-1] if rows else []
        else:
            for cells in rows:
                out.row(cells, header)


def text_of(element) -> str:
    return " ".join("".join(element.itertext()).split())


def local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""
