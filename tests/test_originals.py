from rag import RAG
from rag.answering.evidence import Evidence
from tests.conftest import copy_sentence
from tests.fakes import FakeEmbedder, ScriptedGenerator


def compilation_rag(tmp_path, fake_config) -> RAG:
    """Three pages and a requirements list quoting every sentence of them, each copy followed by
    a note of its source."""
    pages = {
        name: [f"The {name} page explains {topic} number {n} in plain words for every reader of this manual here."
               for n in range(4)]
        for name, topic in (("alpha", "indexes"), ("beta", "journals"), ("gamma", "triggers"))
    }
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, sentences in pages.items():
        (corpus / f"{name}.md").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    copies = [f"{s} (source: {name}.md, checked by test {n})" for name, sentences in pages.items()
              for n, s in enumerate(sentences)]
    (corpus / "requirements.md").write_text("\n\n".join(copies) + "\n", encoding="utf-8")
    rag = RAG.build(corpus, tmp_path / "index", fake_config, embedder=FakeEmbedder(),
                    generator=ScriptedGenerator(copy_sentence))
    return rag


def test_a_compilations_copy_is_cited_where_it_was_copied_from(tmp_path, fake_config):
    rag = compilation_rag(tmp_path, fake_config)
    store, originals = rag.answerer.store, rag.answerer.originals
    assert originals.is_compilation("requirements.md")
    assert not originals.is_compilation("beta.md")
    i = next(i for i, u in enumerate(store.units) if u.source == "requirements.md" and "journals number 2" in u.text)
    copy = Evidence(store.units[i], i, 0.8, (0.0,) * 5)
    original = originals.original(copy, [copy])
    assert original.unit.source == "beta.md" and "journals number 2" in original.unit.text
    assert original.score == 0.8
    # A page whose sentences all stand in one longer document is a part of it, not a compilation.
    assert not originals.is_compilation("alpha.md")
    # A page's own sentence stays where it is.
    j = next(i for i, u in enumerate(store.units) if u.source == "alpha.md")
    own = Evidence(store.units[j], j, 0.5, (0.0,) * 5)
    assert originals.original(own, [own]) is own


def test_passages_shown_beside_an_answer_are_the_originals(tmp_path, fake_config):
    rag = compilation_rag(tmp_path, fake_config)
    answer = rag.ask("Which checked source explains journals number 2?", extractive_only=True)
    assert answer.passages
    assert all(p.source != "requirements.md" for p in answer.passages)
    assert len({(p.source, p.start) for p in answer.passages}) == len(answer.passages)
