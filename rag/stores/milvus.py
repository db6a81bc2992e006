"""Chunk vectors and keyword search on Milvus instead of the FAISS and BM25 files.

The index folder still holds the manifest, the documents' text and the units (what citations
point into); a Milvus collection holds one row per chunk: its vector, its text, its terms
with a BM25 function (sparse vectors made by the server), and the metadata the pipeline needs
(source, offsets, heading, content hashes). Dense search, BM25 and their reciprocal-rank
fusion run in Milvus.

Milvus keeps a collection on disk "released" (not searchable) until a client loads it: after a
server restart, and for Milvus Lite in every new process. Opening the store loads it.

Rows are keyed by chunk (source, offsets and a hash of the text), so an update inserts only
the chunks of new or changed files and deletes the rest after the manifest has switched. A
reader maps rows to the chunks of its own manifest and ignores any other row, so an update
that is half-way (or died) never mixes two versions of a document into an answer.

Where Milvus runs, by Config.store:
    "milvus"                  a Milvus Lite file, milvus.db, in the index folder
    path/to/file.db           a Milvus Lite file elsewhere, relative to the working directory
                              (one process may open it at a time)
    http://HOST:19530         a Milvus server (standalone or distributed; Milvus Lite's own
                              `milvus-lite server` too), with Config.milvus_token / $MILVUS_TOKEN
                              and Config.milvus_db
"""

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from rag.chunking import Chunk, text_key
from rag.errors import StoreError
from rag.lexical import TermStats, terms
from rag.stores.base import Hit, depth_for
from rag.stores.milvus_collection import MAX_NAME_BYTES, MilvusChunks
from rag.stores.store import Store, write_atomic

log = logging.getLogger(__name__)

FAISS = "faiss"
LITE_IN_INDEX = "milvus"
LITE_FILE = "milvus.db"
MAX_TEXT_BYTES = 60_000  # VARCHAR fields hold at most 65,535 bytes


def uses_milvus(store: str) -> bool:
    return store != FAISS


def milvus_uri(store: str, index_dir: Path) -> str:
    """The URI to connect to for a Config.store value: a Lite file path is taken from the
    working directory, as manifest_store takes it (config_store makes a manifest's absolute)."""
    if store == LITE_IN_INDEX:
        return str((Path(index_dir) / LITE_FILE).resolve())
    if "://" in store:
        return store
    return str(Path(store).expanduser().resolve())


def manifest_store(store: str, index_dir: Path) -> str:
    """Config.store as the manifest records it: a Lite file path relative to the index folder."""
    if not uses_milvus(store) or store == LITE_IN_INDEX or "://" in store:
        return store
    return os.path.relpath(Path(store).expanduser().resolve(), Path(index_dir).resolve())


def config_store(recorded: str, index_dir: Path) -> str:
    """A manifest's record of the store as a Config.store value (a Lite file made absolute)."""
    if not uses_milvus(recorded) or recorded == LITE_IN_INDEX or "://" in recorded:
        return recorded
    return str((Path(index_dir) / recorded).resolve())


def chunk_key(chunk: Chunk, embedder: str) -> str:
    """A row's primary key: the chunk's place and text, and the model that embedded it (a
    changed chunk, or one embedded by another model, gets a new row)."""
    text = hashlib.sha256(chunk.embed_text.encode()).hexdigest()
    place = f"{embedder}\0{chunk.source}\0{chunk.start}\0{chunk.end}\0{text}"
    return hashlib.sha256(place.encode()).hexdigest()[:32]


def open_chunks(store: str, collection: str, index_dir: Path, config, built: bool = False) -> "MilvusChunks":
    """The collection a Config.store value names, loaded for search.

    Args:
        built: the index in index_dir is on this collection, so it must be there.

    Raises:
        StoreError: the server cannot be reached, the Lite file cannot be opened, or the
            collection cannot be loaded (or is missing when built).
    """
    uri = milvus_uri(store, index_dir)
    if built and "://" not in uri and not Path(uri).exists():
        raise StoreError(f"the index in {index_dir} is on the Milvus Lite file {uri}, which is missing: put it back, "
                         "or rebuild the index with `rag index --rebuild`")
    chunks = MilvusChunks(uri, collection, config.milvus_token, config.milvus_db)
    if built and not chunks.exists():
        raise StoreError(f"the index in {index_dir} is on collection {collection!r} in Milvus at {chunks.uri}, which "
                         "does not hold it (a new or wiped server, a moved file?): rebuild it with `rag index --rebuild`")
    return chunks


class MilvusVectors:
    """The Backend of a Milvus store: its collection, and the term counts over its chunks that
    weigh question terms (terms.json in the data folder).

    Args:
        chunks: the open collection.
        term_stats: the term counts, when read from an index; counted when it is written.
    """

    def __init__(self, chunks: "MilvusChunks", term_stats: TermStats | None = None):
        self.chunks = chunks
        self.term_stats = term_stats

    def manifest_fields(self, store: Store) -> dict:
        return {"collection": store.collection}

    def cached_vectors(self, store: Store, text_hashes: list[str]) -> dict[str, np.ndarray]:
        return self.chunks.vectors_by_text(text_hashes)

    def write(self, store: Store, folder: Path):
        self.term_stats = self.term_stats or TermStats.count([terms(c.embed_text) for c in store.chunks])
        write_atomic(folder / "terms.json", json.dumps({"size": self.term_stats.size, "df": self.term_stats.df}))
        write_rows(store)

    def after_switch(self, store: Store):
        prune_rows(store)

    def retriever(self, store: Store) -> "MilvusRetriever":
        return MilvusRetriever(store)


def read_vectors(store: Store, manifest: dict, data: Path, index_dir: Path, config) -> MilvusVectors:
    """The backend of a Milvus store read from its data folder; sets store.collection."""
    counts = json.loads((data / "terms.json").read_text(encoding="utf-8"))
    store.collection = manifest["collection"]
    chunks = open_chunks(config_store(store.location, index_dir), store.collection, index_dir, config, built=True)
    return MilvusVectors(chunks, TermStats(counts["df"], counts["size"]))


def store_keys(store) -> list[str]:
    return [chunk_key(c, store.settings["embedder"]) for c in store.chunks]


def write_rows(store):
    """Inserts the rows of a store's chunks that its collection lacks (before the switch)."""
    chunks: MilvusChunks = store.backend.chunks
    chunks.create(store.dimension)
    present = chunks.keys()
    rows = []
    for chunk, key, vector in zip(store.chunks, store_keys(store), store.chunk_vectors):
        if key in present:
            continue
        document = store.documents[chunk.source]
        rows.append({
            "key": key, "vector": vector.tolist(), "terms": clip(bm25_text(terms(chunk.embed_text)), MAX_TEXT_BYTES),
            "text": clip(chunk.text, MAX_TEXT_BYTES), "source": clip(chunk.source, MAX_NAME_BYTES),
            "start": chunk.start, "end": chunk.end, "heading": clip(chunk.heading, MAX_NAME_BYTES),
            "text_hash": text_key(chunk.embed_text), "doc_sha256": document.sha256,
        })
    chunks.insert(rows)
    log.info("Milvus %s: %d rows inserted, %d kept", chunks.collection, len(rows), len(store.chunks) - len(rows))


def prune_rows(store):
    """Deletes rows of no current chunk (removed files, old versions), after the switch."""
    chunks: MilvusChunks = store.backend.chunks
    stale = sorted(chunks.keys() - set(store_keys(store)))
    chunks.delete(stale)
    log.info("Milvus %s: %d stale rows deleted", chunks.collection, len(stale))


def bm25_text(chunk_terms: list[str]) -> str:
    """rag's own terms (stemmed, stop words dropped) joined for Milvus's standard tokenizer, so
    BM25 in Milvus counts the same terms as the FAISS folder's bm25s; "." and "'" inside a
    term ("3.5", "u.s") become "_", which the tokenizer keeps inside a word."""
    return " ".join(t.replace(".", "_").replace("'", "_") for t in chunk_terms)


def clip(text: str, limit: int) -> str:
    data = text.encode()
    return text if len(data) <= limit else data[:limit].decode(errors="ignore")


class MilvusRetriever:
    """Hybrid search of a store's chunks in Milvus (the Search protocol of rag/stores/base.py).

    Args:
        store: the loaded index, whose backend (MilvusVectors) holds its collection and term counts.
    """

    def __init__(self, store):
        self.store = store
        self.chunks: MilvusChunks = store.backend.chunks
        self.stats = store.backend.term_stats
        self.position = {key: i for i, key in enumerate(store_keys(store))}

    def idf(self, term: str) -> float:
        return self.stats.idf(term)

    def known(self, term: str) -> bool:
        return self.stats.known(term)

    def search(self, query_vector: np.ndarray, query_terms: list[str], k: int) -> list[Hit]:
        """The k best chunks: Milvus's fused ranking, with each chunk's place and score in the
        dense and BM25 rankings (the evidence and abstention stages weigh them). Rows that are
        not chunks of this index's manifest (an update under way) are skipped."""
        n = len(self.store.chunks)
        if n == 0:
            return []
        depth = depth_for(n, k)
        # A few more than asked, in case rows of an update under way come first.
        fused, dense, lexical = self.chunks.search(query_vector, bm25_text(query_terms), k + depth // 4, depth)
        known = self.position
        dense = [(known[key], score) for key, score in dense if key in known]
        lexical = [(known[key], score) for key, score in lexical if key in known]
        fused = [(known[key], score) for key, score in fused if key in known][:k]
        dense_score = dict(dense)
        embedder = self.store.settings["embedder"]
        missing = [chunk_key(self.store.chunks[i], embedder) for i, _ in fused if i not in dense_score]
        for key, vector in self.chunks.vectors_by_key(missing).items():
            dense_score[known[key]] = float(vector @ query_vector)
        dense_rank = {i: rank for rank, (i, _) in enumerate(dense)}
        lexical_rank = {i: rank for rank, (i, _) in enumerate(lexical)}
        lexical_score = dict(lexical)
        return [
            Hit(self.store.chunks[i], i, score, dense_score.get(i, 0.0), lexical_score.get(i, 0.0),
                dense_rank.get(i, -1), lexical_rank.get(i, -1))
            for i, score in fused
        ]
