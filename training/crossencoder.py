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

from training.candidates import Group, answer_lists, load  # noqa: E402
from training.ranker import FIT_SETS, print_rows, prior, standing, table, with_signal  # noqa: E402

NEGATIVES = 7
TOP = 10  # candidates the cross-encoder scores at answer time (the rest get the lowest score)
MAX_LENGTH = 128  # a unit under its heading is a sentence or two: few pairs are longer
CHECKPOINT = 200


def lists(groups: list[Group]) -> list[tuple[str, list[str]]]:
    """(question, [answering unit, negatives...]) of each answerable group."""
    return [(q, [unit] + negatives) for q, unit, negatives in answer_lists(groups, NEGATIVES)]


def train(out: Path, epochs: int, lr: float, limit: int | None, device: str, max_length: int):
    """Listwise training, resumable: every CHECKPOINT steps the model, optimizer and step are
    saved under out/checkpoint/, and a run started again goes on from there (the order of the
    lists is fixed by the seed, so the steps done are the steps skipped)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from rag.models.embedding import resolve_embedder

    torch.manual_seed(7)
    data = lists([g for g in load("synthetic-") if g.answerable])
    random.Random(7).shuffle(data)
    data = data[:limit] if limit else data
    checkpoint = out / "checkpoint"
    base = str(checkpoint if (checkpoint / "state.pt").exists() else resolve_embedder("default")[1])
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1).to(device)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    steps = epochs * len(data)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(steps // 10, 1)))
    done = 0
    if (checkpoint / "state.pt").exists():
        state = torch.load(checkpoint / "state.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        done = state["step"]
        print(f"resuming at step {done}/{steps}", flush=True)
    started, step, pairs = time.monotonic(), 0, 0
    for epoch in range(epochs):
        for question, texts in data:
            step += 1
            if step <= done:
                continue
            batch = tokenizer([question] * len(texts), texts, truncation=True, max_length=max_length,
                              padding=True, return_tensors="pt").to(device)
            logits = model(**batch).logits.view(1, -1)
            loss = torch.nn.functional.cross_entropy(logits, torch.zeros(1, dtype=torch.long, device=device))
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            pairs += len(texts)
            if step % 50 == 0:
                rate = pairs / (time.monotonic() - started)
                left = (steps - step) * pairs / max(step - done, 1) / rate / 60
                print(f"epoch {epoch + 1} step {step}/{steps} loss {loss.item():.3f} "
                      f"({rate:.1f} pairs/s, about {left:.0f} min left)", flush=True)
            if step % CHECKPOINT == 0:
                model.save_pretrained(str(checkpoint))
                tokenizer.save_pretrained(str(checkpoint))
                torch.save({"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(), "step": step},
                           checkpoint / "state.pt")
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
    """The table of training/ranker.py with the cross-encoder's score as one more feature, and
    two simpler uses of it: alone (its order over the top TOP, the rest after them) and blended
    with the evidence score's logit at a weight chosen on the other fit sets."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    model = AutoModelForSequenceClassification.from_pretrained(str(model_path)).eval()
    synthetic, fit = with_signal(lambda g: cross_scores(g, model, tokenizer), fit_sets, fit_only)

    def blend(weight: float):
        return lambda f: prior(f) + weight * f[:, -1]

    weights = [0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
    rows = {"cross-encoder alone": {n: standing(g, lambda f: f[:, -1] - 1e-3 * np.arange(len(f)))
                                    for n, g in fit.items()},
            "blend, weight from the other sets": {}}
    for name, groups in fit.items():
        others = [g for n, gs in fit.items() if n != name for g in gs]
        best = max(weights, key=lambda w: (standing(others, blend(w))[1], -w))
        rows["blend, weight from the other sets"][name] = standing(groups, blend(best))
        print(f"{name}: blend weight {best} (chosen on the other sets)")
    print_rows(rows, list(fit))
    table(synthetic, fit)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["train", "judge"])
    parser.add_argument("--out", type=Path, default=ROOT / "corpora/train/crossencoder")
    parser.add_argument("--model", type=Path, default=ROOT / "corpora/train/crossencoder")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-length", type=int, default=MAX_LENGTH)
    parser.add_argument("--fit-sets", nargs="*", default=list(FIT_SETS))
    parser.add_argument("--fit-only", action="store_true", help="judge on the fit sets alone")
    args = parser.parse_args()
    if args.what == "train":
        train(args.out, args.epochs, args.lr, args.limit, args.device, args.max_length)
    else:
        judge(args.model, args.fit_sets, args.fit_only)


if __name__ == "__main__":
    main()
