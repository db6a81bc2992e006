"""Spreadsheets: .xlsx through openpyxl (streamed, read-only) and .csv through the csv module.

One sheet a section under its name; its first row gives the column names, and every later row
is one unit that keeps them ("Name: Alice; Age: 30"). Empty rows are skipped without being
built one by one, and a sheet stops after MAX_CELLS cells, so a sheet that claims a million
rows costs no more than the cells it holds.
"""

import csv
import io
from pathlib import Path

from rag.readers.base import Builder, Content, check_zip, decode_text, missing, parsing

READER = "openpyxl/2"
MAX_CELLS = 2_000_000  # about 50 MB of text: past it a sheet is data, not a document


def read(path: Path, data: bytes) -> Content:
    """The rows of a workbook or CSV file, sheet by sheet."""
    out = Builder()
    if path.suffix.lower() == ".csv":
        rows(csv_rows(path, data), out)
        return out.content()
    try:
        import openpyxl
    except ImportError as exc:
        raise missing(".xlsx", "openpyxl") from exc
    check_zip(path, data)
    with parsing(path):
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        for sheet in book.worksheets:
            out.heading(sheet.title)
            # The dimensions a file states are not trusted: a sheet claiming A1:XFD1048576
            # would otherwise be padded cell by cell.
            sheet.reset_dimensions()
            rows(sheet.iter_rows(values_only=True), out)
        book.close()
    return out.content()


def rows(values, out: Builder):
    """Adds a table's rows, the first non-empty one giving the column names."""
    header: list[str] | None = None
    cells = 0
    for row in values:
        texts = [shown(v) for v in row]
        if not any(texts):
            continue
        cells += len(texts)
        if cells > MAX_CELLS:
            break
        if header is None:
            header = texts
            out.row(texts)
        else:
            out.row(texts, header)


def shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def csv_rows(path: Path, data: bytes):
    text = decode_text(path, data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    return csv.reader(io.StringIO(text), dialect)
