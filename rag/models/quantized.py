"""Indexing a large corpus through an int8 copy of the embedder, in ONNX Runtime.

A build embeds every chunk, and on 2 cores that is nearly all of its time (the SQLite docs:
16,765 texts, about 11 minutes in float32 on an AMD EPYC). The same model with its linear
layers' weights in int8 (dynamic quantisation, per output channel) gives vectors at cosine 0.992
on average (0.96 at worst) to the float32 ones. Before quantising, ONNX Runtime's BERT optimiser
fuses each layer's attention, the embedding layer norm, the residual layer norms and the GELU
into single operators; a model it cannot fuse is quantised as exported. Measured on 1,500 SQLite
chunks: 62-66 texts/s against 50-53 unfused and 22 for sentence-transformers' encode; on
corpus/'s shorter texts a whole build runs 1.75 times the bare encode (benchmarks/README.md).
Int8 activations are scaled per call, so a text's vector depends slightly on the batch it is in.

Only builds that embed at least INT8_FROM texts use it: a small corpus indexes in seconds
either way and keeps exact vectors. Questions, and the sentences they reach in a large index,
are always embedded in float32 (rag/models/bert_numpy.py). The model is exported and quantised once
per embedder (needs torch and onnx, which indexing has anyway) and kept in the cache folder;
an embedder this module cannot run exactly (rag/models/bert_numpy.py `supported`), or a missing
onnxruntime, leaves indexing on sentence-transformers.
"""

import hashlib
import importlib.util
import logging
import os
import shutil
import uuid
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from rag.models.base import Embedder, embed_in_calls
from rag.models.batching import length_groups, padded

log = logging.getLogger(__name__)

INT8_FROM = 5000
# Smaller batches than sentence-transformers' token budget: measured on the SQLite chunks and
# on corpus/ copies, 32 texts or 4,096 tokens a call ran 5-10% faster than 64 or 8,192.
BATCH = 32
BATCH_TOKENS = 32 * 128
EXPORT_VERSION = 2  # bumped when the export changes, so cached models are made again


def int8_embedder(embedder: Embedder, cache: Path) -> Embedder:
    """The embedder with an int8 copy for large builds, or the embedder itself when its model is
    not one this module runs exactly or onnxruntime and onnx are not installed."""
    from rag.models.bert_numpy import supported

    location = getattr(embedder, "location", None)
    if not location or not supported(location):
        return embedder
    if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
        log.info("onnxruntime or onnx not installed: indexing embeds in float32")
        return embedder
    return Int8Embedder(embedder, location, cache)


class Int8Embedder:
    """The embedder for `embed`; its int8 copy for large `embed_all` calls (indexing).

    Args:
        embedder: the float32 embedder (questions, small builds).
        location: its model folder (rag/models/bert_numpy.py `supported`).
        cache: the folder converted models are kept in (Config.cache_path).
    """

    def __init__(self, embedder: Embedder, location: str, cache: Path):
        self.embedder = embedder
        self.name = embedder.name
        self.location = Path(location)
        self.cache = cache
        self._session = None
        self._tokenizer = None
        self._failed = False

    @property
    def dimension(self) -> int:
        return self.embedder.dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts)

    def embed_all(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Vectors of every text, in input order: int8 from INT8_FROM texts on."""
        if len(texts) >= INT8_FROM and self._session is None and not self._failed:
            try:
                self.load()
            except Exception as exc:  # noqa: BLE001 - any failure of the exporter, or a read-only cache: float32 it is
                self._failed = True
                log.warning("no int8 copy of the embedder (%s: %s); indexing embeds in float32", type(exc).__name__, exc)
        if len(texts) < INT8_FROM or self._session is None:
            return embed_in_calls(self.embedder, texts, progress)
        encodings = self._tokenizer.encode_batch(list(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        done = 0
        for rows in length_groups([len(e.ids) for e in encodings], BATCH_TOKENS, most=BATCH):
            ids, mask = padded(encodings, rows)
            out[rows] = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            done += len(rows)
            if progress:
                progress(done, len(texts))
        return out

    def load(self):
        if self._session is not None:
            return
        import onnxruntime

        from rag.models.bert_numpy import tokenizer

        path = self.model_path()
        if not path.is_file():
            export_int8(self.location, path)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = tokenizer(self.location)

    def model_path(self) -> Path:
        weights = self.location / "model.safetensors"
        key = hashlib.sha256(f"{self.location.resolve()}:{weights.stat().st_size}:{EXPORT_VERSION}".encode()).hexdigest()[:16]
        return self.cache / "embedders" / f"{self.location.name}-{key}.int8.onnx"


def export_int8(folder: Path, target: Path):
    """Exports the BERT with mean pooling and normalisation to ONNX, fuses its layers, then
    quantises its weights to int8 (written aside, then renamed: an interrupted export leaves
    nothing behind)."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    log.warning("making an int8 copy of the embedder for indexing, once (about 10 s); kept in %s", target.parent)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        # Eager attention exports as the plain MatMul/Softmax pattern the optimiser can fuse.
        model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
        example = (torch.ones((2, 8), dtype=torch.int64), torch.ones((2, 8), dtype=torch.int64))
        float32 = tmp / "model.onnx"
        # The exporter's and quantiser's advice is for model authors, not for someone indexing.
        with torch.no_grad(), warnings.catch_warnings(), quiet_logging():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                mean_pooled(model), example, str(float32), input_names=["input_ids", "attention_mask"],
                output_names=["vectors"], opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                              "vectors": {0: "batch"}},
            )
        with quiet_logging():
            fused = fuse(float32, model.config)
            quantize_dynamic(str(fused), str(tmp / "model.int8.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                             # the fused operators' outputs are float
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        os.replace(tmp / "model.int8.onnx", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fuse(path: Path, config) -> Path:
    """The exported model with ONNX Runtime's BERT fusions, or the model as it is if they fail."""
    from onnxruntime.transformers.optimizer import optimize_model

    try:
        model = optimize_model(str(path), model_type="bert", num_heads=config.num_attention_heads,
                               hidden_size=config.hidden_size, opt_level=1)
    except Exception as exc:  # noqa: BLE001 - an unfusable graph still quantises and runs
        log.info("no fused copy of the embedder (%s: %s); quantising it as exported", type(exc).__name__, exc)
        return path
    fused = path.with_name("model.fused.onnx")
    model.save_model_to_file(str(fused))
    return fused


@contextmanager
def quiet_logging():
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def mean_pooled(model):
    """The transformer, mean pooling over real tokens, and L2 normalisation: one torch module."""
    import torch

    class Module(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return Module()
