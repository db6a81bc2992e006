"""Documents -> units (sentences, list items, headings) -> overlapping chunks, all with offsets.

Units are what evidence is chosen from; chunks (runs of whole units) are what retrieval
searches. Every unit and chunk keeps `start`/`end` so that `document.text[start:end]` is
exactly its text.
"""

import hashlib
import re
from dataclasses import dataclass

SENTENCE = "sentence"
ITEM = "item"
HEADING = "heading"
RULE = "rule"  # a table's rule line: layout only, dropped

BULLET = re.compile(r"^\s*(?:[-*+•‣◦▪●–—]|\d{1,3}[.)]|[a-zA-Z][.)])\s+")
TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|[\s:|-]*$")
MARKDOWN_HEADING = re.compile(r"^\s*#{1,6}\s+\S")
# A sentence ends at . ! or ? (and any closing quotes or brackets) before white space and a
# capital, digit, quote or bracket.
SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "inc", "ltd", "co", "corp", "vs", "etc",
    "e.g", "i.e", "fig", "no", "vol", "approx", "dept", "est", "u.s", "u.k", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "gen", "gov", "sen", "rep",
}
ANAPHOR = re.compile(r"^\W*(it|its|this|these|that|those|they|their|such|he|she|his|her)\b", re.IGNORECASE)
# A declaration line in reference docs: "void sqlite3_interrupt(sqlite3*);", "int f(int x)".
DECLARATION = re.compile(r"\w\s*\([^()]*\)\s*;?\s*$")
# A table of contents' dot leaders ("3.5.1 Indenting . . . . . . 12"): such a line points to a
# passage and answers nothing, yet its few words match questions well (PDF manuals).
DOT_LEADERS = re.compile(r"(?:\.\s?){8,}")
MAX_HEADING_WORDS = 14
MAX_UNIT_CHARS = 1000
LEAD_IN_REACH = 400


@dataclass(frozen=True)
class Unit:
    """A sentence, list item or heading of a document.

    Attributes:
        source: the document's source name.
        start, end: character offsets in the document text.
        text: the document text between start and end.
        kind: SENTENCE, ITEM or HEADING.
        heading: the nearest heading above the unit ("" if none).
        lead_in: what the unit cannot be read without: the line that introduces its list or
            quote, or the sentence a pronoun-led sentence refers to ("" if none).
        quote_start: where a citation of this unit starts: its lead-in's start when the lead-in
            is close above it, else `start`.
        context: the sentence before the unit (or its lead-in) in the same paragraph: often
            names what a short lead-in leaves out ("...drawn attention from regulators. Key
            concerns include:"). Weighs in lexical matching only.
    """

    source: str
    start: int
    end: int
    text: str
    kind: str
    heading: str = ""
    lead_in: str = ""
    quote_start: int = -1
    context: str = ""

    @property
    def is_lead_in(self) -> bool:
        """Whether the unit introduces what follows it ("Key dynamics:")."""
        return self.kind != HEADING and self.text.rstrip().endswith(":")

    @property
    def is_evidence(self) -> bool:
        """Whether the unit can answer anything: headings are context, a lead-in ("Key
        dynamics:") says nothing until its items do, and a contents line only points."""
        return self.kind != HEADING and not self.is_lead_in and not DOT_LEADERS.search(self.text)

    @property
    def full_text(self) -> str:
        """The unit with its lead-in (and without a list marker), as it is scored and shown."""
        body = BULLET.sub("", self.text.strip(), count=1) if self.kind == ITEM else self.text.strip()
        return f"{self.lead_in} {body}" if self.lead_in else body


@dataclass(frozen=True)
class Chunk:
    """A run of whole units: what the vector and BM25 indexes search.

    Attributes:
        id: content hash of source and text (stable across rebuilds).
        source, start, end, text: as for Unit.
        heading: the heading in force where the chunk starts.
        first_unit, last_unit: the chunk's units, as a half-open range into the units list.
    """

    id: str
    source: str
    start: int
    end: int
    text: str
    heading: str
    first_unit: int
    last_unit: int

    @property
    def embed_text(self) -> str:
        """The chunk with its heading, for embedding and lexical search."""
        if self.heading and not self.text.lstrip().startswith(self.heading):
            return f"{self.heading}\n{self.text}"
        return self.text


def unit_text(unit: Unit) -> str:
    """What is embedded for a unit: the unit (with its lead-in) under its heading."""
    return f"{unit.heading}: {unit.full_text}" if unit.heading else unit.full_text


def text_key(text: str) -> str:
    """The key of an embedded text (a chunk's embed_text, a unit's unit_text): an index reuses
    the stored vector of a text with the same key instead of embedding it again."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Block:
    start: int
    end: int
    kind: str
    standalone: bool  # a paragraph of its own: blank line (or edge of text) before and after
    whole: bool = False  # one unit, not split into sentences (a code block)


# The kinds of block a reader names (rag/readers/base.py) -> the kind of their units.
READER_KINDS = {"heading": HEADING, "item": ITEM, "text": SENTENCE, "code": SENTENCE}


def split_units(source: str, text: str, blocks: tuple[tuple[int, int, str], ...] = ()) -> list[Unit]:
    """Splits a document into units with headings and lead-ins attached.

    Args:
        source: the document's source name.
        text: the document text.
        blocks: the (start, end, kind) blocks its reader found; without them the structure
            is guessed from the text's lines (plain text, HTML, PDF).

    Returns:
        The units in document order.
    """
    units: list[Unit] = []
    heading = ""
    lead_in: Unit | None = None
    given = [Block(s, e, paragraph_kind(text[s:e], i == 0) if k == "text" else READER_KINDS[k], True, k == "code")
             for i, (s, e, k) in enumerate(blocks)]
    for block in given or split_blocks(text):
        if block.kind == RULE:
            continue
        if block.kind != SENTENCE:
            spans = [(block.start, block.end)]
        elif block.whole:
            spans = cap_length(text, block.start, block.end)
        else:
            spans = split_sentences(text, block.start, block.end)
        for start, end in spans:
            unit_text = text[start:end]
            previous = units[-1] if units else None
            if block.kind == HEADING:
                heading = clean(unit_text)
                lead_in = None
                units.append(Unit(source, start, end, unit_text, HEADING, heading, "", start))
                continue
            # A lead-in ("Key dynamics:") introduces the list items after it, or the one
            # sentence right after it (a quote after "Satya Nadella, Microsoft CEO:").
            follows = lead_in is not None and (block.kind == ITEM or previous is lead_in)
            if follows and start - lead_in.end <= LEAD_IN_REACH:
                intro = lead_in
            elif block.kind == SENTENCE and ANAPHOR.match(unit_text) and (
                    is_prose(previous, start, text) or declares(previous, start)):
                # "It provides a user-friendly API." needs the sentence before; "This function
                # causes ..." under "void sqlite3_interrupt(sqlite3*);" needs the declaration.
                intro = previous
            else:
                intro = None
            first = intro.start if intro else start
            if intro and intro.quote_start < intro.start and DECLARATION.search(intro.lead_in) \
                    and start - intro.quote_start <= LEAD_IN_REACH:
                first = intro.quote_start  # "This routine ..." after "This function ..." quotes the declaration too
            before = sentence_before(units, first, text)
            unit = Unit(source, start, end, unit_text, block.kind, heading,
                        clean(intro.text) if intro else "", first, clean(before.text) if before else "")
            units.append(unit)
            if block.kind == SENTENCE:
                lead_in = unit if unit_text.rstrip().endswith(":") else None
    return units


def paragraph_kind(paragraph: str, first: bool) -> str:
    """A reader's paragraph is prose, unless it reads as a title as a line of plain text would
    (short, no closing full stop): a definition list's term, a caption, a converted heading."""
    return HEADING if classify(paragraph, True, first) == HEADING else SENTENCE


def sentence_before(units: list[Unit], position: int, text: str) -> Unit | None:
    """The sentence ending just before `position` in the same paragraph, if any."""
    for unit in reversed(units):
        if unit.end <= position:
            return unit if is_prose(unit, position, text) else None
    return None


def is_prose(unit: Unit | None, start: int, text: str) -> bool:
    """A sentence just above `start`, in the same paragraph: read with what follows it."""
    return (
        unit is not None and unit.kind == SENTENCE
        and start - unit.end <= LEAD_IN_REACH // 4 and "\n\n" not in text[unit.end:start]
    )


def declares(unit: Unit | None, start: int) -> bool:
    """A declaration line just above `start` (a paragraph of code in reference docs): the
    name it declares is what a pronoun-led sentence after it is about."""
    return (
        unit is not None and unit.kind == SENTENCE and start - unit.end <= LEAD_IN_REACH // 4
        and DECLARATION.search(unit.text) is not None
    )


def split_blocks(text: str) -> list[Block]:
    """Groups lines into blocks: headings, list items, and runs of prose.

    A line break inside prose is kept as part of one block when the line runs on in lower
    case (hard-wrapped text); otherwise every line starts a new block.
    """
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*", text) if m.end() > m.start()]
    lines = [(s, e - 1 if text[e - 1] == "\r" else e) for s, e in lines]
    lines = [(s, e) for s, e in lines if text[s:e].strip()]
    blocks: list[list[int]] = []
    for start, end in lines:
        line = text[start:end]
        if blocks and continues(text[blocks[-1][0]:blocks[-1][1]], line) and "\n\n" not in text[blocks[-1][1]:start]:
            blocks[-1][1] = end
        else:
            blocks.append([start, end])
    result = []
    for i, (start, end) in enumerate(blocks):
        before = text[blocks[i - 1][1]:start] if i else "\n\n"
        after = text[end:blocks[i + 1][0]] if i + 1 < len(blocks) else "\n\n"
        standalone = before.count("\n") >= 2 and after.count("\n") >= 2
        start, end = strip_span(text, start, end)
        result.append(Block(start, end, classify(text[start:end], standalone, i == 0), standalone))
    return result


def continues(previous: str, line: str) -> bool:
    if BULLET.match(line) or line.lstrip().startswith("|"):
        return False
    if re.search(r"[.!?:;\"”’)]\s*$", previous):
        return False
    return bool(re.match(r"\s*[a-z]", line))


def classify(block: str, standalone: bool, first: bool) -> str:
    stripped = block.strip()
    if MARKDOWN_HEADING.match(stripped):
        return HEADING
    if TABLE_RULE.match(stripped):
        return RULE
    looks_like_title = (
        "\n" not in stripped
        and len(stripped.split()) <= MAX_HEADING_WORDS
        and not re.search(r"[.:;,]$", stripped)
        and not stripped.startswith("|")
    )
    if BULLET.match(stripped) or stripped.startswith("|"):
        # A numbered line standing alone ("2. Azure and the cloud") is a section title.
        return HEADING if looks_like_title and standalone and re.match(r"\s*\d", stripped) else ITEM
    if looks_like_title and (first or not re.search(r"[.!][\"'”’)]*$", stripped)):
        return HEADING
    return SENTENCE


def split_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans within text[start:end], never cutting inside an abbreviation."""
    spans = []
    cursor = start
    for match in SENTENCE_END.finditer(text, start, end):
        word = re.search(r"([\w.]+)\.?$", text[cursor:match.start() + 1])
        token = word.group(1).lower().rstrip(".") if word else ""
        if token in ABBREVIATIONS or re.fullmatch(r"[a-z]", token):
            continue
        spans.append((cursor, match.end()))
        cursor = match.end()
    spans.append((cursor, end))
    spans = [strip_span(text, s, e) for s, e in spans]
    return [piece for s, e in spans if e > s for piece in cap_length(text, s, e)]


def cap_length(text: str, start: int, end: int) -> list[tuple[int, int]]:
    # A "sentence" longer than MAX_UNIT_CHARS (a table dump, a run-on list) is cut at spaces.
    pieces = []
    while end - start > MAX_UNIT_CHARS:
        cut = text.rfind(" ", start + MAX_UNIT_CHARS // 2, start + MAX_UNIT_CHARS)
        cut = cut if cut > start else start + MAX_UNIT_CHARS
        pieces.append(strip_span(text, start, cut))
        start = strip_span(text, cut, end)[0]
    pieces.append((start, end))
    return pieces


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def clean(text: str) -> str:
    """Collapses white space; keeps the words as they are."""
    return " ".join(text.split())


def make_chunks(units: list[Unit], text: str, chunk_chars: int, overlap: int) -> list[Chunk]:
    """Packs whole units into chunks of about chunk_chars, repeating up to `overlap` characters
    of whole sentences at the start of the next chunk.

    Args:
        units: the document's units, from split_units.
        text: the document text.
        chunk_chars: target chunk length.
        overlap: characters of overlap between neighbouring chunks.

    Returns:
        Chunks whose first_unit/last_unit index into `units`.
    """
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    first = 0
    while first < len(units):
        last = first + 1
        while last < len(units):
            size = units[last].end - units[first].start
            new_section = units[last].kind == HEADING and size > chunk_chars // 3
            if size > chunk_chars or new_section:
                break
            last += 1
        chunks.append(new_chunk(units, text, first, last, seen))
        if last >= len(units):
            break
        next_first = last
        while (
            next_first - 1 > first
            and units[next_first - 1].kind != HEADING
            and units[last - 1].end - units[next_first - 1].start <= overlap
            and units[last].kind != HEADING
        ):
            next_first -= 1
        first = next_first
    return chunks


def new_chunk(units: list[Unit], text: str, first: int, last: int, seen: dict[str, int]) -> Chunk:
    start, end = units[first].start, units[last - 1].end
    source = units[first].source
    heading = units[first].text.strip() if units[first].kind == HEADING else units[first].heading
    body = text[start:end]
    # Identical text can occur twice in a file; the occurrence count keeps ids unique.
    key = f"{source}\x00{body}"
    seen[key] = seen.get(key, 0) + 1
    digest = hashlib.sha256(f"{key}\x00{seen[key]}".encode()).hexdigest()[:20]
    return Chunk(digest, source, start, end, body, clean(heading), first, last)
