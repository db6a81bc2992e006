"""The generator engine per model: load, tokens a second, warm answers, first text, memory, 20 askers.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/engines.py [--index index] [--models default,qwen2.5-coder-0.5b]
        [--threads 20] [--seconds 30]

Each model runs in its own process (so its peak memory is its own), on the default index:
- load: seconds to start the generator (llama.cpp reads the GGUF file);
- prompt and generated tokens a second: llama-server's own timings for one 300-token prompt and a
  64-token reply, prompt not cached;
- warm answers: p50/p95 of `RAG.ask` over the questions (dev set), and the median time to the
  first streamed text (`RAG.stream`);
- askers: N threads sharing the RAG, each asking in turn for the given seconds: answers a minute
  and p95 latency;
- peak memory of the process (all of the above), and a cold `rag ask` (the second of two fresh
  processes, so the files are in the page cache), with its own peak memory.
Models named by short name must be pulled first (`rag models pull NAME`).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How much did Microsoft invest in OpenAI in 2019?"
LONG_PROMPT = ("Context:\n" + "\n".join(
    f"[{i}] Microsoft invested $1 billion in OpenAI in 2019 and built Azure supercomputers for its models, "
    "and the partnership has shaped how developers reach large language models." for i in range(1, 9))
    + "\n\nQuestion: What did Microsoft build for OpenAI?\nAnswer with a short sentence from the context.")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def measure(model: str, index: str, questions: list[str], threads: int, seconds: float) -> dict:
    """One model's figures, in this process."""
    from rag import RAG, Config

    rag = RAG.open(index, Config(generator=model, answer_memo=0))  # each answer written, none recalled
    rag.embedder.embed(["warm up"])
    start = time.perf_counter()
    rag.generator.warm_up()
    row = {"model": model, "load_s": time.perf_counter() - start}
    engine = rag.generator.engine()
    reply = engine.server.handle_chat_completions({
        "messages": [{"role": "user", "content": LONG_PROMPT}], "max_tokens": 64, "temperature": 0,
        "cache_prompt": False, "ignore_eos": True})
    timings = reply["timings"]
    row.update(prompt_tokens=timings["prompt_n"], prompt_tps=timings["prompt_per_second"],
               generated_tps=timings["predicted_per_second"], threads=engine.threads)
    rag.ask(questions[0])
    times, firsts = [], []
    for question in questions:
        times.append(rag.ask(question).timings["total"] / 1000)
        start = time.perf_counter()
        stream = rag.stream(question)
        next(iter(stream))
        firsts.append(time.perf_counter() - start)
        stream.result()
    row.update(p50_s=statistics.median(times), p95_s=percentile(times, 0.95), first_text_s=statistics.median(firsts))
    row.update(askers(rag, questions, threads, seconds))
    return row


def askers(rag, questions: list[str], threads: int, seconds: float) -> dict:
    latencies: list[float] = []
    in_time = [0]
    deadline = time.perf_counter() + seconds

    def asker(offset: int):
        i = offset
        while time.perf_counter() < deadline:
            asked = time.perf_counter()
            rag.ask(questions[i % len(questions)])
            done = time.perf_counter()
            latencies.append(done - asked)
            in_time[0] += done <= deadline
            i += 1

    workers = [threading.Thread(target=asker, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return {"askers": threads, "answers_a_minute": in_time[0] * 60 / seconds, "askers_p95_s": percentile(latencies, 0.95)}


def child(args, model: str) -> dict:
    """Runs measure() in a fresh process; adds its peak memory."""
    process = subprocess.Popen([sys.executable, __file__, "--child", model, "--index", args.index,
                                "--questions", args.questions, "--threads", str(args.threads),
                                "--seconds", str(args.seconds)], stdout=subprocess.PIPE, cwd=ROOT)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"{model}: the measuring process failed")
    row = json.loads(out.decode().strip().splitlines()[-1])
    row["peak_mb"] = usage.ru_maxrss / 1024
    row["cold_ask_s"], row["cold_ask_peak_mb"] = cold_ask(args.index, model)
    return row


def cold_ask(index: str, model: str) -> tuple[float, float]:
    config = Path(f"/tmp/rag-engines-{os.getpid()}.toml")
    config.write_text(f"generator = {json.dumps(model)}\n", encoding="utf-8")
    rag = str(Path(sys.executable).parent / "rag")
    for _ in range(2):  # the first run reads the files into the page cache
        start = time.perf_counter()
        process = subprocess.Popen([rag, "--config", str(config), "ask", "--index", index, QUESTION],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    config.unlink()
    return elapsed, usage.ru_maxrss / 1024


def table(rows: list[dict]) -> str:
    lines = ["| model | threads | load | prompt tok/s | generated tok/s | warm p50 / p95 | first text | "
             "askers: a minute, p95 | peak memory | cold `rag ask` (peak) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['threads']} | {r['load_s']:.2f} s | {r['prompt_tps']:.0f} | {r['generated_tps']:.0f} | "
            f"{r['p50_s']:.2f} / {r['p95_s']:.2f} s | {r['first_text_s']:.2f} s | "
            f"{r['askers']}: {r['answers_a_minute']:.0f}, {r['askers_p95_s']:.1f} s | {r['peak_mb']:.0f} MB | "
            f"{r['cold_ask_s']:.1f} s ({r['cold_ask_peak_mb']:.0f} MB) |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default="index")
    parser.add_argument("--models", default="default,qwen2.5-coder-0.5b,qwen2.5-coder-1.5b")
    parser.add_argument("--questions", default="eval/dev_qa.jsonl")
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--out", help="append the table, dated, to this file (make bench: benchmarks/RESULTS.md)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from rag.evaluation import load_questions

    questions = [item["question"] for item in load_questions(ROOT / args.questions)]
    if args.child:
        print(json.dumps(measure(args.child, args.index, questions, args.threads, args.seconds)))
        return
    from rag.config import Config
    from rag.errors import ModelNotFoundError
    from rag.models.files import resolve_gguf

    rows = []
    for model in args.models.split(","):
        try:
            resolve_gguf(model, Config().cache_path)
        except ModelNotFoundError as exc:
            print(f"{model}: skipped ({exc})", file=sys.stderr)
            continue
        rows.append(child(args, model))
        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    print(table(rows))
    if args.out:
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(f"\n## Generator engines, {time.strftime('%Y-%m-%d %H:%M')} (benchmarks/engines.py, "
                    f"{args.threads} askers for {args.seconds:.0f} s)\n\n{table(rows)}\n")


if __name__ == "__main__":
    main()
