"""How well the generator picks the answering unit among the candidates, and tells when none does.

For each question of the sets given (fit parts only), the pipeline's candidates (distinct units,
best first) are shown to the model, which is asked which one answers, or none (one prompt, one
token: LlamaCppGenerator.choose reads its probabilities of "0" ... "k"). With --each, each candidate is
shown apart with "does the passage answer the question? yes or no" and its probability of yes is its odds. Totals per set: of the answerable questions,
how often a unit that holds the answer (benchmarks/fit_evidence.py labels) is among those shown,
is the pipeline's best, is the model's pick; and, for thresholds on the model's "none" probability
and the pipeline's confidence, the right abstentions and false abstentions. With --rows FILE, one
JSON line per question (id, labels, odds, none, confidence) for fitting.

    .venv/bin/python benchmarks/fit_judging.py --generator qwen2.5-coder-0.5b index:eval/fresh_fit.jsonl
    .venv/bin/python benchmarks/fit_judging.py --each --rows /tmp/each.jsonl --generator qwen2.5-coder-0.5b index:eval/fresh_fit.jsonl
"""

import argparse
import json
from dataclasses import dataclass
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from fit_evidence import holds_answer

from rag import RAG, Config
from rag.answering.composition import display_text
from rag.answering.evidence import Evidence, bare_heading
from rag.answering.pipeline import distinct
from rag.evaluation import load_questions

# Candidate units shown to the model: more finds the answer more often, but every passage
# lengthens the prompt the model must read (about 160 tokens/s for Qwen 0.5B on 2 cores).
CANDIDATES = 6
PASSAGE_CHARS = 400
POINTWISE = ("Passage: {passage}\n\nQuestion: {question}\n\n"
             "Does the passage answer the question? Reply Yes or No.")
PROMPT = ("Passages:\n{passages}\n\nQuestion: {question}\n\n"
          "Which passage answers the question? Reply with its number only, or 0 if none of them answers it.")


@dataclass(frozen=True)
class Verdict:
    """What the model said about the candidates.

    Attributes:
        shown: the candidate units, in the order they were numbered (1, 2, ...).
        odds: the probability of each shown unit being the answer.
        none: the probability that none answers.
    """

    shown: tuple[Evidence, ...]
    odds: tuple[float, ...]
    none: float

    @property
    def pick(self) -> Evidence | None:
        """The unit the model finds likeliest to answer (None when nothing was shown)."""
        if not self.shown:
            return None
        return self.shown[max(range(len(self.shown)), key=lambda i: (self.odds[i], -i))]


def passage(evidence: Evidence) -> str:
    unit = evidence.unit
    text = display_text(unit.full_text)
    if len(text) > PASSAGE_CHARS:
        text = text[:PASSAGE_CHARS].rsplit(" ", 1)[0] + " ..."
    return f"({bare_heading(unit.heading)}) {text}" if unit.heading else text


def judge(generator, question: str, candidates: list[Evidence], count: int = CANDIDATES) -> Verdict:
    """Asks the model which of the first `count` units answers the question.

    Args:
        generator: a Generator (its choose method).
        question: the question as it stands alone.
        candidates: scored units, best first, each text once.
        count: how many of them to show.
    """
    shown = tuple(candidates[:count])
    if not shown:
        return Verdict((), (), 1.0)
    passages = "\n".join(f"[{i}] {passage(e)}" for i, e in enumerate(shown, 1))
    messages = [{"role": "user", "content": PROMPT.format(passages=passages, question=question)}]
    odds = generator.choose(messages, [str(i) for i in range(len(shown) + 1)])
    return Verdict(shown, tuple(odds[1:]), odds[0])


def judge_each(generator, question: str, candidates: list[Evidence], count: int = CANDIDATES) -> Verdict:
    """Asks the model of each of the first `count` units apart whether it answers the question
    (one prompt a unit, read side by side in the server's slots). none is 1 minus the best yes."""
    shown = tuple(candidates[:count])
    if not shown:
        return Verdict((), (), 1.0)

    def yes(evidence: Evidence) -> float:
        content = POINTWISE.format(passage=passage(evidence), question=question)
        return generator.choose([{"role": "user", "content": content}], ["Yes", "No"])[0]

    with ThreadPoolExecutor(max_workers=len(shown)) as pool:
        odds = tuple(pool.map(yes, shown))
    return Verdict(shown, odds, 1 - max(odds))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", help="INDEX:QUESTIONS pairs (fit parts only)")
    parser.add_argument("--generator", default="default")
    parser.add_argument("--rows", help="write one JSON line per question here")
    parser.add_argument("--candidates", type=int, default=CANDIDATES, help="candidates shown to the model")
    parser.add_argument("--each", action="store_true", help="ask of each candidate apart (yes or no)")
    args = parser.parse_args()
    out = open(args.rows, "w", encoding="utf-8") if args.rows else None
    for pair in args.sets:
        index, path = pair.split(":", 1)
        rag = RAG.open(index, Config(generator=args.generator))
        answerer = rag.answerer
        rows, times = [], []
        for item in load_questions(path):
            evidence, answerable = answerer.find_evidence(item["question"], item["question"], rag.options(), {})
            candidates = distinct(e for e in evidence if not e.left_out)
            start = time.perf_counter()
            verdict = (judge_each if args.each else judge)(rag.generator, item["question"], candidates, args.candidates)
            times.append(time.perf_counter() - start)
            labels = [holds_answer(item, e.unit) for e in verdict.shown]
            row = {"id": item["id"], "unanswerable": bool(item.get("unanswerable")), "labels": labels,
                   "odds": verdict.odds, "none": verdict.none, "confidence": answerable.confidence,
                   "set": path}
            rows.append(row)
            if out:
                out.write(json.dumps(row) + "\n")
                out.flush()
        report(path, args.generator, rows, times)


def report(path: str, generator: str, rows: list[dict], times: list[float]):
    answerable = [r for r in rows if not r["unanswerable"]]
    unanswerable = [r for r in rows if r["unanswerable"]]
    shown = sum(any(r["labels"]) for r in answerable)
    best = sum(bool(r["labels"]) and r["labels"][0] for r in answerable)
    picked = sum(bool(r["labels"]) and r["labels"][max(range(len(r["odds"])), key=lambda i: r["odds"][i])]
                 for r in answerable)
    print(f"{path} ({generator}, median {statistics.median(times):.2f} s a verdict): of {len(answerable)} answerable, "
          f"answer shown {shown}, pipeline's best {best}, model's pick {picked}")
    for limit in (0.3, 0.5, 0.7, 0.9):
        print(f"  none > {limit}: abstains on {sum(r['none'] > limit for r in unanswerable)}/{len(unanswerable)} "
              f"unanswerable, {sum(r['none'] > limit for r in answerable)}/{len(answerable)} answerable")
    print(f"  pipeline confidence < 0.7: {sum(r['confidence'] < 0.7 for r in unanswerable)}/{len(unanswerable)} "
          f"unanswerable, {sum(r['confidence'] < 0.7 for r in answerable)}/{len(answerable)} answerable")


if __name__ == "__main__":
    main()
