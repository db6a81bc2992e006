import json

import pytest

from rag import RAG, Config, EmptyCorpusError, IndexMismatchError, IndexNotFoundError
from rag.stores.factory import load_store
from rag.stores.store import MANIFEST
from tests.fakes import FakeEmbedder


def build(corpus, index, config, embedder=None):
    return RAG.build(corpus, index, config, embedder=embedder or FakeEmbedder())


def test_build_reports_every_file_and_writes_a_manifest(corpus, tmp_path, fake_config):
    rag = build(corpus, tmp_path / "index", fake_config)
    assert sorted(rag.report.added) == ["bees.md", "notes/trains.html", "solar.txt"]
    manifest = json.loads((tmp_path / "index" / MANIFEST).read_text())
    assert manifest["embedder"] == "fake-embedder" and manifest["dimension"] == 64
    assert manifest["chunk_chars"] == 200 and set(manifest["files"]) == set(rag.documents)
    assert (tmp_path / "index" / manifest["data"] / "chunks.faiss").is_file()


def test_second_run_with_nothing_changed_embeds_nothing(corpus, tmp_path, fake_config):
    build(corpus, tmp_path / "index", fake_config)
    embedder = FakeEmbedder()
    rag = build(corpus, tmp_path / "index", fake_config, embedder)
    assert embedder.calls == []
    assert rag.report.unchanged == ["bees.md", "notes/trains.html", "solar.txt"] and not rag.report.changed


def test_only_the_changed_file_is_embedded_again(corpus, tmp_path, fake_config):
    build(corpus, tmp_path / "index", fake_config)
    (corpus / "solar.txt").write_text("Solar Power Basics\nWind turbines are not solar panels.\n")
    embedder = FakeEmbedder()
    rag = build(corpus, tmp_path / "index", fake_config, embedder)
    assert rag.report.updated == ["solar.txt"]
    assert embedder.embedded and all("Wind" in t or "Solar" in t for t in embedder.embedded)
    assert not any("honey" in t.lower() or "nightjet" in t.lower() for t in embedder.embedded)
    assert "Wind turbines" in rag.document_text("solar.txt")


def test_a_small_index_built_before_units_were_stored_gets_their_vectors_on_the_next_run(corpus, tmp_path, fake_config):
    first = build(corpus, tmp_path / "index", fake_config)
    manifest = json.loads((tmp_path / "index" / MANIFEST).read_text())
    (tmp_path / "index" / manifest["data"] / "units.npy").unlink()
    assert load_store(tmp_path / "index").unit_vectors is None
    embedder = FakeEmbedder()
    rag = build(corpus, tmp_path / "index", fake_config, embedder)
    assert not rag.report.changed and rag.store.unit_vectors is not None
    chunk_texts = {c.embed_text for c in first.store.chunks}
    assert embedder.embedded and not chunk_texts & set(embedder.embedded), "chunk vectors are reused"
    assert load_store(tmp_path / "index").unit_vectors.shape == (len(rag.store.units), 64)


def test_removed_files_leave_the_index(corpus, tmp_path, fake_config):
    build(corpus, tmp_path / "index", fake_config)
    (corpus / "bees.md").unlink()
    rag = build(corpus, tmp_path / "index", fake_config)
    assert rag.report.removed == ["bees.md"]
    assert "bees.md" not in rag.documents
    assert all(c.source != "bees.md" for c in rag.store.chunks)


def test_unreadable_file_is_skipped_and_named_and_the_rest_indexed(corpus, tmp_path, fake_config):
    (corpus / "scan.pdf").write_bytes(b"%PDF-1.4 garbage")
    rag = build(corpus, tmp_path / "index", fake_config)
    assert "scan.pdf" in rag.report.skipped and "PDF" in rag.report.skipped["scan.pdf"]
    assert sorted(rag.documents) == ["bees.md", "notes/trains.html", "solar.txt"]


def test_empty_corpus_is_a_clear_error(tmp_path, fake_config):
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyCorpusError, match="no readable document"):
        build(tmp_path / "empty", tmp_path / "index", fake_config)
    with pytest.raises(EmptyCorpusError, match="does not exist"):
        build(tmp_path / "missing", tmp_path / "index", fake_config)


def test_index_built_with_other_settings_is_refused(corpus, tmp_path, fake_config):
    build(corpus, tmp_path / "index", fake_config)
    with pytest.raises(IndexMismatchError, match="rebuild"):
        RAG.open(tmp_path / "index", fake_config.replace(embedder="another-model"), embedder=FakeEmbedder())
    with pytest.raises(IndexMismatchError, match="chunk_chars"):
        build(corpus, tmp_path / "index", fake_config.replace(chunk_chars=300))
    rebuilt = RAG.build(corpus, tmp_path / "index", fake_config.replace(chunk_chars=300),
                        rebuild=True, embedder=FakeEmbedder())
    assert rebuilt.store.settings["chunk_chars"] == 300


def test_open_takes_index_settings_from_the_manifest(corpus, tmp_path, fake_config):
    build(corpus, tmp_path / "index", fake_config)
    rag = RAG.open(tmp_path / "index", embedder=FakeEmbedder())
    assert rag.config.embedder == "fake-embedder" and rag.config.chunk_chars == 200


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexNotFoundError, match="rag index"):
        RAG.open(tmp_path / "nothing", Config())


def test_a_crash_while_writing_leaves_the_previous_index_usable(corpus, tmp_path, fake_config, monkeypatch):
    index = tmp_path / "index"
    build(corpus, index, fake_config)
    before = json.loads((index / MANIFEST).read_text())
    (corpus / "new.txt").write_text("Volcanoes erupt molten rock called lava.")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr("rag.stores.store.write_jsonl", crash)
    with pytest.raises(KeyboardInterrupt):
        build(corpus, index, fake_config)
    monkeypatch.undo()
    assert json.loads((index / MANIFEST).read_text()) == before
    assert [p.name for p in index.iterdir() if p.name.startswith("data-")] == [before["data"]]
    store = load_store(index)
    assert "new.txt" not in store.documents and len(store.chunks) == len(store.chunk_vectors)
    assert "new.txt" in build(corpus, index, fake_config).report.added


def test_vectors_survive_a_round_trip(corpus, tmp_path, fake_config):
    rag = build(corpus, tmp_path / "index", fake_config)
    loaded = load_store(tmp_path / "index")
    assert loaded.chunks == rag.store.chunks and loaded.units == rag.store.units
    assert (loaded.chunk_vectors == rag.store.chunk_vectors).all()


def test_an_index_from_an_older_rag_is_refused_on_open_and_rebuilt_by_index(corpus, tmp_path, fake_config):
    index = tmp_path / "index"
    build(corpus, index, fake_config)
    manifest = json.loads((index / MANIFEST).read_text())
    (index / MANIFEST).write_text(json.dumps(dict(manifest, format=manifest["format"] - 1)))
    with pytest.raises(IndexMismatchError, match="rag index"):
        RAG.open(index, embedder=FakeEmbedder())
    rag = build(corpus, index, fake_config)
    assert sorted(rag.report.added) == ["bees.md", "notes/trains.html", "solar.txt"]
    assert RAG.open(index, embedder=FakeEmbedder()).documents == rag.documents


def test_added_files_are_indexed_and_unreadable_ones_not_copied(fake_rag, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "volcano.txt").write_text("Volcanoes erupt molten rock called lava.")
    (uploads / "scan.pdf").write_bytes(b"%PDF-1.4 garbage")
    report = fake_rag.add_files([uploads / "volcano.txt", uploads / "scan.pdf"])
    assert report.added == ["volcano.txt"] and "PDF" in report.skipped["scan.pdf"]
    assert not (fake_rag.corpus_dir / "scan.pdf").exists()
    assert fake_rag.ask("What do volcanoes erupt?").citations[0].source == "volcano.txt"
    fake_rag.remove_document("volcano.txt")
    assert "volcano.txt" not in fake_rag.documents and not (fake_rag.corpus_dir / "volcano.txt").exists()


def test_removing_a_file_loads_no_model(corpus, tmp_path, fake_config):
    build(corpus, tmp_path / "index", fake_config)
    (corpus / "bees.md").unlink()

    class NoLoad(FakeEmbedder):
        @property
        def dimension(self):
            raise AssertionError("the embedder was asked for its dimension")

    embedder = NoLoad()
    rag = build(corpus, tmp_path / "index", fake_config, embedder)
    assert rag.report.removed == ["bees.md"] and embedder.calls == []


def test_a_file_read_by_an_older_reading_is_read_again(corpus, tmp_path, fake_config):
    build(corpus, tmp_path / "index", fake_config)
    data = tmp_path / "index" / json.loads((tmp_path / "index" / MANIFEST).read_text())["data"]
    rows = [json.loads(line) for line in (data / "documents.jsonl").read_text().splitlines()]
    for row in rows:  # as an index built when .md files were read as plain text
        if row["source"] == "bees.md":
            row.update(text=(corpus / "bees.md").read_text(), blocks=[], reader="")
    (data / "documents.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    rag = build(corpus, tmp_path / "index", fake_config)
    assert rag.report.updated == ["bees.md"] and sorted(rag.report.unchanged) == ["notes/trains.html", "solar.txt"]
    assert rag.document_text("bees.md").startswith("Honey bees\n\n")
    assert load_store(tmp_path / "index").documents["bees.md"].blocks[0] == (0, len("Honey bees"), "heading")
