"""The same corpus indexed on FAISS, Milvus Lite, and Milvus Lite with embedding on a local Ray.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/stores.py [--corpus corpus] [--sets eval/dev_qa.jsonl ...]

For each store: a fresh build (wall time, texts embedded), retrieval p50/p95 over the
questions of the sets (dense + BM25 + fusion, the question already embedded), answer p50/p95
one by one on the first set, the figures of each set (answered with ask_many), and how many
questions get the same top chunks in the same order as on the FAISS folder. The models load once and are shared by the three
indexes, so build times compare the stores and the embedding, not model loading (Ray's actors
do load their own copies: that cost is in the Ray row). Prints a Markdown table.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rag import RAG, Config
from rag.evaluation import EvalReport, judge, load_questions, percentile
from rag.lexical import terms
from rag.models.embedding import SentenceTransformerEmbedder
from rag.models.generation import LlamaCppGenerator

STORES = {
    "faiss": ("FAISS folder", Config()),
    "milvus": ("Milvus Lite", Config(store="milvus")),
    "ray": ("Milvus Lite + local Ray (2 actors)", Config(store="milvus", ray="local", ray_actors=2)),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="corpus")
    parser.add_argument("--sets", nargs="+", default=["eval/dev_qa.jsonl", "eval/blind_qa.jsonl", "eval/blind2_qa.jsonl"])
    parser.add_argument("--stores", nargs="+", choices=list(STORES), default=list(STORES))
    args = parser.parse_args()
    stores = [STORES[name] for name in args.stores]
    sets = {Path(p).stem: load_questions(p) for p in args.sets}
    questions = [item["question"] for items in sets.values() for item in items]
    embedder = SentenceTransformerEmbedder()
    generator = LlamaCppGenerator(Config())
    embedder.warm_up()
    generator.warm_up()
    vectors = embedder.embed(questions)
    rows, baseline = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in stores:
            start = time.perf_counter()
            rag = RAG.build(args.corpus, Path(tmp) / name.replace(" ", "_"), config, embedder=embedder, generator=generator)
            build = time.perf_counter() - start
            retriever = rag.answerer.retriever
            retriever.search(vectors[0], terms(questions[0]), 6)
            search_ms, rankings = [], []
            for vector, question in zip(vectors, questions):
                started = time.perf_counter()
                hits = retriever.search(vector, terms(question), rag.config.top_k)
                search_ms.append(1000 * (time.perf_counter() - started))
                rankings.append([h.index for h in hits])
            baseline = baseline or rankings
            same = sum(a == b for a, b in zip(rankings, baseline))
            first = next(iter(sets.values()))
            answer_ms = [rag.ask(item["question"]).timings["total"] for item in first]
            figures = {}
            for set_name, items in sets.items():
                answers = rag.ask_many([item["question"] for item in items])
                f = EvalReport([judge(item, a) for item, a in zip(items, answers)]).figures()
                figures[set_name] = (f"{f['answered_right_and_cited']}/{f['answerable']}, "
                                     f"{f['abstained_right']}/{f['unanswerable']}, {f['false_abstentions']} FA")
            rows.append((name, build, rag.report.embedded, len(rag.store.chunks), statistics.median(search_ms),
                         percentile(sorted(search_ms), 0.95), statistics.median(answer_ms), percentile(sorted(answer_ms), 0.95),
                         f"{same}/{len(questions)}", figures))
            print(f"{name}: {rows[-1]}", flush=True)
    if any(config.ray for _, config in stores):
        import ray

        ray.shutdown()
    print(f"\ncorpus {args.corpus}; figures per set: right and cited / answerable, abstained / unanswerable, false abstentions\n")
    print("| store | build s | texts embedded | chunks | retrieval p50 / p95 ms | answer p50 / p95 ms | "
          "same top chunks as FAISS | " + " | ".join(sets) + " |")
    print("| --- " * (7 + len(sets)) + "|")
    for name, build, embedded, chunks, s50, s95, a50, a95, same, figures in rows:
        print(f"| {name} | {build:.1f} | {embedded} | {chunks} | {s50:.1f} / {s95:.1f} | {a50:.0f} / {a95:.0f} | {same} | "
              + " | ".join(figures[s] for s in sets) + " |")


if __name__ == "__main__":
    main()
