"""The on-disk index: documents, units, chunks, their vectors, and a manifest.

Layout of an index folder:
    manifest.json        what was built, with what, from which files; names the data folder
                         and the store that holds the vectors
    data-<id>/           documents.jsonl, units.jsonl, chunks.jsonl, and
                         chunks.faiss (store "faiss", the default), or
                         terms.json (a Milvus store: the vectors and BM25 live in a Milvus
                         collection, rag/stores/milvus.py; the term counts weigh question terms);
                         units.npy in a small index (below)

Every chunk has a stored vector. The units (sentences, list items) of an index with at most
STORED_UNITS of them have theirs too, in units.npy (a few MB), so a fresh process answers
without embedding any; in a larger index the units a question reaches are embedded when it
asks (rag/answering/evidence.py), so indexing embeds each stretch of text once.

A build writes a new data folder (and the new chunks' rows in Milvus), then replaces
manifest.json in one rename, then removes the old folder (and rows of no current chunk). A
build that dies half-way leaves the previous manifest and data in place.

Store holds what every engine shares; its `backend` (the Backend protocol below) holds the
vectors' engine and writes its part. rag/stores/factory.py loads a Store and picks its backend.
"""

import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.chunking import Chunk, Unit, text_key, unit_text
from rag.config import INDEX_FIELDS, Config
from rag.documents import Document
from rag.errors import IndexFormatError, IndexMismatchError, IndexNotFoundError
from rag.version import __version__

if TYPE_CHECKING:
    from rag.stores.base import Search

log = logging.getLogger(__name__)

# Bumped whenever units, chunks or what is embedded change, so an old index is rebuilt.
FORMAT = 5
MANIFEST = "manifest.json"
# An index with at most this many evidence units stores their vectors (5,000 take about 20 s to
# embed at indexing, 7.7 MB); a larger one embeds them as questions reach them.
STORED_UNITS = 5_000


class Backend(Protocol):
    """Where a store's chunk vectors live and how they are searched: the part of a Store that
    depends on its engine (Store.backend)."""

    def manifest_fields(self, store: "Store") -> dict:
        """What the manifest records about the engine beyond Config.store."""

    def cached_vectors(self, store: "Store", text_hashes: list[str]) -> dict[str, "np.ndarray"]:
        """Stored chunk vectors of these texts (by chunking.text_key), for an update to reuse."""

    def write(self, store: "Store", folder: Path):
        """Writes the engine's part of a new version of the index, before the manifest switches."""

    def after_switch(self, store: "Store"):
        """Clears what no version of the index needs any more, after the manifest switched."""

    def retriever(self, store: "Store") -> "Search":
        """The store's search."""


@dataclass
class Store:
    """Everything an index holds, in memory.

    Attributes:
        settings: the index-shaping Config fields (embedder, chunk sizes) it was built with.
        dimension: vector size.
        documents: source -> Document.
        units: all units, document after document.
        chunks: all chunks; first_unit/last_unit index into `units`.
        chunk_vectors: (len(chunks), dimension) float32, L2-normalised; empty when a Milvus
            store was loaded (the vectors stay in Milvus).
        unit_vectors: (len(units), dimension) float32 in a small index (rows of units that are
            not evidence are zeros), else None.
        corpus: the corpus folder the index was built from.
        location: Config.store as the manifest records it ("faiss", or where Milvus runs).
        collection: the Milvus collection, for a Milvus store.
        backend: the engine of the chunk vectors (a Backend; rag/stores/factory.py sets it).
    """

    settings: dict
    dimension: int
    documents: dict[str, Document]
    units: list[Unit]
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    corpus: str = ""
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    location: str = "faiss"
    collection: str = ""
    backend: Backend | None = field(default=None, repr=False)
    unit_vectors: np.ndarray | None = field(default=None, repr=False)

    def cached_vectors(self, text_hashes: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors of chunk and unit texts (by chunking.text_key), for an update to reuse."""
        wanted = set(text_hashes)
        stored = []
        if self.unit_vectors is not None:
            stored = [(text_key(unit_text(u)), v) for u, v in zip(self.units, self.unit_vectors) if u.is_evidence]
        return {**{key: v for key, v in stored if key in wanted}, **self.backend.cached_vectors(self, text_hashes)}

    def manifest(self, data_dir: str) -> dict:
        return {
            "format": FORMAT,
            "rag_version": __version__,
            "created": self.created,
            "data": data_dir,
            "store": self.location,
            **self.backend.manifest_fields(self),
            "dimension": self.dimension,
            **self.settings,
            "corpus": self.corpus,
            "files": {s: d.sha256 for s, d in sorted(self.documents.items())},
            "counts": {"documents": len(self.documents), "chunks": len(self.chunks), "units": len(self.units)},
        }

    def save(self, index_dir: Path):
        """Writes the store beside any previous one, then switches the manifest over to it."""
        index_dir.mkdir(parents=True, exist_ok=True)
        name = f"data-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        tmp = index_dir / f"{name}.tmp"
        tmp.mkdir()
        try:
            write_jsonl(tmp / "documents.jsonl", (asdict(d) for d in self.documents.values()))
            write_jsonl(tmp / "units.jsonl", (unit_row(u) for u in self.units))
            write_jsonl(tmp / "chunks.jsonl", (chunk_row(c) for c in self.chunks))
            if self.unit_vectors is not None:
                np.save(tmp / "units.npy", self.unit_vectors)
                fsync_file(tmp / "units.npy")
            self.backend.write(self, tmp)
            os.rename(tmp, index_dir / name)
            fsync_dir(index_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        write_atomic(index_dir / MANIFEST, json.dumps(self.manifest(name), indent=1, ensure_ascii=False))
        remove_stale(index_dir, keep=name)
        self.backend.after_switch(self)


def read_data(index_dir: Path, config: Config | None = None) -> tuple[Store, dict, Path]:
    """Reads what every engine shares of an index, refusing one whose settings differ from
    `config`'s; the caller (rag/stores/factory.py load_store) gives the Store its backend.

    Returns:
        (the store without its backend, the manifest, the data folder).

    Raises:
        IndexNotFoundError: there is no index at index_dir.
        IndexMismatchError: the index was built with other settings or another rag format.
    """
    manifest = read_manifest(index_dir)
    settings = {name: manifest.get(name) for name in INDEX_FIELDS}
    if config is not None:
        check_compatible(settings, config, index_dir)
    data = index_dir / manifest["data"]
    documents = {d["source"]: Document(**d) for d in read_jsonl(data / "documents.jsonl")}
    units = [unit_from_row(row, documents) for row in read_jsonl(data / "units.jsonl")]
    chunks = [chunk_from_row(row, documents) for row in read_jsonl(data / "chunks.jsonl")]
    dimension = int(manifest["dimension"])
    location = manifest.get("store", "faiss")
    store = Store(
        settings, dimension, documents, units, chunks, np.zeros((0, dimension), np.float32),
        corpus=manifest.get("corpus", ""), created=manifest.get("created", ""), location=location,
    )
    if (data / "units.npy").is_file():
        store.unit_vectors = np.load(data / "units.npy")
    return store, manifest, data


def read_manifest(index_dir: Path) -> dict:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexNotFoundError(f"no index in {index_dir}: build one with `rag index --corpus FOLDER --index {index_dir}`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexMismatchError(f"the index manifest {path} is unreadable ({exc}); rebuild the index with `rag index`") from exc
    if manifest.get("format") != FORMAT:
        raise IndexFormatError(
            f"the index in {index_dir} has format {manifest.get('format')}, this rag reads format {FORMAT}; "
            "rebuild it with `rag index`"
        )
    if not (index_dir / manifest.get("data", "?")).is_dir():
        raise IndexMismatchError(f"the index in {index_dir} is missing its data folder; rebuild it with `rag index --rebuild`")
    return manifest


def check_compatible(settings: dict, config: Config, index_dir: Path):
    wanted = config.index_settings()
    differ = [f"{k}: index has {settings[k]!r}, config asks for {wanted[k]!r}" for k in INDEX_FIELDS if settings[k] != wanted[k]]
    if differ:
        raise IndexMismatchError(
            f"the index in {index_dir} was built with other settings ({'; '.join(differ)}); "
            "rebuild it with `rag index --rebuild` or open it without overriding these settings"
        )


def unit_row(u: Unit) -> dict:
    return {"source": u.source, "start": u.start, "end": u.end, "kind": u.kind,
            "heading": u.heading, "lead_in": u.lead_in, "quote_start": u.quote_start, "context": u.context}


def unit_from_row(row: dict, documents: dict[str, Document]) -> Unit:
    text = documents[row["source"]].text[row["start"]:row["end"]]
    return Unit(text=text, **row)


def chunk_row(c: Chunk) -> dict:
    row = asdict(c)
    del row["text"]
    return row


def chunk_from_row(row: dict, documents: dict[str, Document]) -> Chunk:
    return Chunk(text=documents[row["source"]].text[row["start"]:row["end"]], **row)


def write_jsonl(path: Path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def fsync_file(path: Path):
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def write_atomic(path: Path, text: str):
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path):
    """Makes a rename in the folder durable (a power cut could otherwise undo it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale(index_dir: Path, keep: str):
    for path in index_dir.iterdir():
        stale_data = path.name.startswith("data-") and path.name != keep
        stale_tmp = path.name.startswith(".manifest.json.") and path.name.endswith(".tmp")
        if stale_data and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif stale_tmp:
            path.unlink(missing_ok=True)
