from dataclasses import replace

from rag import RAG
from rag.answering.composition import (
    MAX_WORDS,
    continuation,
    display_text,
    heading_is_answer,
    heading_needed,
    names_one,
    pick,
    pieces,
    required_names,
    restates,
)
from rag.answering.evidence import Evidence, bare_heading
from rag.chunking import ITEM, SENTENCE, Unit
from tests.conftest import copy_sentence
from tests.fakes import FakeEmbedder, ScriptedGenerator
from tests.test_answer import assert_citations_hold

TEXT = (
    "Key concerns include:\n"
    "- the price of electricity\n"
    "- the supply of panels\n"
    "- the weather in winter\n"
)


def unit(start, end, kind=ITEM, lead_in="Key concerns include:", heading="", source="a.txt"):
    return Unit(source, start, end, TEXT[start:end], kind, heading, lead_in, 0 if lead_in else start)


def evidence(u, score):
    return Evidence(u, 0, score, (0.0, 0.0, 0.0, 0.0, 0.0))


def rag_over(tmp_path, config, name: str, text: str) -> RAG:
    """A RAG over one document, with the fake embedder and no generator text."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / name).write_text(text, encoding="utf-8")
    return RAG.build(corpus, tmp_path / "index", config, embedder=FakeEmbedder(), generator=ScriptedGenerator(""))


def item_units():
    spans = []
    for line in TEXT.splitlines()[1:]:
        start = TEXT.index(line)
        spans.append(unit(start, start + len(line)))
    return spans


def test_items_of_the_best_units_list_join_it():
    a, b, c = item_units()
    picked = pick([evidence(a, 0.8), evidence(b, 0.65), evidence(c, 0.64)])
    assert [e.unit for e in picked] == [a, b, c]


CITY = ("Think of software like building a complex city. "
        "You need architects (researchers), builders (engineers) and planners (product teams).")


def city_units():
    first = CITY.index("You")
    return [Unit("city.txt", 0, first - 1, CITY[:first - 1], SENTENCE, "Why it matters"),
            Unit("city.txt", first, len(CITY), CITY[first:], SENTENCE, "Why it matters")]


def test_a_sentence_that_restates_the_question_is_quoted_with_the_next():
    question = "In the comparison of software to building a city, who plays the architects?"
    setup, answer = city_units()
    assert restates(question, setup) and not restates(question, answer)
    best, after = Evidence(setup, 0, 0.3, (0.0,) * 5), Evidence(answer, 1, 0.09, (0.0,) * 5)
    assert continuation(question, best, [best, after], [setup, answer]) is after
    assert [e.unit for e in pick([best, after], after)] == [setup, answer]
    # Not when the next sentence stands under another heading, or was not retrieved.
    moved = replace(answer, heading="Other")
    assert continuation(question, best, [best, Evidence(moved, 1, 0.09, (0.0,) * 5)], [setup, moved]) is None
    assert continuation(question, best, [best], [setup, answer]) is None
    # A sentence with a figure of its own says something.
    assert not restates("How many tables can a join hold?", Unit("j.txt", 0, 40, "A join holds at most 64 tables.", SENTENCE))


def test_a_far_weaker_unit_does_not_join():
    a, b, _ = item_units()
    other = Unit("b.txt", 0, 10, "x" * 10, SENTENCE)
    picked = pick([evidence(a, 0.8), evidence(other, 0.5)])
    assert [e.unit for e in picked] == [a]


def test_the_lead_in_is_quoted_once_and_quotes_are_exact():
    a, b, _ = item_units()
    parts = pieces([evidence(a, 0.8), evidence(b, 0.7)], lambda source: TEXT)
    assert parts[0].shown == "Key concerns include: the price of electricity"
    assert parts[1].shown == "the supply of panels"
    assert TEXT[parts[1].start:parts[1].end] == "- the supply of panels"


def test_the_items_between_a_lead_in_and_the_quoted_item_are_left_out_of_what_is_shown():
    _, _, c = item_units()
    (part,) = pieces([evidence(c, 0.8)], lambda source: TEXT)
    assert part.shown == "Key concerns include: … the weather in winter"
    # The citation still quotes the document from the lead-in on, exactly.
    assert TEXT[part.start:part.end] == TEXT.rstrip("\n")


def test_an_item_with_no_room_left_after_its_lead_in_is_not_quoted():
    _, _, c = item_units()
    other = Unit("b.txt", 0, len(TEXT), TEXT, SENTENCE, quote_start=0)
    parts = pieces([evidence(other, 0.9), evidence(c, 0.8)], lambda source: TEXT, budget=23)
    assert len(parts) == 1
    # As the first piece, a lead-in too long to leave the item room is cut to the budget with the
    # items after it, as any long passage is.
    (part,) = pieces([evidence(c, 0.8)], lambda source: TEXT, budget=8)
    assert len(part.shown.split()) <= 8 and part.shown.endswith("…")


def test_a_long_passage_is_cut_to_the_word_budget():
    long_text = " ".join(f"word{i}" for i in range(100)) + "."
    u = Unit("c.txt", 0, len(long_text), long_text, SENTENCE, quote_start=0)
    (part,) = pieces([evidence(u, 0.9)], lambda source: long_text)
    assert len(part.shown.split()) == MAX_WORDS and part.shown.endswith("…")
    assert long_text[part.start:part.end].split() == long_text.split()[:MAX_WORDS - 1]


def test_table_bars_shown_as_dashes_count_against_the_word_budget():
    # Code such as "|G(x)|" shows each bar as " — ", a word the text does not have.
    code = " ".join(f"|g{i}|" for i in range(70)) + "."
    u = Unit("e.txt", 0, len(code), code, SENTENCE, quote_start=0)
    (part,) = pieces([evidence(u, 0.9)], lambda source: code)
    assert len(part.shown.split()) <= MAX_WORDS and part.shown.endswith("…")
    short = "|a| |b| |c|."
    v = Unit("f.txt", 0, len(short), short, SENTENCE, quote_start=0)
    (whole,) = pieces([evidence(v, 0.9)], lambda source: short, budget=5)
    assert len(whole.shown.split()) <= 5


def test_the_heading_is_needed_only_when_it_names_what_is_asked():
    u = Unit("d.txt", 30, 80, "Query or set the auto-vacuum status in the database.", SENTENCE, "PRAGMA auto_vacuum")
    assert heading_needed("Which setting controls the auto-vacuum status?", evidence(u, 0.9))
    assert not heading_needed("Is the auto-vacuum status stored in the database?", evidence(u, 0.9))
    # The identity question may follow a clause that sets the scene.
    assert heading_needed("I run a small app, and the file keeps growing. Which setting controls the status?", evidence(u, 0.9))


def test_a_sections_title_is_not_quoted_as_a_name():
    text = "GitHub Copilot is an AI pair programmer."
    titled = Unit("e.txt", 60, 60 + len(text), text, SENTENCE, "The Pillars of Partnership: Azure and AI Innovation")
    assert not heading_needed("Which tool suggests code as you type?", evidence(titled, 0.9))
    named = replace(titled, heading="4.2. The Trigram Tokenizer")
    assert heading_needed("Which tool suggests code as you type?", evidence(named, 0.9))


def test_an_identity_question_is_answered_with_the_term_its_definition_stands_under(tmp_path, fake_config):
    rag = rag_over(tmp_path, fake_config, "reference.html",
                   "<html><body><h1>Commands</h1><dl>"
                   "<dt>vacuum</dt><dd>Rebuilds the database file, repacking it into a minimal amount of disk space.</dd>"
                   "<dt>analyze</dt><dd>Gathers statistics about tables and indices for the query planner.</dd>"
                   "</dl></body></html>")
    answer = rag.ask("Which command repacks the database file into minimal disk space?", extractive_only=True)
    assert answer.text.startswith("vacuum: Rebuilds the database file"), answer.text
    assert answer.citations[0].quote.startswith("vacuum")
    assert_citations_hold(rag, answer)


def test_a_section_number_is_not_part_of_a_headings_name():
    assert bare_heading("3.8. Obtaining An Exclusive Lock") == "Obtaining An Exclusive Lock"
    assert bare_heading("5.0 Writing to a database file") == "Writing to a database file"
    assert bare_heading("6. Competitive Landscape") == "Competitive Landscape"
    assert bare_heading("12 Angry Men") == "12 Angry Men"
    assert bare_heading("2020 Results") == "2020 Results"
    assert bare_heading("## 4.1. PRAGMA page_size") == "PRAGMA page_size"


def test_the_heading_is_the_answer_when_it_names_the_kind_asked_for():
    u = Unit("d.txt", 30, 80, "It reports rows whose parent row is missing.", SENTENCE, "4.1. PRAGMA foreign_key_check")
    assert heading_is_answer("Which pragma reports broken references?", evidence(u, 0.9))
    # A heading that does not name the kind asked for is context, not the answer.
    v = replace(u, heading="Night trains in Europe")
    assert not heading_is_answer("Which company runs it?", evidence(v, 0.9))


def test_an_identity_question_requires_a_name_the_evidence_gives():
    u = Unit("e.txt", 0, 90, "The companies jointly built the supercomputers, which power models like GPT-4.", SENTENCE)
    required = required_names("Which model do the jointly built supercomputers power?", evidence(u, 0.9))
    assert required == {"gpt-4"}
    assert not names_one("The jointly built supercomputers power the infrastructure [1].", required)
    assert names_one("They power GPT-4 [1].", required)
    # A short name inside a longer word does not count.
    assert not names_one("Maintaining it is hard [1].", {"ai"})
    # Other questions ask for no name.
    assert required_names("Why did the companies build supercomputers?", evidence(u, 0.9)) == set()
    # "What has A called B?" asks for a phrase, not a name.
    assert required_names("What have the companies called the supercomputers?", evidence(u, 0.9)) == set()
    pragma = Unit("d.txt", 30, 80, "It reports rows whose parent row is missing.", SENTENCE, "4.1. PRAGMA foreign_key_check")
    assert required_names("Which pragma reports broken references?", evidence(pragma, 0.9)) == {"foreign_key_check"}


def test_a_draft_that_leaves_out_the_name_its_heading_gives_is_not_the_answer(tmp_path, fake_config):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "pragmas.md").write_text(
        "# 4.1. PRAGMA foreign_key_check\n\nThis pragma reports rows of child tables whose parent row is missing.\n\n"
        "# 4.2. PRAGMA page_size\n\nThis pragma queries or sets the size of a database page.\n", encoding="utf-8")
    rag = RAG.build(corpus, tmp_path / "index", fake_config, embedder=FakeEmbedder(),
                    generator=ScriptedGenerator(copy_sentence))
    rag.config = replace(rag.config, min_confidence=0.0)
    answer = rag.ask("Which pragma reports child rows whose parent row is missing?")
    # The generator copies the sentence without the pragma's name: the quote under the heading answers.
    assert answer.method == "extractive"
    assert answer.text.startswith("PRAGMA foreign_key_check: This pragma reports"), answer.text
    assert_citations_hold(rag, answer)


def test_an_answer_never_quotes_what_the_question_leaves_out(tmp_path, fake_config):
    rag = rag_over(tmp_path, fake_config, "report.txt",
                   "The plan has drawn attention from regulators. Key concerns include:\n"
                   "- Market dominance: combined power could stifle competition\n"
                   "- Safety oversight: commercial pressure could compromise safety\n"
                   "- Data governance: questions about where training data comes from\n")
    rag.config = replace(rag.config, min_confidence=0.0)
    answer = rag.ask("Other than market dominance and safety oversight, which concern do regulators raise?",
                     extractive_only=True)
    assert "Data governance" in answer.text, answer.text
    assert "Market dominance" not in answer.text and "Safety oversight" not in answer.text, answer.text
    assert_citations_hold(rag, answer)


def test_a_quoted_table_row_reads_as_its_cells_without_the_header_row():
    quote = ("Key technical achievements include:\n| Milestone | Impact |\n|---|---|\n"
             "| 2020: First Azure supercomputer | Enabled training of larger models |")
    assert display_text(quote) == ("Key technical achievements include: 2020: First Azure supercomputer — "
                                   "Enabled training of larger models")
    # A header with no row after it is all the table there is: it stays.
    assert display_text("| Milestone | Impact |\n|---|---|") == "Milestone — Impact"
    assert display_text("Steps:\n- unplug it\n- wait") == "Steps: unplug it; wait"
