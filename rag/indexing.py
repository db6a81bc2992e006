"""Corpus folder -> Store, incrementally: only new or changed text is embedded."""

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from rag.chunking import Chunk, Unit, make_chunks, split_units, text_key, unit_text
from rag.config import Config
from rag.documents import MAX_FILE_MB, SUPPORTED_SUFFIXES, Document, check_size, list_files, read_document, reading, sha256_bytes
from rag.errors import DocumentError, EmptyCorpusError, IndexFormatError, IndexNotFoundError
from rag.models.base import Embedder, embed_in_calls
from rag.stores.factory import attach_backend, load_store, manifest_store, same_place
from rag.stores.store import STORED_UNITS, Store, read_manifest, remove_stale

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass
class IndexReport:
    """What an index update did, file by file (source names)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # source -> why it could not be read
    ignored: list[str] = field(default_factory=list)  # files of types rag does not read
    embedded: int = 0  # texts sent to the embedder

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        parts = [f"{len(self.added)} added", f"{len(self.updated)} updated",
                 f"{len(self.removed)} removed", f"{len(self.unchanged)} unchanged"]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts)


def open_previous(index_dir: Path, config: Config, rebuild: bool) -> Store | None:
    if rebuild:
        return None
    try:
        return load_store(index_dir, config)
    except IndexNotFoundError:
        return None
    except IndexFormatError as exc:
        log.warning("%s; rebuilding", exc)
        return None


def read_corpus(corpus_dir: Path, previous: Store | None, report: IndexReport,
                max_mb: float = MAX_FILE_MB) -> dict[str, Document]:
    files, ignored = list_files(corpus_dir)
    report.ignored = [p.relative_to(corpus_dir).as_posix() for p in ignored]
    old = previous.documents if previous else {}
    documents = {}
    for path in files:
        source = path.relative_to(corpus_dir).as_posix()
        try:
            check_size(path, path.stat().st_size, max_mb)  # before reading a huge file into memory
            data = path.read_bytes()
        except DocumentError as exc:
            report.skipped[source] = exc.reason
            log.warning("skipped %s: %s", source, exc.reason)
            continue
        except OSError as exc:
            report.skipped[source] = exc.strerror or str(exc)
            log.warning("skipped %s: %s", source, report.skipped[source])
            continue
        if source in old and old[source].sha256 == sha256_bytes(data) and old[source].reader == reading(path):
            documents[source] = old[source]
            report.unchanged.append(source)
            continue
        try:
            documents[source] = read_document(path, corpus_dir, data, max_mb=max_mb)
        except DocumentError as exc:
            report.skipped[source] = exc.reason
            log.warning("skipped %s: %s", source, exc.reason)
            continue
        (report.updated if source in old else report.added).append(source)
    report.removed = sorted(set(old) - set(documents) - set(report.skipped))
    # A file that was indexed before but cannot be read now keeps its old entry.
    for source in set(old) & set(report.skipped):
        documents[source] = old[source]
    return documents


def update_index(
    corpus_dir: Path,
    index_dir: Path,
    config: Config,
    embedder: Embedder,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> tuple[Store, IndexReport]:
    """Brings the index in line with the corpus folder.

    Args:
        corpus_dir: the folder of documents.
        index_dir: where the index lives (created if missing).
        config: index settings (embedder, chunk sizes) to build with.
        embedder: the embedder named by config.
        rebuild: ignore any existing index and embed everything again.
        progress: called as progress(done, total) while texts are embedded.

    Returns:
        The store now on disk, and what changed.

    Raises:
        EmptyCorpusError: the folder is missing or holds no readable document.
    """
    corpus_dir, index_dir = Path(corpus_dir), Path(index_dir)
    if not corpus_dir.is_dir():
        raise EmptyCorpusError(f"corpus folder {corpus_dir} does not exist")
    previous = open_previous(index_dir, config, rebuild)
    report = IndexReport()
    documents = read_corpus(corpus_dir, previous, report, config.max_file_mb)
    if not documents:
        why = f"; unreadable: {', '.join(report.skipped)}" if report.skipped else ""
        raise EmptyCorpusError(f"no readable document ({' '.join(SUPPORTED_SUFFIXES)}) in {corpus_dir}{why}")
    corpus = os.path.relpath(corpus_dir.resolve(), index_dir.resolve())
    location = manifest_store(config.store_or_default, index_dir)
    same_store = previous is not None and same_place(previous, location, config)
    if same_store and not report.changed and previous.corpus == corpus and not lacks_unit_vectors(previous):
        # Nothing to write; clear what a killed run may have left (the caller holds the lock).
        remove_stale(index_dir, keep=read_manifest(index_dir)["data"])
        return previous, report
    store = assemble(documents, config, embedder, previous, report, progress)
    store.corpus = corpus
    store.location = location
    attach_backend(store, config, index_dir)
    store.save(index_dir)
    log.info("index %s: %s", index_dir, report.summary())
    return store, report


def lacks_unit_vectors(store: Store) -> bool:
    """Whether a small index was built before indexes stored their units' vectors."""
    return store.unit_vectors is None and sum(u.is_evidence for u in store.units) <= STORED_UNITS


def assemble(documents, config, embedder, previous, report, progress) -> Store:
    units: list[Unit] = []
    chunks: list[Chunk] = []
    for source in sorted(documents):
        doc = documents[source]
        doc_units = split_units(source, doc.text, doc.blocks)
        offset = len(units)
        for chunk in make_chunks(doc_units, doc.text, config.chunk_chars, config.chunk_overlap):
            chunks.append(replace(chunk, first_unit=chunk.first_unit + offset, last_unit=chunk.last_unit + offset))
        units.extend(doc_units)
    chunk_texts = [c.embed_text for c in chunks]
    evidence = [i for i, u in enumerate(units) if u.is_evidence]
    unit_texts = [unit_text(units[i]) for i in evidence] if len(evidence) <= STORED_UNITS else []
    vectors = embed_missing(chunk_texts + unit_texts, previous, embedder, report, progress)
    # Taken from a vector when there is one: asking the embedder would load its model even
    # when an update (a removed file, say) embeds nothing.
    dimension = len(next(iter(vectors.values()))) if vectors else embedder.dimension
    chunk_vectors = np.stack([vectors[text_key(t)] for t in chunk_texts]) if chunks else np.zeros((0, dimension), np.float32)
    store = Store(config.index_settings(), dimension, documents, units, chunks,
                  np.ascontiguousarray(chunk_vectors, dtype=np.float32))
    if unit_texts:
        store.unit_vectors = np.zeros((len(units), dimension), np.float32)
        store.unit_vectors[evidence] = [vectors[text_key(t)] for t in unit_texts]
    return store


def embed_missing(texts, previous: Store | None, embedder, report, progress) -> dict[str, np.ndarray]:
    """Vectors of every text: the previous index's where it has them, the rest embedded.

    An embedder with an `embed_all(texts, progress)` method (rag.models.ray_embedding.RayEmbedder)
    gets every missing text in one call, to spread them over its workers.
    """
    keys = {text_key(t): t for t in texts}
    vectors = previous.cached_vectors(list(keys)) if previous is not None else {}
    # Sorted by length, so each embedder call pads its texts to about the same length.
    missing = sorted((t for key, t in keys.items() if key not in vectors), key=len)
    report.embedded = len(missing)
    if not missing:
        return vectors
    embedded = embedder.embed_all(missing, progress) if hasattr(embedder, "embed_all") else embed_in_calls(embedder, missing, progress)
    vectors.update(zip(map(text_key, missing), embedded))
    return vectors
