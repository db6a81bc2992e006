"""Questions as they enter rag (library, CLI, batch, chat, API): cleaned, limited, or refused
with a message that says why.

Control characters (NUL, escapes) and invisible format characters (bidi overrides, zero-width
spaces) are taken out and white space collapsed. A lone surrogate (U+D800-U+DFFF, as JSON's
"\\ud800" or a byte that is not UTF-8 read with surrogateescape) is not a character at all: the
tokenizers cannot take it, so such a question is refused rather than guessed at.
"""

import re
import unicodedata

MAX_QUESTION_CHARS = 2000
SURROGATE = re.compile("[\ud800-\udfff]")


def check_question(question: str) -> str:
    """The question cleaned of control and invisible format characters, white space collapsed.

    Raises:
        ValueError: it is empty, longer than MAX_QUESTION_CHARS, or holds a lone surrogate.
    """
    if not isinstance(question, str):
        raise ValueError("the question is empty")
    if found := SURROGATE.search(question):
        raise ValueError(f"the question holds a lone surrogate (U+{ord(found.group()):04X} at character "
                         f"{found.start() + 1}), which is not text: send the question as UTF-8")
    question = " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in question
                                if unicodedata.category(c) != "Cf").split())
    if not question:
        raise ValueError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise ValueError(f"the question is {len(question):,} characters long; the limit is {MAX_QUESTION_CHARS:,} "
                         "characters: ask about one thing at a time")
    return question


def check_history(history: list[str] | None) -> list[str]:
    """Earlier questions of a conversation, each cleaned as a question; ones that could not be
    asked (empty, too long, not text) are left out, as they were never answered."""
    kept = []
    for question in history or []:
        try:
            kept.append(check_question(question))
        except ValueError:
            continue
    return kept


def printable(text: str) -> str:
    """Text with any lone surrogate shown as U+FFFD, so it can be written out as UTF-8."""
    return SURROGATE.sub("\ufffd", text)
