"""Plain text: the file's own characters, newlines kept, so offsets point straight into the file."""

from pathlib import Path

from rag.readers.base import Content, decode_text

READER = ""


def read(path: Path, data: bytes) -> Content:
    """The text of a UTF-8 or Windows-1252 file; the chunker finds its structure."""
    return Content(decode_text(path, data))
