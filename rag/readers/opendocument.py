"""OpenDocument text (.odt) and presentations (.odp) through odfpy: headings, paragraphs, list
items and table rows in document order; a presentation's pages one section each, with notes."""

import io
from pathlib import Path

from rag.readers.base import Builder, Content, check_zip, missing, parsing

READER = "odfpy/3"


def read(path: Path, data: bytes) -> Content:
    """The text of an OpenDocument file."""
    try:
        import odf.opendocument  # noqa: F401 (odfpy is what the parts are read with)
    except ImportError as exc:
        raise missing(path.suffix.lower(), "odfpy", "formats") from exc
    archive = check_zip(path, data)
    out = Builder()
    with parsing(path):
        walk(content(archive).body, out)
    return out.content()


def content(archive):
    """The document's content part (content.xml) as odfpy's tree.

    Only content.xml is parsed, with defusedxml (no entity expansion): odfpy's own load() also
    parses the styles, and prints a whole part to stdout when one does not parse (it adds
    namespace declarations a part may already hold, as pandoc's styles.xml does).
    """
    from xml.sax import handler

    from defusedxml.sax import make_parser
    from odf.load import LoadParser
    from odf.opendocument import OpenDocument

    mimetype = archive.read("mimetype").decode() if "mimetype" in archive.namelist() else "application/vnd.oasis.opendocument.text"
    document = OpenDocument(mimetype.strip(), add_generator=False)
    document._parsing = "content.xml"  # LoadParser asks which part it reads
    parser = make_parser()
    parser.setFeature(handler.feature_namespaces, 1)
    parser.setFeature(handler.feature_external_ges, 0)
    parser.setContentHandler(LoadParser(document))
    parser.parse(io.BytesIO(archive.read("content.xml")))
    return document


def walk(element, out: Builder):
    for child in element.childNodes:
        name = getattr(child, "qname", None)
        local = name[1] if name else None
        if local == "h":
            out.heading(words(child))
        elif local == "p":
            out.paragraph(words(child))
        elif local == "list-item":
            out.item(words(child))
        elif local == "table":
            table(child, out)
        elif local == "page":  # a presentation's slide
            page(child, out)
        elif local in ("tracked-changes", "sequence-decls", "forms", "annotation"):
            continue
        elif name:
            walk(child, out)


def page(element, out: Builder):
    title = next((frame for frame in descendants(element, "frame") if shape_class(frame) == "title"), None)
    out.heading(words(title) if title is not None else element.getAttribute("name") or "")
    for child in element.childNodes:
        if child is not title:
            walk_frame(child, out)


def walk_frame(element, out: Builder):
    """A slide's shapes: their paragraphs (list items where the shape is an outline)."""
    outline = getattr(element, "qname", (None, None))[1] == "frame" and shape_class(element) == "outline"
    for child in descendants(element, "p"):
        (out.item if outline else out.paragraph)(words(child))
    for table_element in descendants(element, "table"):
        table(table_element, out)


def shape_class(frame) -> str:
    """A presentation shape's role: title, outline (bullet points), notes..."""
    from odf.namespaces import PRESENTATIONNS

    return frame.getAttrNS(PRESENTATIONNS, "class") or ""


def table(element, out: Builder):
    """A table row by row; the rows under table:table-header-rows name the columns."""
    header: list[str] = []
    for child in element.childNodes:
        local = getattr(child, "qname", (None, None))[1]
        if local == "table-header-rows":
            for row in descendants(child, "table-row"):
                header = [words(cell) for cell in descendants(row, "table-cell")]
        elif local in ("table-row", "table-rows", "table-row-group"):
            rows = [child] if local == "table-row" else list(descendants(child, "table-row"))
            for row in rows:
                out.row([words(cell) for cell in descendants(row, "table-cell")], header)


def descendants(element, local: str):
    """Every element below `element` with this local name, in document order (not inside a table
    when looking for paragraphs: a table's cells are read as its rows)."""
    for child in element.childNodes:
        name = getattr(child, "qname", None)
        if not name:
            continue
        if name[1] == local:
            yield child
        elif not (local == "p" and name[1] == "table"):
            yield from descendants(child, local)


def words(element) -> str:
    from odf import teletype

    return teletype.extractText(element)
