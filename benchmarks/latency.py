"""Times the answer pipeline on this machine: a cold `rag ask`, warm answers, and batch mode.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/latency.py [--index index] [--questions eval/dev_qa.jsonl]

Cold: wall time of `rag ask` in a fresh process (imports, model loads, one answer), 3 runs.
Warm: per-question latency after a warm-up question, with the median of each stage.
Batch: questions per minute for RAG.ask_many against RAG.ask in a loop, same process.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rag import RAG, Config
from rag.evaluation import load_questions


def cold(index: str, question: str, runs: int = 3) -> list[float]:
    rag_command = str(Path(sys.executable).with_name("rag"))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([rag_command, "ask", "--index", index, question], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="index")
    parser.add_argument("--questions", default="eval/dev_qa.jsonl")
    args = parser.parse_args()
    questions = [item["question"] for item in load_questions(args.questions)]

    times = cold(args.index, questions[0])
    print(f"cold `rag ask`: {', '.join(f'{t:.1f}' for t in times)} s (median {statistics.median(times):.1f} s)")

    rag = RAG.open(args.index, Config(answer_memo=0))  # each answer written, none recalled
    rag.warm_up()
    rag.ask(questions[0])
    answers = [rag.ask(q) for q in questions]
    totals = [a.timings["total"] for a in answers]
    print(f"warm, {len(answers)} questions: median {statistics.median(totals):.0f} ms, p95 {percentile(totals, 0.95):.0f} ms, "
          f"max {max(totals):.0f} ms")
    for stage in ("retrieve", "evidence", "generate", "verify"):
        values = [a.timings.get(stage, 0.0) for a in answers]
        print(f"  {stage:9} median {statistics.median(values):6.1f} ms")
    methods = {m: sum(a.method == m for a in answers) for m in ("generated", "extractive", "abstained")}
    print(f"  methods: {methods}")

    start = time.perf_counter()
    rag.ask_many(questions)
    batch = time.perf_counter() - start
    start = time.perf_counter()
    for q in questions:
        rag.ask(q)
    loop = time.perf_counter() - start
    print(f"batch: ask_many {60 * len(questions) / batch:.1f} questions/minute; "
          f"ask in a loop {60 * len(questions) / loop:.1f} questions/minute")


if __name__ == "__main__":
    main()
