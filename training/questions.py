"""Synthetic questions for the ranker: an answer unit first, then one question it answers.

For each package of the training library (training/library.py), units that can stand alone as
an answer are drawn in a fixed order; a local model (Qwen2.5-Coder on llama.cpp, sampled, with
a varied opening asked for) writes one question each; a question is kept when it does not reuse
most of its sentence's words and when rag's own retrieval finds the unit among its candidates
for it (the round trip). Every record, kept or not, goes to training/data/questions/PACKAGE/
in shards of compressed JSON lines that are written once and never changed: a run that is
stopped anywhere resumes where it stood, and runs on several machines add up.

    .venv/bin/python training/questions.py --minutes 60           # all indexed packages, in turns
    .venv/bin/python training/questions.py --model qwen2.5-coder-1.5b --packages git-doc
"""

import argparse
import gzip
import hashlib
import json
import logging
import random
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.lexical import terms  # noqa: E402
from training.library import INDEXES, packages  # noqa: E402

DATA = ROOT / "training/data/questions"
SHARD = 40  # records a shard
TURN = 24  # targets of one package before the next package's turn
# Sentences that need the one before them, or are not sentences.
ANAPHORA = frozenset("""this that these those it its they them their he she such also however otherwise then
    thus therefore here both each another similarly instead likewise furthermore moreover additionally
    but and or so because again finally only see note""".split())
POINTING = re.compile(r"\b(this|these|those|above|below|following|preceding|former|latter|previous)\b", re.I)
OPENINGS = (
    (3, 'Start the question with "How".'),
    (3, 'Start the question with "What".'),
    (2, 'Start the question with "Which".'),
    (1, 'Start the question with "Why".'),
    (1, 'Start the question with "When".'),
    (2, 'Start the question with "Can", "Does" or "Is".'),
    (2, 'Start the question with "How do I" or "How can I".'),
    (1, 'Start the question with "What happens if" or "What happens when".'),
    (1, 'Start the question with "Where".'),
    (2, 'Write it as a user describing their goal: begin with "I want to" or "I need to", and end with a question.'),
    (2, "Write it as a short search query of 3 to 7 keywords, not a full sentence."),
)
# Two examples of a question in other words than its sentence (about no package of the library),
# as earlier turns of the chat: without them the model mostly restated the sentence (16 of a
# first 24); written into one prompt instead, it often asked about the examples.
SYSTEM = ("You write the question a user of some software would ask, answered by a sentence of its documentation. "
          "Use the user's own everyday words, not the sentence's wording. Reply with the question only.")
EXAMPLES = (
    ('Sentence (tar documentation): The -t option makes tar list the contents of an archive without extracting it.\n'
     'Start the question with "How".', "How can I see what is inside an archive without unpacking it?"),
    ('Sentence (web server documentation): Connections that stay idle for more than 300 seconds are closed by the '
     'server.\nStart the question with "When".', "When does the server drop an inactive client?"),
)
PROMPT = 'Sentence ({product} documentation, section "{heading}"): {target}\n{opening}'
PROMPT_VERSION = 3
BANNED = re.compile(r"\b(the|this) (sentence|documentation|passage|text|section)\b", re.I)

log = logging.getLogger("training.questions")


def target_id(package: str, source: str, start: int) -> str:
    return hashlib.sha256(f"{package}\0{source}\0{start}".encode()).hexdigest()[:16]


def word_list(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9_\-\.]+", text)


def stands_alone(text: str) -> bool:
    """Whether a unit reads as a whole sentence without the one before it."""
    tokens = text.split()
    if not 8 <= len(tokens) <= 50 or not re.search(r"[.!?][\"')]?$", text.strip()):
        return False
    first = re.sub(r"^\W+|\W+$", "", tokens[0]).lower()
    if first in ANAPHORA or POINTING.search(" ".join(tokens[:6])):
        return False
    # A lower-case start is a fragment, unless it is a command or option ("git-commit records").
    if tokens[0][0].islower() and tokens[0].isalpha():
        return False
    wordy = sum(bool(re.fullmatch(r"[A-Za-z][a-z'\-]*[,.;:!?]?", t)) for t in tokens)
    return wordy >= 0.7 * len(tokens)


def targets(package: str, store) -> list[tuple[int, str]]:
    """(unit position, unit text) of the units that can be asked about, in a fixed order."""
    seen, found = set(), []
    for i, unit in enumerate(store.units):
        text = unit.text.strip()
        if not unit.is_evidence or unit.lead_in or text in seen or not stands_alone(text):
            continue
        seen.add(text)
        found.append((i, text))
    return sorted(found, key=lambda f: target_id(package, store.units[f[0]].source, store.units[f[0]].start))


def reuses_sentence(question: str, sentence: str) -> bool:
    """Whether a question copies its sentence: more than half of the sentence's terms, or five
    words in a row."""
    own = set(terms(sentence))
    if own and len(own & set(terms(question))) > 0.5 * len(own):
        return True
    q, s = [w.lower() for w in word_list(question)], " ".join(w.lower() for w in word_list(sentence))
    return any(" ".join(q[i:i + 5]) in s for i in range(len(q) - 4))


def parse_question(reply: str) -> str | None:
    """The question of a model's reply, or None when it wrote something else."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return None
    text = re.sub(r"^(question\s*\d*\s*[:.)-]\s*|\d+[.)]\s*|[-*]\s*)", "", lines[0], flags=re.I).strip().strip('"“”`').strip()
    if not 3 <= len(text.split()) <= 35 or BANNED.search(text) or "[" in text:
        return None
    return text


class Writer:
    """Appends records to a package's shards; a shard is written whole, once."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.pending: list[dict] = []

    def done(self) -> set[str]:
        ids = set()
        for shard in sorted(self.folder.glob("*.jsonl.gz")):
            with gzip.open(shard, "rt") as f:
                ids.update(json.loads(line)["id"] for line in f)
        return ids

    def add(self, record: dict):
        self.pending.append(record)
        if len(self.pending) >= SHARD:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        number = len(list(self.folder.glob("*.jsonl.gz")))
        path = self.folder / f"{number:04d}-{self.pending[0]['id'][:8]}.jsonl.gz"
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in self.pending)
        tmp.rename(path)
        self.pending = []


def messages(prompt: str) -> list[dict]:
    """The chat: the instruction, the two examples as earlier turns, then the prompt."""
    turns = [{"role": "system", "content": SYSTEM}]
    for asked, answered in EXAMPLES:
        turns += [{"role": "user", "content": asked}, {"role": "assistant", "content": answered}]
    return turns + [{"role": "user", "content": prompt}]


def ask_model(engine, prompt: str, seed: int, temperature: float) -> str:
    request = {"messages": messages(prompt), "max_tokens": 60, "temperature": temperature,
               "top_p": 0.95, "seed": seed, "cache_prompt": False, "stop": ["\n\n"]}
    reply = engine.server.handle_chat_completions(request)
    if "error" in reply:
        raise RuntimeError(str(reply["error"]))
    return reply["choices"][0]["message"]["content"]


def one_turn(rag, package: str, writer: "Writer", write: Callable[[list[tuple[str, int]]], list[str]], model: str,
             limit: int = TURN) -> int:
    """Writes up to `limit` questions for one package's index; returns how many records were written.

    Args:
        rag: the package's index, opened.
        package: its name (recorded, and part of each target's id).
        writer: where the records go.
        write: the model's replies to (prompt, seed) pairs, in order.
        model: the model's name, recorded.
        limit: targets taken this turn.
    """
    store = rag.store
    done = writer.done()
    todo = [(i, t) for i, t in targets(package, store) if target_id(package, store.units[i].source, store.units[i].start) not in done]
    todo = todo[:limit]
    product = package.removesuffix("-html").removesuffix("-doc").removesuffix("-15").removesuffix("-1.19")
    jobs = []
    for i, text in todo:
        unit = store.units[i]
        tid = target_id(package, unit.source, unit.start)
        opening = random.Random(tid).choices([o for _, o in OPENINGS], weights=[w for w, _ in OPENINGS])[0]
        prompt = PROMPT.format(product=product, heading=unit.heading.strip()[:80] or unit.source, target=text,
                               opening=opening)
        jobs.append((i, unit, tid, opening, int(tid[:8], 16), prompt))
    replies = write([(prompt, seed) for *_, seed, prompt in jobs]) if jobs else []
    for (i, unit, tid, opening, seed, _), reply in zip(jobs, replies):
        question = parse_question(reply)
        record = {"id": tid, "package": package, "source": unit.source, "start": unit.start, "end": unit.end,
                  "unit": unit.text.strip(), "heading": unit.heading, "opening": opening, "model": model,
                  "seed": seed, "prompt": PROMPT_VERSION, "reply": reply, "question": question, "rank": -1, "candidates": 0}
        if question is None:
            record["why"] = "malformed"
        elif reuses_sentence(question, unit.text):
            record["why"] = "copies its sentence"
        else:
            evidence, _ = rag.answerer.find_evidence(question, question, rag.options(), {})
            ranks = [r for r, e in enumerate(evidence) if e.index == i]
            record["rank"], record["candidates"] = (ranks[0] if ranks else -1), len(evidence)
            record["why"] = "" if ranks else "not retrieved"
        record["kept"] = not record["why"]
        writer.add(record)
    writer.flush()
    return len(jobs)


def model_writer(engine, pool, temperature: float) -> Callable[[list[tuple[str, int]]], list[str]]:
    """Replies to (prompt, seed) pairs from a llama.cpp engine, side by side in its slots."""
    return lambda pairs: list(pool.map(lambda pair: ask_model(engine, pair[0], pair[1], temperature), pairs))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--packages", nargs="*", help="default: every indexed package of training/packages.txt")
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--minutes", type=float, default=60.0, help="stop after this long (at a turn's end)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("rag").setLevel(logging.WARNING)
    from rag import RAG, Config
    from rag.models.files import resolve_gguf
    from rag.models.generation import Engine

    _, path = resolve_gguf(args.model, Config().cache_path)
    engine = Engine(str(path), args.threads, args.slots, 1024)
    deadline = time.monotonic() + args.minutes * 60
    started, written = time.monotonic(), 0
    with ThreadPoolExecutor(args.slots) as pool:
        while time.monotonic() < deadline:
            ready = [p for p in (args.packages or packages()) if (INDEXES / p / "manifest.json").exists()]
            progress = 0
            write = model_writer(engine, pool, args.temperature)
            for package in ready:
                if time.monotonic() >= deadline:
                    break
                rag = RAG.open(INDEXES / package, Config(extractive_only=True))
                count = one_turn(rag, package, Writer(DATA / package), write, args.model)
                progress += count
                written += count
                log.info("%s: %d more; %d in %.1f min (%.1f a minute)", package, count, written,
                         (time.monotonic() - started) / 60, written / max((time.monotonic() - started) / 60, 1e-9))
            if not progress:
                time.sleep(30)  # waiting for more packages to be indexed


if __name__ == "__main__":
    main()
