"""The default answers' speed through one checkout of rag or another, with the same measures.

    .venv/bin/python benchmarks/before_after.py [CHECKOUT ...]

For each checkout (default: this one), in fresh processes that import rag from it: a cold
`rag ask` (the second of two runs) with its peak memory, then warm `RAG.ask` p50/p95 over the dev
questions and the median time to the first streamed text (nothing remembered: each question
is written, not recalled from the answer memo). Used to compare the engine before and
after a change on the same machine in one run (git worktree add /tmp/before COMMIT).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How much did Microsoft invest in OpenAI in 2019?"
WARM = """
import json, statistics, sys, time
from rag import RAG, Config
from rag.evaluation import load_questions
questions = [i["question"] for i in load_questions(sys.argv[1])]
# Each question is asked, then streamed: with an answer memo the stream would be the remembered answer.
fresh = {"answer_memo": 0} if "answer_memo" in Config.__dataclass_fields__ else {}
rag = RAG.open(sys.argv[2], Config(**fresh)); rag.warm_up(); rag.ask(questions[0])
times, firsts = [], []
for q in questions:
    times.append(rag.ask(q).timings["total"] / 1000)
    start = time.perf_counter(); stream = rag.stream(q); next(iter(stream)); firsts.append(time.perf_counter() - start)
    stream.result()
times.sort()
print(json.dumps({"p50_s": statistics.median(times), "p95_s": times[round(0.95 * (len(times) - 1))],
                  "first_text_s": statistics.median(firsts)}))
"""


def run(checkout: Path, args: list[str]) -> tuple[float, float, bytes]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=checkout)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"{checkout}: {' '.join(args[:2])} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, out


def main():
    checkouts = [Path(p).resolve() for p in sys.argv[1:]] or [ROOT]
    print("| checkout | cold `rag ask` | its peak memory | warm p50 / p95 | first text (in process) |")
    print("| --- | --- | --- | --- | --- |")
    for checkout in checkouts:
        ask = ["-c", "from rag.cli import main; main()", "ask", "--index", str(ROOT / "index"), QUESTION]
        run(checkout, ask)  # the files into the page cache (and any one-time conversion)
        cold, peak, _ = run(checkout, ask)
        _, _, out = run(checkout, ["-c", WARM, str(ROOT / "eval" / "dev_qa.jsonl"), str(ROOT / "index")])
        warm = json.loads(out.decode().strip().splitlines()[-1])
        print(f"| {checkout.name} | {cold:.2f} s | {peak:.0f} MB | {warm['p50_s'] * 1000:.0f} / {warm['p95_s'] * 1000:.0f} ms "
              f"| {warm['first_text_s'] * 1000:.0f} ms |", flush=True)


if __name__ == "__main__":
    main()
