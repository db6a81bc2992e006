"""Where an answer is lost between retrieval and the answer: totals per question set.

For each answerable question, whether a unit that holds one of its answer phrases (in a file
that holds the answer; the labels of benchmarks/fit_evidence.py) is among the scored candidate
units at all, is the best-scored unit, or is among the best three. Prints totals only, so it
may be run on a sealed set (eval/README.md).

    .venv/bin/python benchmarks/ranking.py index:eval/fresh_fit.jsonl index-sqlite:eval/sqlite_fit.jsonl
    .venv/bin/python benchmarks/ranking.py --ranker corpora/train/ranker/lambdarank.txt index:eval/fresh_fit.jsonl
"""

import argparse

from fit_evidence import labelled_candidates

from rag import RAG, Config
from rag.evaluation import load_questions


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", help="INDEX:QUESTIONS pairs")
    parser.add_argument("--ranker", default="evidence", help="Config.ranker: evidence, or a ranker model file (training/ranker.py)")
    args = parser.parse_args()
    for pair in args.sets:
        index, path = pair.split(":", 1)
        rag = RAG.open(index, Config(extractive_only=True, ranker=args.ranker))
        answerable = found = best = best3 = 0
        for item in load_questions(path):
            if item.get("unanswerable"):
                continue
            _, labels = labelled_candidates(rag, item)
            answerable += 1
            found += bool(len(labels) and labels.max() > 0)
            best += bool(len(labels) and labels[0] > 0)
            best3 += bool(len(labels) and labels[:3].max() > 0)
        print(f"{path}: of {answerable} answerable, the answer is in a candidate unit for {found}, "
              f"in the best unit for {best}, in the best three for {best3}")


if __name__ == "__main__":
    main()
