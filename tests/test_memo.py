"""The answer memo: a question asked again, or while it is being answered, gets the same answer
without another draft; an index update, a failed or closed stream and answer_memo = 0 are seen."""

import threading
from concurrent.futures import ThreadPoolExecutor

from rag import RAG
from tests.conftest import copy_sentence, write_corpus
from tests.fakes import FakeEmbedder, ScriptedGenerator

QUESTION = "What does the waggle dance point to?"


def built(corpus, tmp_path, config, generator=None) -> tuple[RAG, ScriptedGenerator]:
    generator = generator or ScriptedGenerator(copy_sentence)
    return RAG.build(corpus, tmp_path / "index", config, embedder=FakeEmbedder(), generator=generator), generator


def test_a_question_asked_again_gets_the_same_answer_without_a_draft(corpus, tmp_path, fake_config):
    rag, generator = built(corpus, tmp_path, fake_config)
    first = rag.ask(QUESTION)
    again = rag.ask("  What does the waggle\tdance point to? ")  # the same question once checked
    streamed = rag.stream(QUESTION)
    assert "".join(streamed) == first.text
    assert len(generator.prompts) == 1
    assert again.text == first.text and again.citations == first.citations and streamed.answer.text == first.text
    assert set(again.timings) == {"memo", "total"}
    assert rag.ask(QUESTION, history=["Who runs the Nightjet network?"]) is not None
    assert len(generator.prompts) == 2, "a follow-up in a conversation is another question"
    rag.ask(QUESTION, max_new_tokens=5)
    assert len(generator.prompts) == 3, "other options are another question"


def test_askers_of_a_question_being_answered_wait_for_its_answer(corpus, tmp_path, fake_config):
    release = threading.Event()

    def slow(messages):
        release.wait(10)
        return copy_sentence(messages)

    rag, generator = built(corpus, tmp_path, fake_config, ScriptedGenerator(slow))
    with ThreadPoolExecutor(6) as pool:
        asked = [pool.submit(rag.ask, QUESTION) for _ in range(6)]
        threading.Timer(0.3, release.set).start()
        texts = {future.result(timeout=30).text for future in asked}
    assert len(texts) == 1 and len(generator.prompts) == 1


def test_a_stream_closed_early_or_failed_leaves_the_question_to_the_next_asker(corpus, tmp_path, fake_config):
    rag, generator = built(corpus, tmp_path, fake_config)
    stream = iter(rag.stream(QUESTION))
    next(stream)
    stream.close()
    assert rag.ask(QUESTION).text and len(generator.prompts) == 2

    broken = ScriptedGenerator(lambda messages: 1 / 0)
    rag, _ = built(corpus, tmp_path / "b", fake_config, broken)
    for _ in range(2):  # not remembered as failed, and no asker left waiting
        try:
            rag.ask(QUESTION)
        except ZeroDivisionError:
            pass
    assert len(broken.prompts) == 2


def test_an_index_update_forgets_the_answers(corpus, tmp_path, fake_config):
    rag, generator = built(corpus, tmp_path, fake_config)
    rag.ask(QUESTION)
    write_corpus(corpus, {"extra.txt": "Honey bees dance to point to flowers far from the hive."})
    rag.update()
    rag.ask(QUESTION)
    assert len(generator.prompts) == 2


def test_batch_gives_remembered_answers_and_remembers_its_own(corpus, tmp_path, fake_config):
    rag, generator = built(corpus, tmp_path, fake_config)
    first = rag.ask(QUESTION)
    answers = rag.ask_many([QUESTION, "Who runs the Nightjet network?"])
    assert answers[0].text == first.text and "memo" in answers[0].timings
    assert len(generator.prompts) == 2
    assert rag.ask("Who runs the Nightjet network?").text == answers[1].text and len(generator.prompts) == 2


def test_answer_memo_0_remembers_nothing(corpus, tmp_path, fake_config):
    rag, generator = built(corpus, tmp_path, fake_config.replace(answer_memo=0))
    rag.ask(QUESTION)
    rag.ask(QUESTION)
    assert len(generator.prompts) == 2


def test_the_least_recently_asked_answer_goes_first():
    from rag.answering.answer import Answer
    from rag.answering.memo import AnswerMemo

    memo = AnswerMemo(2)
    answers = {key: Answer(key, f"{key}.", (), False, "extractive") for key in "abc"}
    for key in "ab":
        assert memo.recall(key) is None
        memo.keep(key, answers[key])
    memo.get("a")
    assert memo.recall("c") is None
    memo.keep("c", answers["c"])
    assert len(memo) == 2 and memo.get("b") is None and memo.get("a") is answers["a"]
    assert memo.keep("a", answers["c"]) is answers["a"], "the first answer stays the answer"
