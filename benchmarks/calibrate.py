"""Prints the best evidence score of every question in one or more question sets, answerable
and unanswerable side by side: the figures behind Config.min_evidence.

    .venv/bin/python benchmarks/calibrate.py eval/dev_qa.jsonl benchmarks/extra_qa.jsonl
"""

import sys

from rag import RAG, Config
from rag.evaluation import load_questions


def main(paths: list[str], index: str = "index"):
    rag = RAG.open(index, Config(extractive_only=True))
    rows = []
    for path in paths:
        for item in load_questions(path):
            answer = rag.ask(item["question"])
            best = answer.passages[0].score if answer.passages else 0.0
            rows.append((best, bool(item.get("unanswerable")), item["id"]))
    rows.sort()
    for best, unanswerable, qid in rows:
        print(f"{best:.3f} {'UNANSWERABLE' if unanswerable else 'answerable  '} {qid}")
    answerable = [b for b, u, _ in rows if not u]
    unanswerable = [b for b, u, _ in rows if u]
    print(f"lowest answerable {min(answerable):.3f}; highest unanswerable {max(unanswerable):.3f}")
    for threshold in (0.5, 0.55, 0.58, 0.6, 0.62, 0.65):
        false_abstain = sum(b < threshold for b in answerable)
        caught = sum(b < threshold for b in unanswerable)
        print(f"min_evidence={threshold:.2f}: abstains on {caught}/{len(unanswerable)} unanswerable, "
              f"{false_abstain}/{len(answerable)} answerable")


if __name__ == "__main__":
    main(sys.argv[1:])
