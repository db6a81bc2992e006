"""Evidence -> the quoted answer: up to three cited units, at most MAX_WORDS words.

One sentence does not always carry the answer alone: a list's items follow its lead-in, two
passages may answer equally well, and in reference documents the heading or defined term
above a passage is often the very name asked for ("PRAGMA auto_vacuum: Query or set the
auto-vacuum status [1]"). Every piece of an answer is the documents' own text, and each
citation's quote is exactly the text between its offsets.
"""

import re
from dataclasses import dataclass

from rag.chunking import BULLET, ITEM
from rag.evidence import Evidence, bare_heading
from rag.lexical import terms

MAX_WORDS = 60
MAX_UNITS = 3
# A further unit joins the best one when its score is this close (items of the same list: twice this).
CLOSE = 0.1
# A heading this close above the quote is cited with it; a farther one is only named.
HEADING_REACH = 200
MAX_HEADING_WORDS = 10
MIN_PIECE_WORDS = 6
# Questions that ask for the identity of something: its name is often the heading above the text.
ASKS_IDENTITY = re.compile(
    # at the start or after a clause ("PRAGMA x came back clean, but ... Which pragma ...?")
    r"(?:^|[.,;:!?]\s+|\s[-\u2013\u2014]\s|\bbut\s+)\W*(?:which|who|whom|name\b|what\s+(?!(?:is|are|was|were|does|do|did|happens|happened|would|will|can|could|should|has|have|had|if|about)\b)\w+)"
    r"|\b(?:called|named|name of|what is the (?:name|command|function|option|setting|method|module|class|keyword|statement|pragma|tool))\b",
    re.IGNORECASE,
)

# The kind of thing asked for: "which pragma", "what tokenizer".
ASKED_KIND = re.compile(r"\b(?:which|what)\s+(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Piece:
    """One cited span of an answer: text[start:end] of a document, as shown in the answer."""

    evidence: Evidence
    start: int
    end: int
    shown: str


def display_text(quote: str) -> str:
    """A quoted passage as one line of prose: list markers and table bars become separators."""
    lines = [BULLET.sub("", line, count=1).strip() for line in quote.splitlines()]
    lines = [re.sub(r"\s*\|\s*", "; ", line.strip("| ")) for line in lines if line.strip(" |:-")]
    text = ""
    for line in lines:
        text = f"{text}{' ' if not text or text.endswith((':', ';')) else '; '}{line}" if text else line
    return " ".join(text.split())


def pick(evidence: list[Evidence]) -> list[Evidence]:
    """The best unit, then up to MAX_UNITS - 1 more that score close to it (further items of
    the best unit's list more easily)."""
    best = evidence[0]
    picked = [best]
    for e in evidence[1:]:
        same_list = (e.unit.kind == ITEM and e.unit.lead_in and e.unit.lead_in == best.unit.lead_in
                     and e.unit.source == best.unit.source)
        if e.score >= best.score - (2 * CLOSE if same_list else CLOSE) and not overlaps(e, picked):
            picked.append(e)
        if len(picked) == MAX_UNITS:
            break
    return picked


def overlaps(e: Evidence, picked: list[Evidence]) -> bool:
    return any(e.unit.source == p.unit.source and e.unit.start < p.unit.end and p.unit.start < e.unit.end
               for p in picked)


def heading_needed(question: str, evidence: Evidence) -> bool:
    """Whether the unit's heading names what an identity question asks for and the unit does not."""
    return bool(heading_names(question, evidence))


def heading_names(question: str, evidence: Evidence) -> set[str]:
    """The terms of the unit's heading that an identity question asks for: those neither the
    unit nor the question holds (empty when the heading is not needed)."""
    heading = bare_heading(evidence.unit.heading)
    if not heading or len(heading.split()) > MAX_HEADING_WORDS or not ASKS_IDENTITY.search(question):
        return set()
    return set(terms(heading)) - set(terms(evidence.unit.full_text)) - set(terms(question))


def heading_is_answer(question: str, evidence: Evidence) -> bool:
    """Whether the heading names the kind of thing asked for ("Which pragma ...?" under "PRAGMA
    foreign_key_check") with a name the unit lacks: then an answer must carry that name."""
    asked = {t for word in ASKED_KIND.findall(question) for t in terms(word)}
    heading = set(terms(bare_heading(evidence.unit.heading)))
    return bool(asked & heading) and bool(heading_names(question, evidence))


def pieces(evidence: list[Evidence], document_text, budget: int = MAX_WORDS, lead_ins: bool = True) -> list[Piece]:
    """The spans to quote, best first, within `budget` words in all.

    Args:
        evidence: the units to quote, best first (from pick).
        document_text: source -> the text citation offsets point into.
        budget: words allowed.
        lead_ins: quote a list item from its lead-in (False when the question leaves some
            items out: the quote from the lead-in would hold them).
    """
    result: list[Piece] = []
    for e in evidence:
        unit = e.unit
        # A lead-in already shown (a list's, or a sentence quoted before) is not quoted again.
        shown_before = any(
            p.evidence.unit.source == unit.source
            and (p.start <= unit.quote_start < p.end or (unit.lead_in and p.evidence.unit.lead_in == unit.lead_in))
            for p in result
        )
        start = unit.start if shown_before or not lead_ins else unit.quote_start
        text = document_text(unit.source)
        start, end = fit_words(text, start, unit.end, budget)
        shown = display_text(text[start:end])
        count = len(shown.split())
        if count < min(MIN_PIECE_WORDS, len(display_text(text[unit.start:unit.end]).split())) and result:
            break
        result.append(Piece(e, start, end, shown if end == unit.end else shown + " …"))
        budget -= count
        if budget < MIN_PIECE_WORDS:
            break
    return result


def fit_words(text: str, start: int, end: int, budget: int) -> tuple[int, int]:
    """The span cut to its first `budget` words (at a word boundary) when it is longer."""
    spans = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    if len(spans) <= budget:
        return start, end
    # One word of the budget goes to the "…" that marks the cut.
    return start, start + spans[max(budget - 1, 1) - 1][1]


def heading_span(text: str, heading: str, start: int) -> int | None:
    """Where the heading stands at most HEADING_REACH characters above `start`, if it does."""
    at = text.rfind(heading, max(0, start - HEADING_REACH - len(heading)), start)
    return at if at >= 0 else None
