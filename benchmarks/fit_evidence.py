"""Fits the evidence-score weights (rag/answering/evidence.py WEIGHTS, BIAS) by logistic regression.

For every question of the sets given, every candidate unit is labelled 1 when it contains one
of the question's answer phrases and lies in a file that holds the answer, else 0 (all units of
an unanswerable question are 0). Units whose form mismatches the question are left out of the
fit (rag scales their score by MISMATCH_FACTOR instead). Prints the fitted weights and how often
the best-scored unit holds the answer. Use fit parts only (eval/README.md), never a sealed set.

    .venv/bin/python benchmarks/fit_evidence.py index:eval/fresh_fit.jsonl index-sqlite:eval/sqlite_fit.jsonl
"""

import argparse

import numpy as np

from rag import RAG, Config
from rag.answering.evidence import FEATURES, MISMATCH_FACTOR, score
from rag.evaluation import contains_phrase, load_questions, source_matches


def holds_answer(item: dict, unit) -> bool:
    """Whether a unit holds one of the question's answer phrases, in a file that holds the answer."""
    phrases = item.get("answers") or item.get("answers_all") or []
    return (not item.get("unanswerable") and source_matches(unit.source, tuple(item.get("docs", [])))
            and any(contains_phrase(unit.full_text, p) for p in phrases))


def labelled_candidates(rag: RAG, item: dict) -> tuple[np.ndarray, np.ndarray]:
    answerer = rag.answerer
    evidence, _ = answerer.find_evidence(item["question"], item["question"], rag.options(), {})
    labels = [holds_answer(item, e.unit) for e in evidence]
    return np.array([e.features for e in evidence]), np.array(labels, dtype=float)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", help="INDEX:QUESTIONS pairs")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    items, data, sets = [], [], []
    for pair in args.sets:
        index, path = pair.split(":", 1)
        rag = RAG.open(index, Config(extractive_only=True))
        for item in load_questions(path):
            items.append(item)
            sets.append(path)
            data.append(labelled_candidates(rag, item))
    data = [(x.reshape(-1, len(FEATURES)), y) for x, y in data]
    x = np.concatenate([d[0] for d in data])
    y = np.concatenate([d[1] for d in data])
    fitted = len(FEATURES) - 1  # all but the mismatch flag
    matched = x[:, fitted] == 0
    model = LogisticRegression(C=args.c, max_iter=1000).fit(x[matched, :fitted], y[matched])
    print("WEIGHTS =", tuple(round(float(w), 2) for w in model.coef_[0]), " # " + ", ".join(FEATURES[:fitted]))
    print("BIAS =", round(float(model.intercept_[0]), 2))
    for name, scorer in (("these weights", lambda f: model.predict_proba(f)[:, 1]), ("rag's weights", rag_scores)):
        held: dict[str, list[bool]] = {}
        for item, path, (features, labels) in zip(items, sets, data):
            if item.get("unanswerable"):
                continue
            top = 0
            if len(features):
                top = int(np.argmax(scorer(features[:, :fitted]) * np.where(features[:, fitted] > 0, MISMATCH_FACTOR, 1.0)))
            held.setdefault(path, []).append(bool(len(labels) and labels[top]))
        print(f"top unit holds the answer, {name}:", ", ".join(f"{p} {sum(h)}/{len(h)}" for p, h in held.items()))


def rag_scores(features: np.ndarray) -> np.ndarray:
    """rag/answering/evidence.py's scores before the mismatch factor."""
    return np.array([score(tuple(row) + (0.0,)) for row in features])


if __name__ == "__main__":
    main()
