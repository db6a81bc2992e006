"""Signal b of issue 31: the MiniLM bi-encoder fine-tuned on question -> answer unit pairs.

Each synthetic question (training/candidates.py groups) gives its answering unit and its
hardest negative (the best-ranked candidate that is not it); MultipleNegativesRankingLoss
learns from them with the other pairs of the batch as further negatives. The tuned model's
cosine between a question and each candidate is then one more ranking feature, and
training/ranker.py's table is printed with it (fit sets leave-one-set-out, as always).

    .venv/bin/python training/biencoder.py train --out corpora/train/biencoder
    .venv/bin/python training/biencoder.py judge --model corpora/train/biencoder
"""

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.candidates import Group, answer_lists, load  # noqa: E402
from training.ranker import FIT_SETS, judge_signal  # noqa: E402

SCALE = 20.0  # cosine -> logit, as sentence-transformers' MultipleNegativesRankingLoss


def triplets(groups: list[Group]) -> list[tuple[str, str, str]]:
    """(question, answering unit, hardest negative) of each answerable group."""
    return [(q, unit, negatives[0]) for q, unit, negatives in answer_lists(groups, 1)]


def train(out: Path, epochs: int, batch: int, lr: float, limit: int | None):
    import torch
    from sentence_transformers import SentenceTransformer

    from rag.models.embedding import resolve_embedder

    torch.manual_seed(7)
    data = triplets([g for g in load("synthetic-") if g.answerable])
    random.Random(7).shuffle(data)
    data = data[:limit] if limit else data
    model = SentenceTransformer(str(resolve_embedder("default")[1]), device="cpu")
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    steps = epochs * ((len(data) + batch - 1) // batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(steps // 10, 1)))
    started, step = time.monotonic(), 0
    for epoch in range(epochs):
        for start in range(0, len(data), batch):
            part = data[start:start + batch]
            texts = [q for q, _, _ in part] + [p for _, p, _ in part] + [n for _, _, n in part]
            features = model.tokenize(texts)
            vectors = torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=-1)
            questions, documents = vectors[:len(part)], vectors[len(part):]
            logits = SCALE * questions @ documents.T
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(part)))
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            if step % 20 == 0:
                rate = step * batch / (time.monotonic() - started)
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} ({rate:.1f} triplets/s)", flush=True)
    model.save(str(out))
    print(f"saved {out}: {len(data)} triplets, {epochs} epochs, {time.monotonic() - started:.0f} s")


def tuned_cosine(group: Group, model) -> np.ndarray:
    """The tuned model's cosine of the question and each candidate."""
    if not group.texts:
        return np.zeros(0)
    vectors = model.encode([group.question] + group.texts, normalize_embeddings=True, batch_size=64)
    return vectors[1:] @ vectors[0]


def judge(model_path: Path, fit_sets: list[str], fit_only: bool = False):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu")
    judge_signal(lambda g: tuned_cosine(g, model), fit_sets, fit_only)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["train", "judge"])
    parser.add_argument("--out", type=Path, default=ROOT / "corpora/train/biencoder")
    parser.add_argument("--model", type=Path, default=ROOT / "corpora/train/biencoder")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--fit-sets", nargs="*", default=list(FIT_SETS))
    parser.add_argument("--fit-only", action="store_true", help="judge on the fit sets alone")
    args = parser.parse_args()
    if args.what == "train":
        train(args.out, args.epochs, args.batch, args.lr, args.limit)
    else:
        judge(args.model, args.fit_sets, args.fit_only)


if __name__ == "__main__":
    main()
