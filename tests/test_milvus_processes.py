"""A Milvus index built by one process and asked by others, as `rag` is used.

Milvus keeps a collection on disk released (not searchable) until a client loads it: Milvus
Lite in every new process, a server after a restart or a release. Tests that search from the
process that wrote the collection never see that, so here each `rag` command runs in a fresh
process (tests/milvus_child.py: the real CLI with the stand-in models; the last test uses the
real ones, as the README's commands do).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from rag import RAG
from rag.errors import StoreError
from rag.stores.milvus import store_keys
from tests.fakes import FakeEmbedder, ScriptedGenerator, source_sentence
from tests.ports import free_port, milvus_lite_server, wait_for_port

REPO = Path(__file__).resolve().parent.parent
QUESTION = "Who runs the Nightjet network?"
FAKE_MODELS = 'embedder = "fake-embedder"\nchunk_chars = 200\nchunk_overlap = 50\n'
MOVED = "<html><body><h1>Night trains in Europe</h1><p>The Nightjet network is run by the German company DB.</p></body></html>"


def run(cwd: Path, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def rag_cli(cwd: Path, *args: str) -> str:
    """`rag --config rag.toml ARGS` in a fresh process; its output, after checking it succeeded."""
    result = run(cwd, ["-m", "tests.milvus_child", "--config", "rag.toml", *args])
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return result.stdout


def rag_cli_fails(cwd: Path, *args: str) -> str:
    """The message of a `rag` command that fails: a clean one, not a traceback."""
    result = run(cwd, ["-m", "tests.milvus_child", "--config", "rag.toml", *args])
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.stderr.startswith("Error: "), result.stderr[-3000:]
    return result.stderr


def open_in_new_process(cwd: Path, index: str) -> dict:
    """RAG.open in a fresh process: its answer, and whether its collection holds exactly the
    rows of its chunks (an update deletes the rows it replaced)."""
    script = (
        "import json; from rag import RAG; from rag.stores.milvus import store_keys; from tests.fakes import FakeEmbedder\n"
        f"r = RAG.open({index!r}, embedder=FakeEmbedder())\n"
        f"a = r.ask({QUESTION!r}, extractive_only=True)\n"
        "print(json.dumps({'answer': a.text, 'rows_are_chunks': r.store.backend.chunks.keys() == set(store_keys(r.store))}))"
    )
    result = run(cwd, ["-c", script])
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def ask_every_way(cwd: Path, index: str, expected: str):
    """rag ask, rag batch, rag eval and RAG.open, each in a process of its own."""
    answer = json.loads(rag_cli(cwd, "ask", "--json", "--index", index, QUESTION).strip().splitlines()[-1])
    assert expected in answer["answer"] and answer["citations"][0]["source"] == "notes/trains.html", answer
    (cwd / "q.txt").write_text(QUESTION + "\n", encoding="utf-8")
    rag_cli(cwd, "batch", "q.txt", "--index", index, "-o", "a.jsonl")
    assert expected in json.loads((cwd / "a.jsonl").read_text(encoding="utf-8"))["answer"]
    item = {"id": "q1", "question": QUESTION, "answers": [expected], "docs": ["notes/trains.html"]}
    (cwd / "qa.jsonl").write_text(json.dumps(item) + "\n", encoding="utf-8")
    figures = json.loads(rag_cli(cwd, "eval", "qa.jsonl", "--index", index))
    assert figures["answered_right_and_cited"] == 1, figures
    opened = open_in_new_process(cwd, index)
    assert expected in opened["answer"] and opened["rows_are_chunks"], opened


def test_a_lite_file_is_asked_from_new_processes_and_updated_by_one(corpus, tmp_path):
    """The issue's steps: `store = "mv/milvus.db"` in rag.toml, `rag index --index mv/idx`, then
    ask, batch, eval and RAG.open, each in a new process; then a changed file, indexed again."""
    (tmp_path / "rag.toml").write_text('store = "mv/milvus.db"\n' + FAKE_MODELS, encoding="utf-8")
    assert "3 added" in rag_cli(tmp_path, "index", "--corpus", "corpus", "--index", "mv/idx")
    assert (tmp_path / "mv" / "milvus.db").exists()
    ask_every_way(tmp_path, "mv/idx", "ÖBB")
    (corpus / "notes" / "trains.html").write_text(MOVED, encoding="utf-8")
    assert "0 added, 1 updated" in rag_cli(tmp_path, "index", "--corpus", "corpus", "--index", "mv/idx")
    opened = open_in_new_process(tmp_path, "mv/idx")
    assert "German company DB" in opened["answer"] and opened["rows_are_chunks"], opened


def test_a_lite_file_open_in_another_process_is_refused_with_what_to_do(corpus, tmp_path, fake_config):
    (tmp_path / "rag.toml").write_text(FAKE_MODELS, encoding="utf-8")
    RAG.build(corpus, tmp_path / "idx", fake_config.replace(store="milvus"), embedder=FakeEmbedder())  # this process holds it
    message = rag_cli_fails(tmp_path, "ask", "--index", "idx", QUESTION)
    assert f"cannot open Milvus at {(tmp_path / 'idx' / 'milvus.db').resolve()}" in message, message
    assert "another process holds" in message and "milvus-lite server" in message, message


def test_a_collection_released_while_open_is_loaded_again(corpus, tmp_path, fake_config):
    """A long-running `rag serve` whose collection someone released (or a restarted server)."""
    rag = RAG.build(corpus, tmp_path / "idx", fake_config.replace(store="milvus"), embedder=FakeEmbedder(),
                    generator=ScriptedGenerator(lambda messages: source_sentence(messages, 1)))
    chunks = rag.store.backend.chunks
    chunks.client.release_collection(chunks.collection)
    assert "ÖBB" in rag.ask(QUESTION).text
    chunks.client.release_collection(chunks.collection)
    assert chunks.keys() == set(store_keys(rag.store))


def test_an_index_whose_collection_or_file_is_gone_says_to_rebuild(corpus, tmp_path, fake_config):
    config = fake_config.replace(store=str(tmp_path / "a" / "chunks.db"))
    rag = RAG.build(corpus, tmp_path / "a" / "idx", config, embedder=FakeEmbedder())
    shutil.copytree(tmp_path / "a" / "idx", tmp_path / "b" / "c" / "idx")  # its "../chunks.db" is not there
    with pytest.raises(StoreError, match=r"Milvus Lite file .*b/c/chunks.db, which is missing.*rag index --rebuild"):
        RAG.open(tmp_path / "b" / "c" / "idx", embedder=FakeEmbedder())
    assert not (tmp_path / "b" / "c" / "chunks.db").exists()
    rag.store.backend.chunks.client.drop_collection("rag_chunks")  # a wiped server
    with pytest.raises(StoreError, match=r"collection 'rag_chunks' in Milvus at .*a/chunks.db, which does not hold it"):
        RAG.open(tmp_path / "a" / "idx", embedder=FakeEmbedder())
    rebuilt = RAG.build(corpus, tmp_path / "a" / "idx", config, rebuild=True, embedder=FakeEmbedder())
    assert "ÖBB" in rebuilt.ask(QUESTION, extractive_only=True).text


def test_an_index_moved_to_a_milvus_server_is_asked_after_a_restart_and_a_release(corpus, tmp_path):
    """`rag index --store URI` moves a Milvus Lite index to a server (`milvus-lite server`),
    reusing its vectors; a restart and a release leave the collection on disk, not loaded."""
    from pymilvus import MilvusClient

    (tmp_path / "rag.toml").write_text('collection = "served"\n' + FAKE_MODELS, encoding="utf-8")
    rag_cli(tmp_path, "index", "--corpus", "corpus", "--index", "idx", "--store", "milvus")
    port = free_port()
    with milvus_lite_server(tmp_path / "server", port) as uri:
        moved = rag_cli(tmp_path, "index", "--corpus", "corpus", "--index", "idx", "--store", uri)
        assert "0 texts embedded" in moved, moved
    with milvus_lite_server(tmp_path / "server", port) as uri:  # restarted: the collection is released
        ask_every_way(tmp_path, "idx", "ÖBB")
        client = MilvusClient(uri)
        client.release_collection("served")
        (corpus / "notes" / "trains.html").write_text(MOVED, encoding="utf-8")
        assert "0 added, 1 updated" in rag_cli(tmp_path, "index", "--corpus", "corpus", "--index", "idx")
        client.release_collection("served")
        opened = open_in_new_process(tmp_path, "idx")
        assert "German company DB" in opened["answer"] and opened["rows_are_chunks"], opened
        client.close()
    message = rag_cli_fails(tmp_path, "ask", "--index", "idx", QUESTION)
    assert f"cannot open Milvus at {uri}" in message and "is running and reachable" in message, message


def test_a_server_that_goes_away_gives_a_store_error(corpus, tmp_path, fake_config):
    """The library (and the chat and CLI on it) get a StoreError, not pymilvus's exception."""
    with milvus_lite_server(tmp_path / "server", free_port()) as uri:
        rag = RAG.build(corpus, tmp_path / "idx", fake_config.replace(store=uri), embedder=FakeEmbedder())
    with pytest.raises(StoreError, match=rf"Milvus at {re.escape(uri)} failed to search .*is running and reachable"):
        rag.ask(QUESTION, extractive_only=True)


def test_rag_serve_on_a_lite_file_answers_in_a_new_process(corpus, tmp_path):
    (tmp_path / "rag.toml").write_text('store = "milvus"\n' + FAKE_MODELS, encoding="utf-8")
    rag_cli(tmp_path, "index", "--corpus", "corpus", "--index", "idx")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tests.milvus_child", "--config", "rag.toml", "serve",
                               "--index", "idx", "--port", str(port)], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_for_port(port, server)
        body = json.dumps({"model": "rag", "messages": [{"role": "user", "content": QUESTION}]}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            reply = json.loads(response.read())
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "ÖBB" in reply["choices"][0]["message"]["content"], reply
    assert "Traceback" not in errors, errors[-3000:]


@pytest.mark.slow
def test_readme_at_scale_with_the_real_models_in_new_processes(tmp_path):
    """The issue's commands as a user types them: `rag` itself, the default models and corpus."""
    shutil.copytree(REPO / "corpus", tmp_path / "corpus")
    (tmp_path / "rag.toml").write_text('store = "mv/milvus.db"\n', encoding="utf-8")

    def rag(*args: str) -> str:
        result = run(tmp_path, ["-m", "rag.cli", "--config", "rag.toml", *args], timeout=300)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
        return result.stdout

    assert "4 added" in rag("index", "--corpus", "corpus", "--index", "mv/idx")
    answer = rag("ask", "--index", "mv/idx", "How much did Microsoft invest in OpenAI in 2019?")
    assert "1 billion" in answer and "[1]" in answer, answer
    (tmp_path / "q.txt").write_text("Who said the future of AI must be open?\n", encoding="utf-8")
    rag("batch", "q.txt", "--index", "mv/idx", "--extractive", "-o", "a.jsonl")
    assert "Nadella" in (tmp_path / "a.jsonl").read_text(encoding="utf-8")
