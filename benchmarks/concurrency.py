"""Many users at once: one RAG shared by N threads that keep asking, each answer compared with
the answer the same question gets alone.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/concurrency.py [--index index] [--threads 20] [--seconds 60]
        [--questions eval/dev_qa.jsonl eval/blind_qa.jsonl] [--batch eval/dev_qa.jsonl eval/blind_qa.jsonl eval/blind2_qa.jsonl]
        [--slots N] [--generator GGUF] [--answer-memo N] [--ranker MODEL.txt] [--profile fast] [--label NAME]
        [--json out.json]

1. Solo: every question asked alone (`RAG.ask`), its answer and its model draft kept. The solo
   answers come from a second RAG on the same models that remembers nothing, so the askers'
   RAG starts with an empty answer memo.
2. Askers: N threads share the RAG (its answer memo as --answer-memo says; 0 writes every answer
   under the load of the others), each asking the questions in turn (each from its own starting
   point, without pause) until the time is up. Reported: answers a minute (finished within the
   time), p50/p95 latency, errors, answers and drafts that differ from the solo ones, and where an
   answer's time went (mean ms per stage: retrieve, evidence, generate, verify; `wait` is
   generate's time before the first text).
3. Batch (--batch): `ask_many` over the given sets (one caller, a fresh RAG on the same
   models), questions a minute, and answers that differ from solo ones asked in step 1 (when the
   sets are the same).
Run it on an idle machine: it measures CPU throughput.
"""

import argparse
import json
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import RAG, Config  # noqa: E402
from rag.evaluation import load_questions  # noqa: E402

STAGES = ("retrieve", "evidence", "generate", "verify", "total")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else 0.0


class Drafts:
    """Wraps the generator's stream to record each draft as written, by the question in its prompt."""

    def __init__(self, generator):
        self.generator = generator
        self.by_prompt: dict[str, list[str]] = defaultdict(list)
        self.first_text: list[float] = []
        self._stream = generator.stream
        generator.stream = self.stream

    def stream(self, messages, max_new_tokens, vocabulary=None):
        text, start = "", time.perf_counter()
        try:
            for piece in self._stream(messages, max_new_tokens, vocabulary):
                if not text:
                    self.first_text.append(time.perf_counter() - start)
                text += piece
                yield piece
        finally:
            self.by_prompt[messages[-1]["content"]].append(text)

    def take(self) -> dict[str, list[str]]:
        taken, self.by_prompt, self.first_text = self.by_prompt, defaultdict(list), []
        return taken


def solo(rag: RAG, questions: list[str], drafts: Drafts) -> tuple[dict[str, str], dict[str, str]]:
    answers = {q: rag.ask(q).text for q in questions}
    return answers, {prompt: texts[0] for prompt, texts in drafts.take().items()}


def hammer(rag: RAG, questions: list[str], threads: int, seconds: float) -> dict:
    """N askers for `seconds`: answers in time, latencies, texts per question, errors, stage times."""
    in_time, errors = [0], Counter()
    latencies: list[float] = []
    texts: dict[str, list[str]] = defaultdict(list)
    stages: dict[str, list[float]] = defaultdict(list)
    deadline = time.perf_counter() + seconds

    def asker(offset: int):
        i = offset
        while time.perf_counter() < deadline:
            question = questions[i % len(questions)]
            i += 1
            asked = time.perf_counter()
            try:
                answer = rag.ask(question)
            except Exception as exc:  # counted, not raised: a benchmark reports errors
                errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
                continue
            done = time.perf_counter()
            latencies.append(done - asked)
            in_time[0] += done <= deadline
            texts[question].append(answer.text)
            for stage in STAGES:
                if stage in answer.timings:
                    stages[stage].append(answer.timings[stage])

    workers = [threading.Thread(target=asker, args=(n * len(questions) // threads,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"in_time": in_time[0], "latencies": latencies, "texts": texts, "errors": errors,
            "stages": {k: statistics.mean(v) for k, v in stages.items()}, "drain": time.perf_counter() - deadline}


def differing(texts: dict[str, list[str]], alone: dict[str, str]) -> tuple[int, int, list[str]]:
    """(answers that differ from the solo answer, answers compared, the questions concerned)."""
    differ = [q for q, got in texts.items() for t in got if t != alone.get(q, t)]
    return len(differ), sum(map(len, texts.values())), sorted(set(differ))


def draft_diffs(drafts: dict[str, list[str]], alone: dict[str, str]) -> tuple[int, int]:
    """(drafts written under load that differ from the solo draft of their prompt, drafts compared)."""
    compared = [(d, alone[p]) for p, ds in drafts.items() if p in alone for d in ds]
    return sum(d != a for d, a in compared), len(compared)


def sibling(rag: RAG, **settings) -> RAG:
    """Another RAG on the same loaded index and models (its own, empty answer memo)."""
    return RAG(rag.store, rag.index_dir, rag.config.replace(**settings), rag.embedder, rag.generator)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default="index")
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--questions", nargs="+", default=["eval/dev_qa.jsonl", "eval/blind_qa.jsonl"])
    parser.add_argument("--batch", nargs="*", help="question sets for ask_many (none: skip)")
    parser.add_argument("--slots", type=int, help="the generator's slots (default: its own)")
    parser.add_argument("--generator", help="Config.generator (default: Config's)")
    parser.add_argument("--answer-memo", type=int, help="Config.answer_memo of the askers' RAG (0: none; default: Config's)")
    parser.add_argument("--ranker", help="Config.ranker (evidence, or a ranker model file; default: Config's)")
    parser.add_argument("--profile", default="default", help="Config profile (fast: quotes, no drafts)")
    parser.add_argument("--label", default="")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    questions = [item["question"] for path in args.questions for item in load_questions(path)]

    started = time.perf_counter()
    settings = {k: v for k, v in (("ranker", args.ranker), ("generator", args.generator)) if v}
    if args.answer_memo is not None:
        settings["answer_memo"] = args.answer_memo
    rag = RAG.open(args.index, Config.for_profile(args.profile, **settings))
    if args.slots:
        rag.generator.slots = args.slots
    rag.warm_up()
    single = sibling(rag, answer_memo=0)
    single.ask(questions[0])
    drafts = Drafts(rag.generator)
    alone, alone_drafts = solo(single, questions, drafts)
    solo_s = time.perf_counter() - started
    run = hammer(rag, questions, args.threads, args.seconds)
    loaded_drafts = drafts.take()
    differ, compared, which = differing(run["texts"], alone)
    draft_differ, drafts_compared = draft_diffs(loaded_drafts, alone_drafts)
    lat = run["latencies"]
    engine = rag.generator.engine()
    row = {"label": args.label, "ranker": rag.config.ranker, "generator": rag.generator.name,
           "answer_memo": rag.config.answer_memo, "threads": args.threads, "slots": rag.generator.slots,
           "llama_threads": engine.threads, "seconds": args.seconds, "questions": len(questions),
           "answers_a_minute": run["in_time"] * 60 / args.seconds, "p50_s": statistics.median(lat) if lat else 0,
           "p95_s": percentile(lat, 0.95), "errors": sum(run["errors"].values()), "error_kinds": dict(run["errors"]),
           "differ": differ, "compared": compared, "differing_questions": which,
           "drafts_differ": draft_differ, "drafts_compared": drafts_compared,
           "stage_ms": {k: round(v) for k, v in run["stages"].items()}, "drain_s": run["drain"], "solo_s": solo_s}
    if args.batch is not None:
        batch = [item["question"] for path in (args.batch or args.questions) for item in load_questions(path)]
        fresh = sibling(rag)  # nothing remembered from the askers
        start = time.perf_counter()
        answers = fresh.ask_many(batch)
        seconds = time.perf_counter() - start
        drafts.take()
        got = defaultdict(list)
        for q, a in zip(batch, answers, strict=True):
            got[q].append(a.text)
        b_differ, b_compared, b_which = differing({q: t for q, t in got.items() if q in alone}, alone)
        row.update(batch_questions=len(batch), batch_a_minute=len(batch) * 60 / seconds,
                   batch_differ=b_differ, batch_compared=b_compared, batch_differing=b_which)
    print(json.dumps(row, ensure_ascii=False, indent=1))
    print(f"| {args.label} | {args.threads} | {row['slots']} x {row['llama_threads']} | {row['answers_a_minute']:.0f} | {row['p50_s']:.1f} | {row['p95_s']:.1f} | "
          f"{row['errors']} | {differ}/{compared} | {draft_differ}/{drafts_compared} | "
          + ", ".join(f"{k} {v}" for k, v in row["stage_ms"].items())
          + (f" | {row['batch_a_minute']:.0f} ({row['batch_differ']}/{row['batch_compared']} differ)" if "batch_a_minute" in row else "")
          + " |")
    if args.json:
        Path(args.json).write_text(json.dumps(row, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
