"""PDF through pypdf: text page after page, hard-wrapped lines joined into paragraphs."""

import re
from pathlib import Path

from rag.errors import DocumentError
from rag.readers.base import Content, missing

READER = ""


def read(path: Path, data: bytes) -> Content:
    """The text of a PDF, as pypdf extracts it."""
    return Content(pdf_to_text(path, data))


def pdf_to_text(path: Path, data: bytes) -> str:
    """Text of a PDF, page after page, with hard-wrapped lines joined into paragraphs."""
    try:
        import io

        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as exc:
        raise missing(".pdf", "pypdf") from exc
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(path, "the PDF is encrypted with a password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    # PyPdfError includes LimitReachedError: a stream that would inflate past pypdf's limits
    # (a decompression bomb) is refused, not read into memory. RecursionError: a page tree
    # that loops back on itself.
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise DocumentError(path, f"not a readable PDF ({exc})") from exc
    return "\n\n".join(join_wrapped_lines(page) for page in pages if page.strip())


def join_wrapped_lines(text: str) -> str:
    # PDF extraction breaks lines where the page did; a line that runs on in lower case is
    # one sentence, so the break becomes a space (or disappears after a hyphen). A semicolon
    # does not end a sentence: "The command import graph;" / "is an abbreviation for ..." is one.
    text = re.sub(r"(\w)-\n(?=[a-z])", r"\1", text)
    text = re.sub(r"(?<![.!?:])[ \t]*\n(?=[a-z(])", " ", text)
    return text.strip()
