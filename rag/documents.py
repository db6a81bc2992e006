"""Files -> Documents: one reader per format, each returning plain text.

For .txt and .md the text is the file's own characters (newlines kept as they are), so
citation offsets point straight into the file. HTML and PDF are read into text first;
offsets then point into that text, which the index keeps beside the chunks.
"""

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.config import Config
from rag.errors import DocumentError, MissingDependencyError

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
PDF_SUFFIXES = (".pdf",)
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES
MAX_FILE_MB = Config.max_file_mb  # the default limit


@dataclass(frozen=True)
class Document:
    """A readable file of the corpus.

    Attributes:
        source: the path relative to the corpus folder, with forward slashes.
        text: the text that chunks and citations point into.
        sha256: hash of the file's bytes, used to notice changes.
    """

    source: str
    text: str
    sha256: str


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
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        text = decode_text(path, data)
    elif suffix in HTML_SUFFIXES:
        text = html_to_text(decode_text(path, data))
    elif suffix in PDF_SUFFIXES:
        text = pdf_to_text(path, data)
    else:
        raise DocumentError(path, f"unsupported file type {suffix!r}")
    if not text.strip():
        raise DocumentError(path, "no text in it")
    source = path.relative_to(root).as_posix()
    return Document(source=source, text=text, sha256=sha256_bytes(data))


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


def decode_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise DocumentError(path, "it looks like a binary file, not text")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DocumentError(path, "it is neither UTF-8 nor Windows-1252 text")


BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "form", "h", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "title", "tr", "ul",
}
SKIP_TAGS = ("script", "style", "noscript", "template", "svg", "head", "nav", "form", "select", "button")
# Site furniture that every page of a documentation site repeats (menus, search boxes, the
# logo's tagline): by class, id or role. Its text would otherwise be a chunk of every page.
FURNITURE = re.compile(r"^(?:nav|navbar|navigation|menu|mainmenu|submenu|menubar|breadcrumbs?|sidebar|tagline|search|searchbox|searchmenu)$",
                       re.IGNORECASE)
BLOCK_BREAK = "\x00"  # marks block edges; the page's own line breaks are only white space


def html_to_text(html: str) -> str:
    """Visible text of an HTML page: one block (paragraph, heading, term, list item) a
    paragraph, with the line breaks of the HTML source inside a block turned into spaces."""
    try:
        from bs4 import BeautifulSoup
    except ImportError as exc:
        raise MissingDependencyError("reading .html needs beautifulsoup4: pip install beautifulsoup4") from exc
    soup = BeautifulSoup(html, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(SKIP_TAGS):
        tag.decompose()
    for tag in soup.find_all(furniture):
        tag.decompose()
    for tag in soup.find_all(BLOCK_TAGS):
        tag.insert_before(BLOCK_BREAK + ("- " if tag.name == "li" else ""))
        tag.insert_after(BLOCK_BREAK)
    blocks = [" ".join(block.split()) for block in soup.get_text().split(BLOCK_BREAK)]
    body = "\n\n".join(block for block in blocks if block and block != "-")
    return f"{title}\n\n{body}" if title and not body.startswith(title) else body


def furniture(tag) -> bool:
    """Whether an element is a menu, breadcrumb trail, sidebar or tagline (by class, id or role)."""
    if tag.attrs is None:  # already removed with an enclosing element
        return False
    names = list(tag.get("class") or []) + (tag.get("id") or "").split() + (tag.get("role") or "").split()
    return any(FURNITURE.match(name) for name in names)


def pdf_to_text(path: Path, data: bytes) -> str:
    """Text of a PDF, page after page, with hard-wrapped lines joined into paragraphs."""
    try:
        import io

        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as exc:
        raise MissingDependencyError("reading .pdf needs pypdf: pip install pypdf") from exc
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
