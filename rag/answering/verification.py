"""Checks generated text against the evidence it cites.

A 135M-parameter model invents numbers and drops or misplaces its [n] markers about half the
time, so its text is accepted only when every content word and every number of each sentence
is found in the evidence the sentence cites (or, for a sentence without a marker, in one
piece of evidence, which it is then given). Words the draft takes from the question need that
support too: "the <thing asked> is: <an unrelated list> [1]" must not pass because the question
supplied the words that tie the list to what was asked.
"""

import re
from dataclasses import dataclass

from rag.lexical import terms, words

MARKER = re.compile(r"\s*\[(?:source\s*)?(\d+(?:\s*,\s*\d+)*)\]", re.IGNORECASE)
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
# Words about the sources themselves; using them claims nothing about the world.
META_TERMS = set(terms("source sources document documents article text passage according mentioned mentions answer"))
MIN_WORDS = 3
# A faithful answer is stitched from the evidence's own phrases: at least this share of its
# word pairs that are not the question's must occur in the evidence.
MIN_PAIR_SUPPORT = 0.6
NEGATIONS = {"not", "no", "never", "none", "nor", "cannot", "nt"}
# Words no English sentence ends on: a draft whose last sentence ends on one was cut off (by the
# token limit, mid-sentence: "Also note that there [2]").
UNFINISHED = set(
    "the a an of to in on for and or nor with by as that there this these those which who whose whom what when "
    "where how from at into onto than then so such also can could would should will shall may might must do does "
    "did is are was were be been being has have had its their our your my his her about over after before between "
    "both each while because through during if whether but not very".split()
)
LEADING_FILLER = re.compile(r"^(?:(?:the\s+)?answer(?:\s+to\s+(?:this|the)\s+question)?\s+is\s*:?|answer\s*:|a\s*:)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Check:
    """The verdict on a draft.

    Attributes:
        supported: every sentence is backed by the evidence it cites.
        text: the draft with markers normalised to [n] (1-based evidence numbers).
        cited: evidence numbers cited, in order of first mention.
        reason: why the draft was rejected ("" when supported).
    """

    supported: bool
    text: str
    cited: tuple[int, ...]
    reason: str = ""


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in NUMBER.findall(text)}


def verify(draft: str, evidence: list[str], question: str, core: str = "", core_context: str = "") -> Check:
    """Checks a draft answer sentence by sentence.

    Args:
        draft: the generated text.
        evidence: the evidence texts the prompt numbered [1], [2], ...
        question: the question, whose own terms may be repeated freely.
        core: the answer-bearing part of evidence [1] (the best evidence without its lead-in);
            if given, the draft must cite [1] and use at least one of its words that the
            question does not, so a fluent answer from weaker evidence does not displace it.
        core_context: the lead-in of evidence [1]; its words do not count as using the core.

    Returns:
        The Check; on success its text carries a marker at the end of every sentence.
    """
    text = LEADING_FILLER.sub("", " ".join(draft.split()))
    if len(text.split()) < MIN_WORDS:
        return Check(False, text, (), "the draft is empty or too short")
    problem = phrasing_problem(MARKER.sub("", text), evidence, question)
    if problem:
        return Check(False, text, (), problem)
    question_terms = set(terms(question)) | META_TERMS
    evidence_terms = [set(terms(e)) for e in evidence]
    evidence_numbers = [numbers(e) for e in evidence]
    sentences, cited = [], []
    new_content = False
    parts = SENTENCE.split(text)
    if broken_off(parts[-1]):  # cut off by the token limit: the sentences before it may stand
        if len(parts) == 1:
            return Check(False, text, (), "it breaks off mid-sentence")
        parts = parts[:-1]
        text = " ".join(parts)
    for sentence in parts:
        marks = [int(n) for m in MARKER.finditer(sentence) for n in m.group(1).split(",")]
        body = MARKER.sub("", sentence).strip()
        if not body:
            continue
        if any(not 1 <= n <= len(evidence) for n in marks):
            return Check(False, text, (), f"it cites a source that does not exist: {marks}")
        content = set(terms(body)) - META_TERMS
        nums = numbers(body)
        backing = marks or [i + 1 for i in range(len(evidence))]
        support = [n for n in backing if content <= evidence_terms[n - 1] and nums <= evidence_numbers[n - 1]]
        if marks and set(support) != set(marks):
            # Cited evidence taken together may still cover a sentence that draws on two.
            joint_terms = set().union(*(evidence_terms[n - 1] for n in marks))
            joint_numbers = set().union(*(evidence_numbers[n - 1] for n in marks))
            if not (content <= joint_terms and nums <= joint_numbers):
                missing = spelled(body, content - joint_terms) + sorted(nums - joint_numbers)
                return Check(False, text, (), f"not in the cited source: {', '.join(missing)}")
            support = marks
        if not support:
            return Check(False, text, (), "no single source holds all of: " + ", ".join(spelled(body, content) + sorted(nums)))
        new_content = new_content or bool(content - question_terms)
        marks = marks or support[:1]
        cited.extend(n for n in marks if n not in cited)
        # A sentence copied from a lead-in ends the answer, not a list: "...states: [1]." reads wrong.
        body = body.rstrip().rstrip(":;,").rstrip() or body.rstrip()
        end = body[-1] if body[-1] in ".!?" else ""
        body = body[:-1] if end else body
        sentences.append(f"{body} {''.join(f'[{n}]' for n in dict.fromkeys(marks))}{end or '.'}")
    if not new_content:
        return Check(False, text, (), "the draft only repeats the question")
    core_terms = set(terms(core)) - question_terms - set(terms(core_context))
    if core and (1 not in cited or not set(terms(text)) & core_terms):
        return Check(False, text, (), "it does not use the best evidence")
    return Check(True, " ".join(sentences), tuple(cited))


def broken_off(sentence: str) -> bool:
    """Whether a sentence ends on a word no sentence ends on (it was cut off)."""
    tokens = words(MARKER.sub("", sentence).rstrip(" .!?"))
    return bool(tokens) and tokens[-1].lower() in UNFINISHED


def spelled(text: str, stems: set[str]) -> list[str]:
    """The words of text whose stems are in `stems`, as written (for messages)."""
    return sorted({w for w in words(text) if terms(w) and terms(w)[0] in stems})


def pairs(text: str) -> list[tuple[str, str]]:
    tokens = words(text)
    return list(zip(tokens, tokens[1:]))


def phrasing_problem(text: str, evidence: list[str], question: str) -> str:
    """Signs of a draft that recombines source words into a claim the sources do not make."""
    tokens = words(text)
    evidence_words = set(words(" ".join(evidence)))
    negated = sorted((NEGATIONS & set(tokens)) - evidence_words)
    if negated:
        return f"it negates where the sources do not ({', '.join(negated)})"
    if repeated(text, evidence):
        return "it repeats itself"
    if text.count(":") >= 2:
        return "it strings headings together"
    question_pairs = set(pairs(question))
    own = [p for p in pairs(text) if p not in question_pairs]
    if len(own) < 2:
        return "it adds nothing to the question"
    evidence_pairs = {p for e in evidence for p in pairs(e)}
    support = sum(p in evidence_pairs for p in own) / len(own)
    if support < MIN_PAIR_SUPPORT:
        return f"only {support:.0%} of its phrasing comes from the sources"
    return ""


def repeated(text: str, evidence: list[str]) -> bool:
    """A term used three times or more, and more often than any source uses it: a loop."""
    counts: dict[str, int] = {}
    for term in terms(text):
        counts[term] = counts.get(term, 0) + 1
    for term, count in counts.items():
        if count >= 3 and all(count > terms(e).count(term) for e in evidence):
            return True
    return False


def streaming_problem(partial: str, evidence: list[str], question: str) -> str:
    """Why a draft that is still being written can no longer pass ("" if it still can).

    Checked after every piece, so a hopeless draft stops costing generation time: a finished
    word or number found in no source, or a loop.
    """
    body = MARKER.sub("", partial)
    # The last word may still be growing; judge only finished words.
    body = body[: max(body.rfind(" "), 0)]
    known = set(terms(question)) | META_TERMS | set().union(*(set(terms(e)) for e in evidence))
    known_numbers = set().union(*(numbers(e) for e in evidence))
    unknown = spelled(body, set(terms(body)) - known) + sorted(numbers(body) - known_numbers)
    if unknown:
        return f"not in any source: {', '.join(unknown)}"
    if repeated(body, evidence):
        return "it repeats itself"
    return ""
