"""Many users at once: one RAG shared by N threads that keep asking.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/concurrency.py [--index index] [--threads 20] [--seconds 60]

Each thread asks the dev and blind questions in turn (each thread from its own starting point)
until the time is up, with `RAG.ask`: the generator writes the drafts of questions asked at the
same time side by side in its slots. Reported: answers a minute (finished within the time; and
all answers over the time plus the drain, which counts the answers cut off at the end), latency
p50/p95. For scale, the rate of `ask_many` over the questions (one caller) in the same process.
"""

import argparse
import statistics
import threading
import time

from rag import RAG
from rag.evaluation import load_questions


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def hammer(answer, questions: list[str], threads: int, seconds: float) -> tuple[int, list[float], dict[str, str], float]:
    """Runs `threads` askers that start questions for `seconds`: the answers finished in that time,
    the latency of every answer, the text of each question's answer, and how long the askers still
    busy at the end took to finish."""
    in_time = [0]
    latencies: list[float] = []
    texts: dict[str, str] = {}
    start = time.perf_counter()
    deadline = start + seconds

    def asker(offset: int):
        i = offset
        while time.perf_counter() < deadline:
            question = questions[i % len(questions)]
            asked = time.perf_counter()
            text = answer(question).text
            done = time.perf_counter()
            latencies.append(done - asked)
            in_time[0] += done <= deadline
            texts[question] = text
            i += 1

    workers = [threading.Thread(target=asker, args=(n * len(questions) // threads,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return in_time[0], latencies, texts, time.perf_counter() - deadline


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", default="index")
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--questions", nargs="+", default=["eval/dev_qa.jsonl", "eval/blind_qa.jsonl"])
    args = parser.parse_args()
    questions = [item["question"] for path in args.questions for item in load_questions(path)]

    rag = RAG.open(args.index)
    rag.warm_up()
    rag.ask(questions[0])
    variants = {"RAG.ask": rag.ask}
    results = {name: hammer(answer, questions, args.threads, args.seconds) for name, answer in variants.items()}

    print(f"{args.threads} threads, {args.seconds:.0f} s per variant, {len(questions)} questions "
          f"({', '.join(args.questions)})")
    print("| variant | answers a minute | with drain | p50 s | p95 s | drain s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (in_time, latencies, _, drain) in results.items():
        print(f"| {name} | {in_time * 60 / args.seconds:.0f} | {len(latencies) * 60 / (args.seconds + drain):.0f} | "
              f"{statistics.median(latencies):.1f} | "
              f"{percentile(latencies, 0.95):.1f} | {drain:.1f} |")
    start = time.perf_counter()
    rag.ask_many(questions)
    print(f"| ask_many (one caller, for scale) | {len(questions) * 60 / (time.perf_counter() - start):.0f} | | | | |")


if __name__ == "__main__":
    main()
