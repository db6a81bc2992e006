"""Word (.docx) through python-docx: paragraphs and tables in document order; a paragraph in a
Heading or Title style is a heading, one in a list (numbered or bulleted) a list item."""

import io
from pathlib import Path

from rag.readers.base import Builder, Content, check_zip, missing, parsing

READER = "python-docx/3"


def read(path: Path, data: bytes) -> Content:
    """The text of a Word document, with its headings, list items and table rows."""
    try:
        import docx
        import docx.enum.style
        from docx.table import Table
        from docx.text.paragraph import Paragraph
    except ImportError as exc:
        raise missing(".docx", "python-docx") from exc
    check_zip(path, data)
    out = Builder()
    with parsing(path):
        document = docx.Document(io.BytesIO(data))
        # Style names looked up once: python-docx finds a paragraph's style by walking the
        # package's relationships each time, most of the reading time of a long document.
        styles = {style.style_id: style.name or "" for style in document.styles}
        default = document.styles.default(docx.enum.style.WD_STYLE_TYPE.PARAGRAPH)
        for element in document.element.body.iterchildren():
            tag = element.tag.rsplit("}", 1)[-1]
            if tag == "p":
                style_id = element.style
                name = styles.get(style_id, "") if style_id else (default.name if default is not None else "")
                paragraph(Paragraph(element, document), name or "", out)
            elif tag == "tbl":
                table(Table(element, document), out)
    return out.content()


def paragraph(para, style: str, out: Builder):
    text = para.text
    if style.startswith(("Heading", "Title")):
        out.heading(text)
    elif style.startswith("List") or para._p.pPr is not None and para._p.pPr.numPr is not None:
        out.item(text)
    else:
        out.paragraph(text)


def table(tbl, out: Builder):
    """A table row by row; rows marked as header rows (repeated on each page) name the columns."""
    from docx.oxml.ns import qn

    header: list[str] = []
    for row in tbl.rows:
        cells = [cell.text for cell in unique_cells(row)]
        properties = row._tr.trPr
        if properties is not None and properties.find(qn("w:tblHeader")) is not None:
            header = cells
        else:
            out.row(cells, header)


def unique_cells(row):
    """A row's cells, a merged cell once (python-docx repeats it for each column it spans)."""
    seen, cells = set(), []
    for cell in row.cells:
        if id(cell._tc) not in seen:
            seen.add(id(cell._tc))
            cells.append(cell)
    return cells
