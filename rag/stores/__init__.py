"""Where an index's vectors and search live: one module per engine behind one seam.

    base.py      what the answering stages may know of a store: Hit, the Search protocol
    store.py     Store, the index's documents, units and chunks, and its folder on disk
    folder.py    the default engine: FAISS vectors and bm25s in the index folder
    milvus.py    the index on Milvus (Milvus Lite file or server): rows, search, backend
    milvus_collection.py  the collection: connection, schema, pymilvus calls and their errors
    factory.py   the one place that names an engine: picks one from Config.store or a manifest

Nothing is imported here, so that importing rag.stores.base loads no engine module.
"""
