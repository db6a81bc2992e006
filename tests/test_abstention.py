from rag.answering.abstention import agreement, assess, confidence, strangers, unknown_share
from rag.answering.evidence import Evidence
from rag.lexical import LexicalIndex, terms
from rag.stores.base import Hit


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


def test_names_and_code_like_tokens_the_corpus_never_mentions_are_strangers():
    lexical = LexicalIndex(["Microsoft invested in OpenAI in 2019.", "Use json_extract() on JSON text."])
    assert strangers("When did Microsoft invest in OpenAI?", lexical) == set()
    assert strangers("What did Bill Gates say about OpenAI?", lexical) == {"bill", "gate"}
    assert strangers("What does concat_ws() do, unlike json_extract()?", lexical) == {"concat", "ws"}
    assert strangers("What did Microsoft invest in 2024?", lexical) == {"2024"}
    # Common words the corpus lacks are not names: the question may say them in other words.
    assert strangers("Which software giant put money into OpenAI?", lexical) == set()


def test_unmet_form_and_strangers_enter_the_estimate():
    lexical = LexicalIndex(["Microsoft invested in OpenAI in 2019.", "Bees dance to point at food."])
    hits = [Hit(None, 0, 1.0, 0.6, 1.0, 0, 0)]
    met = Evidence(None, 0, 0.8, (0.6, 1.0, 1.0, 1.0, 0.0))
    unmet = Evidence(None, 0, 0.2, (0.6, 1.0, 1.0, 1.0, 1.0))
    question = "When did Microsoft invest in OpenAI?"
    answered = assess(question, terms(question), lexical, hits, [met])
    assert answered.features[-2:] == (0.0, 0.0)
    assert assess(question, terms(question), lexical, hits, [unmet]).confidence < answered.confidence
    stranger = "When did Bill Gates invest in OpenAI?"
    assert assess(stranger, terms(stranger), lexical, hits, [met]).features[-2] == 1.0


def test_confidence_rises_with_evidence_and_falls_with_unknown_terms():
    strong = confidence((0.9, 1.0, 0.0, 1.0, 0.7, 0.0, 0.0))
    weak = confidence((0.2, 0.3, 0.0, 0.2, 0.3, 0.0, 0.0))
    unknown = confidence((0.9, 1.0, 1.0, 1.0, 0.7, 0.0, 0.0))
    stranger = confidence((0.9, 1.0, 0.0, 1.0, 0.7, 1.0, 0.0))
    unmet = confidence((0.9, 1.0, 0.0, 1.0, 0.7, 0.0, 1.0))
    assert strong > weak and strong > unknown and strong > stranger and strong > unmet
