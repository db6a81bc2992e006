"""Drafts a minute through llama.cpp alone: the pipeline's own prompts written side by side.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/drafts.py GGUF:SLOTS [GGUF:SLOTS ...] [--index index]
        [--rounds 3] [--questions eval/dev_qa.jsonl eval/blind_qa.jsonl]

The questions are planned once (retrieval and evidence, no generation), then each GGUF:SLOTS
(a GGUF file, "default" for the configured one as it is loaded, and a slot count) gets a server
of its own that writes every prompt's draft, SLOTS at a time, with the prompt's own logit bias
and at most max_new_tokens, after a warm-up of SLOTS drafts. The servers take turns, round by
round, so a busy machine slows them alike. Printed per server and round: drafts a minute and
tokens written; once: the prompts' length in tokens (chat template included), and the server's
memory (the process's resident set after it loads, less before).
"""

import argparse
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag import RAG, Config  # noqa: E402
from rag.evaluation import load_questions  # noqa: E402
from rag.models.generation import GREEDY, STOP_TEXT, Engine, model_file  # noqa: E402


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default="index")
    parser.add_argument("--questions", nargs="+", default=["eval/dev_qa.jsonl", "eval/blind_qa.jsonl"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("servers", nargs="+", help="GGUF:SLOTS ('default' names the configured model)")
    args = parser.parse_args()

    rag = RAG.open(args.index, Config(extractive_only=True, answer_memo=0))
    answerer, options = rag.answerer, rag.options()
    questions = [item["question"] for path in args.questions for item in load_questions(path)]
    plans = [p for p in (answerer.plan(q, None, options) for q in questions) if p.chosen]
    config = Config()
    engines = []
    for spec in args.servers:
        name, slots = spec.rsplit(":", 1)
        path = model_file(config)[1] if name == "default" else Path(name)
        before = resident_mb()
        engine = Engine(str(path), 2, int(slots), config.context_tokens)
        engines.append((spec, engine, resident_mb() - before))
    first = engines[0][1]
    lengths = [len(first.tokenize(first.post("/apply-template", {"messages": answerer.prompt(p)})["prompt"], special=True))
               for p in plans]
    print(f"{len(plans)} prompts: {max(lengths)} tokens at most, {statistics.mean(lengths):.0f} on average")
    for spec, engine, memory in engines:
        print(f"{spec}: the server's memory {memory:.0f} MB")

    def requests(engine):
        return [{"messages": answerer.prompt(p), "max_tokens": options.max_new_tokens, **GREEDY, "stop": [STOP_TEXT],
                 "logit_bias": engine.allowed_bias(p.vocabulary)} for p in plans]

    for round_ in range(1, args.rounds + 1):
        for spec, engine, _ in engines:
            todo = requests(engine)
            with ThreadPoolExecutor(engine.slots.size) as pool:
                if round_ == 1:
                    list(pool.map(engine.server.handle_chat_completions, todo[: engine.slots.size]))
                start = time.perf_counter()
                replies = list(pool.map(engine.server.handle_chat_completions, todo))
                seconds = time.perf_counter() - start
            tokens = sum(r["timings"]["predicted_n"] for r in replies)
            print(f"round {round_} {spec}: {len(todo)} drafts in {seconds:.1f} s = {len(todo) * 60 / seconds:.0f} a minute, "
                  f"{tokens} tokens written", flush=True)


if __name__ == "__main__":
    main()
