import re

import pytest

from rag import RAG
from rag.answering.composition import display_text
from tests.fakes import FakeEmbedder, ScriptedGenerator

QUESTIONS = [
    "When was the first practical silicon solar cell built?",
    "How long do manufacturers guarantee solar panels?",
    "What does the waggle dance point to?",
    "Which company runs the Nightjet network?",
    "How much does a sleeper cabin from Vienna to Paris cost?",
]


def assert_citations_hold(rag: RAG, answer):
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == {c.n for c in answer.citations}, "every [n] has a citation and every citation is used"
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for c in answer.citations:
        assert rag.document_text(c.source)[c.start:c.end] == c.quote
        assert 0.0 <= c.score <= 1.0


@pytest.mark.parametrize("question", QUESTIONS)
def test_answers_cite_the_passage_they_come_from(fake_rag, question):
    answer = fake_rag.ask(question)
    assert not answer.abstained, answer
    assert_citations_hold(fake_rag, answer)
    assert answer.citations


def test_a_supported_draft_is_the_answer(fake_rag):
    answer = fake_rag.ask("When was the first practical silicon solar cell built?")
    assert answer.method == "generated"
    assert "1954" in answer.text and answer.citations[0].source == "solar.txt"
    assert "1954" in answer.citations[0].quote


def test_an_unsupported_draft_falls_back_to_the_evidence_sentence(corpus, tmp_path, fake_config):
    liar = ScriptedGenerator("The first solar cell was built by Einstein in 1921 in Berlin.")
    rag = RAG.build(corpus, tmp_path / "index", fake_config, embedder=FakeEmbedder(), generator=liar)
    stream = rag.stream("When was the first practical silicon solar cell built?")
    streamed = "".join(stream)
    answer = stream.answer
    assert answer.method == "extractive"
    assert "Einstein" in streamed and "Einstein" not in answer.text
    assert answer.text == f"{display_text(answer.citations[0].quote)} [1]"
    assert "1954" in answer.text
    assert_citations_hold(rag, answer)


def test_streamed_pieces_make_up_a_generated_answer(fake_rag):
    stream = fake_rag.stream("Which company runs the Nightjet network?")
    pieces = list(stream)
    assert len(pieces) > 3
    assert stream.answer.method == "generated"
    assert "".join(pieces).strip().rstrip(".") in stream.answer.text


def test_extractive_only_never_calls_the_generator(fake_rag):
    answer = fake_rag.ask("What does the waggle dance point to?", extractive_only=True)
    assert answer.method == "extractive" and fake_rag.generator.prompts == []
    assert "waggle dance points to food far away" in answer.text


def test_a_question_the_documents_cannot_answer_is_abstained(fake_rag):
    answer = fake_rag.ask("What is the population of Tokyo?")
    assert answer.abstained and answer.method == "abstained"
    assert answer.text.startswith("The documents do not say")
    assert answer.citations == ()
    assert fake_rag.generator.prompts == []


def test_json_schema(fake_rag):
    row = fake_rag.ask("How long do manufacturers guarantee solar panels?").to_dict("q1")
    assert set(row) == {"id", "question", "answer", "abstained", "citations", "latency_ms"}
    assert row["id"] == "q1" and row["latency_ms"] > 0
    assert set(row["citations"][0]) == {"n", "source", "start", "end", "quote", "score"}


def test_timings_cover_each_stage(fake_rag):
    timings = fake_rag.ask("How long do manufacturers guarantee solar panels?").timings
    assert {"retrieve", "evidence", "generate", "total"} <= set(timings)


def test_empty_question_is_refused(fake_rag):
    with pytest.raises(ValueError):
        fake_rag.ask("   ")


def test_a_follow_up_is_answered_about_the_earlier_topic(fake_rag):
    follow = fake_rag.ask("And who runs it?", history=["What is the Nightjet network?"])
    assert follow.citations and follow.citations[0].source == "notes/trains.html"
    assert "ÖBB" in follow.text
    assert "Question: What is the Nightjet network? who runs it?" in fake_rag.generator.prompts[-1][-1]["content"]


def test_display_text_turns_a_list_into_one_line():
    quote = "Bees communicate with each other:\n- the waggle dance points to food far away\n- the round dance"
    assert display_text(quote) == "Bees communicate with each other: the waggle dance points to food far away; the round dance"
    assert display_text("void f(int);\n\nThis function does it.") == "void f(int); This function does it."


def test_evidence_too_long_for_the_generator_is_answered_by_the_quote(corpus, tmp_path, fake_config):
    from rag.errors import PromptTooLongError

    class Cramped:
        name = "cramped"

        def stream(self, messages, max_new_tokens, vocabulary=None):
            raise PromptTooLongError("the prompt does not fit the generator's context")
            yield  # a generator function, as the real one

    rag = RAG.build(corpus, tmp_path / "index", fake_config, embedder=FakeEmbedder(), generator=Cramped())
    answer = rag.ask("What does the waggle dance point to?")
    assert answer.method == "extractive" and answer.citations and "waggle dance" in answer.text
