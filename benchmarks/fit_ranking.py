"""Would other unit features rank the evidence better? Pairwise fits, left one set out.

For every candidate unit of every answerable question (labels as in benchmarks/fit_evidence.py),
rag's five features plus nine more: the unit's own cosine (without its heading), its heading's
cosine, its chunk's cosine and normalised BM25 score, the idf share of the question's terms in
its heading and in its body, log word count, whether it is a list item, whether it is about what
the question leaves out, and the cosine of the unit with the sentences either side of it. For
each group of features, a pairwise logistic regression (answer unit minus every other unit of
the same question) is fitted on all sets but one and counted on the one left out: how often the
best-scored unit holds the answer, against rag's own order. Fit parts only (eval/README.md).

    .venv/bin/python benchmarks/fit_ranking.py index:eval/fresh_fit.jsonl index-sqlite:eval/sqlite_fit.jsonl \
        index:eval/extra_qa.jsonl index:eval/holdout_qa.jsonl index:eval/dev_qa.jsonl
"""

import argparse
import math

import numpy as np
from fit_evidence import holds_answer

from rag import RAG, Config
from rag.chunking import HEADING, ITEM
from rag.evaluation import load_questions
from rag.lexical import terms

NAMES = ("dense", "coverage", "bm25", "chunk", "mismatch", "alone", "heading", "chunk_dense", "chunk_bm25",
         "heading_share", "body_share", "log_words", "item", "left_out", "window")
GROUPS = {
    "rag's five": [0, 1, 2, 3, 4],
    "+ unit alone": [0, 1, 2, 3, 4, 5],
    "+ heading": [0, 1, 2, 3, 4, 6],
    "+ chunk scores": [0, 1, 2, 3, 4, 7, 8],
    "+ heading/body shares": [0, 1, 2, 3, 4, 9, 10],
    "+ length, item": [0, 1, 2, 3, 4, 11, 12],
    "+ window": [0, 1, 2, 3, 4, 14],
    "all": list(range(len(NAMES))),
}


def candidates(rag: RAG, item: dict) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of a question's candidate units, in rag's order."""
    answerer = rag.answerer
    question = item["question"]
    query_vector = answerer.embedder.embed([question])[0]
    query_terms = terms(question)
    hits = answerer.retriever.search(query_vector, query_terms, rag.options().top_k)
    evidence = answerer.selector.select(question, query_vector, query_terms, hits)
    if not evidence:
        return np.zeros((0, len(NAMES))), np.zeros(0)
    units = answerer.store.units

    def window(i: int) -> str:
        near = [units[j].text for j in (i - 1, i, i + 1)
                if 0 <= j < len(units) and units[j].source == units[i].source and units[j].kind != HEADING]
        return (units[i].heading + "\n" if units[i].heading else "") + " ".join(near)

    embed = answerer.embedder.embed
    alone = embed([e.unit.text for e in evidence]) @ query_vector
    heading = embed([e.unit.heading or "-" for e in evidence]) @ query_vector
    windows = embed([window(e.index) for e in evidence]) @ query_vector
    top_lexical = max((h.lexical for h in hits), default=0.0) or 1.0
    weights = {t: answerer.retriever.idf(t) for t in set(query_terms)}
    total = sum(weights.values()) or 1.0
    rows, labels = [], []
    for n, e in enumerate(evidence):
        around = [h for h in hits if h.chunk.first_unit <= e.index < h.chunk.last_unit]
        heading_terms, body_terms = set(terms(e.unit.heading)), set(terms(e.unit.full_text))
        rows.append(list(e.features) + [
            float(alone[n]), float(heading[n]),
            max((h.dense for h in around), default=0.0), max((h.lexical for h in around), default=0.0) / top_lexical,
            sum(w for t, w in weights.items() if t in heading_terms) / total,
            sum(w for t, w in weights.items() if t in body_terms) / total,
            math.log(1 + len(e.unit.text.split())), float(e.unit.kind == ITEM), float(e.left_out), float(windows[n]),
        ])
        labels.append(holds_answer(item, e.unit))
    return np.array(rows), np.array(labels, dtype=float)


def held(data, scorer) -> int:
    return sum(bool(len(y) and y[int(np.argmax(scorer(x)))]) for x, y in data)


def fit(data, columns):
    from sklearn.linear_model import LogisticRegression

    differences = [x[y > 0][:, None, columns] - x[y == 0][None, :, columns] for x, y in data if 0 < y.sum() < len(y)]
    x = np.concatenate([d.reshape(-1, len(columns)) for d in differences])
    model = LogisticRegression(fit_intercept=False, max_iter=2000).fit(
        np.concatenate([x, -x]), np.concatenate([np.ones(len(x)), np.zeros(len(x))]))
    weights = model.coef_[0]
    return lambda features: features[:, columns] @ weights


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", help="INDEX:QUESTIONS pairs")
    args = parser.parse_args()
    sets = {}
    for pair in args.sets:
        index, path = pair.split(":", 1)
        rag = RAG.open(index, Config(extractive_only=True))
        sets[path] = [candidates(rag, item) for item in load_questions(path) if not item.get("unanswerable")]
    own = {path: held(data, lambda x: -np.arange(len(x))) for path, data in sets.items()}
    print(f"{'rag as it is':24s}", own, "total", sum(own.values()))
    for name, columns in GROUPS.items():
        counted = {}
        for path, data in sets.items():
            rest = [row for other, rows in sets.items() if other != path for row in rows]
            counted[path] = held(data, fit(rest, columns))
        print(f"{name:24s}", counted, "total", sum(counted.values()))


if __name__ == "__main__":
    main()
