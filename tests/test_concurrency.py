"""Many askers on one RAG: every answer is the one its question gets alone, whoever else asks.

The answer memo (tests/test_memo.py) would give every asker the first answer; these tests turn it
off, so that each answer here is written under the load of the others.
"""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fakes import ScriptedGenerator

REPO = Path(__file__).resolve().parent.parent


def ask_together(rag, questions: list[str], threads: int) -> list[str]:
    """Each of `threads` threads asks every question, starting at its own place."""
    start = threading.Barrier(threads)

    def asker(offset: int) -> list[tuple[int, str]]:
        start.wait()
        order = [(offset + i) % len(questions) for i in range(len(questions))]
        return [(i, rag.ask(questions[i]).text) for i in order]

    with ThreadPoolExecutor(threads) as pool:
        return [pair for got in pool.map(asker, range(threads)) for pair in got]


def test_eight_askers_get_the_answers_each_question_gets_alone(corpus, tmp_path, fake_config):
    from rag import RAG
    from tests.conftest import copy_sentence
    from tests.fakes import FakeEmbedder

    rag = RAG.build(corpus, tmp_path / "index", fake_config.replace(answer_memo=0), embedder=FakeEmbedder(),
                    generator=ScriptedGenerator(copy_sentence))
    questions = ["What do worker bees collect?", "Who runs the Nightjet network?",
                 "When was the first practical silicon solar cell built?", "What does the waggle dance point to?"]
    alone = [rag.ask(q).text for q in questions]
    together = ask_together(rag, questions, 8)
    assert len(together) == 8 * len(questions)
    assert all(text == alone[i] for i, text in together)


@pytest.mark.slow
def test_the_real_model_under_eight_askers_gives_the_answers_given_alone(real_rag):
    from rag import RAG, Config

    real_rag = RAG.open(real_rag.index_dir, Config(answer_memo=0), embedder=real_rag.embedder, generator=real_rag.generator)
    questions = [json.loads(line)["question"] for line in (REPO / "eval" / "dev_qa.jsonl").read_text().splitlines()
                 if line.strip()][:8]
    alone = [real_rag.ask(q).text for q in questions]
    together = ask_together(real_rag, questions, 8)
    differ = [(questions[i], alone[i], text) for i, text in together if text != alone[i]]
    assert not differ, differ
