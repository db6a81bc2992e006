"""Fits the answerability blend (rag/answering/abstention.py WEIGHTS, BIAS) by logistic regression.

Each question of the fit sets gives one row: the signals of rag/answering/abstention.py, labelled 1 when
the question is answerable. Prints the weights and, for a range of Config.min_confidence
values, how many unanswerable questions abstain and how many answerable ones would.
Use fit parts only (eval/README.md); never a sealed set.

    .venv/bin/python benchmarks/fit_abstention.py index:eval/fresh_fit.jsonl \
        index:eval/dev_qa.jsonl index-sqlite:eval/sqlite_fit.jsonl
"""

import argparse

import numpy as np

from rag import RAG, Config
from rag.answering.abstention import FEATURES
from rag.evaluation import load_questions


def rows(index: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    rag = RAG.open(index, Config(extractive_only=True))
    items = load_questions(path)
    features, labels = [], []
    for item in items:
        _, answerable = rag.answerer.find_evidence(item["question"], item["question"], rag.options(), {})
        features.append(answerable.features)
        labels.append(0.0 if item.get("unanswerable") else 1.0)
    return np.array(features), np.array(labels)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", help="INDEX:QUESTIONS pairs")
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression

    data = [rows(*pair.split(":", 1)) for pair in args.sets]
    x = np.concatenate([d[0] for d in data])
    y = np.concatenate([d[1] for d in data])
    model = LogisticRegression(C=args.c, max_iter=1000).fit(x, y)
    print("WEIGHTS =", tuple(round(float(w), 2) for w in model.coef_[0]), " # " + ", ".join(FEATURES))
    print("BIAS =", round(float(model.intercept_[0]), 2))
    for pair, (features, labels) in zip(args.sets, data):
        means = lambda mask: " ".join(f"{v:.2f}" for v in features[mask].mean(0)) if mask.any() else "-"
        print(f"{pair}: answerable means {means(labels == 1)} | unanswerable means {means(labels == 0)}")
    probs = model.predict_proba(x)[:, 1]
    answerable, unanswerable = probs[y == 1], probs[y == 0]
    for threshold in np.arange(0.3, 0.85, 0.05):
        print(f"min_confidence={threshold:.2f}: abstains on {(unanswerable < threshold).sum()}/{len(unanswerable)} "
              f"unanswerable, {(answerable < threshold).sum()}/{len(answerable)} answerable")


if __name__ == "__main__":
    main()
