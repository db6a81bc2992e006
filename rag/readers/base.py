"""What every reader returns: the extracted text and its structure, built one block at a time.

A reader walks its format's own structure (paragraphs, headings, list items, table rows) and
adds each block here; the text is the blocks joined by blank lines, and each block keeps its
offsets, so a citation's quote is exactly the text between them.
"""

import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import DocumentError

HEADING, ITEM, TEXT, CODE = "heading", "item", "text", "code"
BULLET = "• "
# A zip (docx, xlsx, pptx, odt, epub) is refused before it is opened when its parts would
# inflate past this: a zip bomb of a few kB can declare gigabytes.
MAX_UNZIPPED_MB = 200
MAX_ZIP_MEMBERS = 20_000


@dataclass(frozen=True)
class Content:
    """A file's extracted text and its blocks.

    Attributes:
        text: the text citations point into.
        blocks: (start, end, kind) of each heading, list item, table row, paragraph or code
            block, in order; empty when the structure is left to the chunker to guess (plain text).
    """

    text: str
    blocks: tuple[tuple[int, int, str], ...] = ()


@dataclass
class Builder:
    """Joins blocks into one text, one block a paragraph, and records where each one is."""

    parts: list[str] = field(default_factory=list)
    blocks: list[tuple[int, int, str]] = field(default_factory=list)
    length: int = 0

    def add(self, kind: str, text: str, prefix: str = ""):
        """Adds a block; white space inside it is collapsed (kept as it is in code)."""
        text = text.strip("\n") if kind == CODE else " ".join(text.split())
        if not text.strip():
            return
        if self.parts:
            self._append("\n\n")
        start = self.length
        self._append(prefix + text)
        self.blocks.append((start, self.length, kind))

    def heading(self, text: str):
        self.add(HEADING, text)

    def paragraph(self, text: str):
        self.add(TEXT, text)

    def item(self, text: str, marker: str = BULLET):
        self.add(ITEM, text, marker)

    def row(self, cells: list[str], names: list[str] | None = None):
        """A table row as one unit; each cell after its column's name where the table has one."""
        cells = [" ".join(str(c).split()) for c in cells]
        names = names or []
        shown = [f"{names[i]}: {c}" if i < len(names) and names[i] and names[i] != c else c
                 for i, c in enumerate(cells) if c]
        if shown:
            self.add(ITEM, "; ".join(shown))

    def code(self, text: str):
        self.add(CODE, text)

    def content(self) -> Content:
        return Content("".join(self.parts), tuple(self.blocks))

    def _append(self, piece: str):
        self.parts.append(piece)
        self.length += len(piece)


def check_zip(path: Path, data: bytes) -> zipfile.ZipFile:
    """Opens an Office, OpenDocument or EPUB file as the zip it is, refusing a zip bomb.

    Raises:
        DocumentError: not a zip, or its parts would inflate past MAX_UNZIPPED_MB.
    """
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentError(path, f"not a readable {path.suffix.lower()} file: it is not a valid zip ({exc})") from exc
    if len(members) > MAX_ZIP_MEMBERS:
        raise DocumentError(path, f"it holds {len(members)} parts, over the limit of {MAX_ZIP_MEMBERS} (a zip bomb?)")
    # The sizes a zip declares bound what zipfile will inflate: it stops at the declared size.
    inflated = sum(m.file_size for m in members)
    if inflated > MAX_UNZIPPED_MB * 1_000_000:
        raise DocumentError(path, f"it would inflate to {inflated / 1e6:.0f} MB, over the {MAX_UNZIPPED_MB} MB limit "
                                  "for unzipped parts (a zip bomb?)")
    return archive


def decode_text(path: Path, data: bytes) -> str:
    """Text of a file in UTF-8 (with or without BOM) or Windows-1252."""
    if b"\x00" in data[:4096]:
        raise DocumentError(path, "it looks like a binary file, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DocumentError(path, "it is neither UTF-8 nor Windows-1252 text")


def missing(suffix: str, package: str, extra: str | None = None):
    """The error for a reader whose library is not installed, naming what to install."""
    from rag.errors import MissingDependencyError

    how = f"pip install 'rag[{extra}]'" if extra else f"pip install {package}"
    return MissingDependencyError(f"reading {suffix} files needs {package}: {how}")


@contextmanager
def parsing(path: Path):
    """Around a parser: whatever it raises on a corrupt file becomes the file's DocumentError
    (unreadable); a DocumentError of the reader's own passes as it is."""
    try:
        yield
    except DocumentError:
        raise
    except Exception as exc:  # a corrupt part: see unreadable()
        raise unreadable(path, exc) from exc


def unreadable(path: Path, exc: Exception) -> DocumentError:
    """The error for a file its parser gave up on.

    A corrupt file can make a parser raise almost anything (KeyError, lxml's XMLSyntaxError,
    zipfile's BadZipFile, ValueError...), so readers catch Exception around their parser and
    name the file and the parser's complaint here.
    """
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return DocumentError(path, f"not a readable {path.suffix.lower()} file ({what[:200]})")
