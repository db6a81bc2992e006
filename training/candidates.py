"""Questions -> labelled candidate lists: what a ranker learns from and is judged on.

For a synthetic question (training/questions.py) the candidates are the units rag's evidence
stage scores for it on its package's index; the unit the question was written from is the only
positive, candidates that overlap it heavily (the same sentence in another file, or one that
holds most of its words) are left out rather than called negative, and the rest are negatives.
The same question asked of the index without its unit's document is an unanswerable one.

For a fit set (eval/*_fit.jsonl) a candidate is positive when it holds one of the question's
answer phrases in a file that holds the answer (benchmarks/ranking.py's labels).

Groups are cached under corpora/train/cache/ (git-ignored): they are derived, and rebuilt when
the features change.

    .venv/bin/python training/candidates.py synthetic
    .venv/bin/python training/candidates.py fit index:eval/fresh_fit.jsonl index-zsh:eval/zsh_fit.jsonl
"""

import argparse
import gzip
import json
import logging
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answering.abstention import assess  # noqa: E402
from rag.answering.ranking import feature_rows  # noqa: E402
from rag.chunking import unit_text  # noqa: E402
from rag.evaluation import contains_phrase, load_questions, source_matches  # noqa: E402
from rag.lexical import terms  # noqa: E402
from training.library import INDEXES  # noqa: E402
from training.questions import DATA  # noqa: E402

CACHE = ROOT / "corpora/train/cache"
OVERLAP = 0.6  # a candidate holding this share of the positive's terms is left out
EXTRA_HITS = 20  # chunks retrieved beyond top_k, so that leaving a document out still leaves top_k

log = logging.getLogger("training.candidates")


@dataclass
class Group:
    """One question's candidates."""

    question: str
    origin: str  # the package or fit set it comes from
    features: np.ndarray  # (candidates, ranking.FEATURES)
    labels: np.ndarray  # 1 positive, 0 negative, -1 left out
    texts: list[str]  # each candidate as embedded (under its heading)
    answerability: tuple  # abstention.FEATURES of the question
    answerable: bool
    extra: dict = field(default_factory=dict)


def candidates(rag, question: str, leave_out: str | None = None):
    """(evidence, answerability) for a question, optionally as if one document were not indexed."""
    answerer = rag.answerer
    vector = answerer.embedder.embed([question])[0]
    query_terms = terms(question)
    top_k = rag.options().top_k
    hits = answerer.retriever.search(vector, query_terms, top_k + (EXTRA_HITS if leave_out else 0))
    if leave_out:
        hits = [h for h in hits if h.chunk.source != leave_out][:top_k]
    evidence = answerer.selector.select(question, vector, query_terms, hits)
    return evidence, assess(question, query_terms, answerer.retriever, hits, evidence)


def group(rag, question: str, origin: str, evidence, answerability, labels, answerable: bool, **extra) -> Group:
    store = rag.store
    rows = feature_rows(question, evidence, store.units, rag.answerer.retriever.idf)
    return Group(question, origin, rows, np.array(labels, dtype=float), [unit_text(e.unit) for e in evidence],
                 tuple(answerability.features), answerable, extra)


def overlaps(a: str, b: str) -> bool:
    own, other = set(terms(a)), set(terms(b))
    return bool(own) and len(own & other) >= OVERLAP * len(own)


def synthetic_groups(records: list[dict], rag) -> list[Group]:
    groups = []
    units = rag.store.units
    where = {(u.source, u.start): i for i, u in enumerate(units)}
    for record in records:
        target = where.get((record["source"], record["start"]))
        if target is None:
            continue
        evidence, answerability = candidates(rag, record["question"])
        if all(e.index != target for e in evidence):
            continue
        positive = units[target].full_text
        labels = [1 if e.index == target else -1 if overlaps(positive, e.unit.full_text) else 0 for e in evidence]
        groups.append(group(rag, record["question"], record["package"], evidence, answerability, labels, True,
                            id=record["id"]))
        # The same question without its document: unanswerable, unless another file repeats it.
        evidence, answerability = candidates(rag, record["question"], leave_out=record["source"])
        if not any(overlaps(positive, e.unit.full_text) for e in evidence):
            groups.append(group(rag, record["question"], record["package"], evidence, answerability,
                                [0] * len(evidence), False, id=record["id"] + "-out"))
    return groups


def read_records(package: str) -> list[dict]:
    records = []
    for shard in sorted((DATA / package).glob("*.jsonl.gz")):
        with gzip.open(shard, "rt") as f:
            records.extend(r for line in f for r in [json.loads(line)] if r["kept"])
    return records


def synthetic(packages: list[str]):
    """Groups of every kept question of these packages, computed once per question (the cache
    of a package grows with its data)."""
    from rag import RAG, Config

    CACHE.mkdir(parents=True, exist_ok=True)
    for package in packages:
        path = CACHE / f"synthetic-{package}.pkl"
        cached = pickle.loads(path.read_bytes()) if path.exists() else {"ids": set(), "groups": []}
        records = [r for r in read_records(package) if r["id"] not in cached["ids"]]
        if not records:
            continue
        rag = RAG.open(INDEXES / package, Config(extractive_only=True))
        groups = synthetic_groups(records, rag)
        cached = {"ids": cached["ids"] | {r["id"] for r in records}, "groups": cached["groups"] + groups}
        path.write_bytes(pickle.dumps(cached))
        log.info("%s: %d more questions -> %d more groups (%d in all)", package, len(records), len(groups),
                 len(cached["groups"]))


def holds_answer(item: dict, unit) -> bool:
    phrases = item.get("answers") or item.get("answers_all") or []
    return (not item.get("unanswerable") and source_matches(unit.source, tuple(item.get("docs", [])))
            and any(contains_phrase(unit.full_text, p) for p in phrases))


def fit(pairs: list[str]):
    from rag import RAG, Config

    CACHE.mkdir(parents=True, exist_ok=True)
    for pair in pairs:
        index, path = pair.split(":", 1)
        if "sealed" in path:
            raise SystemExit("sealed sets are scored as totals only, never learned from or read")
        rag = RAG.open(index, Config(extractive_only=True))
        name = Path(path).stem
        groups = []
        for item in load_questions(path):
            evidence, answerability = candidates(rag, item["question"])
            labels = [float(holds_answer(item, e.unit)) for e in evidence]
            groups.append(group(rag, item["question"], name, evidence, answerability, labels,
                                not item.get("unanswerable"), id=item["id"]))
        (CACHE / f"fit-{name}.pkl").write_bytes(pickle.dumps({"groups": groups}))
        log.info("%s: %d groups", name, len(groups))


def answer_lists(groups: list[Group], negatives: int) -> list[tuple[str, str, list[str]]]:
    """(question, answering unit, its best-ranked negatives) of each answerable group that has
    both: what the learned signals of training/ are trained on."""
    out = []
    for g in groups:
        if not g.answerable or not (g.labels == 1).any():
            continue
        others = [t for t, label in zip(g.texts, g.labels) if label == 0][:negatives]
        if others:
            out.append((g.question, g.texts[int(np.argmax(g.labels == 1))], others))
    return out


def load(prefix: str) -> list[Group]:
    groups = []
    for path in sorted(CACHE.glob(f"{prefix}*.pkl")):
        groups.extend(pickle.loads(path.read_bytes())["groups"])
    return groups


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["synthetic", "fit"])
    parser.add_argument("args", nargs="*", help="packages (synthetic) or INDEX:QUESTIONS pairs (fit)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("rag").setLevel(logging.WARNING)
    if args.what == "synthetic":
        synthetic(args.args or sorted(p.name for p in DATA.iterdir() if p.is_dir()))
    else:
        fit(args.args)


if __name__ == "__main__":
    # Through the module's own name, so that the cached groups unpickle anywhere.
    import training.candidates

    training.candidates.main()


