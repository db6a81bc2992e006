"""Would another model rank the evidence better? Two probes, fit parts only (eval/README.md).

--guess GENERATOR: the model writes the answer it would give without the documents ("HyDE"), and
the guess is added to the question, (a) for retrieval and scoring alike, (b) for retrieval only, the
units still scored against the question.
--dense FOLDER: a second sentence-transformers model (a local folder, such as all-mpnet-base-v2)
embeds the question and every candidate unit; its cosine, times each weight of --weights, is added
to the evidence score's logit.

For each set, of the answerable questions: how often a unit that holds the answer
(benchmarks/fit_evidence.py labels) is the best candidate, among the best three, among all of them.

    .venv/bin/python benchmarks/fit_other_models.py --guess qwen2.5-coder-0.5b index:eval/fresh_fit.jsonl
    .venv/bin/python benchmarks/fit_other_models.py --dense /path/to/all-mpnet-base-v2 index-zsh:eval/zsh_fit.jsonl
"""

import argparse
import statistics
import time
from collections import defaultdict

from fit_evidence import holds_answer

from rag import RAG, Config
from rag.answering.evidence import score
from rag.evaluation import load_questions
from rag.lexical import terms

GUESS_PROMPT = "Answer in one or two sentences, as a software manual would:\n{question}"
GUESS_TOKENS = 48


def held(item: dict, evidence: list) -> tuple[bool, bool, bool]:
    """Whether the best, one of the best three, or any candidate unit holds the answer."""
    labels = [holds_answer(item, e.unit) for e in evidence if not e.left_out]
    return bool(labels and labels[0]), any(labels[:3]), any(labels)


def logit_with(evidence, extra: list[float]) -> list[float]:
    """rag's evidence scores with `extra` added to each logit."""
    return [score(e.features, x) for e, x in zip(evidence, extra)]


def guess_rows(rag: RAG, item: dict, generator) -> dict[str, tuple]:
    answerer, question = rag.answerer, item["question"]
    prompt = [{"role": "user", "content": GUESS_PROMPT.format(question=question)}]
    guess = "".join(generator.stream(prompt, GUESS_TOKENS))
    expanded = f"{question} {guess}"
    rows = {"question": held(item, answerer.find_evidence(question, question, rag.options(), {})[0]),
            "question + guess": held(item, answerer.find_evidence(expanded, question, rag.options(), {})[0])}
    hits = answerer.retriever.search(answerer.embedder.embed([expanded])[0], terms(expanded), rag.options().top_k)
    scored = answerer.selector.select(question, answerer.embedder.embed([question])[0], terms(question), hits)
    rows["guess retrieves only"] = held(item, scored)
    return rows


def dense_rows(rag: RAG, item: dict, model, weights: list[float]) -> dict[str, tuple]:
    question = item["question"]
    evidence, _ = rag.answerer.find_evidence(question, question, rag.options(), {})
    if not evidence:
        return {f"+ {w} x cosine": (False, False, False) for w in weights}
    vectors = model.encode([question] + [e.unit.full_text for e in evidence], normalize_embeddings=True)
    cosines = vectors[1:] @ vectors[0]
    rows = {}
    for w in weights:
        scores = logit_with(evidence, [w * float(c) for c in cosines])
        order = sorted(range(len(evidence)), key=lambda i: -scores[i])
        rows[f"+ {w} x cosine"] = held(item, [evidence[i] for i in order])
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sets", nargs="+", help="INDEX:QUESTIONS pairs")
    probe = parser.add_mutually_exclusive_group(required=True)
    probe.add_argument("--guess", metavar="GENERATOR", help="a generator name, as in Config.generator")
    probe.add_argument("--dense", metavar="FOLDER", help="a sentence-transformers model folder")
    parser.add_argument("--weights", default="0,2,4,8", help="--dense: weights of the added cosine")
    args = parser.parse_args()
    if args.guess:
        from rag.models.generation import LlamaCppGenerator
        generator = LlamaCppGenerator(Config(generator=args.guess))
        rows_of = lambda rag, item: guess_rows(rag, item, generator)  # noqa: E731
    else:
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(args.dense, device="cpu")
        weights = [float(w) for w in args.weights.split(",")]
        rows_of = lambda rag, item: dense_rows(rag, item, model, weights)  # noqa: E731

    seconds = []
    for pair in args.sets:
        index, path = pair.split(":", 1)
        rag = RAG.open(index, Config(extractive_only=True))
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        answerable = 0
        for item in load_questions(path):
            if item.get("unanswerable"):
                continue
            answerable += 1
            start = time.perf_counter()
            for name, flags in rows_of(rag, item).items():
                counts[name] = [c + f for c, f in zip(counts[name], flags)]
            seconds.append(time.perf_counter() - start)
        for name, (top, top3, any_) in counts.items():
            print(f"{path} ({answerable}): {name}: best {top}, best three {top3}, any {any_}")
    print(f"median seconds a question: {statistics.median(seconds):.2f}")


if __name__ == "__main__":
    main()
