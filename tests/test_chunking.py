from pathlib import Path

import pytest

from rag.chunking import HEADING, ITEM, SENTENCE, make_chunks, split_units

REPO = Path(__file__).resolve().parent.parent

ARTICLE = """The Great Lakes
The Great Lakes hold about 21% of the world's surface fresh water. Dr. Smith measured it in 1998.
Lake Superior is the largest. It is also the coldest.

Key facts:
- Superior: deepest of the five
- Erie: shallowest of the five

Shipping
Ships carry iron ore, e.g. from Duluth, to steel mills."""


def kinds(units):
    return [(u.kind, u.text) for u in units]


def test_every_unit_and_chunk_is_an_exact_slice():
    for path in sorted((REPO / "corpus").iterdir()):
        text = path.read_text(encoding="utf-8")
        units = split_units(path.name, text)
        assert units, path
        for unit in units:
            assert text[unit.start:unit.end] == unit.text
            assert 0 <= unit.quote_start <= unit.start
        for chunk in make_chunks(units, text, 600, 150):
            assert text[chunk.start:chunk.end] == chunk.text
            assert chunk.end - chunk.start <= 600 or chunk.last_unit - chunk.first_unit == 1


def test_sentences_headings_and_list_items():
    units = split_units("lakes.txt", ARTICLE)
    assert kinds(units)[:4] == [
        (HEADING, "The Great Lakes"),
        (SENTENCE, "The Great Lakes hold about 21% of the world's surface fresh water."),
        (SENTENCE, "Dr. Smith measured it in 1998."),
        (SENTENCE, "Lake Superior is the largest."),
    ]
    erie = next(u for u in units if u.text.startswith("- Erie"))
    assert erie.kind == ITEM and erie.lead_in == "Key facts:"
    assert ARTICLE[erie.quote_start:].startswith("Key facts:")
    ships = next(u for u in units if u.text.startswith("Ships"))
    assert ships.heading == "Shipping" and ships.text.endswith("steel mills.")


def test_a_sentence_opening_with_a_pronoun_carries_the_one_before():
    units = split_units("lakes.txt", ARTICLE)
    coldest = next(u for u in units if u.text == "It is also the coldest.")
    assert coldest.lead_in == "Lake Superior is the largest."
    assert coldest.full_text == "Lake Superior is the largest. It is also the coldest."


def test_a_pronoun_led_paragraph_under_a_declaration_carries_the_declared_name():
    text = ("Interrupt A Long-Running Query\n\nvoid sqlite3_interrupt(sqlite3*);\n\n"
            "This function causes any pending database operation to abort. It is called on Cancel.\n\n"
            "Some pages end a paragraph like this (see above).\n\nIt is not a declaration.\n")
    units = split_units("interrupt.html", text)
    causes = next(u for u in units if u.text.startswith("This function"))
    assert causes.lead_in == "void sqlite3_interrupt(sqlite3*);"
    assert text[causes.quote_start:].startswith("void sqlite3_interrupt")
    called = next(u for u in units if u.text.startswith("It is called"))
    assert text[called.quote_start:].startswith("void sqlite3_interrupt")
    assert next(u for u in units if u.text.startswith("It is not")).lead_in == ""


def test_a_quote_after_its_speaker_line_is_read_with_it():
    text = "Expert view\n\nAda Lovelace, mathematician:\n\n“The engine might compose music.”\n"
    quote = split_units("q.txt", text)[-1]
    assert quote.lead_in == "Ada Lovelace, mathematician:"
    assert "Lovelace" in quote.full_text


def test_hard_wrapped_lines_are_joined_into_one_sentence():
    text = "Rivers carry water from the mountains\nto the sea over many years.\nThey shape valleys."
    units = split_units("w.txt", text)
    assert [u.text for u in units][:1] == ["Rivers carry water from the mountains\nto the sea over many years."]


def test_chunks_overlap_by_whole_sentences():
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(30)]
    text = " ".join(sentences)
    units = split_units("s.txt", text)
    chunks = make_chunks(units, text, 200, 80)
    assert len(chunks) > 3
    for before, after in zip(chunks, chunks[1:]):
        assert after.start < before.end, "neighbouring chunks should share a sentence"
        assert after.first_unit < before.last_unit
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_empty_text_gives_no_units(text):
    assert split_units("e.txt", text) == []


def test_a_short_lead_in_keeps_the_sentence_before_as_context():
    text = "Regulators are watching the deal closely. Key concerns include:\n- Market dominance\n- Data governance\n"
    item = split_units("r.txt", text)[-1]
    assert item.lead_in == "Key concerns include:"
    assert item.context == "Regulators are watching the deal closely."
    assert "Regulators" not in item.full_text


def test_a_contents_line_is_not_evidence_but_a_sentence_with_an_ellipsis_is():
    text = ("Contents\n5.4.3 Command limitations . . . . . . . . . . . . . . . . 41\n"
            "5.4.4 Wire format ..................... 42\n\n"
            "The server must always check driver sockets... then it waits for data. It reads one line at a time.")
    units = split_units("guide.pdf", text)
    evidence = [u.text for u in units if u.is_evidence]
    assert not any("limitations" in t or "Wire format" in t for t in evidence)
    assert any(t.startswith("The server must always check") for t in evidence)
