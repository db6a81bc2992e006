"""Questions asked at the same time from several threads are decoded together."""

import threading
import time

import pytest

from rag import RAG
from tests.conftest import copy_sentence
from tests.fakes import FakeEmbedder, ScriptedGenerator

QUESTIONS = [
    "How long do manufacturers guarantee solar panels?",
    "What do solar panels turn sunlight into?",
    "How much does a typical home solar system produce at peak?",
    "Where was the first practical silicon solar cell built?",
    "In which year was the first silicon solar cell built?",
    "What do photovoltaic cells do?",
    "How many queens does a honey bee colony have?",
    "What do worker bees collect?",
    "What does the waggle dance point to?",
    "What does the round dance signal?",
    "How many drones live in a colony?",
    "How do bees communicate with each other?",
    "Which company runs the Nightjet network?",
    "How much does a sleeper cabin from Vienna to Paris cost?",
    "Which railway company is Austrian?",
    "What route does the sleeper cabin run on?",
    "Do panels last a long time?",
    "Where do worker bees find nectar and pollen?",
    "What is the Nightjet network?",
    "What does a honey bee colony consist of?",
]


class CountingGenerator(ScriptedGenerator):
    """A scripted generator that records the questions of each generate_batch call, and takes
    `step` seconds per call (as a model does), so questions asked meanwhile queue."""

    def __init__(self, reply, step: float = 0.02):
        super().__init__(reply)
        self.step = step
        self.batches: list[list[str]] = []
        self.first_call = threading.Event()
        self.release_first = threading.Event()
        self.release_first.set()

    def generate_batch(self, prompts, max_new_tokens, vocabularies, give_up=None):
        self.batches.append([p[-1]["content"].split("Question: ")[1].split("\n")[0] for p in prompts])
        if not self.first_call.is_set():
            self.first_call.set()
            self.release_first.wait(5)
        time.sleep(self.step)
        return super().generate_batch(prompts, max_new_tokens, vocabularies, give_up)


def make_rag(corpus, tmp_path, config, reply) -> tuple[RAG, CountingGenerator]:
    generator = CountingGenerator(reply)
    return RAG.build(corpus, tmp_path / "index", config, embedder=FakeEmbedder(), generator=generator), generator


def ask_together(rag: RAG, questions: list[str], timeout: float = 10) -> list:
    """Each question asked by its own thread, all released at once: Answers or the exceptions raised."""
    results: list = [None] * len(questions)
    start = threading.Barrier(len(questions))

    def ask(i):
        start.wait()
        results[i] = catch(rag.ask, questions[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


def shown(answer) -> tuple:
    return answer.text, answer.method, answer.citations


def test_twenty_threads_get_the_answers_of_one_by_one_from_fewer_model_calls(corpus, tmp_path, fake_config):
    rag, generator = make_rag(corpus, tmp_path, fake_config, copy_sentence)
    alone = [rag.stream(q).result() for q in QUESTIONS]  # the one-by-one path, without the coalescer
    drafted = sum(not a.abstained for a in alone)  # the model drafts every answer that is not an abstention
    assert drafted >= 15 and any(a.method == "generated" for a in alone)

    together = ask_together(rag, QUESTIONS)

    assert [shown(a) for a in together] == [shown(a) for a in alone]
    assert sum(len(b) for b in generator.batches) == drafted
    assert len(generator.batches) < drafted
    assert max(len(b) for b in generator.batches) > 1


def test_an_error_reaches_only_the_caller_whose_question_caused_it(corpus, tmp_path, fake_config):
    def reply(messages):
        if "Nightjet" in messages[-1]["content"].split("Question: ")[1]:
            raise RuntimeError("the model failed on this prompt")
        return copy_sentence(messages)

    rag, generator = make_rag(corpus, tmp_path, fake_config, reply)
    alone = {q: rag.stream(q).result() for q in QUESTIONS[:4]}
    generator.batches.clear()
    generator.first_call.clear()
    generator.release_first.clear()
    others = QUESTIONS[1:4] + ["Which company runs the Nightjet network?"]
    # The first question holds the model while the others queue, so they share the next batch.
    results: list = []
    while_the_first_holds_the_model(
        generator, lambda: alone.update(first=rag.ask(QUESTIONS[0])),
        [lambda q=q: results.append((q, catch(rag.ask, q))) for q in others])

    assert shown(alone["first"]) == shown(alone[QUESTIONS[0]])
    outcome = dict(results)
    assert isinstance(outcome[others[-1]], RuntimeError)
    assert all(shown(outcome[q]) == shown(alone[q]) for q in others[:-1])
    assert any(len(b) > 1 and others[-1] in b for b in generator.batches)  # it did share a batch


def test_different_overrides_never_share_a_batch(corpus, tmp_path, fake_config):
    rag, generator = make_rag(corpus, tmp_path, fake_config, copy_sentence)
    generator.release_first.clear()
    asks = [(QUESTIONS[1], {}), (QUESTIONS[2], {"max_new_tokens": 7}), (QUESTIONS[8], {})]
    while_the_first_holds_the_model(generator, lambda: rag.ask(QUESTIONS[0]),
                                    [lambda q=q, o=o: rag.ask(q, **o) for q, o in asks])

    assert sorted(map(sorted, generator.batches)) == sorted([[QUESTIONS[0]], sorted([QUESTIONS[1], QUESTIONS[8]]), [QUESTIONS[2]]])


def test_follow_ups_are_answered_with_their_history(fake_rag):
    history = ["What is the Nightjet network?"]
    answer = fake_rag.ask("Who runs it?", history=history)
    assert "ÖBB" in answer.text
    assert shown(answer) == shown(fake_rag.stream("Who runs it?", history=history).result())


def catch(function, *args):
    try:
        return function(*args)
    except Exception as exc:
        return exc


@pytest.mark.slow
def test_real_models_give_the_same_answers_to_simultaneous_askers(real_rag):
    from rag.evaluation import load_questions
    from tests.conftest import REPO

    questions = [item["question"] for item in load_questions(REPO / "eval" / "dev_qa.jsonl")]
    alone = [real_rag.stream(q).result() for q in questions]
    together = ask_together(real_rag, questions, timeout=300)
    assert [shown(a) for a in together] == [shown(a) for a in alone]
    assert any(a.method == "generated" for a in together)


def while_the_first_holds_the_model(generator, first_call, others):
    """Runs first_call on a thread until the generator is inside it, starts the others (they
    queue behind it), then lets the first go on and waits for all."""
    first = threading.Thread(target=first_call)
    first.start()
    assert generator.first_call.wait(5)
    threads = [threading.Thread(target=call) for call in others]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    generator.release_first.set()
    for thread in threads + [first]:
        thread.join(10)
