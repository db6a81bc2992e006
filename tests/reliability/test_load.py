"""20 visitors at once on 127.0.0.1, through gradio_client (the chat's own events, one session
each), for a bounded time: no errors, each visitor gets the answer to their own question (the
same as a single user gets), and the server's memory does not grow."""

import html
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

import psutil
import pytest

from rag import RAG
from tests.conftest import REPO, copy_sentence, write_corpus
from tests.fakes import FakeEmbedder, ScriptedGenerator

pytestmark = pytest.mark.slow

VISITORS = 20
SECONDS = 60  # of load; memory is compared between the first and the last 20 s
NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett", "kilo",
         "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"]
LEADERS = ["Smith", "Jones", "Garcia", "Nguyen", "Okafor", "Kowalski", "Tanaka", "Haddad", "Rossi", "Larsen",
           "Moreau", "Silva", "Novak", "Fischer", "Ivanova", "Murphy", "Chen", "Dubois", "Kaur", "Alvarez"]
DOCS = {f"{name}.txt": f"Project {name.capitalize()}\nThe {name} project is led by {leader}. It started in {1990 + i}.\n"
        for i, (name, leader) in enumerate(zip(NAMES, LEADERS))}


def questions_of(visitor: int) -> list[str]:
    name = NAMES[visitor]
    return [f"Who leads the {name} project?", f"When did the {name} project start?"]


def visible(message: dict) -> str:
    content = message["content"]
    text = content if isinstance(content, str) else "".join(part.get("text", "") for part in content)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    """The chat served by a child process on 127.0.0.1; yields (a RAG on the same index, url, the child)."""
    root = tmp_path_factory.mktemp("load")
    corpus = write_corpus(root / "corpus", DOCS)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "tests.reliability.serve_fake", str(corpus), str(root / "index"),
                               str(port)], cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)},
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        rag = RAG.open(root / "index", embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))
        yield rag, f"http://127.0.0.1:{port}/", server
    finally:
        server.kill()
        server.wait()


class Visitor(threading.Thread):
    """One browser session asking its own two questions in turn until the deadline."""

    def __init__(self, number: int, url: str, expected: dict[str, str], deadline: float):
        super().__init__(daemon=True)
        self.number, self.url, self.expected, self.deadline = number, url, expected, deadline
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run(self):
        from gradio_client import Client

        try:
            client = Client(self.url, verbose=False)
            chat, turn = [], 0
            while time.monotonic() < self.deadline:
                question = questions_of(self.number)[turn % 2]
                started = time.monotonic()
                _, chat = client.predict(question, chat, api_name="/take")
                chat = client.predict(chat, 6, 3, 48, False, api_name="/answer")
                client.predict(chat, api_name="/done")  # ends the turn (an update, not the chat)
                self.latencies.append(time.monotonic() - started)
                asked = [visible(m) for m in chat if m["role"] == "user"]
                if asked[-1] != question or set(asked) - set(questions_of(self.number)):
                    self.errors.append(f"visitor {self.number} sees other questions: {asked[-3:]}")
                if self.expected[question] not in visible(chat[-1]):
                    self.errors.append(f"visitor {self.number} asked {question!r}, got {visible(chat[-1])[:200]!r}")
                turn += 1
        except Exception as exc:  # noqa: BLE001 - every failure counts as an error
            self.errors.append(f"visitor {self.number}: {type(exc).__name__}: {exc}")


def test_twenty_visitors_at_once_all_get_their_own_answers_without_errors(chat, record_property):
    rag, url, server = chat
    # What a single user gets, asked one at a time.
    expected = {q: rag.ask(q).text for v in range(VISITORS) for q in questions_of(v)}
    assert all(re.search(r"\[1\]", text) for text in expected.values())
    expected = {q: text.split(" [1]")[0] for q, text in expected.items()}

    process = psutil.Process(server.pid)
    memory: list[tuple[float, int]] = []
    start = time.monotonic()
    deadline = start + SECONDS
    visitors = [Visitor(v, url, expected, deadline) for v in range(VISITORS)]
    for visitor in visitors:
        visitor.start()
    while any(v.is_alive() for v in visitors) and time.monotonic() < deadline + 60:
        memory.append((time.monotonic() - start, process.memory_info().rss))
        time.sleep(0.5)
    for visitor in visitors:
        visitor.join(1)
    elapsed = time.monotonic() - start

    errors = [e for v in visitors for e in v.errors]
    latencies = sorted(t for v in visitors for t in v.latencies)
    assert not errors, f"{len(errors)} errors:\n" + "\n".join(errors[:10])
    assert all(len(v.latencies) >= 2 for v in visitors), [len(v.latencies) for v in visitors]
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    first = statistics.median(rss for t, rss in memory if t < SECONDS / 3)
    last = statistics.median(rss for t, rss in memory if 2 * SECONDS / 3 <= t <= SECONDS)
    figures = {"answers": len(latencies), "per_minute": round(60 * len(latencies) / elapsed),
               "median_s": round(statistics.median(latencies), 2), "p95_s": round(p95, 2),
               "memory_first_mb": round(first / 2**20), "memory_last_mb": round(last / 2**20)}
    record_property("load", figures)
    print(f"\nload test: {figures}\nserver memory (s, MB): {[(round(t), rss >> 20) for t, rss in memory[::8]]}")
    assert last - first < 64 * 2**20, figures
