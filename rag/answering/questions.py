"""What a question's form asks for, in one place: the English patterns the stages read.

evidence.py reads the forms that demand something of an answer (a date for "when did", a count
for "how many", a name for "who") and what a question leaves out ("other than A"); composition.py
reads whether it asks for a thing's identity or name; abstention.py whether it names something
exactly. The three "asks for a name" patterns differ on purpose: ASKS_NAME (evidence: the unit
must hold a name) is anchored at the question's start and narrow; ASKS_IDENTITY (composition: the
heading may be the name) also fires after a clause and on "called"/"named"; ASKS_ENTITY
(composition: a draft must name what is asked) is any "who"/"which"/"what X" but "what kind".
"""

import re

from rag.lexical import terms

ASK = r"^\W*(?:(?:on|in|by|since|until|from)\s+)?"
ASKS_DAY = re.compile(ASK + r"(?:what|which)\s+(?:date|day)\b", re.IGNORECASE)
ASKS_MONTH = re.compile(ASK + r"(?:what|which)\s+month\b", re.IGNORECASE)
ASKS_YEAR = re.compile(ASK + r"(?:(?:what|which)\s+year\b|when\s+(?:did|was|were|will|is|are|has|had)\b)", re.IGNORECASE)
MONEY_WORDS = re.compile(r"\b(money|dollars?|cost|costs|price|priced|worth|value|valuation|revenue|salary|paid|pay|spend|spent|funding|invest\w*)\b", re.IGNORECASE)
ASKS_QUANTITY = re.compile(ASK + r"(?:how\s+much|what\s+(?:is|was|were|are)\s+the\s+(?:\w+\s+)?(?:value|price|cost|amount|valuation|revenue|size))\b", re.IGNORECASE)
ASKS_COUNT = re.compile(ASK + r"(?:how\s+(?:much|many|large|big|long|old|often|far)|what\s+(?:percentage|percent|share|amount|number|proportion|fraction))\b", re.IGNORECASE)
ASKS_MANY = re.compile(ASK + r"how\s+many\b", re.IGNORECASE)
# What a "how many" question counts: up to three words after it ("how many locking states").
COUNTED = re.compile(r"\bhow\s+many\s+((?:[A-Za-z][\w\-]*\s+){0,2}[A-Za-z][\w\-]*)", re.IGNORECASE)
ASKS_NAME = re.compile(ASK + r"(?:who|whom|whose|name\s+(?:a|an|the|one)|what\s+is\s+the\s+name|what's\s+the\s+name|(?:which|what)\s+(?:company|companies|person|people|firm|organi[sz]ation|country|countries|city|cities|university|product|products))\b", re.IGNORECASE)
# "Other than A and B, what ...", "besides A", "apart from A": A is named to be left out, so a
# unit about A is not the answer. "A and B; what's the third?" names the items it leaves out
# before the question.
QUESTION_WORD = r"(?:what|which|who|whom|whose|how|where|when|why|is|are|was|were|does|do|did|has|have|can|could)\b"
EXCLUDES = re.compile(
    r"\b(?:other\s+than|besides|apart\s+from|aside\s+from|in\s+addition\s+to|except(?:\s+for)?|excluding|not\s+counting)\s+"
    rf"(.+?)(?=\s*[,;]?\s*{QUESTION_WORD}|[;?]|$)",
    re.IGNORECASE,
)
NAMED_BEFORE = re.compile(
    r"^(.+?)\s*[;:,\u2014\u2013-]+\s*(?:so\s+)?what(?:'s|\u2019s|\s+is|\s+was|\s+are|\s+were)\s+the\s+"
    r"(?:third|fourth|fifth|other|others|remaining|last|rest)\b",
    re.IGNORECASE,
)
COORDINATED = re.compile(r"((?:\S+\s+)?\S+)\s+and\s+(\S+(?:\s+\S+)?)")
# Questions that ask for the identity of something: its name is often the heading above the text.
ASKS_IDENTITY = re.compile(
    # at the start or after a clause ("PRAGMA x came back clean, but ... Which pragma ...?")
    r"(?:^|[.,;:!?]\s+|\s[-\u2013\u2014]\s|\bbut\s+)\W*(?:which|who|whom|name\b|what\s+(?!(?:is|are|was|were|does|do|did|happens|happened|would|will|can|could|should|has|have|had|if|about)\b)\w+)"
    r"|\b(?:called|named|name of|what is the (?:name|command|function|option|setting|method|module|class|keyword|statement|pragma|tool))\b",
    re.IGNORECASE,
)

# Questions answered by naming a thing ("which model", "who"), not by a phrase ("what has A
# called B", "what kind of support").
ASKS_ENTITY = re.compile(
    r"\b(?:who|whom|which)\b|\bwhat\s+(?!(?:is|are|was|were|does|do|did|has|have|had|happens|happened|would|will|"
    r"can|could|should|if|about|kind|kinds|type|types|sort|sorts)\b)[a-z]\w*",
    re.IGNORECASE,
)
# The kind of thing asked for: "which pragma", "what tokenizer".
ASKED_KIND = re.compile(r"\b(?:which|what)\s+(\w+)", re.IGNORECASE)
# Tokens that name something exactly: with a digit, an underscore or a capital inside a word.
CODE_LIKE = re.compile(r"\b\w*(?:\d|_|[a-z][A-Z])[\w.\-]*")


def counted_terms(question: str) -> set[str]:
    """The terms of what a "how many" question counts ("how many locking states" -> lock, state)."""
    match = COUNTED.search(question)
    return set(terms(match.group(1))) if match else set()


def excluded_terms(question: str) -> set[str]:
    """Terms of what the question names in order to leave it out ("other than A, what ...")."""
    found = set()
    for match in EXCLUDES.finditer(question):
        found.update(terms(match.group(1)))
    match = NAMED_BEFORE.match(question)
    if match:
        # The items are the "A and B" of the clause, not its framing words.
        pair = COORDINATED.search(match.group(1))
        found.update(terms(" ".join(pair.groups()) if pair else match.group(1)))
    return found


def without_excluded(question: str) -> str:
    """The question without what it names to leave out (its numbers are not asked for)."""
    match = NAMED_BEFORE.match(question)
    if match:
        question = question[match.end(1):]
    return EXCLUDES.sub("", question)
