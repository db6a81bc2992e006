"""Hits -> evidence: the few sentences (or list items) that best answer the question.

Each unit of the retrieved chunks is scored by a blend of dense similarity (of the unit under
its heading), BM25, the share of the question's terms it covers, the rank of
its chunk, and whether it has what the question's form asks for (a number, a date, a name).
Headings are context, never evidence.

A small index stores the vectors of its units (rag/stores/store.py STORED_UNITS); in a larger one a
unit is embedded the first time a question reaches it, and its vector is kept for later
questions (UnitVectors).
"""

import math
import re
import threading
from dataclasses import dataclass

import numpy as np

from rag.answering.questions import (
    ASKS_COUNT,
    ASKS_DAY,
    ASKS_MANY,
    ASKS_MONTH,
    ASKS_NAME,
    ASKS_QUANTITY,
    ASKS_YEAR,
    MONEY_WORDS,
    counted_terms,
    excluded_terms,
    without_excluded,
)
from rag.chunking import Unit, unit_text
from rag.lexical import bm25, terms, words
from rag.models.base import Embedder
from rag.stores.base import Hit, Search
from rag.stores.store import Store

# Units per embedder call: small enough for the numpy encoder (rag/models/embedding.py LIGHT_CALL).
UNIT_BATCH = 128
FEATURES = ("dense", "coverage", "bm25", "chunk", "mismatch")
# Logistic-regression weights over the first four FEATURES (and a bias), fitted by
# benchmarks/fit_evidence.py on which units hold the answers to the questions in eval/ (then
# partly in benchmarks/); the score estimates the chance that the unit answers the question.
WEIGHTS = (3.36, 4.08, 2.02, 1.06)
BIAS = -7.16
# A unit without what the question's form demands held an answer in 1 of 12 labelled cases
# (a label slip), so the mismatch acts as a near-veto rather than a fitted weight.
MISMATCH_FACTOR = 0.25
CONTEXT_WEIGHT = 0.5
# A unit that lacks what the question's form demands (an amount for "how much", a date for
# "when did", a name for "who") or a number the question names cannot be the answer; its
# mismatch feature is set and its score scaled by MISMATCH_FACTOR.
MONTHS = r"january|february|march|april|may|june|july|august|september|october|november|december"
YEAR = re.compile(r"\b(1[5-9]|20)\d\d\b")
MONTH = re.compile(rf"\b({MONTHS}|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b", re.IGNORECASE)
DAY = re.compile(rf"\b({MONTHS})\s+\d{{1,2}}\b|\b\d{{1,2}}\s+({MONTHS})\b|\b\d{{4}}-\d\d-\d\d\b", re.IGNORECASE)
MONEY = re.compile(r"[$€£¥]\s?\d|\b\d[\d.,]*\s*(dollars?|euros?|pounds?|usd|eur|million|billion|trillion|bn|m)\b", re.IGNORECASE)
# A word as names are written: "foreign_key_check", "GPT-4" stay whole.
NAME_TOKEN = re.compile(r"[A-Za-z][\w\-·]*")
# A heading's Markdown marks and section number ("## 3.8. Obtaining A Lock", "5.0 Writing"):
# layout, not words or figures.
HEADING_MARKS = re.compile(r"^\s*#*\s*(?:\d{1,3}(?:(?:\.\d{1,3})+\.?|[.)])\s+)?")
# "Market dominance: combined power could stifle competition": a list item's label.
LABEL = re.compile(r"^\W*((?:[^\s:]+\s+){0,5}[^\s:]+):\s")


# Counts written as words ("one of five locking states"); "one" is left out, it is mostly not a count.
NUMBER_WORDS = frozenset(
    """two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
    seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
    thousand million billion trillion dozen dozens hundreds thousands millions billions""".split()
)


def numbers(text: str) -> set[str]:
    """The numbers of a text, in digits or words."""
    return {w for w in words(text) if w[0].isdigit() or w in NUMBER_WORDS}


def new_numbers(question: str, text: str) -> set[str]:
    return numbers(text) - numbers(question)


def counts(text: str, counted: set[str]) -> bool:
    """Whether the text gives a number of the counted thing: a number followed within three
    words by one of its terms ("one of five locking states", "5 dimensions")."""
    tokens = words(text)
    for at, token in enumerate(tokens):
        number = (token[0].isdigit() and not YEAR.fullmatch(token)) or token in NUMBER_WORDS
        if number and counted & set(terms(" ".join(tokens[at + 1:at + 4]))):
            return True
    return False


def counts_in_lead_in(unit: Unit, counted: set[str]) -> bool:
    """Whether a lead-in counts what a "how many" question asks about ("... a database file can
    be in one of five locking states:"): it answers that question, though not others."""
    return unit.is_lead_in and counts(unit.text, counted)


def about_excluded(unit_text: str, excluded: set[str]) -> bool:
    """Whether the unit is about what the question leaves out: it says nothing else ("Vision,
    speech and embedding"), or it is labelled with it ("Market dominance: ..."). A unit that
    lists it among others ("GPT-4, GPT-4 Turbo and future versions") may still answer."""
    if not excluded:
        return False
    own = terms(unit_text)
    if own and all(t in excluded for t in own):
        return True
    label = LABEL.match(unit_text)
    label_terms = terms(label.group(1)) if label else []
    return bool(label_terms) and all(t in excluded for t in label_terms)


def bare_heading(heading: str) -> str:
    """The heading without Markdown marks or a section number ("6. Competitive Landscape")."""
    return HEADING_MARKS.sub("", heading)


def names(text: str, known: set[str] = frozenset()) -> set[str]:
    """Capitalised words that do not begin a sentence, clause or list item: likely names.

    Args:
        text: the text.
        known: names found elsewhere (in the unit's document): a capitalised word that begins a
            sentence is a name too when it is one of them ("Microsoft is OpenAI's largest investor").
    """
    found = set()
    for segment in re.split(r"[\n•“”\"(]|[.:;!?](?=\s)|\s[-–—|]\s", text):
        tokens = NAME_TOKEN.findall(segment)
        found.update(t.lower() for t in tokens[1:] if t[0].isupper())
        if tokens and tokens[0][0].isupper() and tokens[0].lower() in known:
            found.add(tokens[0].lower())
    return found


def form_mismatch(question: str, unit_text: str, heading: str = "", known_names: set[str] = frozenset()) -> bool:
    """True when the unit cannot answer a question of this form.

    Args:
        question: the question.
        unit_text: the unit with its lead-in.
        heading: its section heading (may hold a date or figure, but a title's capitals are
            not names).
        known_names: the names of the unit's document (`names`), so that one at the start of a
            sentence counts.
    """
    text = f"{heading}\n{unit_text}"
    if ASKS_DAY.match(question) and not DAY.search(text):
        return True
    if ASKS_MONTH.match(question) and not MONTH.search(text):
        return True
    if ASKS_YEAR.match(question) and not (YEAR.search(text) and new_numbers(question, text)):
        return True
    if ASKS_COUNT.match(question) and not new_numbers(question, text):
        return True
    # A count is not a year: "how many GPUs" is not answered by "2020: First supercomputer" (but
    # "how long" may be, by "2020-2022").
    if ASKS_MANY.match(question) and not {n for n in new_numbers(question, text) if not YEAR.fullmatch(n)}:
        return True
    if ASKS_QUANTITY.match(question) and MONEY_WORDS.search(question) and not MONEY.search(text):
        return True
    if ASKS_NAME.match(question) and not names(unit_text, known_names) - set(words(question)):
        return True
    asked_numbers = {w for w in words(question) if w[0].isdigit()}
    return bool(asked_numbers - set(words(text)))


@dataclass(frozen=True)
class Evidence:
    """A scored unit.

    Attributes:
        unit: the sentence or list item.
        index: its position in the store's units.
        score: estimated chance in [0, 1] that the unit answers the question.
        features: the values of FEATURES the score was computed from.
        left_out: the unit is about what the question leaves out ("other than A, ...": it says
            nothing else, or is a list item labelled A): it shows the documents cover the
            subject (rag/answering/abstention.py) but is never the answer.
    """

    unit: Unit
    index: int
    score: float
    features: tuple[float, ...]
    left_out: bool = False


class UnitVectors:
    """Unit vectors: those the index stores, and the others embedded the first time a question
    reaches them and then kept.

    Args:
        store: the loaded index.
        embedder: the index's embedder.
        limit: vectors kept at most (the cache starts over beyond it; 384 floats each).
    """

    def __init__(self, store: Store, embedder: Embedder, limit: int = 50_000):
        self.store = store
        self.embedder = embedder
        self.limit = limit
        self._vectors: dict[int, np.ndarray] = {}
        if store.unit_vectors is not None:
            # A unit with no stored vector (a zero row: a lead-in) is embedded when first reached.
            stored = np.flatnonzero(store.unit_vectors.any(axis=1))
            self._vectors = {int(i): store.unit_vectors[i] for i in stored}
        self._lock = threading.Lock()

    def get(self, ids: list[int]) -> np.ndarray:
        """(len(ids), dimension) vectors of these units."""
        with self._lock:
            known = {i: self._vectors[i] for i in ids if i in self._vectors}
        missing = [i for i in ids if i not in known]
        if missing:
            # In calls small enough for the numpy encoder (a batch of questions reaches hundreds
            # of units): loading sentence-transformers would import torch, 2 s and 250 MB.
            texts = [unit_text(self.store.units[i]) for i in missing]
            fresh = np.concatenate([self.embedder.embed(texts[s:s + UNIT_BATCH]) for s in range(0, len(texts), UNIT_BATCH)])
            known.update(zip(missing, fresh))
            with self._lock:
                if len(self._vectors) + len(missing) > self.limit:
                    self._vectors.clear()
                self._vectors.update(zip(missing, fresh))
        return np.stack([known[i] for i in ids]) if ids else np.zeros((0, self.store.dimension), np.float32)


class EvidenceSelector:
    """Scores the units of retrieved chunks against a question.

    Args:
        store: the loaded index.
        embedder: the index's embedder (units are embedded as questions reach them).
        lexical: the store's search (its idf over the chunks weighs question terms).
    """

    def __init__(self, store: Store, embedder: Embedder, lexical: Search):
        self.store = store
        self.lexical = lexical
        self.vectors = UnitVectors(store, embedder)
        self._unit_terms: dict[int, tuple[list[str], set[str], set[str]]] = {}
        self._names: dict[str, set[str]] = {}

    def document_names(self, source: str) -> set[str]:
        """The names a document writes inside its sentences (computed once per document)."""
        if source not in self._names:
            self._names[source] = names(self.store.documents[source].text)
        return self._names[source]

    def unit_terms(self, i: int) -> tuple[list[str], set[str], set[str]]:
        """(terms of the unit with its lead-in, in order; those and its heading's terms; terms
        only its context adds)."""
        if i not in self._unit_terms:
            unit = self.store.units[i]
            body = terms(unit.full_text)
            own = set(body) | set(terms(unit.heading))
            self._unit_terms[i] = body, own, set(terms(unit.context)) - own
        return self._unit_terms[i]

    def coverage(self, weights: dict[str, float], i: int) -> float:
        """Idf-weighted share of the query terms the unit holds (a term only its context holds
        counts CONTEXT_WEIGHT).

        Args:
            weights: each query term's idf.
            i: the unit's position in the store.
        """
        total = sum(weights.values())
        if total == 0:
            return 0.0
        _, own, around = self.unit_terms(i)
        return sum(w * (1.0 if t in own else CONTEXT_WEIGHT if t in around else 0.0) for t, w in weights.items()) / total

    def select(self, question: str, query_vector: np.ndarray, query_terms: list[str], hits: list[Hit]) -> list[Evidence]:
        """All candidate units of the hits, best first.

        Args:
            question: the question as asked (its form sets what an answer must contain).
            query_vector: the embedded retrieval query.
            query_terms: the query's content terms.
            hits: retrieved chunks, best first.
        """
        excluded = excluded_terms(question)
        asked = without_excluded(question)
        counted = counted_terms(asked)
        chunk_weight: dict[int, float] = {}
        top = hits[0].score if hits else 1.0
        for hit in hits:
            for i in range(hit.chunk.first_unit, hit.chunk.last_unit):
                if self.store.units[i].is_evidence or counted and counts_in_lead_in(self.store.units[i], counted):
                    chunk_weight[i] = max(chunk_weight.get(i, 0.0), hit.score / top)
        if not chunk_weight:
            return []
        ids = sorted(chunk_weight)
        dense = self.vectors.get(ids) @ query_vector
        lexical = bm25(query_terms, [self.unit_terms(i)[0] for i in ids], self.lexical.idf)
        lexical = lexical / lexical.max() if lexical.max() > 0 else lexical
        weights = {t: self.lexical.idf(t) for t in set(query_terms)}
        # "How many dimensions ...?": when some unit gives a count of that very thing ("5
        # dimensions"), a unit that does not cannot be the answer.
        counting = {i for i in ids if counts(self.store.units[i].full_text, counted)} if counted else set()
        evidence = []
        for row, i in enumerate(ids):
            unit = self.store.units[i]
            heading = bare_heading(unit.heading)
            mismatch = (form_mismatch(asked, unit.full_text, heading, self.document_names(unit.source))
                        or bool(counting) and i not in counting)
            features = (
                float(dense[row]), self.coverage(weights, i), float(lexical[row]), chunk_weight[i], float(mismatch),
            )
            evidence.append(Evidence(unit, i, score(features), features, about_excluded(unit.text, excluded)))
        evidence.sort(key=lambda e: -e.score)
        return evidence


def score(features: tuple[float, ...]) -> float:
    """The chance that a unit answers, from its FEATURES."""
    z = BIAS + sum(w * f for w, f in zip(WEIGHTS, features))
    return (MISMATCH_FACTOR if features[-1] else 1.0) / (1.0 + math.exp(-z))
