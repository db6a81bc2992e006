import numpy as np

from rag.lexical import bm25, terms
from tests.fakes import FakeEmbedder


def test_the_index_embeds_chunks_only_and_units_once_when_a_question_reaches_them(fake_rag):
    embedder = fake_rag.embedder
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
    from rag.evidence import unit_text
    expected = FakeEmbedder().embed([unit_text(fake_rag.store.units[i]) for i in ids])
    assert np.allclose(selector.vectors.get(ids), expected)


def test_bm25_ranks_the_text_with_the_rarer_term_first():
    docs = [terms("the queen bee lays eggs"), terms("bees collect nectar"), terms("bees dance")]
    idf = {"queen": 2.0, "bee": 0.5, "nectar": 1.5}.get
    scores = bm25(terms("queen bee"), docs, lambda t: idf(t) or 0.1)
    assert scores.argmax() == 0 and scores[2] > 0
    assert bm25(terms("queen"), [], idf).shape == (0,)
