"""What the answering stages know of a store's search: the Hit it returns and the Search
protocol it follows, with the reciprocal-rank fusion both engines share. No engine is named here.

Two engines implement them: the index folder (FAISS and bm25s, rag/stores/folder.py, the
default) and Milvus (rag/stores/milvus.py); rag/stores/factory.py picks one.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rag.chunking import Chunk

if TYPE_CHECKING:
    import numpy as np

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

    def search(self, query_vector: "np.ndarray", query_terms: list[str], k: int) -> list[Hit]:
        """The k best chunks for a question, best first."""

    def idf(self, term: str) -> float:
        """A term's inverse document frequency over the chunks."""

    def known(self, term: str) -> bool:
        """Whether any chunk holds the term."""


def depth_for(n: int, k: int) -> int:
    """How far down each ranking fusion looks, for k results out of n chunks."""
    return min(n, max(4 * k, 20))
