"""A BERT sentence encoder (mean pooling, L2-normalised) in numpy, for the question path.

Answering a question embeds the question and the sentences of the chunks it retrieves: a few
dozen short texts. sentence-transformers takes seconds to import (scikit-learn, torch and
transformers' loading machinery) for work that numpy does as fast on one core, so `rag ask`
runs the same weights here, read with safetensors and tokenised with `tokenizers`. It gives the
vectors of sentence-transformers within float32 rounding (tests/test_bert_numpy.py checks
cosine > 0.999); indexing, with its large batches, stays on sentence-transformers.
"""

import json
import logging
import math
from pathlib import Path

import numpy as np

from rag.models.batching import length_groups, padded
from rag.models.threads import BlasThreads, free_cores

log = logging.getLogger(__name__)

BATCH = 32  # texts per forward pass, sorted by length so that little padding is multiplied
# At most this many tokens (texts x the longest) per forward pass. Small passes keep the
# attention scores (texts x heads x tokens x tokens) in the CPU's caches: 128 units of the SQLite
# docs embedded in 1.7 s at 512 tokens a pass, 2.0 s at 1,024, 2.4 s at 2,048 and 2.8 s at 4,096,
# and the largest temporary arrays shrink with them.
BATCH_TOKENS = 512


def supported(folder: str | Path) -> bool:
    """Whether `folder` holds a model this encoder runs exactly: a BERT with absolute positions
    and gelu, mean pooling, then Normalize, in safetensors with a tokenizer.json."""
    folder = Path(folder)
    try:
        modules = [m["type"].rsplit(".", 1)[-1] for m in json.loads((folder / "modules.json").read_text())]
        config = json.loads((folder / "config.json").read_text())
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return False
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    return (
        modules == ["Transformer", "Pooling", "Normalize"]
        and modes == {"pooling_mode_mean_tokens"}
        and config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def tokenizer(folder: Path):
    """The model's tokenizer, truncating where sentence-transformers does, without padding."""
    from tokenizers import Tokenizer

    config = json.loads((folder / "config.json").read_text())
    st_config = folder / "sentence_bert_config.json"
    max_length = json.loads(st_config.read_text()).get("max_seq_length", 512) if st_config.is_file() else 512
    result = Tokenizer.from_file(str(folder / "tokenizer.json"))
    result.enable_truncation(min(max_length, config.get("max_position_embeddings", 512)))
    result.no_padding()
    return result


class NumpyBertEncoder:
    """Loads a supported sentence-transformers BERT folder (see `supported`).

    Args:
        folder: the model folder.
    """

    def __init__(self, folder: str | Path):
        from safetensors.numpy import load_file

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.tokenizer = tokenizer(folder)
        weights = load_file(str(folder / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        # Linear weights transposed once, so every forward pass multiplies contiguous arrays.
        self.w = {k[len(prefix):]: np.ascontiguousarray(v.T if v.ndim == 2 and ".layer." in k else v, dtype=np.float32)
                  for k, v in weights.items() if k.startswith(prefix)}
        self.dimension = int(config["hidden_size"])
        self.threads = free_cores()  # decided once, so that every call computes the same way
        self.blas = BlasThreads(self.threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text, in input order."""
        encodings = self.tokenizer.encode_batch(list(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        with self.blas.limit():
            for rows in length_groups([len(e.ids) for e in encodings], BATCH_TOKENS, most=BATCH):
                self.encode_rows(encodings, rows, out)
        return out

    def encode_rows(self, encodings, rows: list[int], out: np.ndarray):
        """Embeds the texts at `rows` (one padded batch) into those rows of `out`."""
        ids, mask = padded(encodings, rows)
        out[rows] = self.forward(ids, mask.astype(np.float32))

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][: ids.shape[1]]
        x = self.norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        blocked = (1.0 - mask)[:, None, None, :] * np.finfo(np.float32).min
        for n in range(self.layers):
            x = self.layer(x, blocked, f"encoder.layer.{n}.")
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def layer(self, x: np.ndarray, blocked: np.ndarray, p: str) -> np.ndarray:
        batch, width, hidden = x.shape
        size = hidden // self.heads

        def heads(name):
            y = self.linear(x, p + f"attention.self.{name}")
            return y.reshape(batch, width, self.heads, size).transpose(0, 2, 1, 3)

        # In place: the scores of a batch are its largest array (texts x heads x tokens x tokens).
        scores = heads("query") @ heads("key").transpose(0, 1, 3, 2)
        scores /= math.sqrt(size)
        scores += blocked
        scores -= scores.max(-1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ heads("value")).transpose(0, 2, 1, 3).reshape(batch, width, hidden)
        x = self.norm(x + self.linear(context, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        inner = gelu(self.linear(x, p + "intermediate.dense"))
        return self.norm(x + self.linear(inner, p + "output.dense"), p + "output.LayerNorm")

    def linear(self, x: np.ndarray, name: str) -> np.ndarray:
        # One matrix product over all rows of the batch, not one per text.
        y = x.reshape(-1, x.shape[-1]) @ self.w[name + ".weight"]
        y += self.w[name + ".bias"]
        return y.reshape(*x.shape[:-1], y.shape[-1])

    def norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact (erf) gelu; erf by Abramowitz and Stegun 7.1.26 (error under 1.5e-7)."""
    a = np.abs(x) * (1.0 / math.sqrt(2.0))
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * 1.061405429
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += c
        poly *= t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # 1 - erf(|x| / sqrt 2)
    # gelu(x) = x * P(x) with P(x) = 1 - D for x >= 0 and D for x < 0, D = (1 - erf(|x| / sqrt 2)) / 2:
    # max(x, 0) - |x| * D for either sign.
    poly *= np.abs(x)
    poly *= 0.5
    return np.maximum(x, 0.0) - poly
