"""The one place that names a store engine: Config.store or a manifest's record -> a backend.

"faiss" (the default) keeps the vectors in the index folder (rag/stores/folder.py); anything
else names where Milvus runs (rag/stores/milvus.py). Neither engine's library is imported
until a store of that engine is opened.
"""

from pathlib import Path

from rag.config import Config
from rag.stores import folder, milvus
from rag.stores.base import Search
from rag.stores.store import Store, read_data

# A manifest's record of the store <-> a Config.store value (a Milvus Lite file's path is kept
# relative to the index folder, so an index folder can move with its file).
manifest_store = milvus.manifest_store
config_store = milvus.config_store


def load_store(index_dir: Path, config: Config | None = None) -> Store:
    """Reads an index, refusing one whose settings differ from `config`'s.

    Raises:
        IndexNotFoundError: there is no index at index_dir.
        IndexMismatchError: the index was built with other settings or another rag format.
        StoreError: its Milvus collection cannot be reached or is missing.
    """
    try:
        return read_store(index_dir, config)
    except FileNotFoundError:
        # An update switched the manifest and removed the data folder just read from it.
        return read_store(index_dir, config)


def read_store(index_dir: Path, config: Config | None = None) -> Store:
    store, manifest, data = read_data(index_dir, config)
    if milvus.uses_milvus(store.location):
        store.backend = milvus.read_vectors(store, manifest, data, index_dir, config or Config())
    else:
        store.backend = folder.read_vectors(store, data)
    return store


def attach_backend(store: Store, config: Config, index_dir: Path):
    """Gives a store being built the backend its location (store.location, from
    manifest_store) names: a new FAISS index, or the Milvus collection Config names."""
    if milvus.uses_milvus(store.location):
        store.collection = config.collection_or_default
        chunks = milvus.open_chunks(config.store_or_default, store.collection, index_dir, config)
        store.backend = milvus.MilvusVectors(chunks)
    else:
        store.backend = folder.FolderVectors()


def same_place(store: Store, location: str, config: Config) -> bool:
    """Whether a loaded store is where Config puts the index: the same location and, in
    Milvus, the same collection."""
    return store.location == location and (
        not milvus.uses_milvus(location) or store.collection == config.collection_or_default)


def make_retriever(store: Store) -> Search:
    """The search of a loaded store: in Milvus when the index lives there, else FAISS + BM25."""
    return store.backend.retriever(store)
