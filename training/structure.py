"""Questions that the documents' structure gives for free, without a model:
- a FAQ: a heading that is a question, answered by the first sentence under it;
- a term: a heading that names an option, function, variable or directive ("--verbose",
  "LOOP_SET_FD", "fetch.prune", "printf(3)"), asked about as "What does X do?" and answered by
  the first sentence under it;
- a section: a heading of two to eight words, typed as a keyword query ("Virtual host
  matching"), answered by the first sentence of its section.
Records go to the same shards as training/questions.py's (model "structure"), at most CAPS of
each kind a package; training/candidates.py keeps those whose unit rag's retrieval finds.

    .venv/bin/python training/structure.py
"""

import logging
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.chunking import HEADING  # noqa: E402
from rag.lexical import terms  # noqa: E402
from training.library import INDEXES, packages  # noqa: E402
from training.questions import DATA, Writer, target_id  # noqa: E402

CAPS = {"faq": 400, "term": 120, "section": 60}
WORDS = re.compile(r"^[A-Za-z][A-Za-z'\-]*$")
TERM = re.compile(r"^(-{1,2}[\w][\w\-=<>\[\]]*|[A-Za-z_][\w]*(?:[._:-][\w]+)+|[A-Z][A-Z0-9_]{3,}|\w+\(\d\w*\))$")
# Section names of man pages and manuals, which are not terms.
SECTIONS = frozenset("""NAME SYNOPSIS DESCRIPTION OPTIONS ARGUMENTS EXAMPLES EXAMPLE FILES ENVIRONMENT SIGNALS BUGS
    AUTHOR AUTHORS COPYRIGHT HISTORY NOTES INVOCATION DEFINITIONS ALIASES FUNCTIONS VARIABLES HISTORY
    RETURN ERRORS VERSIONS STANDARDS CONFORMING DIAGNOSTICS WARNINGS LICENSE USAGE OVERVIEW INTRODUCTION
    SUMMARY CONFIGURATION REFERENCES RESTRICTIONS SECURITY CAVEATS COMMANDS""".split())
TEMPLATES = ("What does {} do?", "What is {} for?", "What is {}?", "Explain {}.")

log = logging.getLogger("training.structure")


def first_sentence(units, heading_index: int):
    """The first unit under a heading that can answer, if it comes before the next heading."""
    for j in range(heading_index + 1, min(heading_index + 4, len(units))):
        unit = units[j]
        if unit.source != units[heading_index].source or unit.kind == HEADING:
            return None
        if unit.is_evidence and len(unit.text.split()) >= 6:
            return j
    return None


def structure_questions(package: str, store) -> list[tuple[int, str, str]]:
    """(unit position, question, kind) pairs from a package's headings."""
    found = []
    units = store.units
    for i, unit in enumerate(units):
        if unit.kind != HEADING:
            continue
        title = unit.text.strip().strip("#").strip()
        answer = first_sentence(units, i)
        if answer is None:
            continue
        if title.endswith("?") and 4 <= len(title.split()) <= 25:
            found.append((answer, title, "faq"))
        elif TERM.match(title) and title not in SECTIONS:
            template = random.Random(target_id(package, unit.source, unit.start)).choice(TEMPLATES)
            found.append((answer, template.format(title), "term"))
        else:
            words = re.sub(r"^[\d.]+\s+", "", title).split()  # "4.2 Virtual hosts" -> the words
            if (2 <= len(words) <= 8 and all(WORDS.match(w) for w in words) and title.upper() != title
                    and len(terms(title)) >= 2):  # not "See also"
                found.append((answer, " ".join(words), "section"))
    return found


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("rag").setLevel(logging.WARNING)
    from rag import RAG, Config

    for package in packages():
        if not (INDEXES / package / "manifest.json").exists():
            continue
        store = RAG.open(INDEXES / package, Config(extractive_only=True)).store
        writer = Writer(DATA / package)
        done = writer.done()
        pairs = structure_questions(package, store)
        pairs.sort(key=lambda p: target_id(package, store.units[p[0]].source, store.units[p[0]].start))
        written, taken = 0, dict.fromkeys(CAPS, 0)
        for i, question, kind in pairs:
            if taken[kind] >= CAPS[kind]:
                continue
            taken[kind] += 1
            unit = store.units[i]
            tid = target_id(package, unit.source, unit.start) + ("-s" if kind != "section" else "-h")
            if tid in done:
                continue
            writer.add({"id": tid, "package": package, "source": unit.source, "start": unit.start, "end": unit.end,
                        "unit": unit.text.strip(), "heading": unit.heading, "opening": kind, "model": "structure",
                        "seed": 0, "prompt": 0, "reply": "", "question": question, "rank": -1, "candidates": 0,
                        "why": "", "kept": True})
            written += 1
        writer.flush()
        log.info("%s: %d structure questions (%d found)", package, written, len(pairs))


if __name__ == "__main__":
    main()
