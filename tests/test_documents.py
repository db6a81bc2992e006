import pytest

from rag.documents import DocumentError, list_files, read_document
from rag.readers.html import html_to_text
from rag.readers.pdf import join_wrapped_lines


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF showing `text` in Helvetica, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf(objects)


def pdf(objects: list[bytes]) -> bytes:
    """A PDF of these numbered objects (1 is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_text_file_keeps_its_exact_characters(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("Line one.\r\nLine two – with a dash.\n".encode())
    doc = read_document(path, tmp_path)
    assert doc.source == "a.txt"
    assert doc.text == "Line one.\r\nLine two – with a dash.\n"
    assert len(doc.sha256) == 64


def test_windows_1252_text_is_read(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("caf\xe9 au lait".encode("cp1252"))
    assert read_document(path, tmp_path).text == "café au lait"


def test_html_gives_visible_text_one_block_a_paragraph():
    text = html_to_text(
        "<html><head><title>T</title><script>alert(1)</script></head>"
        "<body><h1>Head</h1><p>First <b>bold</b>\npara.</p><ul><li>one</li><li>two</li></ul>"
        "<dl><dt>name</dt><dd>what it does</dd></dl></body></html>"
    )
    assert "alert" not in text
    assert text.split("\n\n") == ["T", "Head", "First bold para.", "- one", "- two", "name", "what it does"]


def test_html_site_furniture_is_left_out():
    text = html_to_text(
        "<html><body><div class='tagline'>Small. Fast.</div><div class='menu mainmenu'><ul><li>Home</li></ul></div>"
        "<nav>Docs | About</nav><form><select><option>Search Changelog</option></select></form>"
        "<div id='sidebar'>See also</div><div role='navigation'>Next page</div>"
        "<h1>Interrupt</h1><p>This function aborts a query.</p><div class='menu-note'>kept</div></body></html>"
    )
    assert text.split("\n\n") == ["Interrupt", "This function aborts a query.", "kept"]


def test_pdf_text_is_extracted(tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(minimal_pdf("Hydrogen is the lightest element."))
    assert "Hydrogen is the lightest element." in read_document(path, tmp_path).text


def multi_page_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of these pages, each a list of lines in Helvetica."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages))), len(pages)),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, lines in enumerate(pages):
        stream = ("BT /F1 11 Tf 14 TL 72 740 Td " + " ".join(f"({line}) Tj T*" for line in lines) + " ET").encode()
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       b"/Contents %d 0 R >>" % (5 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    return pdf(objects)


def test_pdf_running_headers_and_page_numbers_are_left_out(tmp_path):
    places = ["harbour", "ferry", "pier", "lighthouse"]
    pages = [[f"Harbour Manual {n}", f"The {place} office opens at seven in the morn-",
              f"ing and closes at dusk, says the {place} keeper.", "It is painted white and blue every spring.", str(n)]
             for n, place in enumerate(places, 1)]
    path = tmp_path / "manual.pdf"
    path.write_bytes(multi_page_pdf(pages))
    text = read_document(path, tmp_path).text
    assert "Harbour Manual" not in text and not any(line.strip().isdigit() for line in text.splitlines())
    assert "The pier office opens at seven in the morning and closes at dusk, says the pier keeper." in text
    assert text.count("It is painted white and blue every spring.") == 4


def test_a_pdf_sentence_that_runs_over_a_page_break_is_one_sentence(tmp_path):
    pages = [[f"Tide Tables {n}", f"Table {n} lists the tides of the {place} for the", f"whole year, and the {place} keeper says the", str(n)]
             for n, place in enumerate(["north", "south", "east"], 1)]
    pages[1][1] = "tide turns at noon. Table 2 lists the tides of the south for the"
    path = tmp_path / "tides.pdf"
    path.write_bytes(multi_page_pdf(pages))
    assert "and the north keeper says the tide turns at noon." in read_document(path, tmp_path).text


def test_a_pdf_without_a_text_layer_is_named_as_scanned(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(multi_page_pdf([[], []]))
    with pytest.raises(DocumentError, match=r"no text layer: scanned\?"):
        read_document(path, tmp_path)


def test_pdf_lines_that_run_on_in_lower_case_are_joined():
    page = (
        "The command import graph;\nis a convenient abbreviation for\nthe commands access graph;\n"
        "unravel graph;\nA new line.\nthe end:\nnext"
    )
    assert join_wrapped_lines(page).split("\n") == [
        "The command import graph; is a convenient abbreviation for the commands access graph; unravel graph;",
        "A new line.",
        "the end:",
        "next",
    ]


@pytest.mark.parametrize("name, data, reason", [
    ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "PDF"),
    ("binary.txt", b"\x00\x01\x02\x03" * 10, "binary"),
    ("empty.md", b"   \n", "no text"),
])
def test_unreadable_files_raise_a_clear_error(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError) as info:
        read_document(path, tmp_path)
    assert name in str(info.value) and reason in str(info.value)


def test_list_files_skips_hidden_and_separates_unsupported(tmp_path):
    for name in ("a.txt", "b.pdf", "c.png", ".hidden.txt", ".git/x.txt", "sub/d.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    supported, ignored = list_files(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in supported] == ["a.txt", "b.pdf", "sub/d.md"]
    assert [p.name for p in ignored] == ["c.png"]
