"""The answer pipeline: retrieve -> select evidence -> generate -> verify -> Answer.

Grounding comes from the pipeline, not from the small model: evidence is a few scored
sentences; the model's text is kept only when verification finds it in the cited evidence;
otherwise the answer is the best evidence sentence itself; and when even the best evidence is
weak, the answer says the documents do not say.
"""

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from rag.config import Config
from rag.embedding import Embedder
from rag.evidence import Evidence, EvidenceSelector
from rag.generation import Generator
from rag.lexical import terms
from rag.retrieval import Retriever
from rag.store import Store
from rag.verification import streaming_problem, verify

log = logging.getLogger(__name__)

GENERATED, EXTRACTIVE, ABSTAINED = "generated", "extractive", "abstained"
ABSTAIN_TEXT = "The documents do not say. No passage in them answers this question."
# Measured on held-out questions with SmolLM2-135M: a plain context-and-question prompt gave
# drafts that passed verification more often than instructions to cite, which this model
# mostly garbles; verification attaches the [n] of the source a sentence comes from.
PROMPT = "Context:\n{sources}\n\nQuestion: {question}\nAnswer with a short sentence from the context."
# Keep evidence within this distance of the best score: a small set keeps the model on topic.
EVIDENCE_MARGIN = 0.15


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


@dataclass(frozen=True)
class Options:
    """Per-question overrides of the Config."""

    top_k: int
    max_evidence: int
    max_new_tokens: int
    extractive_only: bool

    @classmethod
    def from_config(cls, config: Config, **overrides) -> "Options":
        values = {k: getattr(config, k) for k in ("top_k", "max_evidence", "max_new_tokens", "extractive_only")}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


CONNECTIVE = re.compile(r"^\s*(?:and|but|also|so|then|ok|okay)\b[\s,]*", re.IGNORECASE)
LEANS_ON_CONTEXT = re.compile(r"^(?:what about|how about|and|but|also|so|then|why|how come)\b|\b(?:it|its|they|them|their|that|this|those|these|he|she|his|her)\b", re.IGNORECASE)
NUMBER_PHRASE = re.compile(r"\s*\b(?:in|on|by|since|during|for|from|until|of)?\s*\d[\d,.]*\b", re.IGNORECASE)


def follow_up(question: str) -> str:
    """A follow-up without its leading connective ("and how much in 2023?" -> "how much in 2023?")."""
    return CONNECTIVE.sub("", question).strip() or question


def standalone_query(question: str, history: list[str]) -> str:
    """The question as it stands alone, for a question that may lean on the previous one.

    A follow-up ("and how much in 2023?", "what about Google?") is short, starts with a
    connective or refers back with a pronoun; the previous question is carried along so
    retrieval knows the topic, minus any numbers the follow-up replaces with its own.
    """
    if not history or not (len(terms(question)) <= 2 or LEANS_ON_CONTEXT.search(question)):
        return question
    previous = history[-1].strip()
    if re.search(r"\d", question):
        previous = " ".join(NUMBER_PHRASE.sub("", previous).split())
    return f"{previous} {follow_up(question)}"


def display_text(quote: str) -> str:
    """A quoted passage as one line of prose: list markers and table bars become separators."""
    lines = [re.sub(r"^\s*(?:[-*+•‣◦▪●–—]|\d{1,3}[.)])\s+", "", line).strip() for line in quote.splitlines()]
    lines = [re.sub(r"\s*\|\s*", "; ", line.strip("| ")) for line in lines if line.strip(" |:-")]
    text = ""
    for line in lines:
        text = f"{text}{' ' if not text or text.endswith(':') else '; '}{line}" if text else line
    return " ".join(text.split())


class Answerer:
    """Answers questions from one loaded store.

    Args:
        store: the index.
        embedder: the embedder the index was built with.
        generator: the language model (unused in extractive-only mode).
        config: settings.
    """

    def __init__(self, store: Store, embedder: Embedder, generator: Generator | None, config: Config):
        self.store = store
        self.embedder = embedder
        self.generator = generator
        self.config = config
        self.retriever = Retriever(store)
        self.selector = EvidenceSelector(store)

    def citation(self, n: int, evidence: Evidence) -> Citation:
        unit = evidence.unit
        text = self.store.documents[unit.source].text
        return Citation(n, unit.source, unit.quote_start, unit.end, text[unit.quote_start:unit.end], evidence.score)

    def find_evidence(self, query: str, asked: str, options: Options, timings: dict,
                      query_vector=None) -> list[Evidence]:
        """Retrieves chunks for `query` and scores their units.

        Args:
            query: the question as it stands alone.
            asked: what is asked now (a follow-up without its context): its form decides what
                an answer must contain.
            options: per-call settings.
            timings: filled with retrieve and evidence milliseconds.
            query_vector: `query` already embedded, if it was.
        """
        start = time.perf_counter()
        if query_vector is None:
            query_vector = self.embedder.embed([query])[0]
        query_terms = terms(query)
        hits = self.retriever.search(query_vector, query_terms, options.top_k)
        timings["retrieve"] = ms_since(start)
        start = time.perf_counter()
        evidence = self.selector.select(asked, query_vector, query_terms, hits)
        timings["evidence"] = ms_since(start)
        return evidence

    def prompt(self, question: str, evidence: list[Evidence]) -> list[dict]:
        sources = "\n".join(f"[{i}] {display_text(e.unit.full_text)}" for i, e in enumerate(evidence, 1))
        return [{"role": "user", "content": PROMPT.format(sources=sources, question=question)}]

    def stream(self, question: str, history: list[str] | None = None, options: Options | None = None,
               query_vector=None) -> Iterator[str]:
        """Yields the answer text as it is produced, then returns the final Answer.

        Generator text that fails verification is replaced in the final Answer, so callers
        should show `Answer.text` once the stream ends (AnswerStream does this bookkeeping).

        Args:
            question: the question.
            history: earlier questions of the conversation, oldest first.
            options: per-call settings.
            query_vector: the question already embedded (batch mode embeds all at once).
        """
        options = options or Options.from_config(self.config)
        started = time.perf_counter()
        timings: dict = {}
        query = standalone_query(question, history or [])
        asked = follow_up(question) if query != question else question
        evidence = self.find_evidence(query, asked, options, timings, query_vector if query == question else None)
        passages = tuple(self.citation(i, e) for i, e in enumerate(evidence[:5], 1))
        if not evidence or evidence[0].score < self.config.min_evidence:
            yield ABSTAIN_TEXT
            return self.finish(question, ABSTAIN_TEXT, (), ABSTAINED, passages, timings, started)
        chosen = distinct(e for e in evidence if e.score >= evidence[0].score - EVIDENCE_MARGIN)[: options.max_evidence]
        draft = ""
        if not options.extractive_only and self.generator is not None:
            check, draft = yield from self.generate(query, chosen, options, timings)
            if check is not None and check.supported:
                text, citations = renumber(check.text, [self.citation(n, chosen[n - 1]) for n in check.cited])
                return self.finish(question, text, citations, GENERATED, passages, timings, started)
        citation = self.citation(1, chosen[0])
        text = f"{display_text(citation.quote)} [1]"
        if not draft:
            yield text  # a rejected draft was already streamed: callers show Answer.text instead
        return self.finish(question, text, (citation,), EXTRACTIVE, passages, timings, started)

    def generate(self, question: str, chosen: list[Evidence], options: Options, timings: dict):
        """Streams the model's draft; returns (Check or None if abandoned, the draft)."""
        texts = [e.unit.full_text for e in chosen]
        start = time.perf_counter()
        draft = ""
        check = None
        vocabulary = "\n".join(texts + [question])
        for piece in self.generator.stream(self.prompt(question, chosen), options.max_new_tokens, vocabulary):
            draft += piece
            yield piece
            problem = streaming_problem(draft, texts, question)
            if problem:
                # No later token can make this draft pass; stop paying for it.
                log.info("draft abandoned (%s): %r", problem, draft)
                break
        else:
            verify_start = time.perf_counter()
            check = verify(draft, texts, question, core=chosen[0].unit.text, core_context=chosen[0].unit.lead_in)
            timings["verify"] = ms_since(verify_start)
            if not check.supported:
                log.info("draft rejected (%s): %r", check.reason, draft)
        timings["generate"] = ms_since(start) - timings.get("verify", 0.0)
        return check, draft

    def finish(self, question, text, citations, method, passages, timings, started) -> Answer:
        timings["total"] = ms_since(started)
        return Answer(question, text, tuple(citations), method == ABSTAINED, method, passages, timings)


def distinct(evidence) -> list[Evidence]:
    """Drops evidence whose text repeats a better one's (a sentence also shown with the one
    before it, or the same sentence in two files), so the model sees each fact once."""
    kept: list[Evidence] = []
    for e in evidence:
        text = " ".join(e.unit.text.split())
        if not any(text in " ".join(k.unit.full_text.split()) or " ".join(k.unit.text.split()) in e.unit.full_text for k in kept):
            kept.append(e)
    return kept


def renumber(text: str, citations: list[Citation]) -> tuple[str, tuple[Citation, ...]]:
    """Makes citation numbers run 1, 2, ... in order of first mention."""
    order: dict[int, int] = {}
    for match in re.finditer(r"\[(\d+)\]", text):
        order.setdefault(int(match.group(1)), len(order) + 1)
    by_number = {c.n: c for c in citations}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{order[int(m.group(1))]}]", text)
    renumbered = tuple(
        Citation(new, c.source, c.start, c.end, c.quote, c.score)
        for old, new in sorted(order.items(), key=lambda kv: kv[1])
        for c in [by_number[old]]
    )
    return text, renumbered


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
