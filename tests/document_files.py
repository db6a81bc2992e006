"""Small files of every format, written with the real libraries (no mocks): each holds a title,
a heading, a paragraph, a list of two items and a table with a header row."""

import csv
import io
from pathlib import Path

HEADING = "Harbour opening hours"
PARAGRAPH = "The harbour office opens at seven in the morning and closes at dusk."
ITEMS = ["Ferries leave from pier four.", "Fishing boats moor at the north wall."]
TABLE = [["Boat", "Length"], ["Osprey", "12 m"], ["Kestrel", "9 m"]]
ROW = "Boat: Osprey; Length: 12 m"


def docx_file(path: Path):
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    document.add_heading(HEADING, level=1)
    document.add_paragraph(PARAGRAPH)
    for item in ITEMS:
        document.add_paragraph(item, style="List Bullet")
    table = document.add_table(rows=len(TABLE), cols=2)
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # "Repeat as header row"
    document.add_table(rows=1, cols=2).rows[0].cells[0].text = "A table without a header row"
    document.save(path)


def pptx_file(path: Path):
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    slide.shapes.title.text = HEADING
    body = slide.placeholders[1].text_frame
    body.text = ITEMS[0]
    body.add_paragraph().text = ITEMS[1]
    slide.notes_slide.notes_text_frame.text = PARAGRAPH
    second = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    second.shapes.title.text = "Boats"
    table = second.shapes.add_table(len(TABLE), 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate(TABLE):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    deck.save(path)


def xlsx_file(path: Path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = HEADING
    for row in TABLE:
        sheet.append(row)
    book.save(path)


def csv_file(path: Path):
    out = io.StringIO()
    csv.writer(out).writerows(TABLE)
    path.write_text(out.getvalue(), encoding="utf-8")


def odt_file(path: Path):
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableColumn, TableHeaderRows, TableRow
    from odf.text import H, List, ListItem, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text=HEADING))
    document.text.addElement(P(text=PARAGRAPH))
    items = List()
    for item in ITEMS:
        entry = ListItem()
        entry.addElement(P(text=item))
        items.addElement(entry)
    document.text.addElement(items)
    table = Table(name="Boats")
    table.addElement(TableColumn(numbercolumnsrepeated=2))
    head = TableHeaderRows()
    table.addElement(head)
    for n, row in enumerate(TABLE):
        table_row = TableRow()
        for value in row:
            cell = TableCell()
            cell.addElement(P(text=value))
            table_row.addElement(cell)
        (head if n == 0 else table).addElement(table_row)
    document.text.addElement(table)
    document.save(str(path))


def odp_file(path: Path):
    from odf.draw import Frame, Page, TextBox
    from odf.namespaces import PRESENTATIONNS
    from odf.opendocument import OpenDocumentPresentation
    from odf.presentation import Notes
    from odf.style import MasterPage, PageLayout
    from odf.text import P

    document = OpenDocumentPresentation()
    layout = PageLayout(name="Layout")
    document.automaticstyles.addElement(layout)
    master = MasterPage(name="Master", pagelayoutname=layout)
    document.masterstyles.addElement(master)
    page = Page(masterpagename=master, name="page1")
    document.presentation.addElement(page)
    def frame(kind: str):
        shape = Frame(width="20cm", height="5cm", x="1cm", y="1cm")
        shape.setAttrNS(PRESENTATIONNS, "class", kind)
        return shape

    title = frame("title")
    title.addElement(TextBox())
    title.firstChild.addElement(P(text=HEADING))
    page.addElement(title)
    outline = frame("outline")
    outline.addElement(TextBox())
    for item in ITEMS:
        outline.firstChild.addElement(P(text=item))
    page.addElement(outline)
    notes = Notes()
    said = frame("notes")
    said.addElement(TextBox())
    said.firstChild.addElement(P(text=PARAGRAPH))
    notes.addElement(said)
    page.addElement(notes)
    document.save(str(path))


def epub_file(path: Path):
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("harbour-1")
    book.set_title("Harbour")
    book.set_language("en")
    rows = "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in TABLE[1:])
    first = epub.EpubHtml(title="Opening", file_name="one.xhtml", lang="en")
    first.content = (f"<html><body><h1>{HEADING}</h1><p>{PARAGRAPH}</p>"
                     f"<ul>{''.join(f'<li>{i}</li>' for i in ITEMS)}</ul></body></html>")
    second = epub.EpubHtml(title="Boats", file_name="two.xhtml", lang="en")
    second.content = (f"<html><body><h2>Boats</h2><table><tr><th>{TABLE[0][0]}</th><th>{TABLE[0][1]}</th></tr>"
                      f"{rows}</table></body></html>")
    for chapter in (first, second):
        book.add_item(chapter)
    book.toc = [first, second]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = [first, second]  # reading order: the spine, not the order the files were added
    epub.write_epub(str(path), book)


def rst_file(path: Path):
    path.write_text(
        f"{HEADING}\n{'=' * len(HEADING)}\n\n"
        "The harbour office opens at seven in the morning\nand closes at dusk.\n\n"
        ".. a comment that no reader sees\n\n"
        f"- {ITEMS[0]}\n- {ITEMS[1]}\n\n"
        "======= ======\nBoat    Length\n======= ======\nOsprey  12 m\nKestrel 9 m\n======= ======\n\n"
        "::\n\n    harbour --open 7\n",
        encoding="utf-8",
    )


def md_file(path: Path):
    path.write_text(
        f"---\ntitle: Harbour\n---\n\n# {HEADING} <a id=\"open\"></a>\n\n"
        "The harbour office opens at seven in the morning\nand closes at [dusk][sun].<sup>1</sup>\n\n"
        "<!-- ignore -->\n\n{{#include ../hours.md}}\n\n"
        f"- {ITEMS[0]}\n- {ITEMS[1]}\n\n"
        "| Boat | Length |\n|------|--------|\n| Osprey | 12 m |\n| Kestrel | 9 m |\n\n"
        "```sh\nharbour --open 7\n```\n\n[sun]: https://example.com/sun \"Sunset\"\n",
        encoding="utf-8",
    )


def adoc_file(path: Path):
    path.write_text(
        f"= Harbour\n\n== {HEADING}\n\n"
        "The harbour office opens at *seven* in the morning\nand closes at dusk.\n\n"
        "// a comment that no reader sees\n\n"
        f"* {ITEMS[0]}\n* {ITEMS[1]}\n\n"
        f'[options="header"]\n|===\n|{TABLE[0][0]} |{TABLE[0][1]}\n'
        + "".join(f"|{a} |{b}\n" for a, b in TABLE[1:]) + "|===\n\n"
        "----\nharbour --open 7\n----\n",
        encoding="utf-8",
    )


WRITERS = {".docx": docx_file, ".pptx": pptx_file, ".xlsx": xlsx_file, ".csv": csv_file, ".odt": odt_file,
           ".odp": odp_file, ".epub": epub_file, ".rst": rst_file, ".md": md_file,
           ".adoc": adoc_file}
