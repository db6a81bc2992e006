"""A Q4_1 model's Q8_0 copy (rag/models/conversion.py): the same values to within Q8_0's rounding,
its metadata kept, made once, never left half-written; other files load as they are."""

import numpy as np
import pytest

gguf = pytest.importorskip("gguf")
from gguf import quants  # noqa: E402

from rag.models.conversion import runtime_gguf  # noqa: E402

Q4_1, Q8_0 = gguf.GGMLQuantizationType.Q4_1, gguf.GGMLQuantizationType.Q8_0


def write_model(path, kind=Q4_1):
    values = np.random.default_rng(0).normal(size=(8, 64)).astype(np.float32)
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_name("tiny")
    writer.add_context_length(64)
    writer.add_tensor("blk.0.attn_q.weight", quants.quantize(values, kind), raw_dtype=kind)
    writer.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def tensors(path) -> dict:
    reader = gguf.GGUFReader(path)
    return {t.name: (t.tensor_type, quants.dequantize(t.data, t.tensor_type)) for t in reader.tensors}


def test_a_q4_1_model_gets_a_q8_0_copy_with_the_same_values_and_metadata(tmp_path):
    source = tmp_path / "tiny.Q4_1.gguf"
    write_model(source)
    copy = runtime_gguf(source, tmp_path / "cache")
    assert copy.parent == tmp_path / "cache" / "models" and copy != source
    before, after = tensors(source), tensors(copy)
    kind, values = after["blk.0.attn_q.weight"]
    assert kind == Q8_0
    original = before["blk.0.attn_q.weight"][1]
    # Within half a Q8_0 step of each block of 32 values.
    step = np.abs(original.reshape(-1, 32)).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(values - original).reshape(-1, 32) <= step / 2 + 1e-6)
    assert after["output_norm.weight"][0] == before["output_norm.weight"][0]
    reader = gguf.GGUFReader(copy)
    assert reader.fields["general.name"].contents() == "tiny"
    assert reader.fields["llama.context_length"].contents() == 64

    modified = copy.stat().st_mtime_ns
    assert runtime_gguf(source, tmp_path / "cache") == copy and copy.stat().st_mtime_ns == modified, "made once"


def test_other_files_load_as_they_are(tmp_path):
    source = tmp_path / "tiny.Q8_0.gguf"
    write_model(source, Q8_0)
    assert runtime_gguf(source, tmp_path / "cache") == source
    assert not (tmp_path / "cache").exists()


def test_an_interrupted_conversion_leaves_no_file(tmp_path, monkeypatch):
    source = tmp_path / "tiny.Q4_1.gguf"
    write_model(source)

    def fail(writer, *args, **kwargs):  # the header is written by now: a partial file exists
        assert list((tmp_path / "cache" / "models").iterdir())
        raise KeyboardInterrupt

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", fail)
    with pytest.raises(KeyboardInterrupt):
        runtime_gguf(source, tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_a_cache_that_cannot_be_written_leaves_the_file_as_it_is(tmp_path):
    source = tmp_path / "tiny.Q4_1.gguf"
    write_model(source)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be", encoding="utf-8")
    assert runtime_gguf(source, blocked) == source
