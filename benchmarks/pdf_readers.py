"""PDF reading speed: pypdf (the reader before, as it was) against PDFium (rag/readers/pdf.py) on
the same files, pages a second over all of them (best of 3), and whether running headers remain.

    .venv/bin/python benchmarks/pdf_readers.py corpora/nut/*.pdf corpora/asy/*.pdf
"""

import io
import re
import sys
import time
from pathlib import Path

from rag.errors import DocumentError
from rag.readers import pdf as pdfium_reader


def with_pypdf(path: Path, data: bytes) -> tuple[int, str]:
    """The pypdf reading this project had until 2026-12 (rag/documents.py pdf_to_text)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = [page.extract_text() or "" for page in reader.pages]
    return len(pages), "\n\n".join(pdfium_reader.join_wrapped_lines(p) for p in pages if p.strip())


def with_pdfium(path: Path, data: bytes) -> tuple[int, str]:
    import pypdfium2

    return len(pypdfium2.PdfDocument(data)), pdfium_reader.read(path, data).text


def main(names: list[str]):
    files = [(Path(n), Path(n).read_bytes()) for n in names]
    header = re.compile(r"Network UPS Tools (?:User Manual|Developer Guide) \d|Chapter \d+: [A-Z][\w -]+ \d+")
    for reader in (with_pypdf, with_pdfium):
        best, pages, headers = float("inf"), 0, 0
        for _ in range(3):
            started, pages, headers = time.perf_counter(), 0, 0
            for path, data in files:
                try:
                    count, text = reader(path, data)
                except DocumentError:
                    continue
                pages += count
                headers += len(header.findall(text))
            best = min(best, time.perf_counter() - started)
        print(f"{reader.__name__:12} {pages} pages in {best:.2f} s: {pages / best:.0f} pages/s; "
              f"running headers left in the text: {headers}")


if __name__ == "__main__":
    main(sys.argv[1:])
