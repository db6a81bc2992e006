"""Evidence -> the quoted answer: up to three cited units, at most MAX_WORDS words.

One sentence does not always carry the answer alone: a list's items follow its lead-in, two
passages may answer equally well, and in reference documents the heading or defined term
above a passage is often the very name asked for ("PRAGMA auto_vacuum: Query or set the
auto-vacuum status [1]"). Every piece of an answer is the documents' own text, and each
citation's quote is exactly the text between its offsets.
"""

import re
from dataclasses import dataclass

from rag.answering.evidence import NAME_TOKEN, Evidence, bare_heading, names, new_numbers
from rag.answering.questions import ASKED_KIND, ASKS_ENTITY, ASKS_IDENTITY, CODE_LIKE
from rag.chunking import BULLET, ITEM, SENTENCE, TABLE_RULE, Unit
from rag.lexical import STOPWORDS, terms

MAX_WORDS = 60
MAX_UNITS = 3
# A further unit joins the best one when its score is this close (items of the same list: twice
# this): when the scores barely tell two units apart, the answer quotes both ("the CEOs of A and
# B", a legacy name and the current one). Answers grew by 5 words on average on the fit sets.
CLOSE = 0.2
# A heading this close above the quote is cited with it; a farther one is only named.
HEADING_REACH = 200
MAX_HEADING_WORDS = 10
# A heading of at most this many words may be a thing's name; a longer one is a section's title.
NAME_WORDS = 3
MIN_PIECE_WORDS = 6
# A sentence of at most RESTATE_WORDS words with at most RESTATE_TERMS terms the question lacks
# only restates it; the sentence after it is quoted too.
RESTATE_WORDS = 20
RESTATE_TERMS = 3


@dataclass(frozen=True)
class Piece:
    """One cited span of an answer: text[start:end] of a document, as shown in the answer."""

    evidence: Evidence
    start: int
    end: int
    shown: str


def display_text(quote: str) -> str:
    """A quoted passage as one line of prose: list markers and table bars become separators,
    a table row's cells read "2020: First Azure supercomputer — Enabled training of larger
    models", and a table's header row goes when a row of the table follows it (it only names
    the columns: "Milestone; Impact")."""
    raw = quote.splitlines()
    header = {i for i in range(len(raw) - 2) if TABLE_RULE.match(raw[i + 1]) and raw[i + 2].strip(" |:-")}
    lines = [BULLET.sub("", line, count=1).strip() for i, line in enumerate(raw) if i not in header]
    lines = [re.sub(r"\s*\|\s*", " — ", line.strip("| ")) for line in lines if line.strip(" |:-")]
    text = ""
    for line in lines:
        text = f"{text}{' ' if not text or text.endswith((':', ';')) else '; '}{line}" if text else line
    return " ".join(text.split())


def pick(evidence: list[Evidence], follows: Evidence | None = None) -> list[Evidence]:
    """The best unit, its continuation if it only restates the question (`continuation`), then
    up to MAX_UNITS in all that score close to it (further items of the best unit's list more
    easily)."""
    best = evidence[0]
    picked = [best] + ([follows] if follows is not None and follows is not best else [])
    for e in evidence[1:]:
        if len(picked) >= MAX_UNITS:
            break
        same_list = (e.unit.kind == ITEM and e.unit.lead_in and e.unit.lead_in == best.unit.lead_in
                     and e.unit.source == best.unit.source)
        if e.score >= best.score - (2 * CLOSE if same_list else CLOSE) and not overlaps(e, picked):
            picked.append(e)
    return picked


def restates(question: str, unit: Unit) -> bool:
    """Whether a sentence says little beyond the question's own words ("Think of AI development
    like building a complex city.", "Compute the last day of the current month."): it sets up
    the sentence after it, which holds the answer."""
    if unit.kind != SENTENCE or len(unit.text.split()) > RESTATE_WORDS or new_numbers(question, unit.text):
        return False
    return len(set(terms(unit.text)) - set(terms(question))) <= RESTATE_TERMS


def continuation(question: str, best: Evidence, evidence: list[Evidence], units: list[Unit]) -> Evidence | None:
    """The unit right after the best one, under the same heading, when the best one only
    restates the question and the next one was scored too (it is in a retrieved chunk).

    Args:
        question: what is asked.
        best: the best evidence.
        evidence: all scored candidates.
        units: the store's units, in document order.
    """
    if not restates(question, best.unit):
        return None
    scored = {e.index: e for e in evidence}
    for i in range(best.index + 1, min(best.index + 3, len(units))):
        unit = units[i]
        if unit.source != best.unit.source or unit.heading != best.unit.heading:
            return None
        if i in scored:
            return scored[i]
    return None


def overlaps(e: Evidence, picked: list[Evidence]) -> bool:
    return any(e.unit.source == p.unit.source and e.unit.start < p.unit.end and p.unit.start < e.unit.end
               for p in picked)


def heading_needed(question: str, evidence: Evidence) -> bool:
    """Whether the unit's heading names what an identity question asks for and the unit does not:
    a heading of the kind asked for ("Which pragma ...?" under "PRAGMA foreign_key_check"), or
    one that is itself a name. A section's title ("The Pillars of Partnership: Azure and AI
    Innovation") names no thing and would only lengthen the answer."""
    if not heading_names(question, evidence):
        return False
    heading = bare_heading(evidence.unit.heading)
    return heading_is_answer(question, evidence) or is_name(heading)


def is_name(heading: str) -> bool:
    """Whether a heading reads as a name ("zargs", "The Trigram Tokenizer", "sqlite3_close"): a
    code-like word in it, or at most NAME_WORDS words."""
    return len(heading.split()) <= NAME_WORDS or CODE_LIKE.search(heading) is not None


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


def required_names(question: str, evidence: Evidence, known: set[str] = frozenset()) -> set[str]:
    """What an answer to an identity question must name (one of them at least), lower-cased: the
    heading's name when the heading is the answer, else the names the unit gives that the question
    does not ("Which model do the supercomputers power?" -> gpt-4). Empty for other questions.

    Args:
        question: the question.
        evidence: the best evidence.
        known: the names of the unit's document (rag.answering.evidence.names).
    """
    if not ASKS_ENTITY.search(question):
        return set()
    asked = name_tokens(question)
    if heading_is_answer(question, evidence):
        said = asked | name_tokens(evidence.unit.full_text) | STOPWORDS
        return name_tokens(bare_heading(evidence.unit.heading)) - said
    return names(evidence.unit.text, known) - asked


def name_tokens(text: str) -> set[str]:
    """Lower-cased words as names are written ("foreign_key_check", "gpt-4" stay whole)."""
    return {t.lower() for t in NAME_TOKEN.findall(text)}


def names_one(text: str, required: set[str]) -> bool:
    """Whether the text names one of `required`, each matched at the start of a word ("ai" is
    not named by "maintain"; a stem is named by its longer forms)."""
    lowered = text.lower()
    return not required or any(re.search(rf"(?<![\w-]){re.escape(name)}", lowered) for name in required)


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
        skipped = skipped_items(text, unit) if start == unit.quote_start else None
        lead = display_text(text[start:skipped[0]]) if skipped else ""
        room = budget - len(lead.split()) - 1
        if skipped and room >= MIN_PIECE_WORDS:
            # The list's lead-in, then the item itself: the items between them are left out
            # of what is shown ("Examples include: … Azure OpenAI Service: ..."), not of the
            # citation, whose quote stays the document's text between its offsets.
            end, item = fit_shown(text, skipped[1], unit.end, room)
            shown = f"{lead} … {item}"
        elif skipped and result:
            break  # no room left for the item after its lead-in
        else:
            end, shown = fit_shown(text, start, unit.end, budget)
        count = len(shown.split())
        if count < min(MIN_PIECE_WORDS, len(display_text(text[unit.start:unit.end]).split())) and result:
            break
        result.append(Piece(e, start, end, shown if end == unit.end else shown + " …"))
        budget -= count
        if budget < MIN_PIECE_WORDS:
            break
    return result


def skipped_items(text: str, unit: Unit) -> tuple[int, int] | None:
    """Where a list item's lead-in ends and the item starts, when other items stand between
    them (None when the item follows its lead-in at once, or the unit is no list item)."""
    if unit.kind != ITEM or not unit.lead_in or unit.quote_start >= unit.start:
        return None
    words = list(re.finditer(r"\S+", text[unit.quote_start:unit.start]))
    count = len(unit.lead_in.split())
    if len(words) <= count or " ".join(m.group() for m in words[:count]) != unit.lead_in:
        return None
    return unit.quote_start + words[count - 1].end(), unit.start


def fit_shown(text: str, start: int, end: int, budget: int) -> tuple[int, str]:
    """Where text[start:end] is cut (at a word boundary) so that what it shows fits `budget`
    words, with the "…" of a cut, and what it shows: a table bar shown as " — " is a word more
    than in the text ("|x|" in code)."""
    spans = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    limit = budget
    while True:
        # One word of the limit goes to the "…" that marks a cut.
        cut = end if len(spans) <= limit else start + spans[max(limit - 1, 1) - 1][1]
        shown = display_text(text[start:cut])
        over = len(shown.split()) + (cut < end) - budget
        if over <= 0 or limit <= 1:
            return cut, shown
        limit = max(limit - over, 1)


def heading_span(text: str, heading: str, start: int) -> int | None:
    """Where the heading stands at most HEADING_REACH characters above `start`, if it does."""
    at = text.rfind(heading, max(0, start - HEADING_REACH - len(heading)), start)
    return at if at >= 0 else None
