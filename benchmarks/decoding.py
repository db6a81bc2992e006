"""Warm answers with and without prompt lookup and prompt-start reuse (rag/generation.py).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/decoding.py [--index index] [SETS...]

Every question is answered three times in a row, one way after the other, so the three ways
share the machine's load: one token per model call with nothing reused (before), prompt lookup
alone, and prompt lookup with the previous prompt's common start reused (now). Prints the median
and p95 of the answer time and of the generation stage per way, the model calls per generated
reply, and whether the answers are the same.
"""

import argparse
import statistics

from rag import RAG
from rag import generation
from rag.evaluation import load_questions, percentile

WAYS = ("one token a call", "prompt lookup", "lookup + reused start")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="*", default=["eval/dev_qa.jsonl", "eval/blind_qa.jsonl", "eval/blind2_qa.jsonl"])
    parser.add_argument("--index", default="index")
    args = parser.parse_args()
    questions = [item["question"] for path in args.sets for item in load_questions(path)]
    rag = RAG.open(args.index)
    rag.warm_up()
    generator = rag.answerer.generator
    rag.ask(questions[0])
    lookup_tokens = generation.LOOKUP_TOKENS
    calls = {way: 0 for way in WAYS}
    counting = {"way": None}
    picker = generator.position_picker

    def counted_picker(allowed):
        pick = picker(allowed)

        def call(*args):
            calls[counting["way"]] += 1
            return pick(*args)

        return call

    generator.position_picker = counted_picker
    totals = {way: [] for way in WAYS}
    generate = {way: [] for way in WAYS}
    differ = 0
    for question in questions:
        answers = []
        for way in WAYS:
            counting["way"] = way
            generation.LOOKUP_TOKENS = 0 if way == WAYS[0] else lookup_tokens
            if way != WAYS[2]:
                generator._last_prompt = ([], None)
            answer = rag.ask(question)
            answers.append((answer.text, answer.method))
            totals[way].append(answer.timings["total"])
            if "generate" in answer.timings:
                generate[way].append(answer.timings["generate"])
        differ += len(set(answers)) > 1
    replies = len(generate[WAYS[0]])
    print(f"{len(questions)} questions, {replies} with a generated draft; answers that differ between the ways: {differ}")
    print("| way | answer p50 / p95 ms | generation p50 / p95 ms | model calls per draft |")
    print("| --- | --- | --- | --- |")
    for way in WAYS:
        t, g = sorted(totals[way]), sorted(generate[way])
        print(f"| {way} | {statistics.median(t):.0f} / {percentile(t, 0.95):.0f} | "
              f"{statistics.median(g):.0f} / {percentile(g, 0.95):.0f} | {calls[way] / max(replies, 1):.1f} |")


if __name__ == "__main__":
    main()
