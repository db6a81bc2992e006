from rag.abstention import agreement, confidence, unknown_share
from rag.lexical import LexicalIndex, terms
from rag.retrieval import Hit


def test_terms_the_corpus_never_mentions_count_as_unknown():
    lexical = LexicalIndex(["Solar panels turn sunlight into electricity.", "Bees dance to point at food."])
    assert unknown_share(terms("How do solar panels turn sunlight into electricity?"), lexical) == 0.0
    assert unknown_share(terms("Who founded Tesla?"), lexical) == 1.0
    assert 0.0 < unknown_share(terms("Do bees like Tesla?"), lexical) < 1.0


def hit(dense_rank, lexical_rank):
    return Hit(None, 0, 1.0, 0.5, 1.0, dense_rank, lexical_rank)


def test_agreement_is_the_share_of_top_hits_both_rankings_put_high():
    assert agreement([hit(0, 0), hit(1, 3)]) == 1.0
    assert agreement([hit(0, -1), hit(1, 3)]) == 0.5
    assert agreement([]) == 0.0


def test_confidence_rises_with_evidence_and_falls_with_unknown_terms():
    strong = confidence((0.9, 1.0, 0.0, 1.0, 0.7))
    weak = confidence((0.2, 0.3, 0.0, 0.2, 0.3))
    unknown = confidence((0.9, 1.0, 1.0, 1.0, 0.7))
    assert strong > weak and strong > unknown
