"""One reader per format behind one seam, `read(path, data) -> Content`, and the table from a
file's suffix to its reader. Each reader imports its parser inside `read`, so this table costs
nothing to import; a parser that is not installed gives an error naming the extra to install.
"""

from types import ModuleType

from rag.readers import (
    asciidoc,
    epub,
    html,
    markdown,
    opendocument,
    pdf,
    rst,
    sheets,
    slides,
    text,
    word,
)

READERS: dict[str, ModuleType] = {
    ".txt": text,
    ".md": markdown, ".markdown": markdown,
    ".html": html, ".htm": html,
    ".pdf": pdf,
    ".docx": word,
    ".pptx": slides,
    ".xlsx": sheets, ".csv": sheets,
    ".odt": opendocument, ".odp": opendocument,
    ".epub": epub,
    ".rst": rst,
    ".adoc": asciidoc, ".asciidoc": asciidoc,
}
SUPPORTED_SUFFIXES = tuple(READERS)


def reader_for(suffix: str) -> ModuleType | None:
    """The reader of files with this suffix (any case), or None."""
    return READERS.get(suffix.lower())
