"""The Milvus collection of an index's chunks: the connection to Milvus (one client per URI in a
process), the collection's schema, and the calls rag makes, with pymilvus's errors and log lines
turned into StoreErrors that say what to do. rag/stores/milvus.py is the store built on it.
"""

import functools
import json
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.errors import MissingDependencyError, StoreError
from rag.stores.base import RRF_K

log = logging.getLogger(__name__)

BATCH = 1000  # rows per insert, delete or lookup call
MAX_NAME_BYTES = 1000
# BM25 parameters as in the FAISS folder's bm25s index.
BM25_K1 = 1.5
BM25_B = 0.75
# Seconds a load may take (a large collection on a busy server) before opening gives up.
LOAD_TIMEOUT = 600
# Milvus's code for a search or query of a collection that is not loaded.
NOT_LOADED = 101


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
_calling = threading.local()  # .depth: this thread is inside MilvusChunks.reaching


def pymilvus():
    try:
        import pymilvus
    except ImportError as exc:
        raise MissingDependencyError(
            "a Milvus store needs pymilvus (and milvus-lite for a local .db file): pip install 'rag[milvus]'"
        ) from exc
    return pymilvus


def milvus_errors() -> tuple[type, ...]:
    """What pymilvus raises when Milvus refuses a call or cannot be reached."""
    import grpc

    return pymilvus().MilvusException, grpc.RpcError, grpc.FutureTimeoutError


def what_to_do(uri: str, opening: bool) -> str:
    if "://" in uri:
        return (f"check that the Milvus server at {uri} is running and reachable from here, and its token "
                "(milvus_token or $MILVUS_TOKEN) and database (milvus_db)")
    if opening:
        return ("a Milvus Lite file can be open in one process at a time: stop the other (rag serve?) or run a "
                "Milvus server (`milvus-lite server --data-dir DIR`) and use its URI")
    return f"if the Milvus Lite file is damaged, delete {uri} and rebuild the index with `rag index --rebuild`"


class Holder(logging.Handler):
    """Keeps the exceptions of the records it is given, and shows none."""

    def __init__(self):
        super().__init__()
        self.caught: list[BaseException] = []

    def emit(self, record):
        if record.exc_info:
            self.caught.append(record.exc_info[1])


class NotWhileCalling(logging.Filter):
    """Keeps pymilvus's own log lines about a call rag makes (tracebacks and all) off the
    console: rag reports the call's failure as a StoreError. Other threads' lines pass."""

    def filter(self, record) -> bool:
        return not getattr(_calling, "depth", 0)


def quiet_pymilvus():
    """pymilvus prints to its own console handlers; they get the filter above (once)."""
    for name in ("pymilvus", "pymilvus.milvus_client"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, NotWhileCalling) for f in handler.filters):
                handler.addFilter(NotWhileCalling())


@contextmanager
def calling():
    _calling.depth = getattr(_calling, "depth", 0) + 1
    try:
        yield
    finally:
        _calling.depth -= 1


@contextmanager
def held_logs(name: str):
    """Keeps a library's log records (tracebacks of errors it goes on to report, or that do
    not matter) from reaching the user's handlers; yields the exceptions they carried."""
    logger = logging.getLogger(name)
    handler = Holder()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.caught
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def connect(uri: str, token: str | None = None, db: str | None = None):
    """One MilvusClient per URI in this process (a Milvus Lite file admits one process)."""
    token = token or os.environ.get("MILVUS_TOKEN") or None
    key = (uri, token, db)
    with _clients_lock:
        if key not in _clients:
            options = {"token": token} if token else {}
            if db:
                options["db_name"] = db
            if "://" not in uri:
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            client = pymilvus().MilvusClient
            quiet_pymilvus()
            # Milvus Lite logs why it cannot open a file (another process holds it) and
            # raises an error that does not say; the message here does.
            with calling(), held_logs("milvus_lite.server_manager") as caught:
                try:
                    _clients[key] = client(uri, **options)
                except Exception as exc:
                    why = "; ".join(map(str, caught)) or str(exc)
                    raise StoreError(f"cannot open Milvus at {uri}: {why}; {what_to_do(uri, opening=True)}") from exc
    return _clients[key]


def reading(what: str):
    """A MilvusChunks method that reads the collection: what pymilvus raises becomes a
    StoreError, and a call that finds the collection released since it was opened (by another
    client, or a restarted server) loads it and runs once more."""
    def wrap(method):
        @functools.wraps(method)
        def read(self, *args, **kwargs):
            with self.reaching(what):
                try:
                    return method(self, *args, **kwargs)
                except pymilvus().MilvusException as exc:
                    if exc.code != NOT_LOADED:
                        raise
                    self.load()
                    return method(self, *args, **kwargs)
        return read
    return wrap


class MilvusChunks:
    """The collection of one index's chunks.

    Args:
        uri: a Milvus Lite file or a server URI.
        collection: the collection's name.
        token, db: the server's token and database (None for Milvus Lite).
    """

    def __init__(self, uri: str, collection: str, token: str | None = None, db: str | None = None):
        self.uri = uri
        self.collection = collection
        self.client = connect(uri, token, db)
        self.load()

    @contextmanager
    def reaching(self, what: str):
        """Turns what pymilvus raises into a StoreError that names the store and what to do."""
        try:
            with calling():
                yield
        except milvus_errors() as exc:
            raise StoreError(f"Milvus at {self.uri} failed to {what} collection {self.collection!r}: {exc}; "
                             f"{what_to_do(self.uri, opening=False)}") from exc

    def load(self):
        """Loads the collection for search unless it is loaded, and waits until it is."""
        with self.reaching("load"):
            if not self.client.has_collection(self.collection):
                return
            from pymilvus.client.types import LoadState

            if self.client.get_load_state(self.collection)["state"] != LoadState.Loaded:
                log.info("loading Milvus collection %s at %s", self.collection, self.uri)
                self.client.load_collection(self.collection, timeout=LOAD_TIMEOUT)

    def exists(self) -> bool:
        with self.reaching("look up"):
            return self.client.has_collection(self.collection)

    def dimension(self) -> int | None:
        if not self.exists():
            return None
        with self.reaching("describe"):
            fields = self.client.describe_collection(self.collection)["fields"]
        return next((int(f["params"]["dim"]) for f in fields if f["name"] == "vector"), None)

    def create(self, dimension: int, replace: bool = False):
        """Makes the collection (dropping one of another dimension, or any when replace)."""
        if self.exists() and (replace or self.dimension() != dimension):
            log.info("dropping Milvus collection %s", self.collection)
            with self.reaching("drop"):
                self.client.drop_collection(self.collection)
        if self.exists():
            return
        m = pymilvus()
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("key", m.DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("vector", m.DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field("terms", m.DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", m.DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("text", m.DataType.VARCHAR, max_length=65535)
        schema.add_field("source", m.DataType.VARCHAR, max_length=MAX_NAME_BYTES + 24)
        schema.add_field("start", m.DataType.INT64)
        schema.add_field("end", m.DataType.INT64)
        schema.add_field("heading", m.DataType.VARCHAR, max_length=MAX_NAME_BYTES + 24)
        schema.add_field("text_hash", m.DataType.VARCHAR, max_length=64)
        schema.add_field("doc_sha256", m.DataType.VARCHAR, max_length=64)
        schema.add_function(m.Function(name="terms_bm25", function_type=m.FunctionType.BM25,
                                       input_field_names=["terms"], output_field_names=["sparse"]))
        index = self.client.prepare_index_params()
        index.add_index("vector", index_type="FLAT", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
        # Milvus Lite's in-process server logs a traceback for a timestamp call it does not
        # implement while a collection is made; the collection is made all the same.
        with held_logs("grpc._server"), self.reaching("create"):
            self.client.create_collection(self.collection, schema=schema, index_params=index)

    @reading("read the keys of")
    def keys(self) -> set[str]:
        """Every row's key."""
        if not self.exists():
            return set()
        if "://" not in self.uri:
            # Milvus Lite answers a query of every row at once (and has no timestamps for
            # an iterator); a server caps a query's rows, so it is read page by page.
            return {r["key"] for r in self.client.query(self.collection, filter='key != ""', output_fields=["key"])}
        found = set()
        iterator = self.client.query_iterator(self.collection, batch_size=BATCH, filter='key != ""', output_fields=["key"])
        while rows := iterator.next():
            found.update(r["key"] for r in rows)
        iterator.close()
        return found

    def insert(self, rows: list[dict]):
        with self.reaching("insert into"):
            for start in range(0, len(rows), BATCH):
                self.client.insert(self.collection, rows[start:start + BATCH])
            if rows:
                self.flush()

    def delete(self, keys: list[str]):
        with self.reaching("delete from"):
            for start in range(0, len(keys), BATCH):
                self.client.delete(self.collection, ids=keys[start:start + BATCH])
            if keys:
                self.flush()

    def flush(self):
        """Seals what was written into indexed segments: Milvus Lite otherwise scans unflushed
        rows one by one (18,000 chunks: a BM25 search took 2.6 s before, 0.02 s after)."""
        self.client.flush(self.collection)

    @reading("read vectors from")
    def vectors_by_text(self, text_hashes: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of these texts (by text_hash), to reuse instead of embedding again."""
        if not text_hashes or not self.exists():
            return {}
        found = {}
        for start in range(0, len(text_hashes), BATCH):
            wanted = text_hashes[start:start + BATCH]
            # Hex digests only, so the list can stand in the filter as JSON.
            rows = self.client.query(self.collection, filter=f"text_hash in {json.dumps(wanted)}",
                                     output_fields=["text_hash", "vector"])
            found.update((r["text_hash"], np.asarray(r["vector"], dtype=np.float32)) for r in rows)
        return found

    @reading("read vectors from")
    def vectors_by_key(self, keys: list[str]) -> dict[str, np.ndarray]:
        if not keys:
            return {}
        rows = self.client.get(self.collection, ids=keys, output_fields=["vector"])
        return {r["key"]: np.asarray(r["vector"], dtype=np.float32) for r in rows}

    @reading("search")
    def search(self, query_vector: np.ndarray, query_text: str, limit: int, depth: int):
        """Dense, BM25 and fused rankings.

        Args:
            query_vector: the embedded question.
            query_text: the question's terms (bm25_text); empty for none.
            limit: fused rows to return.
            depth: rows of each single ranking.

        Returns:
            (fused [(key, score)], dense [(key, cosine)], bm25 [(key, score)]), best first. The
            fusion is Milvus's hybrid search with its reciprocal-rank ranker.
        """
        m = pymilvus()
        vector = [np.asarray(query_vector, dtype=np.float32).tolist()]
        dense_params = {"metric_type": "IP"}
        dense = self.client.search(self.collection, data=vector, anns_field="vector", limit=depth,
                                   search_params=dense_params, output_fields=["key"])[0]
        dense = [(r["key"], float(r["distance"])) for r in dense]
        if not query_text:
            return [(key, 1.0 / (RRF_K + rank + 1)) for rank, (key, _) in enumerate(dense[:limit])], dense, []
        bm25_params = {"metric_type": "BM25"}
        # Milvus Lite reports BM25 as a negated distance; the size is the score.
        lexical = self.client.search(self.collection, data=[query_text], anns_field="sparse", limit=depth,
                                     search_params=bm25_params, output_fields=["key"])[0]
        lexical = [(r["key"], abs(float(r["distance"]))) for r in lexical]
        requests = [m.AnnSearchRequest(vector, "vector", dense_params, depth),
                    m.AnnSearchRequest([query_text], "sparse", bm25_params, depth)]
        fused = self.client.hybrid_search(self.collection, requests, m.RRFRanker(RRF_K), limit=limit, output_fields=["key"])[0]
        return [(r["key"], float(r["distance"])) for r in fused], dense, lexical
