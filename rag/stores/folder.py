"""Hybrid retrieval: dense search fused with BM25 by reciprocal rank.

Two implementations of the Search protocol: Retriever (FAISS and bm25s over the index folder,
the default) and rag.milvus.MilvusRetriever (both searches and the fusion in Milvus).
"""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rag.chunking import Chunk
from rag.lexical import LexicalIndex
from rag.stores.store import Store

RRF_K = 60  # the usual constant: damps the gap between the first few ranks


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk.

    Attributes:
        chunk: the chunk.
        index: its position in the store.
        score: fused score (higher is better; only comparable within one query).
        dense: cosine similarity of question and chunk.
        lexical: BM25 score of the chunk for the question.
        dense_rank, lexical_rank: its place in each ranking (0 is first; -1 when not ranked).
    """

    chunk: Chunk
    index: int
    score: float
    dense: float
    lexical: float
    dense_rank: int = -1
    lexical_rank: int = -1


class Search(Protocol):
    """What the stages after retrieval need from a store's search."""

    def search(self, query_vector: np.ndarray, query_terms: list[str], k: int) -> list[Hit]:
        """The k best chunks for a question, best first."""

    def idf(self, term: str) -> float:
        """A term's inverse document frequency over the chunks."""

    def known(self, term: str) -> bool:
        """Whether any chunk holds the term."""


def depth_for(n: int, k: int) -> int:
    """How far down each ranking fusion looks, for k results out of n chunks."""
    return min(n, max(4 * k, 20))


def top(scores: np.ndarray, depth: int) -> np.ndarray:
    """Indices of the `depth` highest scores, best first, ties in index order: the same as
    np.argsort(-scores, kind="stable")[:depth], without sorting every score (6 ms -> 0.3 ms at
    100,000 chunks)."""
    if depth >= len(scores):
        return np.argsort(-scores, kind="stable")[:depth]
    kth = np.partition(scores, len(scores) - depth)[len(scores) - depth]  # the depth-th highest
    above = np.flatnonzero(scores > kth)
    ids = np.concatenate([above, np.flatnonzero(scores == kth)[:depth - len(above)]])
    return ids[np.argsort(-scores[ids], kind="stable")]


def make_retriever(store: Store) -> Search:
    """The search of a loaded store: in Milvus when the index lives there, else FAISS + BM25."""
    if store.milvus is not None:
        from rag.stores.milvus import MilvusRetriever

        return MilvusRetriever(store)
    return Retriever(store)


class Retriever:
    """Searches a store's chunks both ways (FAISS and bm25s) and fuses the two rankings.

    Args:
        store: the loaded index.
    """

    def __init__(self, store: Store):
        self.store = store
        self.chunk_lexical = LexicalIndex([c.embed_text for c in store.chunks])

    def idf(self, term: str) -> float:
        return self.chunk_lexical.idf(term)

    def known(self, term: str) -> bool:
        return self.chunk_lexical.known(term)

    def search(self, query_vector: np.ndarray, query_terms: list[str], k: int) -> list[Hit]:
        """The k best chunks for a question.

        Args:
            query_vector: the embedded question.
            query_terms: the question's content terms (lexical.terms).
            k: how many chunks to return.
        """
        n = len(self.store.chunks)
        if n == 0:
            return []
        depth = depth_for(n, k)
        dense_scores, dense_ids = self.store.search(query_vector, depth)
        lexical = self.chunk_lexical.scores(query_terms)
        lexical_ids = top(lexical, depth)
        lexical_ids = lexical_ids[lexical[lexical_ids] > 0]
        fused: dict[int, float] = {}
        for rank, i in enumerate(dense_ids):
            fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, i in enumerate(lexical_ids):
            fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (RRF_K + rank + 1)
        dense = dict(zip(map(int, dense_ids), map(float, dense_scores)))
        dense_rank = {int(i): rank for rank, i in enumerate(dense_ids)}
        lexical_rank = {int(i): rank for rank, i in enumerate(lexical_ids)}
        best = sorted(fused, key=lambda i: -fused[i])[:k]
        chunk_vectors = self.store.chunk_vectors
        return [
            Hit(self.store.chunks[i], i, fused[i],
                dense.get(i, float(chunk_vectors[i] @ query_vector)), float(lexical[i]),
                dense_rank.get(i, -1), lexical_rank.get(i, -1))
            for i in best
        ]
