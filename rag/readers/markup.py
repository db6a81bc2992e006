"""(X)HTML walked into blocks: what EPUB chapters hold (and any reader that gets HTML)."""

from rag.readers.base import Builder, missing

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
SKIP = {"script", "style", "noscript", "template", "svg", "head", "nav", "form", "select", "button", "sup"}
# Elements whose own text is one block; anything else is walked into.
LEAVES = HEADINGS | {"p", "li", "tr", "pre", "dt", "dd", "caption", "figcaption", "blockquote", "address"}


def html_blocks(html: str | bytes, out: Builder):
    """Adds the headings, paragraphs, list items, table rows and code blocks of an HTML page."""
    try:
        from bs4 import BeautifulSoup
    except ImportError as exc:
        raise missing(".epub", "beautifulsoup4") from exc
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(SKIP):
        tag.decompose()
    for tag in soup("br"):
        tag.replace_with(" ")
    body = soup.body or soup
    walk(body, out)


def walk(element, out: Builder):
    loose: list[str] = []  # text directly inside a container (a div holding words)
    for child in element.children:
        name = getattr(child, "name", None)
        if name is None:
            loose.append(str(child))
            continue
        if name in LEAVES or name == "table":
            out.paragraph(" ".join(loose))
            loose = []
        if name in HEADINGS:
            out.heading(child.get_text())
        elif name == "li" and child.find(("ul", "ol", "p")) is not None:
            walk_item(child, out)
        elif name == "li":
            out.item(child.get_text())
        elif name == "table":
            table(child, out)
        elif name == "pre":
            out.code(child.get_text())
        elif name == "blockquote" or (name in LEAVES and child.find(("p", "ul", "ol", "pre", "table")) is not None):
            walk(child, out)
        elif name in LEAVES:
            out.paragraph(child.get_text())
        elif child.find(True) is None or name in ("a", "span", "em", "strong", "b", "i", "code", "tt", "var", "small"):
            loose.append(child.get_text())
        else:
            out.paragraph(" ".join(loose))
            loose = []
            walk(child, out)
    out.paragraph(" ".join(loose))


def walk_item(item, out: Builder):
    """A list item holding paragraphs or a nested list: its first words are the item."""
    first = []
    for child in list(item.children):
        if getattr(child, "name", None) in ("ul", "ol", "p", "pre", "table", "div"):
            break
        first.append(child.get_text() if getattr(child, "name", None) else str(child))
        child.extract()
    if " ".join(first).strip():
        out.item(" ".join(first))
        walk(item, out)
        return
    first_p = item.find("p")
    if first_p is not None and first_p.parent is item:
        out.item(first_p.get_text())
        first_p.decompose()
    walk(item, out)


def table(element, out: Builder):
    header: list[str] = []
    for row in element.find_all("tr"):
        cells = row.find_all(("th", "td"))
        texts = [c.get_text() for c in cells]
        if cells and all(c.name == "th" for c in cells) and not header:
            header = [" ".join(t.split()) for t in texts]
            continue
        out.row(texts, header)
