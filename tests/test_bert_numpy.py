"""The numpy question encoder against sentence-transformers, on the real default embedder (slow)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rag.models.bert_numpy import NumpyBertEncoder, supported
from rag.models.embedding import LIGHT_CALL, SentenceTransformerEmbedder, resolve_embedder

pytestmark = pytest.mark.slow

TEXTS = [
    "How much did Microsoft invest in OpenAI in 2019?",
    "x",
    "Key milestones: • 2019: Microsoft invests $1 billion in OpenAI",
    "Ünïcödé, accents and CAPITALS are lower-cased the BERT way.",
    "a long text " * 200,  # past the 256-token limit: truncated as sentence-transformers does
]


def test_numpy_encoder_gives_the_vectors_of_sentence_transformers():
    from sentence_transformers import SentenceTransformer

    folder = resolve_embedder("default")[1]
    assert supported(folder)
    ours = NumpyBertEncoder(folder).encode(TEXTS)
    theirs = SentenceTransformer(folder, device="cpu", local_files_only=True).encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    assert (ours * theirs).sum(1).min() > 0.999


def test_questions_are_embedded_without_sentence_transformers_or_torch():
    probe = (
        "import sys\nfrom rag.models.embedding import SentenceTransformerEmbedder\n"
        "e = SentenceTransformerEmbedder()\nv = e.embed(['How much did Microsoft invest?'])\n"
        "print(json.dumps([v.shape[1], e.dimension, [m for m in ('torch', 'sentence_transformers', 'sklearn') if m in sys.modules]]))"
    )
    out = subprocess.run([sys.executable, "-c", "import json\n" + probe], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [384, 384, []]


def test_large_calls_still_go_to_sentence_transformers():
    embedder = SentenceTransformerEmbedder()
    vectors = embedder.embed(TEXTS[:1] * (LIGHT_CALL + 1))
    assert embedder._model is not None and vectors.shape == (LIGHT_CALL + 1, 384)
    assert float(vectors[0] @ embedder.embed(TEXTS[:1])[0]) > 0.999
