"""The int8 indexing embedder: when it is used, and how close its vectors are (the real model is slow)."""

import numpy as np
import pytest

from rag import Config
from rag.models.embedding import SentenceTransformerEmbedder
from rag.models.factory import indexing_embedder
from rag.models.quantized import Int8Embedder, fuse, int8_embedder
from tests.fakes import FakeEmbedder

TEXTS = [
    "How much did Microsoft invest in OpenAI in 2019?",
    "x",
    "PRAGMA page_size: Query or set the page size of the database.",
    "This function causes any pending database operation to abort and return at its earliest opportunity.",
    "a long text " * 200,
] * 4


def test_an_embedder_without_a_supported_model_folder_is_used_as_it_is(tmp_path):
    fake = FakeEmbedder()
    assert int8_embedder(fake, tmp_path) is fake
    assert indexing_embedder(Config(int8_indexing=True, cache_dir=str(tmp_path)), fake) is fake


def test_int8_indexing_can_be_switched_off(tmp_path):
    embedder = SentenceTransformerEmbedder()
    assert isinstance(indexing_embedder(Config(cache_dir=str(tmp_path)), embedder), Int8Embedder)
    assert indexing_embedder(Config(int8_indexing=False), embedder) is embedder


def test_a_small_build_keeps_float32_vectors(tmp_path):
    fake = FakeEmbedder()
    wrapped = Int8Embedder(fake, "unused", tmp_path)
    assert np.array_equal(wrapped.embed_all(TEXTS[:3]), fake.embed(TEXTS[:3]))
    assert not (tmp_path / "embedders").exists(), "nothing is exported for a small build"


def test_a_failed_export_leaves_indexing_in_float32(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("rag.models.quantized.INT8_FROM", 1)

    def fail(*args):
        raise RuntimeError("cannot export this model")

    monkeypatch.setattr("rag.models.quantized.export_int8", fail)
    fake = FakeEmbedder()
    wrapped = Int8Embedder(fake, tmp_path, tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    assert np.array_equal(wrapped.embed_all(TEXTS[:3]), fake.embed(TEXTS[:3]))
    assert "float32" in caplog.text and "cannot export this model" in caplog.text


def test_a_graph_the_optimiser_cannot_fuse_is_quantised_as_exported(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise ValueError("no attention pattern")

    monkeypatch.setattr("onnxruntime.transformers.optimizer.optimize_model", fail)
    exported = tmp_path / "model.onnx"
    config = type("Config", (), {"num_attention_heads": 12, "hidden_size": 384})()
    assert fuse(exported, config) == exported


@pytest.mark.slow
def test_int8_vectors_are_close_to_float32_and_the_copy_is_made_once(tmp_path, monkeypatch):
    monkeypatch.setattr("rag.models.quantized.INT8_FROM", 1)
    embedder = SentenceTransformerEmbedder()
    exact = embedder.embed(TEXTS)
    done = []
    quick = int8_embedder(embedder, tmp_path).embed_all(TEXTS, lambda n, total: done.append((n, total)))
    assert quick.dtype == np.float32 and quick.shape == exact.shape
    cosine = (quick * exact).sum(1)
    assert cosine.mean() > 0.98 and cosine.min() > 0.95, cosine
    assert np.allclose(np.linalg.norm(quick, axis=1), 1.0, atol=1e-5)
    assert done[-1] == (len(TEXTS), len(TEXTS))
    kept = [p for p in (tmp_path / "embedders").iterdir() if p.name.endswith(".int8.onnx")]
    assert kept, "kept in the cache"
    import onnx

    assert "QAttention" in {node.op_type for node in onnx.load(str(kept[0])).graph.node}, "attention fused, in int8"
    assert not [p for p in (tmp_path / "embedders").iterdir() if p.name.startswith(".")], "no temporary left"
    monkeypatch.setattr("rag.models.quantized.export_int8", lambda *a: pytest.fail("exported twice"))
    # The same texts (so the same batches: int8 activations are scaled per batch) give the same vectors.
    again = int8_embedder(SentenceTransformerEmbedder(), tmp_path).embed_all(TEXTS)
    assert np.allclose(again, quick, atol=1e-6)
