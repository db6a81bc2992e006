"""Index and query a larger corpus: the default articles copied N times, each copy's lines
tagged so that no text repeats (nothing is served from the vector cache).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/scale.py --copies 50
"""

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from rag import RAG, Config
from rag.evaluation import load_questions

ROOT = Path(__file__).resolve().parent.parent


def make_corpus(folder: Path, copies: int):
    """The default articles copied, each copy's lines tagged so that no text repeats."""
    for n in range(copies):
        for path in sorted((ROOT / "corpus").glob("*.txt")):
            lines = path.read_text(encoding="utf-8").splitlines()
            tagged = [f"{line} (copy {n})" if line.strip() else line for line in lines]
            (folder / f"{n:03d}_{path.name}").write_text("\n".join(tagged), encoding="utf-8")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        make_corpus(corpus, args.copies)
        size = sum(p.stat().st_size for p in corpus.iterdir())
        start = time.perf_counter()
        rag = RAG.build(corpus, index, Config(extractive_only=True))
        built = time.perf_counter() - start
        print(f"{len(rag.documents)} documents, {size / 1e6:.1f} MB, {len(rag.store.chunks)} chunks, "
              f"{len(rag.store.units)} units: built in {built:.0f} s ({rag.report.embedded} texts embedded)")
        start = time.perf_counter()
        rag = RAG.open(index, Config(extractive_only=True))
        rag.ask("warm up")
        print(f"open + first question (lexical indexes built): {time.perf_counter() - start:.1f} s")
        questions = [item["question"] for item in load_questions(ROOT / "eval" / "dev_qa.jsonl")]
        times = [rag.ask(q).timings for q in questions]
        print(f"extractive answers: median {statistics.median(t['total'] for t in times):.0f} ms "
              f"(retrieve {statistics.median(t['retrieve'] for t in times):.0f} ms, "
              f"evidence {statistics.median(t['evidence'] for t in times):.0f} ms)")
        shutil.rmtree(index)


if __name__ == "__main__":
    main()
