"""The ranker's training code (training/): no evaluated document in its data, and the steps
from a unit to a learned ranker that rag loads, end to end on a tiny corpus."""

import gzip
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from rag import RAG
from rag.answering.ranking import FEATURES, feature_rows, rerank
from rag.models.ranker import LearnedRanker
from tests.fakes import FakeEmbedder, ScriptedGenerator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from training import candidates, questions, ranker  # noqa: E402
from training.library import EVALUATED, packages  # noqa: E402

# Questions in other words than their sentences (tests/conftest.py DOCS).
WRITTEN = {
    "photovoltaic": "How do solar panels make power from light?",
    "kilowatts": "How much power does a household setup give at most?",
    "Bell Labs": "Where was the earliest silicon cell made?",
    "honey bee colony": "How many queens live in one hive?",
    "Nightjet": "Who operates the Nightjet trains?",
    "sleeper cabin": "What does a sleeper from Vienna to Paris cost?",
}


def test_no_training_package_holds_evaluated_documents():
    makefile = (REPO / "Makefile").read_text()
    evaluated_here = set(re.findall(r"get_debian_docs\.sh \S+ (\S+)", makefile))
    assert evaluated_here and evaluated_here <= EVALUATED  # every corpus the Makefile evaluates is listed
    assert len(packages()) >= 30  # issue 31: at least 30 packages
    assert not set(packages()) & EVALUATED
    recorded = (REPO / "training/library.tsv").read_text().split()
    assert not set(recorded) & EVALUATED


def test_no_training_question_comes_from_an_evaluated_or_default_document():
    allowed = set(packages())
    default_texts = [p.read_text(encoding="utf-8") for p in (REPO / "corpus").glob("*.txt")]
    for shard in (REPO / "training/data/questions").glob("*/*.jsonl.gz"):
        with gzip.open(shard, "rt") as f:
            for record in map(json.loads, f):
                assert record["package"] in allowed and record["package"] not in EVALUATED, shard
                assert shard.parent.name == record["package"]
                assert not any(record["unit"] in text for text in default_texts), record["id"]


def scripted(pairs):
    """A question writer that knows the tiny corpus: each prompt's sentence gets its question."""
    replies = []
    for prompt, _ in pairs:
        asked = prompt.rsplit("Sentence (", 1)[1]
        replies.append(next((q for key, q in WRITTEN.items() if key in asked), "What is it?"))
    return replies


def test_training_runs_end_to_end_on_a_tiny_corpus(corpus, tmp_path, fake_config):
    rag = RAG.build(corpus, tmp_path / "index", fake_config, embedder=FakeEmbedder(),
                    generator=ScriptedGenerator(lambda m: ""))
    writer = questions.Writer(tmp_path / "data" / "tiny")
    written = questions.one_turn(rag, "tiny", writer, scripted, "scripted")
    assert written >= 5
    records = [json.loads(line) for shard in sorted(writer.folder.glob("*.jsonl.gz"))
               for line in gzip.open(shard, "rt")]
    assert {r["id"] for r in records} == writer.done()
    kept = [r for r in records if r["kept"]]
    assert len(kept) >= 4 and all(r["rank"] >= 0 for r in kept)
    # A second turn finds everything done: the run resumes rather than repeats.
    assert questions.one_turn(rag, "tiny", writer, scripted, "scripted") == 0

    groups = candidates.synthetic_groups(kept, rag)
    answerable = [g for g in groups if g.answerable]
    assert len(answerable) == len(kept)
    assert all((g.labels == 1).sum() == 1 and g.features.shape == (len(g.labels), len(FEATURES)) for g in answerable)
    assert any(not g.answerable and (g.labels <= 0).all() for g in groups)

    model = ranker.fit_lambdarank(groups, rounds=5, min_data_in_leaf=1, min_data_in_bin=1)
    path = tmp_path / "ranker" / "tiny.txt"
    ranker.save(model, groups, path, {"data": "tiny"})
    learned = LearnedRanker(path)
    evidence, _ = rag.answerer.find_evidence(WRITTEN["Nightjet"], WRITTEN["Nightjet"], rag.options(), {})
    rows = feature_rows(WRITTEN["Nightjet"], evidence, rag.store.units, rag.answerer.retriever.idf)
    np.testing.assert_allclose(learned.raw(rows), model(rows))  # rag scores as the training code judged
    chances = learned.chances(rows)
    assert chances.shape == (len(evidence),) and ((chances >= 0) & (chances <= 1)).all()
    ranked = rerank(WRITTEN["Nightjet"], evidence, rag.store.units, rag.answerer.retriever.idf, learned)
    assert sorted(e.index for e in ranked) == sorted(e.index for e in evidence)
    assert [e.score for e in ranked] == sorted((e.score for e in ranked), reverse=True)


def test_a_question_that_copies_its_sentence_is_dropped():
    sentence = "The first practical silicon solar cell was built at Bell Labs in 1954."
    assert questions.reuses_sentence("When was the first practical silicon solar cell built?", sentence)
    assert not questions.reuses_sentence("Where was the earliest silicon cell made?", sentence)


@pytest.mark.parametrize("text, alone", [
    ("The first practical silicon solar cell was built at Bell Labs in 1954.", True),
    ("This only works when the option is set in the configuration file.", False),
    ("and the rest of the line is read as a comment by the parser.", False),
    ("x = foo(bar, baz) + qux[1] * 2; y = z;", False),
])
def test_only_sentences_that_stand_alone_are_asked_about(text, alone):
    assert questions.stands_alone(text) is alone


def test_feature_rows_have_one_row_per_candidate(fake_rag):
    evidence, _ = fake_rag.answerer.find_evidence("Who runs the Nightjet network?", "Who runs the Nightjet network?",
                                                  fake_rag.options(), {})
    rows = feature_rows("Who runs the Nightjet network?", evidence, fake_rag.store.units, fake_rag.answerer.retriever.idf)
    assert rows.shape == (len(evidence), len(FEATURES)) and np.isfinite(rows).all()
    assert rows[0, FEATURES.index("rank")] == 0 and rows[0, FEATURES.index("below_best")] == 0


def test_a_ranker_is_the_evidence_order_or_a_model_file_that_exists(tmp_path):
    from rag import Config
    from rag.errors import ConfigError
    from rag.models.factory import default_ranker

    assert default_ranker(Config()) is None
    with pytest.raises(ConfigError, match="ranker must be"):
        Config(ranker="learned")
    with pytest.raises(ConfigError, match="not found"):
        default_ranker(Config(ranker=str(tmp_path / "missing.txt")))
