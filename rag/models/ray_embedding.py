"""Embedding while indexing on Ray: batches of texts go to a pool of embedding actors.

Documents are read and chunked in this process as always; the texts to embed become a Ray
Dataset whose batches go to `Config.ray_actors` actors (each loads the embedder once, on one
CPU), and the vectors come back in input order. `Config.ray = "local"` starts a Ray on this
machine; an address ("auto", "HOST:6379", "ray://HOST:10001") joins that cluster, whose nodes
must have rag and the embedder installed.

Questions (and the few sentences they reach) are still embedded in this process by the same
model: a round trip to the cluster would cost more than the embedding.
"""

import logging
import os
from collections.abc import Callable

import numpy as np

from rag.errors import MissingDependencyError
from rag.models.base import Embedder

log = logging.getLogger(__name__)


def ray_module():
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise MissingDependencyError("embedding on Ray needs ray[data]: pip install 'rag[ray]'") from exc
    return ray


def start_ray(address: str, cpus: int):
    """Connects to Ray once per process: a local Ray with `cpus` CPUs, or a cluster."""
    ray = ray_module()
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local Ray on this machine only
    if address == "local":
        log.info("starting a local Ray with %d CPUs", cpus)
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    else:
        log.info("joining the Ray cluster at %s", address)
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return ray


class EmbedActor:
    """Runs on a Ray worker: loads the sentence-transformers model once, embeds batches."""

    def __init__(self, location: str, threads: int):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self.model = SentenceTransformer(location, device="cpu", local_files_only=os.path.exists(location))

    def __call__(self, batch: dict) -> dict:
        vectors = self.model.encode(list(batch["text"]), batch_size=32, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False)
        return {"row": batch["row"], "vector": np.asarray(vectors, dtype=np.float32)}


class RayEmbedder:
    """An Embedder whose bulk work (embed_all, used by indexing) runs on Ray.

    Args:
        local: the in-process embedder of the same model, for questions and small calls.
        location: the model's folder or hub id (rag.models.embedding.resolve_embedder), which every
            actor loads; on a cluster it must exist on each node.
        address: "local" or a Ray cluster address.
        actors: embedding actors.
        batch: texts per actor call.
    """

    def __init__(self, local: Embedder, location: str, address: str = "local", actors: int = 2, batch: int = 256):
        self.local = local
        self.location = location
        self.name = local.name
        self.address = address
        self.actors = actors
        self.batch = batch

    @property
    def dimension(self) -> int:
        return self.local.dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.local.embed(texts)

    def embed_all(self, texts: list[str], progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """Every text's vector, in order, computed by the actor pool."""
        if not texts:
            return self.local.embed([])
        ray = start_ray(self.address, self.actors)
        data = ray.data.from_items([{"row": i, "text": t} for i, t in enumerate(texts)])
        vectors = data.map_batches(
            EmbedActor, fn_constructor_args=(self.location, 1), batch_size=self.batch, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.actors), num_cpus=1,
        )
        out = np.zeros((len(texts), 0), np.float32)
        done = 0
        for batch in vectors.iter_batches(batch_size=None, batch_format="numpy"):
            rows, found = batch["row"], np.asarray(batch["vector"], dtype=np.float32)
            if out.shape[1] == 0:
                out = np.zeros((len(texts), found.shape[1]), np.float32)
            out[rows] = found
            done += len(rows)
            if progress:
                progress(done, len(texts))
        return out
