"""BM25 over the same texts the vectors cover, plus the tokenizer both scoring stages share."""

import math
import re
from functools import lru_cache

import numpy as np

from rag.errors import MissingDependencyError

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either few for
    from further had has have having he her here hers herself him himself his how i if in into is
    it its itself just let me more most much must my myself no nor not now of off on once only or
    other our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up upon us very
    was we were what when where which while who whom whose why will with within without would you
    your yours yourself yourselves said says say""".split()
)
TOKEN = re.compile(r"[a-z0-9]+(?:[.'’][a-z0-9]+)*")


@lru_cache(maxsize=1)
def stemmer():
    try:
        import Stemmer
    except ImportError as exc:
        raise MissingDependencyError("lexical search needs PyStemmer: pip install PyStemmer") from exc
    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens with possessives dropped; stop words kept."""
    text = text.lower().replace("’", "'").replace("·", "")
    return [re.sub(r"'s$", "", w).replace("'", "") for w in TOKEN.findall(text)]


def terms(text: str) -> list[str]:
    """Content terms: lower-cased, stop words dropped, stemmed. Used by BM25 and coverage."""
    return stemmer().stemWords([w for w in words(text) if w not in STOPWORDS])


class TermStats:
    """How many texts hold each term: the idf weights of question terms, and whether the
    corpus holds a term at all. Kept with the index when a search engine elsewhere (Milvus)
    does the keyword search.

    Args:
        df: term -> number of texts that hold it.
        size: number of texts.
    """

    def __init__(self, df: dict[str, int], size: int):
        self.df = df
        self.size = size

    @classmethod
    def count(cls, tokenized: list[list[str]]) -> "TermStats":
        """From texts already split into terms."""
        df: dict[str, int] = {}
        for doc in tokenized:
            for term in set(doc):
                df[term] = df.get(term, 0) + 1
        return cls(df, len(tokenized))

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency, in the same form BM25 uses."""
        df = self.df.get(term, 0)
        return math.log(1.0 + (self.size - df + 0.5) / (df + 0.5))

    def known(self, term: str) -> bool:
        """Whether any text holds the term."""
        return term in self.df


class LexicalIndex:
    """BM25 (bm25s) over a list of texts, with the document frequencies kept for idf lookups.

    Args:
        texts: the texts to index, in the order their scores are returned.
    """

    def __init__(self, texts: list[str]):
        try:
            import bm25s
        except ImportError as exc:
            raise MissingDependencyError("lexical search needs bm25s: pip install bm25s") from exc
        tokenized = [terms(t) for t in texts]
        self.size = len(texts)
        self.stats = TermStats.count(tokenized)
        self._df = self.stats.df
        self._bm25 = bm25s.BM25()
        # bm25s cannot index an empty corpus or empty documents; a placeholder keeps positions.
        self._bm25.index([doc or ["\x00"] for doc in tokenized] or [["\x00"]], show_progress=False)

    def idf(self, term: str) -> float:
        return self.stats.idf(term)

    def known(self, term: str) -> bool:
        return self.stats.known(term)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """BM25 score of every text for the query terms (0 where none matches)."""
        known = [t for t in query_terms if t in self._df]
        if not known or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)[: self.size]


def bm25(query_terms: list[str], docs: list[list[str]], idf, k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """BM25 of a few texts (already split into terms) for the query, with idf from a larger
    collection: scores the sentences of retrieved chunks without an index of every sentence.

    Args:
        query_terms: the query's terms.
        docs: each text's terms.
        idf: term -> inverse document frequency (LexicalIndex.idf).
    """
    if not docs:
        return np.zeros(0, dtype=np.float32)
    average = max(sum(map(len, docs)) / len(docs), 1.0)
    weights = {t: idf(t) for t in set(query_terms)}
    scores = np.zeros(len(docs), dtype=np.float32)
    for row, doc in enumerate(docs):
        norm = k1 * (1.0 - b + b * len(doc) / average)
        for term, weight in weights.items():
            tf = doc.count(term)
            if tf:
                scores[row] += weight * tf * (k1 + 1.0) / (tf + norm)
    return scores
