"""Deterministic stand-ins for the models, for fast unit tests."""

import hashlib
import re

import numpy as np

from rag.lexical import terms

DIMENSION = 64


def word_vector(word: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32)


class FakeEmbedder:
    """Bag of words: each stemmed term gets a vector seeded from its SHA-256; a text is their
    L2-normalised sum. Texts that share words are similar, as with a real embedder."""

    name = "fake-embedder"
    dimension = DIMENSION

    def __init__(self):
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = []
        for text in texts:
            vector = sum((word_vector(t) for t in terms(text)), np.zeros(DIMENSION, np.float32))
            norm = np.linalg.norm(vector)
            rows.append(vector / norm if norm else vector)
        return np.array(rows, dtype=np.float32).reshape(len(texts), DIMENSION)

    @property
    def embedded(self) -> list[str]:
        return [t for call in self.calls for t in call]


class ScriptedGenerator:
    """Replies with a scripted text (a function of the prompt), streamed word by word."""

    name = "scripted"

    def __init__(self, reply):
        self.reply = reply
        self.prompts: list[list[dict]] = []

    def stream(self, messages, max_new_tokens, vocabulary=None):
        self.prompts.append(messages)
        text = self.reply(messages) if callable(self.reply) else self.reply
        for piece in re.findall(r"\S+\s*", text):
            yield piece


    def generate_batch(self, prompts, max_new_tokens, vocabularies, give_up=None):
        return ["".join(self.stream(messages, max_new_tokens)) for messages in prompts]


def source_sentence(messages, n: int = 1) -> str:
    """The text of source [n] in a prompt."""
    match = re.search(rf"^\[{n}\] (.*)$", messages[-1]["content"], re.MULTILINE)
    return match.group(1) if match else ""
