"""The OpenAI Chat Completions API at /v1, asked by the real `openai` client (and curl) over a live
server on 127.0.0.1, on the fake models."""

import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rag import RAG, Config
from rag.cli import cli
from tests.conftest import copy_sentence, write_corpus
from tests.fakes import FakeEmbedder, ScriptedGenerator
from tests.ports import free_port
from ui.app import serve, serve_api, start_notes
from ui.line import Line
from ui.openai_api import api_routes

KEY = "test-key-123"
NIGHTJET = "Who runs the Nightjet network?"
SOLAR = "When was the first practical silicon solar cell built?"


class Generator(ScriptedGenerator):
    """Copies source [1], except about solar cells, where it makes things up (a draft that fails
    verification); records the token budget of each call."""

    def __init__(self):
        super().__init__(lambda m: "The first practical silicon solar cell was built by aliens in 1802."
                         if "solar cell" in m[-1]["content"] else copy_sentence(m))
        self.budgets: list[int] = []

    def stream(self, messages, max_new_tokens, vocabulary=None):
        self.budgets.append(max_new_tokens)
        return super().stream(messages, max_new_tokens, vocabulary)


@pytest.fixture(scope="module")
def api_rag(tmp_path_factory) -> RAG:
    folder = tmp_path_factory.mktemp("api")
    # Nothing remembered: each request here reaches the generator (the memo: tests/test_memo.py).
    config = Config(embedder="fake-embedder", chunk_chars=200, chunk_overlap=50, answer_memo=0)
    return RAG.build(write_corpus(folder / "corpus"), folder / "index", config, embedder=FakeEmbedder(),
                     generator=Generator())


@pytest.fixture(scope="module")
def server(api_rag):
    """`rag serve` in this process: the page (behind a login) and the API (behind a key) on one free port."""
    line = Line(2)
    port = free_port()
    app = serve(api_rag, port=port, block=False, auth=("reader", "s3cret"), api_key=KEY, line=line)
    yield f"http://127.0.0.1:{port}", line
    app.close()


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server[0]}/v1", api_key=KEY, max_retries=0, timeout=30)


def ask(client, *messages, **options):
    return client.chat.completions.create(
        model="rag", messages=[m if isinstance(m, dict) else {"role": "user", "content": m} for m in messages],
        **options)


def streamed(client, *messages, **options) -> list:
    return list(ask(client, *messages, stream=True, **options))


def test_the_index_is_the_one_model(client):
    assert [m.id for m in client.models.list()] == ["rag"]
    assert client.models.retrieve("rag").id == "rag"


def test_an_answer_carries_its_citations(client, api_rag):
    reply = ask(client, NIGHTJET, temperature=0.9, top_p=0.5, stop=["\n"], seed=7, presence_penalty=1)
    message = reply.choices[0].message
    assert reply.model == "rag" and reply.choices[0].finish_reason == "stop"
    assert "ÖBB" in message.content and "[1]" in message.content
    assert message.abstained is False
    cited = message.citations[0]
    assert cited["n"] == 1 and cited["source"] == "notes/trains.html" and 0 < cited["score"] <= 1
    assert api_rag.document_text(cited["source"])[cited["start"]:cited["end"]] == cited["quote"]


def test_a_streamed_answer_is_the_verified_one_then_its_citations(client):
    chunks = streamed(client, NIGHTJET)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == ask(client, NIGHTJET).choices[0].message.content
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop" and last.delta.abstained is False
    assert last.delta.citations[0]["source"] == "notes/trains.html"


def test_a_draft_that_fails_verification_is_never_streamed(client, api_rag):
    chunks = streamed(client, SOLAR)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert any("solar cell" in prompt[-1]["content"] for prompt in api_rag.generator.prompts)  # a lie was drafted
    assert "aliens" not in text and "Bell Labs in 1954" in text  # the quoted evidence instead
    assert text == ask(client, SOLAR).choices[0].message.content


def test_earlier_user_messages_are_the_follow_up_history(client):
    alone = ask(client, "And what do they do?").choices[0].message
    assert alone.abstained is True and alone.citations == [] and "do not say" in alone.content
    message = ask(client, {"role": "system", "content": "You are a helpful assistant."}, NIGHTJET,
                  {"role": "assistant", "content": "ÖBB runs it."}, "What do worker bees collect?",
                  {"role": "assistant", "content": "Nectar."},
                  {"role": "user", "content": [{"type": "text", "text": "And what do they do?"}]}).choices[0].message
    assert "nectar and pollen" in message.content and message.abstained is False
    assert [c["source"] for c in message.citations] == ["bees.md"]


def test_max_tokens_lowers_the_models_budget(client, api_rag):
    budgets = api_rag.generator.budgets
    ask(client, NIGHTJET, max_tokens=7)
    assert budgets[-1] == 7
    ask(client, NIGHTJET, max_completion_tokens=4000)
    assert budgets[-1] == api_rag.config.max_new_tokens


def test_a_wrong_or_missing_key_is_refused(server):
    url, _ = server
    wrong = openai.OpenAI(base_url=f"{url}/v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        wrong.models.list()
    assert refused.value.status_code == 401 and refused.value.body["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        ask(wrong, NIGHTJET)
    response = httpx.post(f"{url}/v1/chat/completions", json={"model": "rag", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 401 and set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert httpx.get(f"{url}/config").status_code == 401  # the page asks for its login...
    assert httpx.get(f"{url}/config", headers={"Authorization": f"Bearer {KEY}"}).status_code == 401


@pytest.mark.parametrize("messages, options, status, says", [
    ([" \n "], {}, 400, "the question is empty"),
    (["why? " * 500], {}, 400, "the limit is 2,000 characters"),
    ([{"role": "system", "content": "Be brief."}], {}, 400, "no user message"),
    ([NIGHTJET], {"model": "gpt-4o"}, 404, "does not exist"),
    ([NIGHTJET], {"max_tokens": 0}, 400, "max_tokens must be"),
    ([NIGHTJET], {"n": 3}, 400, "n must be 1"),
])
def test_a_bad_request_gets_an_openai_error(client, messages, options, status, says):
    options = {"model": "rag", **options}
    with pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(messages=[m if isinstance(m, dict) else {"role": "user", "content": m}
                                                 for m in messages], **options)
    assert refused.value.status_code == status and says in refused.value.body["message"]
    assert refused.value.body["type"] == "invalid_request_error"


def test_a_broken_body_gets_an_openai_error_not_a_traceback(server):
    url, _ = server
    headers = {"Authorization": f"Bearer {KEY}"}
    for body in ('{"messages": [', '["a list"]', '{"messages": "hi"}'):
        response = httpx.post(f"{url}/v1/chat/completions", content=body, headers=headers)
        assert response.status_code == 400 and "Traceback" not in response.text
        assert response.json()["error"]["message"]
    response = httpx.post(f"{url}/v1/chat/completions", content=b" " * 1_000_001, headers=headers)
    assert response.status_code == 413 and "over 1,000,000 bytes" in response.json()["error"]["message"]
    response = httpx.get(f"{url}/v1/embeddings", headers=headers)
    assert response.status_code == 404 and "POST /v1/chat/completions" in response.json()["error"]["message"]


def test_a_lone_surrogate_gets_a_400_and_control_characters_are_cleaned(server):
    url, _ = server
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    for stream in ("false", "true"):
        body = '{"model": "rag", "stream": %s, "messages": [{"role": "user", "content": "Who runs \\ud800 Nightjet?"}]}' % stream
        response = httpx.post(f"{url}/v1/chat/completions", content=body, headers=headers)
        assert response.status_code == 400 and "lone surrogate" in response.json()["error"]["message"]
    body = json.dumps({"model": "rag", "messages": [{"role": "user", "content": "Who runs the\u0000 Nightjet\u001b network?"}]})
    response = httpx.post(f"{url}/v1/chat/completions", content=body, headers=headers)
    assert response.status_code == 200 and "ÖBB" in response.json()["choices"][0]["message"]["content"]


def test_curl_gets_server_sent_events_that_end_with_done(server):
    url, _ = server
    body = json.dumps({"model": "rag", "stream": True, "messages": [{"role": "user", "content": NIGHTJET}]})
    out = subprocess.run(["curl", "-sS", "-N", f"{url}/v1/chat/completions", "-H", f"Authorization: Bearer {KEY}",
                          "-H", "Content-Type: application/json", "-d", body],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    events = [line.removeprefix("data: ") for line in out.split("\n\n") if line]
    assert all(line.startswith("data: ") for line in out.split("\n\n") if line)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "ÖBB" in "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert chunks[-1]["choices"][0]["delta"]["citations"][0]["source"] == "notes/trains.html"


def test_ten_clients_streaming_at_once_each_get_their_own_answer(client):
    questions = [NIGHTJET, SOLAR] * 5
    alone = {q: ask(client, q).choices[0].message.content for q in set(questions)}
    with ThreadPoolExecutor(len(questions)) as pool:
        replies = list(pool.map(lambda q: streamed(client, q), questions))
    for question, chunks in zip(questions, replies, strict=True):
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == alone[question]
        assert chunks[-1].choices[0].finish_reason == "stop"


def test_api_questions_wait_in_the_chats_line(client, server):
    _, line = server
    with line.place() as first, line.place() as second:  # two chat answers running
        assert first.wait(0) and second.wait(0)
        answers = []
        asking = threading.Thread(target=lambda: answers.append(ask(client, NIGHTJET)))
        asking.start()
        time.sleep(0.5)
        assert asking.is_alive() and line.waiting == 1 and not answers
    asking.join(10)
    assert "ÖBB" in answers[0].choices[0].message.content
    assert line.waiting == 0 and line.running == 0


def test_a_client_that_hangs_up_while_waiting_leaves_the_line(server):
    url, line = server
    body = {"model": "rag", "stream": True, "messages": [{"role": "user", "content": NIGHTJET}]}
    with line.place() as first, line.place() as second:
        assert first.wait(0) and second.wait(0)
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}) as r:
            lines = r.iter_lines()  # kept: dropping it would close the connection at once
            assert next(lines).startswith("data: ")  # the role chunk: it is waiting
            time.sleep(0.2)
            assert line.waiting == 1
        deadline = time.monotonic() + 5
        while line.waiting and time.monotonic() < deadline:
            time.sleep(0.05)
        assert line.waiting == 0


def test_with_a_login_and_no_key_the_api_is_refused(api_rag):
    closed = TestClient(FastAPI(routes=api_routes(api_rag, Line(2), None, locked=True)))
    for response in (closed.get("/v1/models"), closed.post("/v1/chat/completions", json={"messages": []})):
        assert response.status_code == 403 and "--api-key" in response.json()["error"]["message"]
    keyed = TestClient(FastAPI(routes=api_routes(api_rag, Line(2), KEY, locked=True)))
    assert keyed.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    assert keyed.get("/v1/models").status_code == 401


def test_the_api_alone_answers_and_serves_no_page(api_rag):
    port = free_port()
    running = serve_api(api_rag, port=port, api_key=None, block=False)
    try:
        open_client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="anything", max_retries=0)
        assert "ÖBB" in ask(open_client, NIGHTJET).choices[0].message.content
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 404
    finally:
        running.close()


def test_start_up_says_what_is_open():
    local = start_notes("127.0.0.1", 7860, False, None, None)
    assert local == ["OpenAI-compatible API: http://127.0.0.1:7860/v1 (model 'rag')"]
    exposed = " ".join(start_notes("0.0.0.0", 7860, False, None, None))
    assert "the chat is open" in exposed and "the API at /v1 is open" in exposed
    keyed = " ".join(start_notes("0.0.0.0", 7860, False, ("a", "b"), KEY))
    assert "open" not in keyed.replace("OpenAI", "")
    assert "the API at /v1 is off" in " ".join(start_notes("0.0.0.0", 7860, False, ("a", "b"), None))
    assert "the chat is open" not in " ".join(start_notes("0.0.0.0", 7860, False, None, KEY, api_only=True))


def test_serve_takes_the_key_from_the_environment(monkeypatch, tmp_path):
    called = {}
    monkeypatch.setattr("rag.cli.open_rag", lambda index_dir, config: "rag")
    monkeypatch.setattr("ui.app.serve_api", lambda rag, **kw: called.update(kw))
    result = CliRunner().invoke(cli, ["serve", "--api-only", "--port", "8000"], env={"RAG_API_KEY": KEY})
    assert result.exit_code == 0, result.output
    assert called == {"host": "127.0.0.1", "port": 8000, "api_key": KEY}
    refused = CliRunner().invoke(cli, ["serve", "--api-only", "--share"])
    assert refused.exit_code == 2 and "--api-only serves no page" in refused.output
    refused = CliRunner().invoke(cli, ["serve", "--api-only"], env={"RAG_AUTH": "a:b", "RAG_API_KEY": ""})
    assert refused.exit_code == 2 and "needs --api-key" in refused.output


@pytest.mark.slow
def test_the_real_models_answer_through_the_api(real_rag):
    port = free_port()
    running = serve_api(real_rag, port=port, api_key=KEY, block=False)
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0, timeout=120)
        question = "How much did Microsoft invest in OpenAI in 2019?"
        message = ask(client, question).choices[0].message
        assert "billion" in message.content and not message.abstained
        for c in message.citations:
            assert f"[{c['n']}]" in message.content
            assert real_rag.document_text(c["source"])[c["start"]:c["end"]] == c["quote"]
        chunks = streamed(client, question)
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == message.content
        assert chunks[-1].choices[0].delta.citations == message.citations
    finally:
        running.close()
