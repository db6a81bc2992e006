"""Hostile and huge files in the corpus: each bad one is skipped and named, the rest is indexed
and answered, and nothing takes unbounded memory or time."""

import io
import os
import resource
import signal
import time
import zlib

import pytest

from rag import RAG, Config
from rag.documents import read_document
from rag.readers.html import html_to_text
from tests.conftest import copy_sentence, write_corpus
from tests.fakes import FakeEmbedder, ScriptedGenerator
from tests.reliability.helpers import fake_toml, run_index
from tests.test_documents import minimal_pdf, pdf

GOOD = {"bees.md": "# Honey bees\n\nWorker bees collect nectar and pollen from flowers.\n"}


def bomb_pdf(inflated_mb: int = 300) -> bytes:
    """One page whose content stream inflates from a few hundred kB to `inflated_mb` MB."""
    squeeze = zlib.compressobj(9)
    block = b"(A) Tj " * (1_000_000 // 7)
    stream = b"".join(squeeze.compress(block) for _ in range(inflated_mb)) + squeeze.flush()
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def looping_pdf() -> bytes:
    """A page tree whose Pages node lists itself among its kids."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ])


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(minimal_pdf("The vault code is 1234."))))
    writer.encrypt("secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def build(corpus, tmp_path):
    return RAG.build(corpus, tmp_path / "index", Config(embedder="fake-embedder", chunk_chars=200, chunk_overlap=50),
                     embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))


def test_hostile_pdfs_are_skipped_and_named_and_the_rest_is_indexed(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", GOOD)
    (corpus / "bomb.pdf").write_bytes(bomb_pdf())
    (corpus / "loop.pdf").write_bytes(looping_pdf())
    (corpus / "locked.pdf").write_bytes(encrypted_pdf())
    started = time.monotonic()
    rag = build(corpus, tmp_path)
    assert time.monotonic() - started < 60
    skipped = rag.report.skipped
    assert set(skipped) >= {"bomb.pdf", "locked.pdf"}, skipped
    assert "limit" in skipped["bomb.pdf"].lower() and "encrypted" in skipped["locked.pdf"]
    assert "not a readable PDF" in skipped["loop.pdf"]
    assert rag.documents == ["bees.md"]
    assert rag.ask("What do worker bees collect?").citations[0].source == "bees.md"


def test_html_with_scripts_styles_and_10_mb_of_inline_data_gives_only_its_visible_text(tmp_path):
    blob = "QUJD" * 2_500_000  # 10 MB of base64
    page = (
        "<html><head><title>Hostile page</title><style>body { color: red }" + "p{}" * 10_000 + "</style>"
        "<script>alert('xss'); var secret = 'hidden';</script></head><body>"
        f'<p>Visible paragraph about otters.</p><img src="data:image/png;base64,{blob}">'
        f"<script>{'x=1;' * 100_000}</script><noscript>enable js</noscript>"
        f'<a href="javascript:alert(1)">link text</a><svg><text>svg words</text></svg></body></html>'
    )
    started = time.monotonic()
    text = html_to_text(page)
    assert time.monotonic() - started < 30
    assert "Visible paragraph about otters." in text and "link text" in text
    for hidden in ("QUJD", "alert", "secret", "color", "x=1", "enable js", "svg words", "<"):
        assert hidden not in text
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    assert read_document(tmp_path / "page.html", tmp_path).text == text


def test_a_file_over_the_size_limit_is_refused_by_its_size(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 300_000, encoding="utf-8")  # 1.5 MB
    with pytest.raises(Exception, match=r"over the 1 MB limit \(max_file_mb\)"):
        read_document(path, tmp_path, max_mb=1)
    assert read_document(path, tmp_path, max_mb=2).text.startswith("word word")
    with pytest.raises(ValueError, match="max_file_mb"):
        Config(max_file_mb=0)


@pytest.mark.slow
def test_a_200_mb_text_file_is_skipped_by_rag_index_without_running_out_of_memory(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", GOOD)
    line = b"All work and no play makes a very long file that nobody should have to embed.\n"
    with open(corpus / "huge.txt", "wb") as f:
        for _ in range(200):
            f.write(line * (1_000_000 // len(line) + 1))
    assert (corpus / "huge.txt").stat().st_size > 200_000_000
    started = time.monotonic()
    done = run_index(fake_toml(tmp_path), corpus, tmp_path / "index")
    assert done.returncode == 0, done.stderr
    assert "skipped huge.txt: it is 200 MB, over the 50 MB limit (max_file_mb)" in done.stderr
    assert "1 added" in done.stdout
    assert time.monotonic() - started < 60
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mb < 1000, f"the indexing process peaked at {peak_mb:.0f} MB"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_file_is_skipped_and_named(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", {**GOOD, "secret.txt": "Top secret."})
    (corpus / "secret.txt").chmod(0)
    try:
        rag = build(corpus, tmp_path)
    finally:
        (corpus / "secret.txt").chmod(0o644)
    assert "secret.txt" in rag.report.skipped and rag.documents == ["bees.md"]


ODD_NAMES = [
    "my notes with spaces.txt",
    "café – ünïcödé 東京.md",
    "$(touch PWNED); `touch PWNED2` | rm -rf x & y.txt",
    "quote's \"double\" <b>tag</b>.txt",
    "-starts-with-dash.txt",
    "new\nline.txt",
]


def test_files_with_odd_names_are_indexed_by_rag_index_and_cited_by_name(tmp_path):
    docs = {name: f"Document number {i} says the secret fruit is fruit{i}.\n" for i, name in enumerate(ODD_NAMES)}
    corpus = write_corpus(tmp_path / "corpus", docs)
    done = run_index(fake_toml(tmp_path), corpus, tmp_path / "index")
    assert done.returncode == 0, done.stderr
    assert f"{len(ODD_NAMES)} added" in done.stdout
    assert not list(tmp_path.rglob("PWNED*")) and not list((tmp_path.parent).glob("PWNED*"))
    rag = RAG.open(tmp_path / "index", embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))
    assert sorted(rag.documents) == sorted(ODD_NAMES)
    for i, name in enumerate(ODD_NAMES):
        answer = rag.ask(f"Which document says the secret fruit is fruit{i}?")
        assert answer.citations and answer.citations[0].source == name


def test_a_symlink_loop_and_a_fifo_do_not_hang_the_index(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", GOOD)
    os.symlink(corpus / "loop.txt", corpus / "loop.txt")
    os.mkfifo(corpus / "pipe.txt")  # reading it would wait forever for a writer
    signal.alarm(60)
    try:
        rag = build(corpus, tmp_path)
    finally:
        signal.alarm(0)
    assert rag.documents == ["bees.md"]


def zip_bomb(inflated_mb: int = 250) -> bytes:
    """A zip shaped like an Office file whose main part inflates from about 250 kB to `inflated_mb` MB."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            zeros = b"\0" * 1_000_000
            for _ in range(inflated_mb):
                part.write(zeros)
    return out.getvalue()


def million_empty_rows() -> bytes:
    """A real workbook with three rows of data, then a million empty rows, claiming A1:XFD1048576."""
    import re
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    for row in (["Boat", "Length"], ["Osprey", "12 m"], ["Kestrel", "9 m"]):
        book.active.append(row)
    plain = io.BytesIO()
    book.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                empty = "".join(f'<row r="{r}"/>' for r in range(4, 1_000_004)).encode()
                data = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', data)
                data = data.replace(b"</sheetData>", empty + b"</sheetData>")
            target.writestr(item, data)
    return out.getvalue()


def broken_parts(data: bytes) -> bytes:
    """The same zip with every XML part cut in half: a valid zip whose parser meets broken XML."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            part = source.read(item)
            target.writestr(item, part[: len(part) // 2] if item.filename.endswith(("xml", ".rels", "html")) else part)
    return out.getvalue()


def test_zip_bombs_corrupt_office_files_and_a_million_empty_rows_are_handled(tmp_path):
    from tests.document_files import WRITERS

    corpus = write_corpus(tmp_path / "corpus", GOOD)
    bomb = zip_bomb()
    for suffix in (".docx", ".epub", ".xlsx"):
        (corpus / f"bomb{suffix}").write_bytes(bomb)
    for suffix in (".docx", ".pptx", ".xlsx", ".odt", ".odp", ".epub"):
        WRITERS[suffix](tmp_path / f"whole{suffix}")
        data = (tmp_path / f"whole{suffix}").read_bytes()
        (corpus / f"corrupt{suffix}").write_bytes(data[: len(data) // 2])
        (corpus / f"broken{suffix}").write_bytes(broken_parts(data))
    for suffix in (".csv", ".rst", ".md"):
        (corpus / f"corrupt{suffix}").write_bytes(b"\x00\xff\xfe binary" * 100)
    (corpus / "locked.pdf").write_bytes(encrypted_pdf())
    (corpus / "rows.xlsx").write_bytes(million_empty_rows())
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.monotonic()
    rag = build(corpus, tmp_path)
    assert time.monotonic() - started < 120
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    assert grew < 500, f"reading grew the process by {grew:.0f} MB"
    skipped = rag.report.skipped
    for suffix in (".docx", ".epub", ".xlsx"):
        assert "zip bomb" in skipped[f"bomb{suffix}"], skipped
    for suffix in (".docx", ".pptx", ".xlsx", ".odt", ".odp", ".epub"):
        assert f"not a readable {suffix} file" in skipped[f"corrupt{suffix}"], skipped
        assert f"not a readable {suffix} file" in skipped[f"broken{suffix}"], skipped
    for suffix in (".csv", ".rst", ".md"):
        assert "binary" in skipped[f"corrupt{suffix}"]
    assert "encrypted" in skipped["locked.pdf"]
    assert rag.documents == ["bees.md", "rows.xlsx"]
    assert "Boat: Osprey; Length: 12 m" in rag.document_text("rows.xlsx")
    assert rag.ask("What do worker bees collect?").citations[0].source == "bees.md"


def test_asciidoc_that_would_run_a_command_or_read_outside_its_folder_is_skipped_and_named(tmp_path):
    pytest.importorskip("asciidoc")
    outside = tmp_path / "secret.txt"
    outside.write_text("The vault code is 1234.", encoding="utf-8")
    corpus = write_corpus(tmp_path / "corpus", GOOD)
    marker = tmp_path / "ran"
    (corpus / "command.adoc").write_text(f"= Notes\n\nsys::[touch {marker}]\n", encoding="utf-8")
    (corpus / "include.adoc").write_text(f"= Notes\n\ninclude::{outside}[]\n", encoding="utf-8")
    (corpus / "binary.adoc").write_bytes(b"\x00\x01 not text")
    rag = build(corpus, tmp_path)
    skipped = rag.report.skipped
    assert set(skipped) == {"command.adoc", "include.adoc", "binary.adoc"}, skipped
    assert "unsafe" in skipped["command.adoc"] and "unsafe" in skipped["include.adoc"]
    assert not marker.exists(), "the system macro ran"
    assert rag.documents == ["bees.md"]
