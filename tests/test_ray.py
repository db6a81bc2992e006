"""Embedding on Ray: a local Ray with 2 CPUs and the real embedder (slow)."""

import numpy as np
import pytest

from rag import RAG, Config
from rag.chunking import unit_text
from rag.evaluation import load_questions
from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_rag(real_rag, tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("ray") / "index"
    rag = RAG.build(real_rag.corpus_dir, index_dir, Config(ray="local", ray_actors=2, ray_batch=64),
                    embedder=real_rag.embedder, generator=real_rag.generator)
    yield rag
    import ray

    ray.shutdown()


def test_ray_vectors_match_the_in_process_embedder(ray_rag, real_rag):
    # A small index embeds its chunks and the distinct texts of its units (rag/stores/store.py STORED_UNITS).
    units = {unit_text(u) for u in ray_rag.store.units if u.is_evidence}
    assert ray_rag.report.embedded == len({c.embed_text for c in ray_rag.store.chunks} | units) > len(ray_rag.store.chunks)
    assert [c.embed_text for c in ray_rag.store.chunks] == [c.embed_text for c in real_rag.store.chunks]
    cosines = np.sum(ray_rag.store.chunk_vectors * real_rag.store.chunk_vectors, axis=1)
    assert cosines.min() > 0.9999, cosines.min()
    evidence = [i for i, u in enumerate(ray_rag.store.units) if u.is_evidence]
    cosines = np.sum(ray_rag.store.unit_vectors[evidence] * real_rag.store.unit_vectors[evidence], axis=1)
    assert cosines.min() > 0.9999, cosines.min()


def test_ray_index_answers_the_dev_set_the_same(ray_rag, real_rag):
    questions = [item["question"] for item in load_questions(REPO / "eval" / "dev_qa.jsonl")]
    expected = [a.text for a in real_rag.ask_many(questions, extractive_only=True)]
    assert [a.text for a in ray_rag.ask_many(questions, extractive_only=True)] == expected


def test_ray_updates_stay_incremental(ray_rag):
    again = RAG.build(ray_rag.corpus_dir, ray_rag.index_dir, ray_rag.config,
                      embedder=ray_rag.embedder, generator=ray_rag.generator)
    assert again.report.embedded == 0 and not again.report.changed
