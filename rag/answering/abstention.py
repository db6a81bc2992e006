"""Whether the documents answer a question at all: signals that hold across question styles.

A single threshold on the best evidence score fits the style of the questions it was tuned on.
These signals do not depend on one score's scale:

- evidence: the best evidence score (rag/answering/evidence.py);
- coverage: the share of the question's terms (idf-weighted) that the best evidence holds;
- unknown: the share of the question's terms (idf-weighted) found nowhere in the corpus;
  a question about a name or thing the documents never mention is not answered by them;
- agreement: how many of the top chunks dense search and BM25 both rank high;
- dense: the best chunk's cosine similarity to the question;
- stranger: the question names something the corpus never mentions (a capitalised name, a
  code-like token such as concat_ws or vec0, a number); on the fit sets 20 of 64 unanswerable
  questions did and 2 of 166 answerable ones;
- unmet: the best unit lacks what the question's form demands (a count for "how many", a date
  for "when", a name for "who"; rag/answering/evidence.py form_mismatch): 21 of 64 unanswerable, 5 of
  166 answerable.

They are blended by a logistic regression fitted by benchmarks/fit_abstention.py on the fit
parts of the question sets only (eval/README.md); the result estimates the chance that the
question is answerable, and Config.min_confidence is where rag abstains.
"""

import math
from dataclasses import dataclass

from rag.answering.evidence import Evidence, names
from rag.answering.questions import CODE_LIKE
from rag.lexical import STOPWORDS, terms
from rag.stores.base import Hit, Search

FEATURES = ("evidence", "coverage", "unknown", "agreement", "dense", "stranger", "unmet")
# Refitted when retrieval went from 6 chunks to 10 (2026-12-01) on fresh_fit, dev, sqlite_fit,
# extra and holdout: at min_confidence 0.7, 49 of 64 unanswerable questions abstain and 11 of
# 166 answerable ones do (the previous weights at 10 chunks: 49 and 14).
WEIGHTS = (1.71, 0.26, -0.91, 0.9, 1.4, -2.19, -2.68)
BIAS = -0.41
# How far down each ranking a chunk may sit and still count as ranked high by it.
AGREEMENT_DEPTH = 10
AGREEMENT_TOP = 5


@dataclass(frozen=True)
class Answerability:
    """The estimate and what it was computed from."""

    confidence: float
    features: tuple[float, ...]


def unknown_share(query_terms: list[str], lexical: Search) -> float:
    """Idf-weighted share of the query's terms that no chunk holds."""
    weights = {t: lexical.idf(t) for t in set(query_terms)}
    total = sum(weights.values())
    if total == 0:
        return 1.0
    return sum(w for t, w in weights.items() if not lexical.known(t)) / total


def strangers(question: str, lexical: Search) -> set[str]:
    """Terms of the names and code-like tokens of the question that no chunk holds."""
    named = [n for n in names(question) if n not in STOPWORDS]
    named += CODE_LIKE.findall(question)
    return {t for n in named for t in terms(n) if not lexical.known(t)}


def agreement(hits: list[Hit]) -> float:
    """Share of the top fused chunks that both rankings put in their first AGREEMENT_DEPTH."""
    top = hits[:AGREEMENT_TOP]
    if not top:
        return 0.0
    both = sum(0 <= h.dense_rank < AGREEMENT_DEPTH and 0 <= h.lexical_rank < AGREEMENT_DEPTH for h in top)
    return both / len(top)


def assess(query: str, query_terms: list[str], lexical: Search, hits: list[Hit],
           evidence: list[Evidence]) -> Answerability:
    """The chance that the evidence answers the question.

    Args:
        query: the question as it stands alone.
        query_terms: its content terms.
        lexical: the store's search (its term counts say what the corpus holds).
        hits: the retrieved chunks, best first.
        evidence: the scored units, best first.
    """
    best = evidence[0] if evidence else None
    features = (
        best.score if best else 0.0,
        best.features[1] if best else 0.0,
        unknown_share(query_terms, lexical),
        agreement(hits),
        max((h.dense for h in hits), default=0.0),
        float(bool(strangers(query, lexical))),
        best.features[-1] if best else 1.0,
    )
    return Answerability(confidence(features), features)


def confidence(features: tuple[float, ...]) -> float:
    z = BIAS + sum(w * f for w, f in zip(WEIGHTS, features))
    return 1.0 / (1.0 + math.exp(-z))
