"""The index on Milvus (Milvus Lite, the real engine: embedded, and as a server on 127.0.0.1)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag import RAG, Config
from rag.errors import MissingDependencyError
from rag.evaluation import evaluate, load_questions
from rag.lexical import terms
from rag.stores.folder import FolderVectors
from rag.stores.milvus import MilvusVectors, config_store, milvus_uri, store_keys, write_rows
from rag.stores.milvus_collection import MilvusChunks
from tests.fakes import FakeEmbedder, ScriptedGenerator, source_sentence
from tests.ports import free_port, milvus_lite_server

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "When was the first silicon solar cell built?",
    "Who runs the Nightjet network?",
    "How do bees communicate?",
    "How long are solar panels guaranteed?",
    "What is the capital of Peru?",
]


def copy_sentence(messages):
    return source_sentence(messages, 1)


def build(corpus, index_dir, config, **kwargs):
    return RAG.build(corpus, index_dir, config, embedder=FakeEmbedder(),
                     generator=ScriptedGenerator(copy_sentence), **kwargs)


def rows(rag: RAG) -> set[str]:
    return rag.store.backend.chunks.keys()


@pytest.fixture
def milvus_config(fake_config) -> Config:
    return fake_config.replace(store="milvus")


def test_milvus_store_ranks_and_answers_as_faiss(corpus, tmp_path, fake_config, milvus_config):
    faiss = build(corpus, tmp_path / "faiss", fake_config)
    milvus = build(corpus, tmp_path / "milvus", milvus_config)
    assert (tmp_path / "milvus" / "milvus.db").exists()
    assert not list((tmp_path / "milvus").glob("data-*/chunks.faiss"))
    for question in QUESTIONS:
        vector, query_terms = faiss.embedder.embed([question])[0], terms(question)
        expected = [(h.index, h.dense_rank, h.lexical_rank) for h in faiss.answerer.retriever.search(vector, query_terms, 4)]
        found = [(h.index, h.dense_rank, h.lexical_rank) for h in milvus.answerer.retriever.search(vector, query_terms, 4)]
        assert found == expected, question
        a, b = faiss.ask(question), milvus.ask(question)
        assert (b.text, b.abstained) == (a.text, a.abstained), question
        assert [(c.source, c.start, c.end, round(c.score, 5)) for c in b.citations] == \
            [(c.source, c.start, c.end, round(c.score, 5)) for c in a.citations], question


def test_milvus_rows_hold_the_chunk_and_its_metadata(corpus, tmp_path, milvus_config):
    rag = build(corpus, tmp_path / "index", milvus_config)
    chunks: MilvusChunks = rag.store.backend.chunks
    got = chunks.client.query(chunks.collection, filter='source == "solar.txt"',
                              output_fields=["text", "source", "start", "end", "heading", "text_hash", "doc_sha256"])
    assert got
    for row in got:
        assert rag.document_text("solar.txt")[row["start"]:row["end"]] == row["text"]
        assert row["doc_sha256"] == rag.store.documents["solar.txt"].sha256
    assert rows(rag) == set(store_keys(rag.store))


def test_milvus_updates_are_incremental_and_delete_removed_files(corpus, tmp_path, milvus_config):
    rag = build(corpus, tmp_path / "index", milvus_config)
    before = rows(rag)
    again = build(corpus, tmp_path / "index", milvus_config)
    assert again.report.embedded == 0 and not again.report.changed
    (corpus / "solar.txt").write_text("Solar Power Basics\nSolar panels last about 30 years now.\n", encoding="utf-8")
    (corpus / "bees.md").unlink()
    embedder = FakeEmbedder()
    updated = RAG.build(corpus, tmp_path / "index", milvus_config, embedder=embedder,
                        generator=ScriptedGenerator(copy_sentence))
    assert updated.report.updated == ["solar.txt"] and updated.report.removed == ["bees.md"]
    assert all("30 years" in t or "Solar Power" in t for t in embedder.embedded), embedder.embedded
    after = rows(updated)
    assert after == set(store_keys(updated.store)) and after != before
    assert not any(c.source == "bees.md" for c in updated.store.chunks)
    assert "30 years" in updated.ask("How long do solar panels last?").text


def test_plain_rag_index_keeps_a_milvus_index_on_milvus(corpus, tmp_path, fake_config, milvus_config):
    build(corpus, tmp_path / "index", milvus_config)
    (corpus / "extra.txt").write_text("Tidal power uses the rise and fall of the sea.\n", encoding="utf-8")
    rag = build(corpus, tmp_path / "index", fake_config)  # store left at its default
    assert isinstance(rag.store.backend, MilvusVectors) and rag.report.added == ["extra.txt"]
    opened = RAG.open(tmp_path / "index", fake_config, embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))
    assert opened.config.store == "milvus"
    assert "sea" in opened.ask("What does tidal power use?").text


def test_moving_an_index_between_faiss_and_milvus_reuses_its_vectors(corpus, tmp_path, fake_config, milvus_config):
    build(corpus, tmp_path / "index", fake_config)
    moved = build(corpus, tmp_path / "index", milvus_config)
    assert moved.report.embedded == 0 and isinstance(moved.store.backend, MilvusVectors)
    back = build(corpus, tmp_path / "index", fake_config.replace(store="faiss"))
    assert back.report.embedded == 0 and isinstance(back.store.backend, FolderVectors)
    assert (tmp_path / "index" / json.loads((tmp_path / "index" / "manifest.json").read_text())["data"] / "chunks.faiss").exists()


def test_rows_of_an_update_under_way_never_reach_answers(corpus, tmp_path, milvus_config):
    """An update that has written its rows but not switched the manifest (or died there)."""
    rag = build(corpus, tmp_path / "index", milvus_config)
    expected = [rag.ask(q).text for q in QUESTIONS]
    (corpus / "solar.txt").write_text("Solar Power Basics\nSolar cells were first built on the Moon in 1954.\n", encoding="utf-8")
    from rag.indexing import IndexReport, assemble, read_corpus

    report = IndexReport()
    documents = read_corpus(corpus, rag.store, report)
    pending = assemble(documents, milvus_config, FakeEmbedder(), rag.store, report, None)
    pending.backend = rag.store.backend
    write_rows(pending)  # the new rows are in Milvus; the manifest still names the old version
    assert rows(rag) > set(store_keys(rag.store))
    assert [rag.ask(q).text for q in QUESTIONS] == expected
    reopened = RAG.open(tmp_path / "index", embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))
    assert [reopened.ask(q).text for q in QUESTIONS] == expected
    finished = build(corpus, tmp_path / "index", milvus_config)  # the next run completes and prunes
    assert rows(finished) == set(store_keys(finished.store))
    assert "Moon" in finished.ask("Where were solar cells first built?").text


def test_a_milvus_uri_without_the_extra_names_the_extra(corpus, tmp_path, milvus_config, monkeypatch):
    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(MissingDependencyError, match=r"rag\[milvus\]"):
        build(corpus, tmp_path / "index", milvus_config)


def test_a_lite_file_path_is_kept_relative_to_the_index(corpus, tmp_path, fake_config):
    config = fake_config.replace(store=str(tmp_path / "elsewhere" / "chunks.db"), collection="docs")
    build(corpus, tmp_path / "index", config)
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["store"] == "../elsewhere/chunks.db" and manifest["collection"] == "docs"
    assert config_store(manifest["store"], tmp_path / "index") == str((tmp_path / "elsewhere" / "chunks.db").resolve())


def test_a_relative_lite_file_path_is_taken_from_the_working_directory(corpus, tmp_path, fake_config, monkeypatch):
    """`store = "mv/milvus.db"` with `--index mv/idx` (the issue's rag.toml): one file, written and read."""
    monkeypatch.chdir(tmp_path)
    build(corpus, Path("mv/idx"), fake_config.replace(store="mv/milvus.db"))
    assert (tmp_path / "mv" / "milvus.db").exists() and not (tmp_path / "mv" / "idx" / "mv").exists()
    assert json.loads((tmp_path / "mv" / "idx" / "manifest.json").read_text())["store"] == "../milvus.db"
    assert milvus_uri("mv/milvus.db", Path("mv/idx")) == str(tmp_path / "mv" / "milvus.db")


@pytest.fixture
def milvus_server(tmp_path):
    """Milvus Lite's gRPC server on 127.0.0.1 (the URI path a Milvus cluster takes)."""
    with milvus_lite_server(tmp_path / "server", free_port()) as uri:
        yield uri


def test_milvus_server_uri_builds_updates_and_answers(corpus, tmp_path, fake_config, milvus_server):
    config = fake_config.replace(store=milvus_server, collection="served")
    faiss = build(corpus, tmp_path / "faiss", fake_config)
    served = build(corpus, tmp_path / "index", config)
    assert json.loads((tmp_path / "index" / "manifest.json").read_text())["store"] == milvus_server
    for question in QUESTIONS:
        assert served.ask(question).text == faiss.ask(question).text, question
    (corpus / "bees.md").unlink()
    assert build(corpus, tmp_path / "index", config).report.removed == ["bees.md"]
    # A second process (another app server) opens the same index through the server.
    script = ("from rag import RAG; from tests.fakes import FakeEmbedder; "
              f"r = RAG.open({str(tmp_path / 'index')!r}, embedder=FakeEmbedder()); "
              "print(r.ask('Who runs the Nightjet network?', extractive_only=True).text)")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert "ÖBB" in out.stdout, out.stderr[-2000:]


@pytest.mark.slow
def test_dev_set_on_milvus_scores_at_least_as_on_faiss(real_rag, tmp_path):
    """The real models on the default corpus: Milvus Lite against the FAISS folder."""
    milvus = RAG.build(real_rag.corpus_dir, tmp_path / "index", Config(store="milvus"),
                       embedder=real_rag.embedder, generator=real_rag.generator)
    questions = load_questions(REPO / "eval" / "dev_qa.jsonl")
    on_faiss = evaluate(real_rag, questions)
    on_milvus = evaluate(milvus, questions)
    same = sum(a.answer.text == b.answer.text for a, b in zip(on_faiss.judged, on_milvus.judged))
    print(f"dev set: {same} of {len(questions)} answers the same on Milvus as on FAISS")
    f, m = on_faiss.figures(), on_milvus.figures()
    assert m["answered_right_and_cited"] >= f["answered_right_and_cited"], (m, f)
    assert m["abstained_right"] >= f["abstained_right"], (m, f)
    assert m["false_abstentions"] <= f["false_abstentions"], (m, f)


@pytest.mark.slow
def test_cli_index_store_milvus_then_ask_and_batch(tmp_path):
    from click.testing import CliRunner

    from rag.cli import cli

    corpus = tmp_path / "corpus"
    shutil.copytree(REPO / "corpus", corpus)
    runner = CliRunner()
    index = str(tmp_path / "idx")
    result = runner.invoke(cli, ["index", "--corpus", str(corpus), "--index", index, "--store", "milvus"])
    assert result.exit_code == 0, result.output
    assert "4 added" in result.output and (tmp_path / "idx" / "milvus.db").exists()
    result = runner.invoke(cli, ["ask", "--json", "--extractive", "--index", index, "Who said the future of AI must be open?"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.stdout.strip().splitlines()[-1])
    assert "Nadella" in row["answer"] and row["citations"][0]["source"].startswith("003")
    (tmp_path / "q.txt").write_text("Who said the future of AI must be open?\n", encoding="utf-8")
    result = runner.invoke(cli, ["batch", str(tmp_path / "q.txt"), "--index", index, "--extractive", "-o", str(tmp_path / "a.jsonl")])
    assert result.exit_code == 0, result.output
    assert "Nadella" in (tmp_path / "a.jsonl").read_text(encoding="utf-8")
