"""Answers as HTML for the chat: [n] markers linked to their sources, each cited passage shown
with its file, score and the quote highlighted in its paragraph.

Everything taken from documents or from the model is escaped; the HTML is one line, so the
chat's Markdown renderer passes it through as a single HTML block.
"""

import html
import re
from collections.abc import Callable

from rag import Answer, Citation

CONTEXT_CHARS = 300  # at most this much of the paragraph on each side of a quote
PREVIEW_CHARS = 160  # of a quote, in the one-line summary of a source
SHOWN_PASSAGES = 3  # closest passages shown under an abstention
STREAMING = "rag-streaming"
CURSOR = '<span class="rag-cursor">▍</span>'
MARKER = re.compile(r"\[(\d+)\]")

DocumentText = Callable[[str], str]


def anchor(turn: int, n: int) -> str:
    """The element id of source [n] of the answer to question number `turn`."""
    return f"rag-{turn}-{n}"


def escape(text: str) -> str:
    """Text as HTML, line breaks kept."""
    return html.escape(text).replace("\n", "<br>")


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0] + " …"


def link_markers(text: str, turn: int, numbers: set[int]) -> str:
    """Escapes an answer and turns each [n] with a source into a link to that source."""
    def link(match: re.Match) -> str:
        n = int(match.group(1))
        if n not in numbers:
            return match.group(0)
        return f'<a class="rag-cite" href="#{anchor(turn, n)}" title="source {n}">[{n}]</a>'

    return MARKER.sub(link, escape(text))


def context_bounds(text: str, start: int, end: int, limit: int = CONTEXT_CHARS) -> tuple[int, int]:
    """The paragraph around text[start:end], at most `limit` characters on each side.

    A paragraph ends at a blank line, or at a line break in documents that have no blank lines
    (one paragraph a line). Where the limit cuts a paragraph, the cut falls between words.
    """
    brk = "\n\n" if "\n\n" in text else "\n"
    lo, hi = max(0, start - limit), min(len(text), end + limit)
    cut = text.rfind(brk, lo, start)
    if cut >= 0:
        lo = cut + len(brk)
    elif lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space >= 0 else start
    cut = text.find(brk, end, hi)
    if cut >= 0:
        hi = cut
    elif hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space >= 0 else end
    return lo, hi


def in_context(citation: Citation, text: str) -> str:
    """The citation's quote, <mark>ed inside its paragraph, as HTML."""
    lo, hi = context_bounds(text, citation.start, citation.end)
    before = ("… " if lo > 0 and text[lo - 1] not in "\n" else "") + text[lo:citation.start].lstrip()
    after = text[citation.end:hi].rstrip() + (" …" if hi < len(text) and text[hi] != "\n" else "")
    return f"{escape(before)}<mark>{escape(citation.quote)}</mark>{escape(after)}"


def source_html(citation: Citation, turn: int, document_text: DocumentText) -> str:
    """One source: a summary line (number, file, score, quote) that opens onto its paragraph."""
    summary = (
        f'<span class="rag-n">[{citation.n}]</span> <span class="rag-file">{html.escape(citation.source)}</span>'
        f' <span class="rag-score">score {citation.score:.2f}</span>'
        f' <span class="rag-quote">“{html.escape(shorten(citation.quote, PREVIEW_CHARS))}”</span>'
    )
    body = in_context(citation, document_text(citation.source))
    return (f'<details class="rag-source" id="{anchor(turn, citation.n)}"><summary>{summary}</summary>'
            f'<div class="rag-context">{body}</div></details>')


def answer_html(answer: Answer, turn: int, document_text: DocumentText) -> str:
    """The final answer: its text with linked [n], then its sources (or, for an abstention,
    the closest passages found).

    Args:
        answer: the verified answer.
        turn: the question's number in the conversation, which keeps element ids unique.
        document_text: source name -> the text that citation offsets point into.
    """
    if answer.abstained:
        passages = answer.passages[:SHOWN_PASSAGES]
        head = "Closest passages found (none answers the question):" if passages else "No passage came close."
        sources = [source_html(p, turn, document_text) for p in passages]
        text = escape(answer.text)
        kind = "rag-abstained"
    else:
        head = "Sources"
        sources = [source_html(c, turn, document_text) for c in answer.citations]
        text = link_markers(answer.text, turn, {c.n for c in answer.citations})
        kind = "rag-answered"
    return (f'<div class="rag-answer {kind}"><div class="rag-text">{text}</div>'
            f'<div class="rag-sources"><div class="rag-sources-head">{head}</div>{"".join(sources)}</div></div>')


def streaming_html(text: str) -> str:
    """The answer while it streams in, with a cursor."""
    return f'<div class="rag-answer {STREAMING}"><div class="rag-text">{escape(text)}{CURSOR}</div></div>'


def waiting_html(ahead: int) -> str:
    """In place of the answer while the question waits for a free place (shown as streaming,
    so the stop button works on it)."""
    before = f"{ahead} question{'s' if ahead != 1 else ''} before yours" if ahead else "yours is next"
    return (f'<div class="rag-answer {STREAMING}"><div class="rag-text">'
            f'<span class="rag-note">Waiting in line: {before}.</span> {CURSOR}</div></div>')


def is_streaming(message: str) -> bool:
    return f'class="rag-answer {STREAMING}"' in message


def stopped_html(message: str) -> str:
    """A streaming answer frozen where the stop button left it."""
    return message.replace(STREAMING, "rag-stopped", 1).replace(CURSOR, '<span class="rag-note"> — stopped.</span>')
