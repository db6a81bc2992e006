"""The seams between the pipeline and the models: what an embedder and a generator must do.

The answering stages and indexing are written against these protocols only; which engine runs
a model is decided in rag/models/factory.py. Tests pass deterministic fakes (tests/fakes.py).
"""

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

# Texts per embedder call while indexing: the embedder sorts each call's texts by length, so
# larger calls pad less; the progress bar moves once a call.
CALL_TEXTS = 512


def embed_in_calls(embedder: "Embedder", texts: list[str], progress=None) -> "np.ndarray":
    """Vectors of every text, in input order, CALL_TEXTS texts per `embed` call.

    Args:
        embedder: any Embedder.
        texts: the texts (sorted by length, for little padding).
        progress: called as progress(done, total) after each call.
    """
    import numpy as np

    out = []
    for start in range(0, len(texts), CALL_TEXTS):
        out.append(embedder.embed(texts[start:start + CALL_TEXTS]))
        if progress:
            progress(min(start + CALL_TEXTS, len(texts)), len(texts))
    return np.concatenate(out) if out else np.zeros((0, embedder.dimension), np.float32)


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    name: str

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> "np.ndarray": ...


class Generator(Protocol):
    """Writes replies to chat messages: one streamed piece by piece, or many at once.

    `vocabulary`, when given, is text whose words (plus common function words) are the only
    ones the reply may use. `give_up(i, text)` is asked as reply i grows and ends that reply
    when it returns True.
    """

    name: str

    def stream(self, messages: list[dict], max_new_tokens: int, vocabulary: str | None = None) -> Iterator[str]: ...

    def generate_batch(self, prompts: list[list[dict]], max_new_tokens: int, vocabularies: list[str | None],
                       give_up: Callable[[int, str], bool] | None = None) -> list[str]: ...


class Ranker(Protocol):
    """Scores candidates from their feature rows (rag/answering/ranking.py FEATURES)."""

    def chances(self, rows: "np.ndarray") -> "np.ndarray":
        """The chance in [0, 1] that each candidate answers the question."""
        ...
