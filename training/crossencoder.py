"""Signal c of issue 31: a cross-encoder over (question, candidate) pairs, from the MiniLM that
rag ships, whose score is one more ranking feature over the best candidates.

Trained listwise: each synthetic question's answering unit against its negatives (up to
NEGATIVES of them, best-ranked first), softmax cross-entropy over the list, so the model learns
to put the answer above the units rag already confuses with it. Then judged as a feature of
training/ranker.py's table over the top TOP candidates (fit sets leave-one-set-out).

    .venv/bin/python training/crossencoder.py train --epochs 2 --out corpora/train/crossencoder
    .venv/bin/python training/crossencoder.py judge --model corpora/train/crossencoder

On 2 CPU cores a MiniLM-L6 pair trains at 9-15 a second (issue 31): 5,000 questions of 8 pairs
take about an hour an epoch; a GPU takes minutes (`--device cuda`).
"""

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.candidates import Group, load  # noqa: E402
from training.ranker import FIT_SETS, judge_signal  # noqa: E402

NEGATIVES = 7
TOP = 10  # candidates the cross-encoder scores at answer time (the rest get the lowest score)
MAX_LENGTH = 256


def lists(groups: list[Group]) -> list[tuple[str, list[str]]]:
    """(question, [answering unit, negatives...]) of each answerable group."""
    out = []
    for g in groups:
        if not g.answerable or not (g.labels == 1).any():
            continue
        positive = g.texts[int(np.argmax(g.labels == 1))]
        negatives = [t for t, label in zip(g.texts, g.labels) if label == 0][:NEGATIVES]
        if negatives:
            out.append((g.question, [positive] + negatives))
    return out


def train(out: Path, epochs: int, lr: float, limit: int | None, device: str):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rag.models.embedding import resolve_embedder

    torch.manual_seed(7)
    data = lists([g for g in load("synthetic-") if g.answerable])
    random.Random(7).shuffle(data)
    data = data[:limit] if limit else data
    base = str(resolve_embedder("default")[1])
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1).to(device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    steps = epochs * len(data)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(steps // 10, 1)))
    started, step, pairs = time.monotonic(), 0, 0
    for epoch in range(epochs):
        for question, texts in data:
            batch = tokenizer([question] * len(texts), texts, truncation=True, max_length=MAX_LENGTH,
                              padding=True, return_tensors="pt").to(device)
            logits = model(**batch).logits.view(1, -1)
            loss = torch.nn.functional.cross_entropy(logits, torch.zeros(1, dtype=torch.long, device=device))
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            pairs += len(texts)
            if step % 50 == 0:
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} "
                      f"({pairs / (time.monotonic() - started):.1f} pairs/s)", flush=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    print(f"saved {out}: {len(data)} questions, {epochs} epochs, {time.monotonic() - started:.0f} s")


def cross_scores(group: Group, model, tokenizer) -> np.ndarray:
    """The cross-encoder's score of each of the top TOP candidates (the rest get the lowest)."""
    import torch

    scores = np.full(len(group.texts), -10.0)
    top = group.texts[:TOP]
    if top:
        batch = tokenizer([group.question] * len(top), top, truncation=True, max_length=MAX_LENGTH, padding=True,
                          return_tensors="pt")
        with torch.no_grad():
            scores[:len(top)] = model(**batch).logits.view(-1).numpy()
    return scores


def judge(model_path: Path, fit_sets: list[str], fit_only: bool = False):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_path)).eval()
    judge_signal(lambda g: cross_scores(g, model, tokenizer), fit_sets, fit_only)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["train", "judge"])
    parser.add_argument("--out", type=Path, default=ROOT / "corpora/train/crossencoder")
    parser.add_argument("--model", type=Path, default=ROOT / "corpora/train/crossencoder")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fit-sets", nargs="*", default=list(FIT_SETS))
    parser.add_argument("--fit-only", action="store_true", help="judge on the fit sets alone")
    args = parser.parse_args()
    if args.what == "train":
        train(args.out, args.epochs, args.lr, args.limit, args.device)
    else:
        judge(args.model, args.fit_sets, args.fit_only)


if __name__ == "__main__":
    main()
