"""Batch answering: a question file in, one answer row per question out, resumable.

Input: .txt (one question a line), .jsonl (`id`, `question`, other fields passed through) or
.csv (a `question` column, optional `id`). Bad lines become error rows and never stop the run.
Output: JSON lines (the answer schema plus `error`) or CSV, one row per input question in input
order, each flushed as it is written so a killed run keeps what it did; `resume` skips ids
already in the output and appends the rest.
"""

import csv
import io
import json
import logging
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.answering.answer import Answer
from rag.errors import RagError
from rag.inputs import MAX_QUESTION_CHARS, check_question, printable  # noqa: F401 (MAX_QUESTION_CHARS: public)

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv")
SCHEMA = ("id", "question", "answer", "abstained", "citations", "latency_ms", "error")


@dataclass(frozen=True)
class Question:
    """One input question, or the error that stopped a line from being one.

    Attributes:
        id: from the input, else the line (or row) number.
        question: the question text ("" for a bad line).
        line: where it came from in the input, for messages.
        extra: other input fields, passed through to the output row.
        error: why this line cannot be answered (None for a good question).
    """

    id: str
    question: str
    line: int
    extra: dict = field(default_factory=dict)
    error: str | None = None


def input_format(name: str, text: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".txt":
        return "txt"
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return "jsonl" if first.startswith("{") else "txt"


def parse_questions(text: str, fmt: str) -> list[Question]:
    """Reads questions from the text of an input file.

    Args:
        text: the whole input.
        fmt: "txt", "jsonl" or "csv".

    Returns:
        One Question per non-blank line (or CSV row), bad ones carrying an error.
    """
    if fmt == "txt":
        rows = [(n, {"question": line.strip()}) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    elif fmt == "jsonl":
        rows = [(n, parse_json_line(line)) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or "question" not in reader.fieldnames:
            raise RagError(f"a CSV question file needs a 'question' column; it has {reader.fieldnames or 'none'}")
        rows = [(reader.line_num, dict(row)) for row in reader]
    else:
        raise RagError(f"unknown question format {fmt!r}; use txt, jsonl or csv")
    questions, first_line = [], {}
    for line, row in rows:
        question = check_row(line, row)
        if question.error is None and question.id in first_line:
            question = Question(question.id, question.question, line, question.extra,
                                f"duplicate id {question.id!r} (first on line {first_line[question.id]})")
        first_line.setdefault(question.id, line)
        questions.append(question)
    return questions


def parse_json_line(line: str) -> dict | str:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON ({exc.msg})"
    return row if isinstance(row, dict) else "a JSON object with a 'question' field was expected"


def check_row(line: int, row: dict | str) -> Question:
    if isinstance(row, str):
        return Question(str(line), "", line, {}, f"line {line}: {row}")
    qid = str(row.get("id") or line).strip()
    text = row.get("question")
    extra = {k: v for k, v in row.items() if k not in ("id", "question")}
    try:
        text = check_question(text)
    except ValueError as exc:
        shown = printable(" ".join(text.split())[:200]) if isinstance(text, str) else ""
        return Question(qid, shown, line, extra, f"line {line}: {exc}")
    return Question(qid, text, line, extra)


def answer_row(question: Question, answer: Answer | None, error: str | None = None) -> dict:
    if answer is not None:
        row = answer.to_dict(question.id)
        row["error"] = None
    else:
        row = {"id": question.id, "question": question.question, "answer": None, "abstained": None,
               "citations": [], "latency_ms": 0.0, "error": error or question.error}
    for key, value in question.extra.items():
        row.setdefault(key, value)
    return row


def flatten_citations(citations: list[dict]) -> str:
    """Citations as one readable CSV cell: [1] file (start-end): “quote” | [2] ..."""
    return " | ".join(f"[{c['n']}] {c['source']} ({c['start']}-{c['end']}): “{' '.join(c['quote'].split())}”" for c in citations)


class Writer:
    """Appends rows to an output (file or stream), flushing each one."""

    def __init__(self, stream, fmt: str, extra_columns: list[str], write_header: bool):
        self.stream = stream
        self.fmt = fmt
        self.columns = list(SCHEMA) + [c for c in extra_columns if c not in SCHEMA]
        self.csv = csv.DictWriter(stream, self.columns, extrasaction="ignore") if fmt == "csv" else None
        if self.csv and write_header:
            self.csv.writeheader()

    def write(self, row: dict):
        # printable: an id or passed-through field may hold a lone surrogate, which UTF-8 cannot write.
        if self.csv:
            flat = dict(row, citations=flatten_citations(row["citations"]))
            self.csv.writerow({k: "" if v is None else printable(v) if isinstance(v, str) else v for k, v in flat.items()})
        else:
            self.stream.write(printable(json.dumps(row, ensure_ascii=False)) + "\n")
        self.stream.flush()


def done_ids(path: Path, fmt: str) -> set[str]:
    """Ids already answered in an output file; a torn last line (a killed write) is cut off."""
    if not path.exists():
        return set()
    data = path.read_text(encoding="utf-8")
    if data and not data.endswith("\n"):
        data = data[: data.rfind("\n") + 1]
        path.write_text(data, encoding="utf-8")
    if fmt == "csv":
        return {row["id"] for row in csv.DictReader(io.StringIO(data)) if row.get("id")}
    ids = set()
    for line in data.splitlines():
        try:
            ids.add(str(json.loads(line)["id"]))
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
    return ids


@dataclass
class Summary:
    """Totals of a batch run."""

    answered: int = 0
    abstained: int = 0
    failed: int = 0
    skipped: int = 0  # already in the output (resume)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        lat = sorted(self.latencies)
        median = statistics.median(lat) if lat else 0.0
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))] if lat else 0.0
        rate = 60.0 * len(lat) / self.seconds if self.seconds else 0.0
        text = (f"{self.answered} answered, {self.abstained} abstained, {self.failed} failed"
                f"{f', {self.skipped} already done' if self.skipped else ''}; "
                f"latency median {median:.0f} ms, p95 {p95:.0f} ms; {rate:.1f} questions/minute")
        return text


def run_batch(rag, questions: list[Question], writer: Writer, skip: Iterable[str] = (),
              progress: Callable[[int, int], None] | None = None, **overrides) -> Summary:
    """Answers the questions in order, writing one row each.

    Args:
        rag: the RAG.
        questions: from parse_questions.
        writer: where rows go.
        skip: ids to leave out (already answered).
        progress: called as progress(done, total) after each row.
        **overrides: per-call settings for rag.answer_each.
    """
    started = time.perf_counter()
    skip = set(skip)
    summary = Summary(skipped=sum(q.id in skip for q in questions))
    todo = [q for q in questions if q.id not in skip]
    good = [q for q in todo if q.error is None]
    answers = rag.answer_each([q.question for q in good], **overrides)
    for done, question in enumerate(todo, 1):
        if question.error is not None:
            writer.write(answer_row(question, None))
            summary.failed += 1
            log.warning("%s", question.error)
        else:
            try:
                answer = next(answers)
            except (RagError, ValueError, RuntimeError) as exc:
                writer.write(answer_row(question, None, f"{type(exc).__name__}: {exc}"))
                summary.failed += 1
                answers = rag.answer_each([q.question for q in good[good.index(question) + 1:]], **overrides)
            else:
                writer.write(answer_row(question, answer))
                summary.abstained += answer.abstained
                summary.answered += not answer.abstained
                summary.latencies.append(answer.timings.get("total", 0.0))
        if progress:
            progress(done, len(todo))
    summary.seconds = time.perf_counter() - started
    return summary
