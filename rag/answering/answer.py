"""What a user gets back: an Answer with its Citations (rag/answering/pipeline.py makes them)."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Citation:
    """A cited passage: `document_text[start:end] == quote`.

    Attributes:
        n: the number used as [n] in the answer text.
        source: the document, relative to the corpus folder.
        start, end: character offsets of the quote in the document text.
        quote: the passage.
        score: its evidence score in [0, 1].
    """

    n: int
    source: str
    start: int
    end: int
    quote: str
    score: float


@dataclass(frozen=True)
class Answer:
    """An answer with its citations.

    Attributes:
        question: the question as asked.
        text: the answer; every [n] in it has a Citation with that n.
        citations: the cited passages, numbered in order of first mention.
        abstained: True when the documents do not answer the question.
        method: "generated" (model text that passed verification), "extractive" (the best
            evidence, quoted) or "abstained".
        passages: the closest evidence found, best first, cited or not (n is the rank).
        timings: milliseconds per stage (retrieve, evidence, generate, verify, total).
    """

    question: str
    text: str
    citations: tuple[Citation, ...]
    abstained: bool
    method: str
    passages: tuple[Citation, ...] = ()
    timings: dict = field(default_factory=dict)

    def to_dict(self, id: str | None = None) -> dict:
        """The answer in the JSON schema of `rag ask --json` and `rag eval --out`."""
        return {
            "id": id,
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [
                {"n": c.n, "source": c.source, "start": c.start, "end": c.end, "quote": c.quote, "score": round(c.score, 4)}
                for c in self.citations
            ],
            "latency_ms": round(self.timings.get("total", 0.0), 1),
        }
