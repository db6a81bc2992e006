"""One writer per index: a second `rag index`, or an upload in the chat, while `rag index` runs
is refused with a message naming the running one; the chat answers from the old index until
an update has finished, then from the new one."""

import threading
import time

import pytest

from rag import RAG, IndexLockedError
from rag.locking import LOCK_FILE, index_lock
from tests.conftest import copy_sentence
from tests.fakes import FakeEmbedder, ScriptedGenerator
from tests.reliability.helpers import CORPUS_V1, fake_toml, make_corpus, open_fake, run_index
from ui import chat as actions

HOLD = 3.0  # seconds the first run spends embedding


def wait_for_lock(index, process, timeout=30.0):
    """Waits until the child `rag index` holds the index lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lock = index / LOCK_FILE
        if lock.exists() and lock.read_text().strip() == str(process.pid):
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    pytest.fail("the first `rag index` never took the lock")


@pytest.fixture
def first_run(tmp_path, fake_config):
    """An index, and a `rag index --rebuild` of it that holds the lock for a few seconds;
    yields (config, corpus, index, process)."""
    config = fake_toml(tmp_path)
    corpus = make_corpus(tmp_path / "corpus", CORPUS_V1)
    index = tmp_path / "index"
    RAG.build(corpus, index, fake_config, embedder=FakeEmbedder())
    process = run_index(config, corpus, index, "--rebuild", hold=HOLD, wait=False)
    wait_for_lock(index, process)
    yield config, corpus, index, process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_a_second_rag_index_on_the_same_index_is_refused_with_a_clear_message(first_run):
    config, corpus, index, first = first_run
    second = run_index(config, corpus, index, "--rebuild")
    assert second.returncode == 1
    assert f"another `rag index` (pid {first.pid}) is updating the index in {index}" in second.stderr
    assert "wait for it to finish" in second.stderr
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert "7 added" in out
    assert sorted(open_fake(index).documents) == sorted(CORPUS_V1)
    assert run_index(config, corpus, index).returncode == 0  # once it is done, the next one runs


def test_an_upload_in_the_chat_while_rag_index_runs_is_refused_and_not_copied(tmp_path, fake_config):
    config = fake_toml(tmp_path)
    corpus = make_corpus(tmp_path / "corpus", CORPUS_V1)
    index = tmp_path / "index"
    chat_rag = RAG.build(corpus, index, fake_config, embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))
    first = run_index(config, corpus, index, "--rebuild", hold=HOLD, wait=False)
    try:
        wait_for_lock(index, first)
        upload = tmp_path / "uploads" / "kiwi.txt"
        upload.parent.mkdir()
        upload.write_text("The kiwi is a flightless bird that lives only in New Zealand.\n", encoding="utf-8")
        message = actions.add_documents(chat_rag, [str(upload)])
        assert message.startswith("Nothing added: another `rag index`") and f"pid {first.pid}" in message
        assert not (corpus / "kiwi.txt").exists()
        assert not chat_rag.ask("Who runs the Nightjet network?").abstained  # the chat still answers
        first.communicate(timeout=60)
        assert first.returncode == 0
    finally:
        if first.poll() is None:
            first.kill()
        first.wait()
    assert actions.add_documents(chat_rag, [str(upload)]).startswith("Added kiwi.txt")
    assert (corpus / "kiwi.txt").exists() and "kiwi.txt" in chat_rag.documents


def test_the_chat_answers_from_the_old_index_while_an_upload_is_indexed(fake_rag, tmp_path):
    """Questions asked while an upload is being embedded get the old index's answers; once the
    update is done the new document is answered. No question fails in between."""
    started, release = threading.Event(), threading.Event()
    embed = fake_rag.embedder.embed

    def slow_embed(texts):
        if any("flightless" in t for t in texts):  # the upload, not a question
            started.set()
            release.wait(30)
        return embed(texts)

    fake_rag.embedder.embed = slow_embed
    upload = tmp_path / "kiwi.txt"
    upload.write_text("The kiwi is a flightless bird that lives only in New Zealand.\n", encoding="utf-8")
    adding = threading.Thread(target=fake_rag.add_files, args=([upload],))
    adding.start()
    try:
        assert started.wait(30)
        for _ in range(5):
            answer = fake_rag.ask("Who runs the Nightjet network?")
            assert not answer.abstained and answer.citations[0].source == "notes/trains.html"
            assert "kiwi.txt" not in fake_rag.documents
            assert fake_rag.ask("Where does the kiwi bird live?").abstained
        with pytest.raises(IndexLockedError):  # another writer, even in this process, is refused
            with index_lock(fake_rag.index_dir):
                pass
    finally:
        release.set()
        adding.join(30)
    answer = fake_rag.ask("Where does the kiwi bird live?")
    assert not answer.abstained and answer.citations[0].source == "kiwi.txt"
