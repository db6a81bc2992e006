import numpy as np

from rag import RAG
from rag.answering.evidence import about_excluded, counts, form_mismatch
from rag.answering.questions import counted_terms, excluded_terms
from rag.chunking import unit_text
from rag.lexical import bm25, terms
from tests.conftest import copy_sentence
from tests.fakes import FakeEmbedder, ScriptedGenerator


def test_a_small_index_stores_its_units_vectors_so_a_question_embeds_only_itself(fake_rag, tmp_path):
    embedder, store = fake_rag.embedder, fake_rag.store
    evidence = [i for i, u in enumerate(store.units) if u.is_evidence]
    texts = {c.embed_text for c in store.chunks} | {unit_text(store.units[i]) for i in evidence}
    assert sorted(embedder.embedded) == sorted(texts)
    reopened = RAG.open(tmp_path / "index", embedder=embedder, generator=fake_rag.generator)
    assert np.array_equal(reopened.store.unit_vectors[evidence], embedder.embed([unit_text(store.units[i]) for i in evidence]))
    before = len(embedder.embedded)
    reopened.ask("What does the waggle dance point to?")
    assert embedder.embedded[before:] == ["What does the waggle dance point to?"]


def test_a_large_index_embeds_units_once_when_a_question_reaches_them(corpus, tmp_path, fake_config, monkeypatch):
    monkeypatch.setattr("rag.indexing.STORED_UNITS", 0)
    # Nothing remembered: the second ask goes through evidence selection again.
    fake_rag = RAG.build(corpus, tmp_path / "index", fake_config.replace(answer_memo=0), embedder=FakeEmbedder(),
                         generator=ScriptedGenerator(copy_sentence))
    embedder = fake_rag.embedder
    assert fake_rag.store.unit_vectors is None
    assert len(embedder.embedded) == len(fake_rag.store.chunks)
    before = len(embedder.embedded)
    fake_rag.ask("What does the waggle dance point to?")
    reached = embedder.embedded[before + 1:]  # after the question itself
    assert any("waggle dance" in text for text in reached)
    after_first = len(embedder.embedded)
    fake_rag.ask("What does the waggle dance point to?")
    assert len(embedder.embedded) == after_first + 1, "only the question is embedded again"


def test_unit_vectors_match_what_the_embedder_gives(fake_rag):
    fake_rag.ask("What does the waggle dance point to?")
    selector = fake_rag.answerer.selector
    ids = sorted(selector.vectors._vectors)
    expected = FakeEmbedder().embed([unit_text(fake_rag.store.units[i]) for i in ids])
    assert np.allclose(selector.vectors.get(ids), expected)


def test_bm25_ranks_the_text_with_the_rarer_term_first():
    docs = [terms("the queen bee lays eggs"), terms("bees collect nectar"), terms("bees dance")]
    idf = {"queen": 2.0, "bee": 0.5, "nectar": 1.5}.get
    scores = bm25(terms("queen bee"), docs, lambda t: idf(t) or 0.1)
    assert scores.argmax() == 0 and scores[2] > 0
    assert bm25(terms("queen"), [], idf).shape == (0,)


def test_what_a_question_leaves_out_is_found_in_its_usual_phrasings():
    assert excluded_terms("Other than the price of electricity, what concern is raised?") == {"price", "electr"}
    assert excluded_terms("Which apps besides Word and Excel have it built in?") == {"word", "excel"}
    assert excluded_terms("Apart from Azure, which products got it?") == {"azur"}
    # "A and B; what's the third?" leaves out A and B, not the words around them.
    assert excluded_terms("Critics name price and supply as concerns - what's the third?") == {"name", "price", "suppli"}
    assert excluded_terms("What concerns are raised about the price?") == set()


def test_a_unit_about_what_the_question_leaves_out_is_not_its_answer():
    excluded = excluded_terms("Other than the price of electricity and the supply of panels, what concern is raised?")
    assert about_excluded("the price of electricity", excluded)
    assert about_excluded("Supply of panels: shortages in spring", excluded)
    assert not about_excluded("the weather in winter", excluded)
    # A unit that names the left-out items on the way to something else still answers.
    assert not about_excluded("Besides cost, buyers weigh the price of electricity and supply of panels.", excluded)
    assert not about_excluded("Price of electricity, price of gas and the tariff", excluded)


def test_a_name_at_the_start_of_a_sentence_counts_when_the_document_names_it_elsewhere():
    question = "Who is OpenAI's largest investor?"
    unit = "Key dynamics: Microsoft is OpenAI's largest investor and cloud customer"
    assert form_mismatch(question, unit)
    assert not form_mismatch(question, unit, known_names={"microsoft", "openai"})
    assert form_mismatch(question, "Investors: Several are OpenAI's investors", known_names={"openai"})


def test_a_year_does_not_answer_how_many():
    assert form_mismatch("How many GPUs did the first supercomputer have?", "2020: First supercomputer")
    assert not form_mismatch("How many GPUs did the first supercomputer have?", "It had 10,000 GPUs.")
    # A count in words is a count.
    assert not form_mismatch("How many locking states are there?", "A file is in one of five locking states.")
    assert form_mismatch("How many locking states are there?", "A file is in one locking state at a time.")

    # A duration may be a span of years.
    assert not form_mismatch("How long was Azure the exclusive provider?", "2020-2022: Azure exclusive")


def test_a_how_many_question_is_answered_by_a_count_of_what_it_counts():
    counted = counted_terms("How many dimensions at most can an R*Tree index?")
    assert counts("The R*Tree implementation does not support R*Trees wider than 5 dimensions.", counted)
    # A number of something else, or a year, is not that count.
    assert not counts("Each R*Tree index is a virtual table with between 3 and 11 columns.", counted)
    assert not counts("In 2020 the dimensions were changed.", counted)
    assert counts("A database file is in one of five locking states.", counted_terms("How many locking states are there?"))
    assert counted_terms("What is the largest index?") == set()


def test_a_lead_in_that_counts_what_is_asked_answers_how_many(tmp_path, fake_config):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "locking.md").write_text(
        "# Locking\n\nFrom the point of view of a single process, a database file can be in one of five locking states:\n\n"
        "UNLOCKED\n\nNo locks are held on the database. This is the default state.\n\n"
        "SHARED\n\nThe database may be read but not written.\n", encoding="utf-8")
    rag = RAG.build(corpus, tmp_path / "index", fake_config, embedder=FakeEmbedder(),
                    generator=ScriptedGenerator(copy_sentence))
    selector, store = rag.answerer.selector, rag.store
    hits = rag.answerer.retriever.search(FakeEmbedder().embed(["locking states"])[0], ["lock", "state"], 5)

    def candidates(question):
        return [e.unit.text for e in selector.select(question, FakeEmbedder().embed([question])[0], terms(question), hits)]

    lead_in = next(u.text for u in store.units if "five locking states" in u.text)
    assert lead_in in candidates("How many locking states can a database file be in?")
    # For any other question a lead-in says nothing until what it introduces does.
    assert lead_in not in candidates("Which locking state is the default?")
    assert "five" in rag.ask("How many locking states can a database file be in?", extractive_only=True).text
