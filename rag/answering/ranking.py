"""Evidence -> the features a learned ranker reads, one row per candidate unit.

The evidence score (rag/answering/evidence.py) blends five features with fixed weights. A ranker
learned from many questions (training/) can weigh more of what tells an answer apart: how a
candidate stands against the others of the same question, where it sits in its section, what
kind of text it is, and what the question asks for. Every feature is computed from the
question, the candidate list and the store alone, so the same code serves training and answers.
"""

import dataclasses
import math
import re

import numpy as np

from rag.answering.evidence import Evidence
from rag.answering.questions import CODE_LIKE
from rag.chunking import HEADING, ITEM
from rag.lexical import terms
from rag.models.base import Ranker

# What a question asks, as a small integer (a categorical feature).
QUESTION_KINDS = (
    ("count", re.compile(r"^\W*how\s+(many|much|long|large|big|often|old|far)\b", re.I)),
    ("how", re.compile(r"^\W*how\b", re.I)),
    ("why", re.compile(r"^\W*why\b", re.I)),
    ("when", re.compile(r"^\W*when\b", re.I)),
    ("where", re.compile(r"^\W*where\b", re.I)),
    ("who", re.compile(r"^\W*(who|whom|whose)\b", re.I)),
    ("which", re.compile(r"^\W*(which|what\s+\w+\s+(option|command|function|variable|setting|parameter|directive|file|key|flag|module))\b", re.I)),
    ("what", re.compile(r"^\W*what\b", re.I)),
    ("yes-no", re.compile(r"^\W*(is|are|can|could|does|do|did|should|will|would|was|were|has|have)\b", re.I)),
    ("goal", re.compile(r"^\W*i\s+(want|need|would like)\b", re.I)),
)
FEATURES = (
    "dense", "coverage", "bm25", "chunk", "mismatch",  # evidence.py's own
    "score", "below_best", "rank", "dense_rank", "bm25_rank",
    "words", "item", "lead_in", "heading_coverage", "body_coverage", "precision", "digits", "code",
    "section_position", "neighbour", "question_kind", "question_terms",
)
SECTION_DEPTH = 10  # how far back a unit's position under its heading is counted


def question_kind(question: str) -> int:
    """The index of the first kind in QUESTION_KINDS that the question matches; keyword
    queries and others get len(QUESTION_KINDS)."""
    for k, (_, pattern) in enumerate(QUESTION_KINDS):
        if pattern.search(question):
            return k
    return len(QUESTION_KINDS)


def section_position(units, index: int) -> int:
    """How many units stand between a unit and the heading above it (capped)."""
    source = units[index].source
    for back in range(SECTION_DEPTH):
        j = index - back - 1
        if j < 0 or units[j].source != source or units[j].kind == HEADING:
            return back
    return SECTION_DEPTH


def ranks(values: np.ndarray) -> np.ndarray:
    """0 for the largest value, 1 for the next, ..."""
    order = np.argsort(-values, kind="stable")
    out = np.empty(len(values))
    out[order] = np.arange(len(values))
    return out


def feature_rows(question: str, evidence: list[Evidence], units, idf) -> np.ndarray:
    """(len(evidence), len(FEATURES)) features of the candidates, in the order given.

    Args:
        question: the question as asked.
        evidence: the scored candidates (rag/answering/evidence.py), best first.
        units: the store's units (for a unit's neighbours and its place in its section).
        idf: a term's inverse document frequency (the store's search).
    """
    if not evidence:
        return np.zeros((0, len(FEATURES)))
    query_terms = set(terms(question))
    weights = {t: idf(t) for t in query_terms}
    total = sum(weights.values()) or 1.0
    base = np.array([e.features for e in evidence], dtype=float)
    scores = np.array([e.score for e in evidence])
    by_index = {e.index: e.score for e in evidence}
    kind = question_kind(question)
    rows = []
    for e in evidence:
        unit = e.unit
        own = set(terms(unit.full_text))
        heading = set(terms(unit.heading))
        neighbours = [by_index.get(e.index + step, 0.0) for step in (-1, 1)]
        rows.append((
            math.log1p(len(unit.full_text.split())),
            float(unit.kind == ITEM),
            float(bool(unit.lead_in)),
            sum(w for t, w in weights.items() if t in heading) / total,
            # Units under one heading share its terms: what tells them apart is their own text.
            sum(w for t, w in weights.items() if t in own) / total,
            len(own & query_terms) / max(len(own), 1),
            float(bool(re.search(r"\d", unit.full_text))),
            float(bool(CODE_LIKE.search(unit.full_text))),
            float(section_position(units, e.index)),
            max(neighbours),
            float(kind),
            float(len(query_terms)),
        ))
    return np.column_stack([
        base, scores, scores - scores.max(), np.arange(len(evidence), dtype=float),
        ranks(base[:, 0]), ranks(base[:, 2]), np.array(rows),
    ])


def rerank(question: str, evidence: list[Evidence], units, idf, ranker: Ranker) -> list[Evidence]:
    """The candidates ordered by a learned ranker, each scored with its calibrated chance (so
    that later stages read the score as they read the evidence score).

    Args:
        question: the question as asked.
        evidence: the scored candidates, best first.
        units: the store's units.
        idf: the store's inverse document frequency of a term.
        ranker: the learned ranker.
    """
    if not evidence:
        return evidence
    chances = ranker.chances(feature_rows(question, evidence, units, idf))
    ranked = [dataclasses.replace(e, score=float(c)) for e, c in zip(evidence, chances)]
    return sorted(ranked, key=lambda e: -e.score)
