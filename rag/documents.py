"""Files -> Documents: each file read by the reader of its format (rag/readers/).

For .txt the text is the file's own characters (newlines kept as they are), so citation
offsets point straight into the file. Every other format is read into text first, with its
structure (headings, list items, table rows) as blocks; offsets then point into that text,
which the index keeps beside the chunks.
"""

import hashlib
import logging
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.config import Config
from rag.errors import DocumentError
from rag.readers import SUPPORTED_SUFFIXES, reader_for

log = logging.getLogger(__name__)

MAX_FILE_MB = Config.max_file_mb  # the default limit


@dataclass(frozen=True)
class Document:
    """A readable file of the corpus.

    Attributes:
        source: the path relative to the corpus folder, with forward slashes.
        text: the text that chunks and citations point into.
        sha256: hash of the file's bytes, used to notice changes.
        blocks: (start, end, kind) of the headings, list items, table rows, paragraphs and code
            blocks its reader found; empty when the chunker finds the structure (plain text).
        reader: which reading gave the text (rag/readers/, READER); a file read by an older
            reading is read again even if its bytes did not change.
    """

    source: str
    text: str
    sha256: str
    blocks: tuple[tuple[int, int, str], ...] = ()
    reader: str = ""

    def __post_init__(self):
        # Read back from JSON the blocks are lists; kept as tuples so a Document stays hashable.
        object.__setattr__(self, "blocks", tuple(tuple(b) for b in self.blocks))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def list_files(root: Path) -> tuple[list[Path], list[Path]]:
    """Finds the files under root that rag can read.

    Returns:
        (supported files, ignored files), both sorted; hidden files and folders are left out.
    """
    supported, ignored = [], []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        (supported if path.suffix.lower() in SUPPORTED_SUFFIXES else ignored).append(path)
    return supported, ignored


def read_document(path: Path, root: Path, data: bytes | None = None, max_mb: float = MAX_FILE_MB) -> Document:
    """Reads one file into a Document.

    Args:
        path: the file.
        root: the corpus folder, for the relative source name.
        data: the file's bytes if already read.
        max_mb: larger files are refused before they are read (Config.max_file_mb): a huge
            file would take its size several times over in memory as text, units and chunks.

    Raises:
        DocumentError: the file cannot be read, is too large, or holds no text.
    """
    if data is None:
        try:
            check_size(path, path.stat().st_size, max_mb)
            data = path.read_bytes()
        except OSError as exc:
            raise DocumentError(path, exc.strerror or str(exc)) from exc
    check_size(path, len(data), max_mb)
    reader = reader_for(path.suffix)
    if reader is None:
        raise DocumentError(path, f"unsupported file type {path.suffix.lower()!r}")
    content = reader.read(path, data)
    if not content.text.strip():
        raise DocumentError(path, "no text in it")
    source = path.relative_to(root).as_posix()
    return Document(source, content.text, sha256_bytes(data), content.blocks, reader.READER)


def reading(path: Path) -> str:
    """Which reading a file of this name gets now (its reader's READER)."""
    reader = reader_for(path.suffix)
    return reader.READER if reader else ""


def check_size(path: Path, size: int, max_mb: float):
    if size > max_mb * 1_000_000:
        raise DocumentError(path, f"it is {size / 1e6:.3g} MB, over the {max_mb:g} MB limit (max_file_mb)")


def upload_name(name: str) -> str:
    """A safe name in the corpus folder for a file given by name from outside (an upload):
    no folders (`../../x.txt` and `/etc/x.txt` give `x.txt`), no control characters, not
    hidden (a leading dot would make the corpus ignore it), at most about 150 bytes."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if unicodedata.category(c)[0] == "C" else c for c in name).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = stem.encode()[:150].decode(errors="ignore").strip(" .")
    return f"{stem or 'upload'}{dot}{suffix}"
