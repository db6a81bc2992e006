"""PDF through PDFium (pypdfium2): text page after page, in PDFium's reading order.

PDFium joins words split by a hyphen at a line's end (marking the join with U+FFFE, taken out
here) and knows ligatures. Running headers, footers and page numbers are page furniture: a line
at the top or bottom of a page that recurs on several pages (once digits are ignored) is left
out, so "Chapter 2: Installation 6" never lands inside a quoted sentence. A PDF with no text on
any page is refused as likely scanned.
"""

import logging
import re
from collections import Counter
from pathlib import Path

from rag.errors import DocumentError
from rag.readers.base import Content, missing

log = logging.getLogger(__name__)

READER = "pdfium/2"
EDGE_LINES = 2  # lines looked at from the top and from the bottom of each page
MIN_REPEATS = 3  # pages a line must recur on to be furniture
LIGATURES = str.maketrans({"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
                           "\ufb05": "st", "\ufb06": "st", "\ufffe": "", "\x02": ""})
# PDFium inflates a stream whole, however large: a stream of a few hundred kB can inflate to
# gigabytes (a decompression bomb). Each Flate stream is inflated once here, output discarded,
# and the file refused past this (pypdf, the reader before, stopped at 75 MB).
MAX_STREAM_MB = 100
STREAM = re.compile(rb"/FlateDecode.{0,400}?stream\r?\n", re.DOTALL)
NUMBERS = re.compile(r"\b(?:\d+|[ivxlcdm]{1,7})\b", re.IGNORECASE)


def read(path: Path, data: bytes) -> Content:
    """The text of a PDF with its page furniture left out."""
    pages = page_texts(path, data)
    if not any(page.strip() for page in pages):
        raise DocumentError(path, "no text layer: scanned? (no page holds text)")
    empty = [str(n) for n, page in enumerate(pages, 1) if not page.strip()]
    if empty:
        log.warning("%s: no text layer on page %s (scanned?)", path.name, ", ".join(empty[:20]))
    lines = [[line.strip() for line in page.split("\n") if line.strip()] for page in pages]
    furniture = repeated_edges(lines)
    texts = [join_wrapped_lines("\n".join(strip_edges(page, furniture))) for page in lines]
    return Content(join_pages([text for text in texts if text]))


def join_pages(pages: list[str]) -> str:
    """Pages one after another, a blank line between them, except where a sentence runs on
    from one page to the next: with the running header and page number out of the way, a page
    that ends mid-sentence and a next page that goes on in lower case are one paragraph."""
    text = "\n\n".join(pages)
    text = re.sub(r"(\w)-\n\n(?=[a-z])", r"\1", text)
    return re.sub(r"(?<![.!?:])[ \t]*\n\n(?=[a-z(])", " ", text)


def check_streams(path: Path, data: bytes):
    """Refuses a PDF with a Flate stream that inflates past MAX_STREAM_MB."""
    import zlib

    limit, piece = MAX_STREAM_MB * 1_000_000, 1 << 16
    for match in STREAM.finditer(data):
        inflater = zlib.decompressobj()
        size, position = 0, match.end()
        try:
            # 64 kB in inflates to at most about 64 MB out (Deflate's ratio is at most ~1030:1).
            while position < len(data) and size <= limit and not inflater.eof:
                size += len(inflater.decompress(data[position:position + piece]))
                position += piece
        except zlib.error:
            continue  # a damaged stream: PDFium decides what to make of it
        if size > limit:
            raise DocumentError(path, f"a stream in it inflates past the {MAX_STREAM_MB} MB limit (a decompression bomb?)")


def page_texts(path: Path, data: bytes) -> list[str]:
    check_streams(path, data)
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:
        raise missing(".pdf", "pypdfium2") from exc
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DocumentError(path, "the PDF is encrypted with a password") from exc
        raise DocumentError(path, f"not a readable PDF ({exc})") from exc
    try:
        texts = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range().replace("\r\n", "\n").replace("\r", "\n").translate(LIGATURES))
            textpage.close()
            page.close()
        return texts
    except pdfium.PdfiumError as exc:
        raise DocumentError(path, f"not a readable PDF ({exc})") from exc
    finally:
        pdf.close()


def shape(line: str) -> str:
    """A line with its numbers blanked: page 6's header and page 7's are the same line."""
    return NUMBERS.sub("#", " ".join(line.split()))


def repeated_edges(pages: list[list[str]]) -> set[str]:
    """The shapes of lines at the top or bottom of pages that are page furniture: recurring on
    at least MIN_REPEATS pages and either numbered at an end (a page number: "Chapter 2:
    Installation 6", "12 / 135") or a title on half the pages or more (a running title). A
    closing brace or a table's header that happens to open several pages is neither."""
    seen = Counter()
    for lines in pages:
        edges = lines[:EDGE_LINES] + lines[-EDGE_LINES:]
        seen.update({shape(line) for line in edges} | {skeleton(line) for line in edges} - {""})
    return {line for line, count in seen.items()
            if count >= MIN_REPEATS and (line.startswith("#") or line.endswith("#") or 2 * count >= len(pages) and title(line))}


def title(line: str) -> bool:
    """A line that reads as a running title, not a sentence: short, no closing punctuation."""
    return len(line.split()) <= 10 and not re.search(r"[.,;:!?]$", line)


def skeleton(line: str) -> str:
    """A numbered header's first word and its number ("Chapter … #"): a chapter of one page
    repeats no header, but its header has the shape of those of the long chapters."""
    words = shape(line).split()
    return f"{words[0]} … #" if len(words) > 2 and words[-1] == "#" and "#" not in words[0] else ""


def furniture_line(line: str, furniture: set[str]) -> bool:
    return shape(line) in furniture or skeleton(line) in furniture


def strip_edges(lines: list[str], furniture: set[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < min(end, EDGE_LINES) and furniture_line(lines[start], furniture):
        start += 1
    while end > max(start, len(lines) - EDGE_LINES) and furniture_line(lines[end - 1], furniture):
        end -= 1
    return lines[start:end]


def join_wrapped_lines(text: str) -> str:
    # PDF extraction breaks lines where the page did; a line that runs on in lower case is
    # one sentence, so the break becomes a space (or disappears after a hyphen). A semicolon
    # does not end a sentence: "The command import graph;" / "is an abbreviation for ..." is one.
    text = re.sub(r"(\w)-\n(?=[a-z])", r"\1", text)
    text = re.sub(r"(?<![.!?:])[ \t]*\n(?=[a-z(])", " ", text)
    return text.strip()
