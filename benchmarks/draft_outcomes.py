"""Which drafts pass verification, by what is known before the draft is written.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/draft_outcomes.py [--out rows.jsonl]
        [INDEX:SET ...]   (default: the public sets and fresh_fit on index, each other fit set on its index)

Every question of the fit and public sets that gets a draft is answered alone (memo off); per
question it records the plan (units shown to the model, the best unit's kind and score, the
evidence's length) and the answer's method ("generated": the draft passed). Printed: how many drafts
passed, grouped by each of those. Sealed sets are never named here.
"""

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import RAG, Config  # noqa: E402
from rag.answering.composition import display_text  # noqa: E402
from rag.evaluation import load_questions  # noqa: E402

DEFAULT = ["index:dev_qa", "index:blind_qa", "index:blind2_qa", "index:fresh_fit", "index-sqlite:sqlite_fit",
           "index-zsh:zsh_fit", "index-nut:nut_fit", "index-asy:asy_fit"]
GROUPS = {
    "units shown": lambda r: r["shown"],
    "best unit's score": lambda r: "< 0.5" if r["score"] < 0.5 else "< 0.8" if r["score"] < 0.8 else ">= 0.8",
    "evidence characters": lambda r: "over 600" if r["characters"] > 600 else "600 or fewer",
    "best unit's kind": lambda r: r["kind"],
}


def outcomes(index: str, names: list[str]):
    rag = RAG.open(index, Config(answer_memo=0))
    answerer, options = rag.answerer, rag.options()
    for name in names:
        for item in load_questions(f"eval/{name}.jsonl"):
            plan = answerer.plan(item["question"], None, options)
            if not plan.generate:
                continue
            answer = rag.ask(item["question"])
            yield {"set": name, "id": item["id"], "passed": answer.method == "generated", "shown": len(plan.chosen),
                   "kind": plan.chosen[0].unit.kind, "score": plan.chosen[0].score,
                   "characters": sum(len(display_text(e.unit.full_text)) for e in plan.chosen)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", nargs="*", default=DEFAULT, help="INDEX:SET (eval/SET.jsonl on INDEX)")
    parser.add_argument("--out", help="write one row per question here")
    args = parser.parse_args()
    by_index: dict[str, list[str]] = defaultdict(list)
    for pair in args.pairs:
        index, name = pair.rsplit(":", 1)
        by_index[index].append(name)
    rows = [row for index, names in by_index.items() for row in outcomes(index, names)]
    if args.out:
        Path(args.out).write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(f"{len(rows)} drafts, {sum(r['passed'] for r in rows)} passed verification")
    for title, key in GROUPS.items():
        counts: dict = defaultdict(lambda: [0, 0])
        for row in rows:
            counts[key(row)][0] += 1
            counts[key(row)][1] += row["passed"]
        print(f"{title}: " + ", ".join(f"{k}: {p} of {n}" for k, (n, p) in sorted(counts.items(), key=lambda kv: str(kv[0]))))


if __name__ == "__main__":
    main()
