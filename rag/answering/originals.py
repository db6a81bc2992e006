"""Chosen evidence -> the same passage where it was copied from, when it was chosen from a
compilation.

Documentation sets often hold pages made of other pages' sentences: a list of requirements
quoting every page ("... 5 dimensions. (source: rtree.html, ...)"), a change log gathering the
release notes. An answer should cite the page a passage comes from, where it stands in its
context.
"""

import re

from rag.answering.evidence import Evidence
from rag.chunking import Unit
from rag.stores.store import Store


class Originals:
    """Finds where a compilation's copy of a passage was copied from, so that an answer cites
    the page it comes from ("... 5 dimensions. (source: rtree.html, ...)" in a requirements
    list -> the sentence in rtree.html).

    A document is a compilation when most of a sample of its sentences occur word for word in
    other documents, in several of them and in none longer than it. Which documents hold a
    sentence is looked up in a table of every unit's text, made the first time it is needed
    (0.2 s for the 75,000 units of SQLite's documentation), so a check costs no pass over the
    corpus.

    Args:
        store: the loaded index.
    """

    SAMPLE = 10
    MIN_WORDS = 6
    SHARE = 0.8
    MIN_SOURCES = 3

    def __init__(self, store: Store):
        self.store = store
        self._compilation: dict[str, bool] = {}
        self._ranges: dict[str, range] | None = None
        self._holders: dict[str, set[str]] | None = None

    def units_of(self, source: str) -> range:
        """Positions of a document's units in the store (a document's units are stored together)."""
        if self._ranges is None:
            ranges: dict[str, range] = {}
            first = 0
            units = self.store.units
            for i in range(1, len(units) + 1):
                if i == len(units) or units[i].source != units[first].source:
                    ranges[units[first].source] = range(first, i)
                    first = i
            self._ranges = ranges
        return self._ranges.get(source, range(0))

    def holders(self, text: str) -> set[str]:
        """The documents with a unit whose text (without a compilation's note) is `text`."""
        if self._holders is None:
            table: dict[str, set[str]] = {}
            for unit in self.store.units:
                if self.sampled(unit):
                    table.setdefault(copied_text(unit.text), set()).add(unit.source)
            self._holders = table
        return self._holders.get(text, set())

    def sampled(self, unit: Unit) -> bool:
        """Whether a unit is long enough to tell a copy from a common phrase."""
        return unit.is_evidence and len(unit.text.split()) >= self.MIN_WORDS

    def elsewhere(self, text: str, source: str) -> tuple[str, int] | None:
        """(document, offset) of the first other document, in index order, that holds the
        text as a unit and is no compilation."""
        for other in sorted(self.holders(text) - {source}, key=lambda o: self.units_of(o).start):
            at = self.store.documents[other].text.find(text)
            if at >= 0 and not self.is_compilation(other):
                return other, at
        return None

    def is_compilation(self, source: str) -> bool:
        """Most of a sample of its sentences occur in other documents, in several of them, and
        in none longer than it (a page that is part of a single-page edition is not a
        compilation; the edition is)."""
        if source not in self._compilation:
            documents = self.store.documents
            units = [self.store.units[i] for i in self.units_of(source)]
            texts = [copied_text(u.text) for u in units if self.sampled(u)]
            sample = texts[:: max(1, len(texts) // self.SAMPLE)][: self.SAMPLE]
            holders = [self.holders(t) - {source} for t in sample]
            sources = {o for found in holders for o in found}
            self._compilation[source] = (
                len(sample) >= self.SAMPLE // 2
                and sum(bool(found) for found in holders) >= self.SHARE * len(sample)
                and len(sources) >= self.MIN_SOURCES
                and all(len(documents[o].text) <= len(documents[source].text) for o in sources)
            )
        return self._compilation[source]

    def original(self, evidence: Evidence, candidates: list[Evidence]) -> Evidence:
        """The evidence at its original place when it is a compilation's copy, else itself.

        Args:
            evidence: a scored unit.
            candidates: the scored units (the original keeps its own score when it is one).
        """
        if not self.is_compilation(evidence.unit.source):
            return evidence
        found = self.elsewhere(copied_text(evidence.unit.text), evidence.unit.source)
        if found is None:
            return evidence
        source, at = found
        for i in self.units_of(source):
            unit = self.store.units[i]
            if unit.start <= at < unit.end and unit.is_evidence:
                scored = next((e for e in candidates if e.index == i), None)
                return scored or Evidence(unit, i, evidence.score, evidence.features, evidence.left_out)
        return evidence


def copied_text(text: str) -> str:
    """A copied passage without the note a compilation adds after it ("(source: x.html)")."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", text.strip())
