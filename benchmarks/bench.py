"""`make bench`: the speed figures of issue 8, appended as one dated table to benchmarks/RESULTS.md.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench.py [--quick] [--label TEXT] [--note TEXT]

Measures, on the default index (build it first: `make index`):
- cold `rag ask`: wall time of a fresh process (imports, models, one answer), median of 3,
  and its peak memory; `rag --help` and `import rag`, median of 5;
- warm answers over the dev questions: p50/p95 of the total and the median of each stage (the
  answers carry their timings), and the first streamed text (in-process, `RAG.stream`);
- batch: questions a minute with `ask_many` against `ask` one by one, same process;
- indexing: texts a second through `RAG.build` against the bare `SentenceTransformer.encode`
  of the same texts in the same process (the ratio is what counts on a noisy machine), then an
  incremental update after one changed file;
- scale: synthetic chunks (random words, random unit vectors), 1k/10k/100k: retrieval median
  (dense + BM25 + fusion) and memory, each size in its own process.
`--quick` takes fewer runs and questions and skips the 100k row (about 2 minutes instead of 6-10).
"""

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scale import make_corpus  # noqa: E402 (after the path it needs)

RESULTS = ROOT / "benchmarks" / "RESULTS.md"
QUESTION = "How much did Microsoft invest in OpenAI in 2019?"


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def wall(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


def child_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def startup(index: str, runs: int) -> list[tuple[str, str, str]]:
    rag = str(Path(sys.executable).with_name("rag"))
    cold = wall([rag, "ask", "--index", index, QUESTION], runs)
    peak = child_peak_mb()
    helps = wall([rag, "--help"], 5)
    imports = wall([sys.executable, "-c", "import rag"], 5)
    return [
        ("cold `rag ask` (fresh process)", f"{statistics.median(cold):.2f} s",
         f"median of {runs}: {', '.join(f'{t:.2f}' for t in cold)} s; peak {peak:.0f} MB"),
        ("`rag --help`", f"{statistics.median(helps):.2f} s", "median of 5"),
        ("`import rag`", f"{statistics.median(imports):.2f} s", "median of 5"),
    ]


def warm(index: str, questions: list[str]) -> tuple[list[tuple[str, str, str]], object]:
    from rag import RAG, Config

    rag = RAG.open(index, Config(answer_memo=0))  # each answer written, none recalled
    rag.warm_up()
    rag.ask(questions[0])
    firsts, answers = [], []
    for q in questions:
        start = time.perf_counter()
        stream = rag.stream(q)
        pieces = iter(stream)
        next(pieces)
        firsts.append((time.perf_counter() - start) * 1000)
        answers.append(stream.result())
    totals = [a.timings["total"] for a in answers]
    stages = ", ".join(f"{s} {statistics.median(a.timings.get(s, 0.0) for a in answers):.0f}"
                       for s in ("retrieve", "evidence", "generate", "verify"))
    methods = ", ".join(f"{m} {sum(a.method == m for a in answers)}" for m in ("generated", "extractive", "abstained"))
    methods += f"; generator threads {getattr(rag.generator._model, 'threads', '?')}"
    start = time.perf_counter()
    rag.ask_many(questions)
    batch = time.perf_counter() - start
    rows = [
        ("warm answer p50 / p95", f"{statistics.median(totals):.0f} / {percentile(totals, 0.95):.0f} ms",
         f"{len(questions)} dev questions; stage medians (ms): {stages}; {methods}"),
        ("first streamed text (in-process)", f"{statistics.median(firsts):.0f} ms",
         f"median, max {max(firsts):.0f} ms; `RAG.stream` to its first piece, no browser"),
        ("batch `ask_many`", f"{60 * len(questions) / batch:.0f} questions/min",
         f"`ask` one by one: {60_000 * len(questions) / sum(totals):.0f} questions/min"),
    ]
    return rows, rag


def indexing(copies: int) -> list[tuple[str, str, str]]:
    from rag import RAG, Config
    from rag.chunking import unit_text
    from rag.models.embedding import SentenceTransformerEmbedder
    from rag.models.factory import indexing_embedder

    config = Config(extractive_only=True)
    embedder = SentenceTransformerEmbedder(config.embedder)
    embedder.warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        make_corpus(corpus, copies)
        start = time.perf_counter()
        rag = RAG.build(corpus, index, config, embedder=embedder)
        built = time.perf_counter() - start
        n = rag.report.embedded
        # What the build embedded: chunks, and the units of a small index (rag/stores/store.py STORED_UNITS).
        texts = {c.embed_text for c in rag.store.chunks}
        if rag.store.unit_vectors is not None:
            texts |= {unit_text(u) for u in rag.store.units if u.is_evidence}
        texts = sorted(texts)
        start = time.perf_counter()
        embedder._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        bare = time.perf_counter() - start
        # The same build through the int8 embedder that builds of INT8_FROM texts or more use
        # (rag/models/quantized.py); its one-time export is made before the clock starts.
        import rag.models.quantized as quantized

        threshold, quantized.INT8_FROM = quantized.INT8_FROM, 0
        try:
            int8 = indexing_embedder(config, embedder)
            if hasattr(int8, "load"):
                int8.load()
            start = time.perf_counter()
            int8_rag = RAG.build(corpus, Path(tmp) / "index-int8", config, embedder=embedder)
            int8_built = time.perf_counter() - start
        finally:
            quantized.INT8_FROM = threshold
        changed = sorted(corpus.iterdir())[0]
        changed.write_text(changed.read_text(encoding="utf-8") + "\n\nOne more line was added to this file.\n",
                           encoding="utf-8")
        start = time.perf_counter()
        report = rag.update()
        update = time.perf_counter() - start
    return [
        ("index throughput", f"{n / built:.1f} texts/s",
         f"`RAG.build` of {len(rag.store.chunks)} chunks ({copies} copies of corpus/, reading and saving included) in {built:.1f} s"),
        ("bare `SentenceTransformer.encode`", f"{len(texts) / bare:.1f} texts/s",
         f"same texts, same process; index / bare = {(n / built) / (len(texts) / bare):.2f}"),
        ("index throughput, int8", f"{int8_rag.report.embedded / int8_built:.1f} texts/s",
         f"the same build with the int8 embedder (builds of {threshold:,} texts or more); int8 / bare = "
         f"{(int8_rag.report.embedded / int8_built) / (len(texts) / bare):.2f}"),
        ("incremental update, one changed file", f"{update:.2f} s", f"{report.summary()}; {report.embedded} texts embedded"),
    ]


def scale_row(size: int) -> dict:
    """Runs in its own process: a store of `size` synthetic chunks, searched as questions are."""
    import bm25s  # noqa: F401  (imported before the memory baseline: libraries are not the index)
    import faiss  # noqa: F401
    import numpy as np

    from rag.chunking import Chunk
    from rag.lexical import terms
    from rag.stores.folder import FolderVectors, Retriever
    from rag.stores.store import Store

    rng = random.Random(size)
    vocabulary = sorted({w for p in (ROOT / "corpus").glob("*.txt") for w in p.read_text(encoding="utf-8").split()})
    texts = [" ".join(rng.choices(vocabulary, k=90)) for _ in range(size)]
    chunks = [Chunk(f"c{i}", f"doc{i // 20}.txt", 0, len(t), t, "", 0, 0) for i, t in enumerate(texts)]
    vectors = np.random.default_rng(size).standard_normal((size, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    before = rss_mb()
    start = time.perf_counter()
    store = Store({}, 384, {}, [], chunks, vectors, backend=FolderVectors())
    retriever = Retriever(store)
    store.backend.vector_index(store)
    built = time.perf_counter() - start
    queries = [" ".join(rng.choices(vocabulary, k=8)) for _ in range(30)]
    query_vectors = np.random.default_rng(0).standard_normal((30, 384)).astype(np.float32)
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
    times = []
    for q, v in zip(queries, query_vectors):
        start = time.perf_counter()
        retriever.search(v, terms(q), 6)
        times.append((time.perf_counter() - start) * 1000)
    row = {"size": size, "built_s": built, "median_ms": statistics.median(times), "p95_ms": percentile(times, 0.95),
           "rss_mb": rss_mb(), "index_mb": rss_mb() - before, "peak_mb": rss_mb("VmHWM"),
           "index_type": type(store.backend.vector_index(store)).__name__}
    if size >= 100_000:
        row.update(hnsw_recall(vectors, query_vectors, store))
    return row


HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128


def hnsw_recall(vectors, query_vectors, exact_store) -> dict:
    """An HNSW graph (FAISS IndexHNSWFlat, 32 neighbours, efSearch 128) on the same vectors, as
    a candidate for stores too large for exact search: build time, search time, and recall of
    the exact top 24 (the depth fusion reads for top_k 6). rag searches exactly today."""
    import faiss

    start = time.perf_counter()
    graph = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efSearch = HNSW_EF_SEARCH
    graph.add(vectors)
    built = time.perf_counter() - start
    times, found = [], 0
    for v in query_vectors:
        start = time.perf_counter()
        _, ids = graph.search(v.reshape(1, -1), 24)
        times.append((time.perf_counter() - start) * 1000)
        found += len(set(ids[0]) & set(exact_store.backend.search(exact_store, v, 24)[1]))
    return {"hnsw_built_s": built, "hnsw_ms": statistics.median(times), "hnsw_recall": found / (24 * len(query_vectors))}


def rss_mb(field: str = "VmRSS") -> float:
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork and exec.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024


def scale(sizes: list[int]) -> list[tuple[str, str, str]]:
    rows = []
    for size in sizes:
        out = subprocess.run([sys.executable, __file__, "--scale-row", str(size)], check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout
        r = json.loads(out.strip().splitlines()[-1])
        rows.append((f"scale: {size:,} chunks, retrieval", f"{r['median_ms']:.1f} ms",
                     f"median of 30 (p95 {r['p95_ms']:.1f}); FAISS ({r['index_type']}) + BM25 built in {r['built_s']:.1f} s; "
                     f"process {r['rss_mb']:.0f} MB (peak {r['peak_mb']:.0f}), of which the index {r['index_mb']:.0f} MB"))
        if "hnsw_recall" in r:
            rows.append((f"scale: {size:,} chunks, HNSW instead of exact", f"{r['hnsw_ms']:.1f} ms",
                         f"dense search alone, median of 30; recall of the exact top 24: {r['hnsw_recall']:.3f} "
                         f"(random unit vectors, the hard case); graph built in {r['hnsw_built_s']:.0f} s"))
    return rows


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def commit() -> str:
    def git(*args):
        # --no-optional-locks: reading the status must not rewrite git's index file.
        return subprocess.run(["git", "--no-optional-locks", *args], capture_output=True, text=True, cwd=ROOT).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" + uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def header(label: str, note: str, load: tuple) -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        f"## {time.strftime('%Y-%m-%d %H:%M %Z')}: {label}", "",
        f"Machine: {platform.node()}, {os.cpu_count()} cores, {memory:.0f} GiB; CPU: {cpu_model()}; "
        f"commit {commit()}; Python {platform.python_version()}.",
        f"Load average at the start {load[0]:.2f}, at the end {os.getloadavg()[0]:.2f}." + (f" {note}" if note else ""),
        "",
    ]
    return "\n".join(lines)


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| measure | value | detail |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default="index")
    parser.add_argument("--questions", default="eval/dev_qa.jsonl")
    parser.add_argument("--quick", action="store_true", help="fewer runs and questions, no 100k row")
    parser.add_argument("--label", default="make bench", help="title of this run's table")
    parser.add_argument("--note", default="", help="a sentence added under the title (e.g. that the machine was shared)")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--scale-row", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_row:
        print(json.dumps(scale_row(args.scale_row)))
        return
    from rag.evaluation import load_questions

    load = os.getloadavg()
    questions = [item["question"] for item in load_questions(ROOT / args.questions)]
    rows = startup(args.index, 1 if args.quick else 3)
    print(table(rows), flush=True)
    warm_rows, _ = warm(args.index, questions[:6] if args.quick else questions)
    rows += warm_rows
    print(table(warm_rows), flush=True)
    rows += indexing(2 if args.quick else 10)
    rows += scale([1_000, 10_000] if args.quick else [1_000, 10_000, 100_000])
    text = header(args.label + (" (quick)" if args.quick else ""), args.note, load) + "\n" + table(rows)
    print(text)
    out = Path(args.out)
    if not out.exists():
        out.write_text("# Benchmark results\n\nAppended by `make bench` (benchmarks/bench.py); newest last. "
                       "Times on a shared 2-core machine are noisy: compare ratios measured in one run.\n",
                       encoding="utf-8")
    with out.open("a", encoding="utf-8") as f:
        f.write("\n" + text)


if __name__ == "__main__":
    main()
