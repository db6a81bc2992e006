"""The line questions wait in, from the chat and the API: a limit on answers at once, first come first served."""

import re
import threading

import pytest

from ui import chat as actions
from ui.line import Line


def test_at_most_size_answers_run_and_the_next_starts_when_one_ends():
    line = Line(2)
    started = threading.Event()

    def third():
        with line.place() as place:
            place.wait()
            started.set()

    with line.place() as a, line.place() as b:
        assert a.wait(0) and b.wait(0)
        asking = threading.Thread(target=third)
        asking.start()
        assert not started.wait(0.2) and line.waiting == 1 and line.running == 2
    asking.join(1)
    assert started.is_set() and line.running == 0 and line.waiting == 0


def test_questions_start_in_the_order_they_came():
    line = Line(1)
    order, threads = [], []

    def ask(name: str, joined: threading.Event):
        with line.place() as place:
            joined.set()
            place.wait()
            order.append(name)

    with line.place() as running:
        assert running.wait(0)
        for name in "abc":
            joined = threading.Event()
            threads.append(threading.Thread(target=ask, args=(name, joined)))
            threads[-1].start()
            joined.wait(1)
        assert line.waiting == 3
    for thread in threads:
        thread.join(1)
    assert order == ["a", "b", "c"]


def test_the_one_after_the_first_waits_even_when_a_place_frees_for_one():
    line = Line(1)
    held = line.place()
    place = held.__enter__()
    assert place.wait(0)
    with line.place() as first, line.place() as second:
        held.__exit__(None, None, None)  # one place frees: it is first's, not second's
        assert not second.wait(0)
        assert first.wait(0)
        assert second.ahead == 0 and not second.wait(0)


def test_no_limit_never_waits():
    line = Line(None)
    with line.place() as a, line.place() as b, line.place() as c:
        assert a.wait(0) and b.wait(0) and c.wait(0)
    with pytest.raises(ValueError):
        Line(0)


def test_the_chat_shows_its_place_while_api_questions_hold_the_line(fake_rag):
    line = Line(1)
    with line.place() as api_question:  # an API answer runs
        assert api_question.wait(0)
        _, question, chat = actions.take_question("Who runs the Nightjet network?", [])
        answering = actions.respond(fake_rag, question, chat, [], line)
        next(answering)  # the cursor
        waiting = next(answering)[0][-1]["content"]
        assert "Waiting in line: yours is next." in re.sub(r"<[^>]+>", "", waiting)
        assert "rag-streaming" in waiting  # so the stop button marks it stopped
        assert fake_rag.generator.prompts == []
    shown = list(answering)
    assert "ÖBB" in shown[-1][0][-1]["content"] and line.running == 0
