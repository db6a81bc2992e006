"""What the chat does, apart from how it looks: answer a question (streamed), stop, add and
remove documents. Plain functions over rag's public API, so tests call them without a browser.
"""

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from rag import RAG, SUPPORTED_SUFFIXES, RagError
from rag.documents import upload_name
from rag.inputs import printable
from ui.line import Line
from ui.render import answer_html, escape, is_streaming, stopped_html, streaming_html, waiting_html

log = logging.getLogger(__name__)

# The readers rag has; other uploads are refused by name.
UPLOAD_TYPES = SUPPORTED_SUFFIXES
MAX_UPLOADS = 20  # files in one upload; each is also limited by Config.max_file_mb
WAIT_STEP = 0.5  # seconds between looks at the line while a question waits its turn


def message_text(message: dict) -> str:
    """The text of a chat message, in either of the shapes Gradio hands back."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def take_question(message: str, chat: list[dict]) -> tuple[str, str, list[dict]]:
    """Moves the typed question into the chat at once; the answer follows in `respond`.

    Returns:
        (the cleared text box, the question, the chat with the question added).
    """
    question = " ".join((message or "").split())
    if not question:
        return "", "", chat
    # Escaped: the chat renders a message as Markdown with HTML, and a question is shown as typed
    # (a lone surrogate, which respond refuses, as U+FFFD: the page's JSON cannot carry one).
    return "", question, chat + [{"role": "user", "content": escape(printable(question))}]


def respond(rag: RAG, question: str, chat: list[dict], questions: list[str], line: Line | None = None,
            **overrides) -> Iterator[tuple[list[dict], list[str]]]:
    """Streams the answer to `question` into the chat, then shows the verified answer with its sources.

    Args:
        rag: the shared answerer.
        question: the question (already shown in `chat` by take_question); blank does nothing.
        chat: the conversation as Gradio messages.
        questions: earlier questions of this session, oldest first (for follow-ups).
        line: where the question waits its turn, shared with the API (None: no wait).
        **overrides: top_k, max_evidence, max_new_tokens, extractive_only for this answer.

    Yields:
        (chat, questions) as the answer grows; the last has the final answer.
    """
    if not question:
        return
    asked = questions + [question]
    turn = len(asked)

    def showing(content: str) -> tuple[list[dict], list[str]]:
        return chat + [{"role": "assistant", "content": content}], asked

    yield showing(streaming_html(""))
    with (line or Line(None)).place() as place:
        shown = None
        while not place.wait(WAIT_STEP):  # API callers may hold the places
            if place.ahead != shown:
                shown = place.ahead
                yield showing(waiting_html(shown))
        try:
            stream = rag.stream(question, history=questions, **overrides)
            text = ""
            for piece in stream:
                text += piece
                yield showing(streaming_html(text))
            final = answer_html(stream.answer, turn, rag.document_text)
        except (RagError, ValueError) as exc:
            log.warning("could not answer %r: %s", question, exc)
            final = escape(f"Sorry, I could not answer that: {exc}")
    yield showing(final)


def mark_stopped(chat: list[dict]) -> list[dict]:
    """After the stop button: the partly streamed answer is kept and marked as stopped."""
    if chat and chat[-1].get("role") == "assistant" and is_streaming(message_text(chat[-1])):
        return chat[:-1] + [{"role": "assistant", "content": stopped_html(message_text(chat[-1]))}]
    return chat


def document_list(rag: RAG) -> str:
    """The indexed documents as Markdown."""
    names = rag.documents
    lines = [f"**{len(names)} document{'s' if len(names) != 1 else ''} indexed**", ""]
    lines += [f"- `{name}` ({len(rag.document_text(name)):,} characters)" for name in names]
    return "\n".join(lines)


def add_documents(rag: RAG, paths: list[str], progress: Callable[[int, int], None] | None = None) -> str:
    """Copies uploaded files into the corpus folder and indexes them.

    Returns:
        A message naming what was added or updated, and each file that could not be used and why.
    """
    paths = [Path(p) for p in paths or []]
    if not paths:
        return "Choose files to upload."
    if len(paths) > MAX_UPLOADS:
        return f"Nothing added: {len(paths)} files chosen, at most {MAX_UPLOADS} at a time."
    wrong = [p.name for p in paths if p.suffix.lower() not in UPLOAD_TYPES]
    good = [p for p in paths if p.suffix.lower() in UPLOAD_TYPES]
    lines = [f"Not added {name}: only {' '.join(UPLOAD_TYPES)} files can be read." for name in wrong]
    if good:
        try:
            report = rag.add_files(good, progress=progress)
        except RagError as exc:
            return "\n\n".join(lines + [f"Nothing added: {exc}"])
        names = {upload_name(p.name) for p in good}
        lines += [f"Could not read {name}: {reason}." for name, reason in sorted(report.skipped.items()) if name in names]
        added = [n for n in report.added + report.updated if n in names]
        if added:
            lines.insert(0, f"Added {', '.join(added)}: ready for questions.")
        elif not any(name in report.skipped for name in names):
            lines.insert(0, f"{', '.join(sorted(names))}: already indexed, unchanged.")
    return "\n\n".join(lines)


def remove_document(rag: RAG, source: str | None) -> str:
    """Deletes a document from the corpus folder and the index; returns a message."""
    if not source:
        return "Choose a document to remove."
    if source in rag.documents and len(rag.documents) == 1:
        return "The index needs at least one document: add another before removing this one."
    try:
        rag.remove_document(source)
    except RagError as exc:
        return f"Could not remove {source}: {exc}"
    return f"Removed {source}."
