"""HTML: the visible text of a page, one block (paragraph, heading, term, list item) a paragraph.

The chunker finds the structure in the text (as for plain text): HTML here is mostly manuals
whose evaluation sets were fitted on this reading.
"""

import re
from pathlib import Path

from rag.readers.base import Content, decode_text, missing

READER = ""  # the reading every index so far was built with


def read(path: Path, data: bytes) -> Content:
    """The visible text of an HTML file."""
    return Content(html_to_text(decode_text(path, data)))


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
        raise missing(".html", "beautifulsoup4") from exc
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


