"""EPUB through ebooklib: the chapters in spine (reading) order, each an XHTML page walked into
headings, paragraphs, list items, table rows and code blocks."""

import io
from pathlib import Path

from rag.readers.base import Builder, Content, check_zip, missing, parsing
from rag.readers.markup import html_blocks

READER = "ebooklib/3"


def read(path: Path, data: bytes) -> Content:
    """The text of an e-book, chapter after chapter."""
    try:
        from ebooklib import epub
    except ImportError as exc:
        raise missing(".epub", "ebooklib", "formats") from exc
    check_zip(path, data)
    out = Builder()
    with parsing(path):
        book = epub.read_epub(io.BytesIO(data), {"ignore_ncx": True})
        for idref, _linear in book.spine:
            item = book.get_item_with_id(idref)
            if item is not None and item.media_type in ("application/xhtml+xml", "text/html"):
                html_blocks(item.get_content(), out)
    return out.content()
