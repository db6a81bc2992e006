"""Splits a written question set into a fit part and a sealed test part, half and half.

Answerable and unanswerable questions are split separately, in an order fixed by a hash of
each question's id, so the split is reproducible and nobody chooses which question goes where.
Tune only on the fit part; score the sealed part as totals (`rag eval --totals`).

    python eval/split.py WRITTEN.jsonl eval/NAME   # writes eval/NAME_fit.jsonl, eval/NAME_sealed.jsonl
"""

import hashlib
import json
import sys


def split(lines: list[str]) -> tuple[list[str], list[str]]:
    fit, sealed = [], []
    for unanswerable in (False, True):
        group = [l for l in lines if bool(json.loads(l).get("unanswerable")) == unanswerable]
        group.sort(key=lambda l: hashlib.sha256(json.loads(l)["id"].encode()).hexdigest())
        fit += group[0::2]
        sealed += group[1::2]
    return fit, sealed


def main():
    source, prefix = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip()]
    for name, part in zip(("fit", "sealed"), split(lines)):
        part.sort(key=lambda l: json.loads(l)["id"])
        with open(f"{prefix}_{name}.jsonl", "w", encoding="utf-8") as f:
            f.write("\n".join(part) + "\n")
        print(f"{prefix}_{name}.jsonl: {len(part)} questions")


if __name__ == "__main__":
    main()
