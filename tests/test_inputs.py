"""Hostile text in a question at every door (library, CLI ask, batch, chat): a lone surrogate is
refused with a message saying why, NULs and control characters are cleaned, and nothing else
that was asked is lost. The API's door is in tests/test_openai_api.py."""

import json

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.inputs import check_history, check_question
from ui import chat as actions

SURROGATE = "What do worker bees \ud800 collect?"
CONTROL = "What do\x00worker\x1b bees\x07 collect?"


def test_a_lone_surrogate_is_refused_and_control_characters_are_cleaned():
    with pytest.raises(ValueError, match=r"lone surrogate \(U\+D800 at character 21\).*UTF-8"):
        check_question(SURROGATE)
    assert check_question(CONTROL) == "What do worker bees collect?"
    assert check_history([SURROGATE, CONTROL, "\x00"]) == ["What do worker bees collect?"]


def test_the_library_refuses_a_surrogate_and_answers_the_cleaned_question(fake_rag):
    for call in (fake_rag.ask, fake_rag.stream, lambda q: fake_rag.ask_many(["Who runs the Nightjet network?", q])):
        with pytest.raises(ValueError, match="lone surrogate"):
            call(SURROGATE)
    answer = fake_rag.ask(CONTROL, history=[SURROGATE])
    assert answer.question == "What do worker bees collect?" and answer.citations[0].source == "bees.md"


def test_cli_ask_says_why_a_surrogate_is_refused(fake_rag, monkeypatch):
    monkeypatch.setattr("rag.cli.open_rag", lambda index_dir, config: fake_rag)
    result = CliRunner().invoke(cli, ["ask", SURROGATE])
    assert result.exit_code == 1 and "lone surrogate" in result.output and "Traceback" not in result.output
    assert CliRunner().invoke(cli, ["ask", CONTROL]).exit_code == 0


def test_batch_gives_the_bad_lines_error_rows_and_answers_the_rest(fake_rag, monkeypatch, tmp_path):
    monkeypatch.setattr("rag.cli.open_rag", lambda index_dir, config: fake_rag)
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join([
        json.dumps({"id": "s", "question": SURROGATE, "note": "\ud800"}),  # valid JSON: "\ud800"
        json.dumps({"id": "c", "question": CONTROL}),
        json.dumps({"id": "n", "question": "Who runs the Nightjet network?"}),
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "answers.jsonl"
    result = CliRunner().invoke(cli, ["batch", str(questions), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert "line 1: the question holds a lone surrogate" in rows["s"]["error"] and rows["s"]["note"] == "\ufffd"
    assert rows["c"]["error"] is None and rows["c"]["citations"][0]["source"] == "bees.md"
    assert rows["n"]["error"] is None and "ÖBB" in rows["n"]["answer"]


def test_batch_refuses_only_the_line_that_is_not_utf8(fake_rag, monkeypatch, tmp_path):
    monkeypatch.setattr("rag.cli.open_rag", lambda index_dir, config: fake_rag)
    questions = tmp_path / "questions.txt"
    questions.write_bytes(b"What do worker bees \xed\xa0\x80 collect?\nWho runs the Nightjet network?\n")
    out = tmp_path / "answers.jsonl"
    result = CliRunner().invoke(cli, ["batch", str(questions), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert "lone surrogate" in rows[0]["error"] and "ÖBB" in rows[1]["answer"]


def test_the_chat_says_why_and_the_next_question_is_answered(fake_rag):
    _, question, chat = actions.take_question(SURROGATE, [])
    assert "\ud800" not in json.dumps(chat, ensure_ascii=False)  # the page's JSON can carry it
    shown = list(actions.respond(fake_rag, question, chat, []))
    assert "Sorry, I could not answer that: the question holds a lone surrogate" in shown[-1][0][-1]["content"]
    _, question, chat = actions.take_question("Who runs the Nightjet network?", shown[-1][0])
    shown = list(actions.respond(fake_rag, question, chat, shown[-1][1]))
    assert "ÖBB" in shown[-1][0][-1]["content"]
