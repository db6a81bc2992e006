"""Every format read through its own library into text with structure: headings, list items and
table rows are units, and a citation's quote is the extracted text at its offsets."""

import pytest

from rag import RAG, Config
from rag.chunking import HEADING as HEADING_UNIT
from rag.chunking import ITEM, split_units
from rag.documents import SUPPORTED_SUFFIXES, list_files, read_document
from rag.readers.markdown import markdown_to_content
from tests.conftest import copy_sentence
from tests.document_files import HEADING, ITEMS, PARAGRAPH, ROW, WRITERS
from tests.fakes import FakeEmbedder, ScriptedGenerator

HAS_PARAGRAPH = {".docx", ".pptx", ".odt", ".odp", ".epub", ".rst", ".md", ".adoc"}
HAS_ITEMS = HAS_PARAGRAPH
HAS_ROWS = set(WRITERS) - {".odp"}
HAS_HEADING = set(WRITERS) - {".csv"}


def units_of(tmp_path, suffix):
    path = tmp_path / f"harbour{suffix}"
    WRITERS[suffix](path)
    doc = read_document(path, tmp_path)
    return doc, split_units(doc.source, doc.text, doc.blocks)


@pytest.mark.parametrize("suffix", sorted(WRITERS))
def test_each_format_gives_headings_items_and_rows_as_units(tmp_path, suffix):
    doc, units = units_of(tmp_path, suffix)
    for unit in units:
        assert doc.text[unit.start:unit.end] == unit.text
    shown = {(u.kind, u.full_text) for u in units}
    if suffix in HAS_HEADING:
        assert (HEADING_UNIT, HEADING) in shown
    if suffix in HAS_ITEMS:
        assert {(ITEM, item) for item in ITEMS} <= shown
    if suffix in HAS_ROWS:
        assert (ITEM, ROW) in shown
    if suffix in HAS_PARAGRAPH:
        assert PARAGRAPH in doc.text
    if suffix == ".docx":  # a table without a header row: its cells without column names
        assert (ITEM, "A table without a header row") in shown


@pytest.mark.parametrize("suffix", sorted(WRITERS))
def test_each_format_is_indexed_and_cited_at_exact_offsets(tmp_path, suffix):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    WRITERS[suffix](corpus / f"harbour{suffix}")
    rag = RAG.build(corpus, tmp_path / "index", Config(embedder="fake-embedder", chunk_chars=200, chunk_overlap=50),
                    embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))
    assert rag.documents == [f"harbour{suffix}"] and not rag.report.skipped
    question = "When does the harbour office open?" if suffix in HAS_PARAGRAPH else "What is the length of the boat Osprey?"
    answer = rag.ask(question)
    assert answer.citations, answer.text
    for c in answer.citations:
        assert rag.document_text(c.source)[c.start:c.end] == c.quote
    assert ("seven" if suffix in HAS_PARAGRAPH else "12 m") in answer.citations[0].quote


MARKDOWN = """---
title: A book
---

# Chapter 1: Getting started <a id="start"></a>

Rust is a language that runs
fast<sup>[1](#note)</sup> and keeps memory safe, as the
[reference][ref] and the [book](https://doc.rust-lang.org/book/) explain.

<!-- ignore -->

{{#include ../listings/ch01/main.rs:here}}

<span class="caption">Listing 1-1: A program that prints a greeting</span>

| Command | What it does |
|---------|--------------|
| `cargo build` | compiles the project |
| `cargo run` | compiles and runs it |

```rust,ignore
fn main() {
    println!("Hello, world!");
}
```

* Install with rustup,
  the installer.
* Update with `rustup update`.

[ref]: https://doc.rust-lang.org/reference/ "The Reference"
"""


def test_markdown_is_read_as_commonmark_into_clean_units():
    content = markdown_to_content(MARKDOWN)
    units = split_units("book.md", content.text, content.blocks)
    texts = [u.text for u in units]
    assert texts == [
        "Chapter 1: Getting started",
        "Rust is a language that runs fast and keeps memory safe, as the reference and the book explain.",
        "Listing 1-1: A program that prints a greeting",
        "Command: cargo build; What it does: compiles the project",
        "Command: cargo run; What it does: compiles and runs it",
        'fn main() {\n    println!("Hello, world!");\n}',
        "• Install with rustup, the installer.",
        "• Update with rustup update.",
    ]
    assert [u.kind for u in units][:2] == [HEADING_UNIT, "sentence"]
    for markup in ("<", "](", "][", "{{", "---", "|", "```", "# ", "title:", "https://"):
        assert markup not in content.text


def test_markdown_answers_quote_no_markup(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "book.md").write_text(MARKDOWN, encoding="utf-8")
    rag = RAG.build(corpus, tmp_path / "index", Config(embedder="fake-embedder", chunk_chars=200, chunk_overlap=50),
                    embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))
    for question in ("Is Rust fast and memory safe?", "What does cargo run do?"):
        answer = rag.ask(question)
        assert answer.citations
        for c in answer.citations:
            assert rag.document_text(c.source)[c.start:c.end] == c.quote
            assert not any(m in c.quote + answer.text for m in ("<sup", "](", "][", "`", "|"))


def test_every_suffix_is_listed_as_supported(tmp_path):
    suffixes = (".docx", ".pptx", ".xlsx", ".csv", ".odt", ".odp", ".epub", ".rst", ".md", ".pdf", ".html", ".adoc")
    for suffix in suffixes:
        assert suffix in SUPPORTED_SUFFIXES
        (tmp_path / f"a{suffix.upper()}").write_bytes(b"x")
    supported, ignored = list_files(tmp_path)
    assert len(supported) == len(suffixes) and not ignored
