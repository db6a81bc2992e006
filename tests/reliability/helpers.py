"""Shared by the reliability tests: a corpus, `rag index` in a child process, and checks."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from rag import RAG, IndexNotFoundError
from rag.stores.store import read_manifest
from tests.conftest import DOCS, REPO, copy_sentence, write_corpus
from tests.fakes import FakeEmbedder, ScriptedGenerator

FAKE_TOML = 'embedder = "fake-embedder"\nchunk_chars = 200\nchunk_overlap = 50\n'
# Enough text for several rows in every index file, so kills land between rows too.
EXTRA_DOCS = {
    f"topic{i}.txt": " ".join(f"Fact {j} about topic {i}: the value of item {j} is {i * 100 + j}." for j in range(12))
    for i in range(4)
}
CORPUS_V1 = {**DOCS, **EXTRA_DOCS}
# The update: one file added, one changed, one removed.
CORPUS_V2 = {k: v for k, v in CORPUS_V1.items() if k != "topic3.txt"} | {
    "topic0.txt": EXTRA_DOCS["topic0.txt"] + " A late addition says the answer is forty-two.",
    "volcano.txt": "Volcanoes erupt molten rock called lava. Mount Etna is in Sicily.",
}


def make_corpus(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_corpus(folder, docs)


def fake_toml(folder: Path) -> Path:
    path = folder / "rag.toml"
    path.write_text(FAKE_TOML, encoding="utf-8")
    return path


def run_index(config: Path, corpus: Path, index: Path, *extra: str, kill_at: int | None = None,
              events: Path | None = None, hold: float = 0.0, unsafe: bool = False, wait: bool = True):
    """`rag index` in a child process with the fake embedder; a CompletedProcess, or a Popen if not wait."""
    command = [sys.executable, "-m", "tests.reliability.run_index", "--config", str(config), "--hold", str(hold)]
    if kill_at is not None:
        command += ["--kill-at", str(kill_at)]
    if events is not None:
        command += ["--events", str(events)]
    if unsafe:
        command.append("--unsafe-manifest")
    command += ["--", "--corpus", str(corpus), "--index", str(index), *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    if not wait:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def event_labels(path: Path) -> list[str]:
    """The events of a run, with the random parts of file names taken out."""
    return [re.sub(r"[0-9a-f]{8,}", "X", label) for label in json.loads(path.read_text())]


def spread(labels: list[str], count: int) -> list[int]:
    """About `count` event numbers (1-based): the first of each kind of event, then evenly spread."""
    picked = set({label: n for n, label in reversed(list(enumerate(labels, 1)))}.values())
    more = max(0, count - len(picked))
    picked.update(1 + round(i * (len(labels) - 1) / max(1, more - 1)) for i in range(more))
    return sorted(picked)


def open_fake(index: Path) -> RAG:
    return RAG.open(index, embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))


def survivor_problem(index: Path, allowed: list[dict | None]) -> str | None:
    """What is wrong with the index a killed run left, or None when it is a whole index
    (one of the `allowed` file sets; None allowed = no index yet) that answers."""
    try:
        rag = open_fake(index)
    except IndexNotFoundError:
        return None if None in allowed else "the previous index is gone"
    except Exception as exc:  # noqa: BLE001 - any other failure is what this check looks for
        return f"the index does not open: {type(exc).__name__}: {exc}"
    files = read_manifest(index)["files"]
    if files not in allowed:
        return f"the index holds another set of files: {sorted(files)}"
    store = rag.store
    if not len(store.chunks) == len(store.chunk_vectors) == store.backend.vector_index(store).ntotal:
        return "chunks and vectors differ in number"
    answer = rag.ask("What do worker bees collect?")
    if answer.abstained or [c.source for c in answer.citations][:1] != ["bees.md"]:
        return f"it no longer answers: {answer.text!r}"
    for c in answer.citations:
        if rag.document_text(c.source)[c.start:c.end] != c.quote:
            return f"citation {c.n} does not quote its source"
    return None


def file_set(rag: RAG) -> dict:
    return {s: d.sha256 for s, d in sorted(rag.store.documents.items())}
