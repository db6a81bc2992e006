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
from dataclasses import dataclass

from rag.answering.abstention import assess
from rag.answering.answer import Answer, Citation
from rag.answering.composition import (
    MAX_WORDS,
    continuation,
    display_text,
    heading_needed,
    heading_span,
    names_one,
    pick,
    pieces,
    required_names,
)
from rag.answering.conversation import follow_up, standalone_query
from rag.answering.evidence import Evidence, EvidenceSelector, bare_heading
from rag.answering.memo import AnswerMemo
from rag.answering.originals import Originals
from rag.answering.ranking import rerank
from rag.answering.verification import streaming_problem, verify
from rag.chunking import clean, unit_text
from rag.config import Config
from rag.errors import PromptTooLongError
from rag.lexical import terms
from rag.models.base import Embedder, Generator, Ranker
from rag.stores.base import Search
from rag.stores.store import Store

log = logging.getLogger(__name__)

GENERATED, EXTRACTIVE, ABSTAINED = "generated", "extractive", "abstained"
ABSTAIN_TEXT = "The documents do not say. No passage in them answers this question."
# Measured on held-out questions with SmolLM2-135M: a plain context-and-question prompt gave
# drafts that passed verification more often than instructions to cite, which this model
# mostly garbles; verification attaches the [n] of the source a sentence comes from.
PROMPT = "Context:\n{sources}\n\nQuestion: {question}\nAnswer with a short sentence from the context."
# Keep evidence within this distance of the best score: a small set keeps the model on topic.
# 0.15 left out a second-best unit that held the answer (fit sets, 2026-12-01: 0.25 with
# CLOSE 0.2 answered 3 more of 60 on fresh_fit and 2 more of 34 on sqlite_fit, lost none).
EVIDENCE_MARGIN = 0.25
# Passages shown beside an answer, cited or not.
PASSAGES = 5


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


class Answerer:
    """Answers questions from one loaded store.

    Args:
        store: the index.
        retriever: the store's search (rag/stores/factory.py make_retriever).
        embedder: the embedder the index was built with.
        generator: the language model (unused in extractive-only mode).
        config: settings.
        ranker: orders the evidence instead of its own score (Config.ranker); None keeps it.
    """

    def __init__(self, store: Store, retriever: Search, embedder: Embedder, generator: Generator | None,
                 config: Config, ranker: Ranker | None = None):
        self.store = store
        self.embedder = embedder
        self.generator = generator
        self.config = config
        self.retriever = retriever
        self.selector = EvidenceSelector(store, embedder, self.retriever)
        self.originals = Originals(store)
        self.ranker = ranker
        self.memo = AnswerMemo(config.answer_memo)

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

        Returns:
            The scored units, best first, and how likely they are to answer at all.
        """
        start = time.perf_counter()
        if query_vector is None:
            query_vector = self.embedder.embed([query])[0]
        query_terms = terms(query)
        hits = self.retriever.search(query_vector, query_terms, options.top_k)
        timings["retrieve"] = ms_since(start)
        start = time.perf_counter()
        evidence = self.selector.select(asked, query_vector, query_terms, hits)
        if self.ranker is not None:
            evidence = rerank(asked, evidence, self.store.units, self.retriever.idf, self.ranker)
        answerable = assess(query, query_terms, self.retriever, hits, evidence)
        timings["evidence"] = ms_since(start)
        return evidence, answerable

    def prompt(self, plan: "Plan") -> list[dict]:
        sources = "\n".join(f"[{i}] {display_text(e.unit.full_text)}" for i, e in enumerate(plan.chosen, 1))
        return [{"role": "user", "content": PROMPT.format(sources=sources, question=plan.query)}]

    def plan(self, question: str, history: list[str] | None, options: Options, query_vector=None) -> "Plan":
        """Everything before generation: the standalone query, the evidence, and what to show."""
        started = time.perf_counter()
        timings: dict = {}
        query = standalone_query(question, history or [])
        asked = follow_up(question) if query != question else question
        evidence, answerable = self.find_evidence(query, asked, options, timings, query_vector if query == question else None)
        passages = tuple(self.citation(i, e) for i, e in enumerate(self.shown(evidence), 1))
        chosen = []
        candidates = [e for e in evidence if not e.left_out]
        follows = None
        if candidates and answerable.confidence >= self.config.min_confidence:
            chosen = distinct(e for e in candidates if e.score >= candidates[0].score - EVIDENCE_MARGIN)[: options.max_evidence]
            # A compilation's copy is cited where it was copied from.
            chosen = distinct(self.originals.original(e, candidates) for e in chosen)
            # A best sentence that only restates the question is shown with the one after it.
            follows = continuation(asked, chosen[0], candidates, self.store.units)
            if follows is not None:
                chosen = [chosen[0], follows] + [e for e in chosen[1:] if e is not follows][: max(options.max_evidence - 2, 0)]
        generate = bool(chosen) and not options.extractive_only and self.generator is not None
        return Plan(question, query, asked, chosen, passages, generate, timings, started,
                    leaves_out=len(candidates) < len(evidence), follows=follows)

    def shown(self, evidence: list[Evidence], count: int = PASSAGES) -> list[Evidence]:
        """The closest evidence to show beside an answer, a compilation's copies at the place
        they were copied from (each passage once)."""
        shown: list[Evidence] = []
        for e in evidence:
            original = self.originals.original(e, evidence)
            if all(original.index != s.index for s in shown):
                shown.append(original)
            if len(shown) == count:
                break
        return shown

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
        plan = self.plan(question, history, options, query_vector)
        if not plan.generate:
            answer = self.conclude(plan, None)
            yield answer.text
            return answer
        start = time.perf_counter()
        draft = ""
        try:
            for piece in self.generator.stream(self.prompt(plan), options.max_new_tokens, plan.vocabulary):
                draft += piece
                yield piece
                if self.hopeless(plan, draft):
                    break
        except PromptTooLongError as exc:  # evidence too long for the model's room: the quote answers
            log.warning("no draft: %s", exc)
        plan.timings["generate"] = ms_since(start)
        answer = self.conclude(plan, draft)
        if not draft:
            yield answer.text
        # A rejected draft was already streamed: callers show Answer.text instead.
        return answer

    def answer_batch(self, questions: list[str], query_vectors, options: Options,
                     histories: list[list[str] | None] | None = None) -> list[Answer]:
        """Answers several questions, generating their drafts side by side.

        Args:
            questions: the questions.
            query_vectors: the questions, embedded.
            options: per-call settings.
            histories: per question, the earlier questions of its conversation (default: none).
        """
        histories = histories or [None] * len(questions)
        plans = [self.plan(q, h, options, v) for q, h, v in zip(questions, histories, query_vectors, strict=True)]
        todo = [p for p in plans if p.generate]
        drafts: dict[int, str] = {}
        if todo:
            start = time.perf_counter()
            replies = self.generator.generate_batch(
                [self.prompt(p) for p in todo], options.max_new_tokens, [p.vocabulary for p in todo],
                give_up=lambda row, text: self.hopeless(todo[row], text),
            )
            spent = ms_since(start)
            for plan, reply in zip(todo, replies):
                plan.timings["generate"] = spent
                drafts[id(plan)] = reply
        return [self.conclude(p, drafts.get(id(p))) for p in plans]

    def hopeless(self, plan: "Plan", draft: str) -> bool:
        problem = streaming_problem(draft, plan.texts, plan.query)
        if problem:
            # No later token can make this draft pass; stop paying for it.
            log.info("draft abandoned (%s): %r", problem, draft)
        return bool(problem)

    def conclude(self, plan: "Plan", draft: str | None) -> Answer:
        """The final Answer: the verified draft, else the best evidence quoted, else an abstention."""
        if not plan.chosen:
            return self.finish(plan, ABSTAIN_TEXT, (), ABSTAINED)
        if draft is not None and not streaming_problem(draft, plan.texts, plan.query):
            start = time.perf_counter()
            best = plan.chosen[0].unit
            check = verify(draft, plan.texts, plan.query, core=best.text, core_context=best.lead_in)
            plan.timings["verify"] = ms_since(start)
            # An identity question is answered by a name: the heading's ("PRAGMA x") or one the
            # best unit gives. A draft that names none of them does not answer; the quote does.
            required = required_names(plan.asked, plan.chosen[0], self.selector.document_names(best.source))
            named = names_one(draft, required)
            if check.supported and named:
                text, citations = renumber(check.text, [self.citation(n, plan.chosen[n - 1]) for n in check.cited])
                return self.finish(plan, text, citations, GENERATED)
            log.info("draft rejected (%s): %r", check.reason if not check.supported else f"names none of {sorted(required)}", draft)
        return self.compose(plan)

    def compose(self, plan: "Plan") -> Answer:
        """The quoted answer: the best evidence, with up to two close units and the heading
        that names what an identity question asks for."""
        picked = pick(plan.chosen, plan.follows)
        heading = picked[0].unit.heading if heading_needed(plan.asked, picked[0]) else ""
        parts = pieces(picked, self.document_text, MAX_WORDS - len(heading.split()),
                       lead_ins=not plan.leaves_out)
        texts, citations = [], []
        for n, piece in enumerate(parts, 1):
            source, start, shown = piece.evidence.unit.source, piece.start, piece.shown
            text = self.document_text(source)
            if n == 1 and heading:
                at = heading_span(text, heading, start)
                start = start if at is None else at
                # The citation holds the heading as written; the answer names it without its
                # section number ("4.3.4. The Trigram Tokenizer").
                shown = f"{bare_heading(heading)}: {shown}"
            citations.append(Citation(n, source, start, piece.end, text[start:piece.end], piece.evidence.score))
            texts.append(f"{shown} [{n}]")
        return self.finish(plan, " ".join(texts), citations, EXTRACTIVE)

    def document_text(self, source: str) -> str:
        return self.store.documents[source].text

    def finish(self, plan: "Plan", text: str, citations, method: str) -> Answer:
        plan.timings["total"] = ms_since(plan.started)
        return Answer(plan.question, text, tuple(citations), method == ABSTAINED, method, plan.passages, plan.timings)


@dataclass
class Plan:
    """One question's state between evidence selection and the final answer.

    Attributes:
        question: as asked.
        query: the question as it stands alone (with a follow-up's context).
        asked: what is asked now (a follow-up without its context).
        chosen: the evidence shown to the model and cited; empty means abstain.
        passages: the closest evidence, for display.
        generate: whether the model writes a draft.
        timings: milliseconds per stage so far.
        started: perf_counter() when answering began.
        leaves_out: some evidence is about what the question leaves out ("other than A").
        follows: the unit after the best one, when the best one only restates the question.
    """

    question: str
    query: str
    asked: str
    chosen: list[Evidence]
    passages: tuple[Citation, ...]
    generate: bool
    timings: dict
    started: float
    leaves_out: bool = False
    follows: Evidence | None = None

    @property
    def texts(self) -> list[str]:
        """The evidence as verification reads it: each unit under its heading."""
        return [unit_text(e.unit) for e in self.chosen]

    @property
    def vocabulary(self) -> str:
        return "\n".join(self.texts + [self.query])


def distinct(evidence) -> list[Evidence]:
    """Drops evidence whose text repeats a better one's (a sentence also shown with the one
    before it, or the same sentence in two files), so the model sees each fact once."""
    kept: list[Evidence] = []
    for e in evidence:
        own, whole = clean(e.unit.text), clean(e.unit.full_text)
        if not any(own in clean(k.unit.full_text) or clean(k.unit.text) in whole for k in kept):
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
