"""Figures for a question set: how many answers are right, rightly cited, rightly abstained.

Question files are JSON lines with `id`, `question` and either `answers` (right when the answer
contains one of them), `answers_all` (every one must appear), or `unanswerable: true`;
`docs` lists the files a right citation may point into: paths relative to the corpus folder,
or prefixes of file names (the default corpus uses three-digit prefixes).
"""

import json
import re
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path

from rag.answering.answer import Answer
from rag.errors import RagError

MARKER = re.compile(r"\s*\[\d+\]")
SHORT_WORDS = 30  # a right answer a person reads at a glance


def words(text: str) -> int:
    """Words of an answer, its [n] markers left out."""
    return len(MARKER.sub("", text).split())


@dataclass(frozen=True)
class Judged:
    """One question's outcome."""

    item: dict
    answer: Answer
    correct: bool  # right answer (or a right abstention)
    cited: bool  # some citation points into a file that holds the answer
    quotes_exact: bool = True  # every citation's quote is the document's text between its offsets

    @property
    def right(self) -> bool:
        if self.item.get("unanswerable"):
            return self.answer.abstained
        return self.correct and self.cited


@dataclass
class EvalReport:
    """Totals over a question set."""

    judged: list[Judged] = field(default_factory=list)

    def figures(self) -> dict:
        answerable = [j for j in self.judged if not j.item.get("unanswerable")]
        unanswerable = [j for j in self.judged if j.item.get("unanswerable")]
        latencies = sorted(j.answer.timings.get("total", 0.0) for j in self.judged)
        methods: dict[str, int] = {}
        for j in self.judged:
            methods[j.answer.method] = methods.get(j.answer.method, 0) + 1
        lengths = [words(j.answer.text) for j in self.judged if not j.answer.abstained]
        return {
            "questions": len(self.judged),
            "answerable": len(answerable),
            "answered_right": sum(j.correct for j in answerable),
            "answered_right_and_cited": sum(j.right for j in answerable),
            "right_within_30_words": sum(j.right and words(j.answer.text) <= SHORT_WORDS for j in answerable),
            "false_abstentions": sum(j.answer.abstained for j in answerable),
            "unanswerable": len(unanswerable),
            "abstained_right": sum(j.right for j in unanswerable),
            "methods": methods,
            "quotes_not_exact": sum(not j.quotes_exact for j in self.judged),
            "longest_answer_words": max(lengths, default=0),
            "answers_over_60_words": sum(n > 60 for n in lengths),
            "latency_ms_median": round(statistics.median(latencies), 1) if latencies else 0.0,
            "latency_ms_p95": round(percentile(latencies, 0.95), 1) if latencies else 0.0,
        }


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def normalise(text: str) -> str:
    return text.lower().replace("–", "-").replace("—", "-")


def contains_phrase(text: str, phrase: str) -> bool:
    """Case-insensitive whole-word match, en dash = hyphen."""
    pattern = r"(?<!\w)" + re.escape(normalise(phrase)) + r"(?!\w)"
    return re.search(pattern, normalise(text)) is not None


def source_matches(source: str, docs: tuple[str, ...]) -> bool:
    """Whether a cited source is one of `docs` (paths, or prefixes of file names)."""
    return source.startswith(docs) or Path(source).name.startswith(docs)


def judge(item: dict, answer: Answer) -> Judged:
    if item.get("unanswerable"):
        return Judged(item, answer, answer.abstained, True)
    if answer.abstained:
        return Judged(item, answer, False, False)
    if item.get("answers_all"):
        correct = all(contains_phrase(answer.text, p) for p in item["answers_all"])
    else:
        correct = any(contains_phrase(answer.text, p) for p in item.get("answers", []))
    docs = tuple(item.get("docs", []))
    cited = not docs or any(source_matches(c.source, docs) for c in answer.citations)
    return Judged(item, answer, correct, cited)


def load_questions(path: str | Path) -> list[dict]:
    """Reads a question set, naming the line of any malformed entry."""
    items = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RagError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(item, dict) or not str(item.get("question", "")).strip():
                raise RagError(f"{path}:{number}: needs a non-empty 'question'")
            item.setdefault("id", str(number))
            items.append(item)
    return items


def evaluate(rag, items: list[dict], on_answer=None) -> EvalReport:
    """Answers every question and judges it.

    Args:
        rag: a RAG.
        items: questions from load_questions.
        on_answer: called with each Judged as it is done.
    """
    report = EvalReport()
    for item in items:
        answer = rag.ask(item["question"])
        exact = all(rag.document_text(c.source)[c.start:c.end] == c.quote for c in answer.citations)
        judged = replace(judge(item, answer), quotes_exact=exact)
        report.judged.append(judged)
        if on_answer:
            on_answer(judged)
    return report
