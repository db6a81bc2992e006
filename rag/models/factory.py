"""The one place that names a model engine: Config -> the embedder and generator to use.

Every engine is imported when its model is first made, not when this module is: RAG and
indexing are written against rag/models/base.py only.
"""

from rag.config import Config
from rag.models.base import Embedder, Generator, Ranker
from rag.models.embedding import SentenceTransformerEmbedder
from rag.models.generation import LlamaCppGenerator


def default_embedder(config: Config) -> Embedder:
    """The embedder Config names, on sentence-transformers (questions on the numpy encoder)."""
    return SentenceTransformerEmbedder(config.embedder)


def default_generator(config: Config) -> Generator:
    """The GGUF generator Config names, on llama.cpp."""
    return LlamaCppGenerator(config)


def default_ranker(config: Config) -> Ranker | None:
    """The learned ranker Config names, or None for the evidence score's own order."""
    if config.ranker == "evidence":
        return None
    from rag.models.ranker import LearnedRanker

    return LearnedRanker(config.ranker)


def indexing_embedder(config: Config, embedder: Embedder) -> Embedder:
    """The embedder, spread over Ray workers when Config.ray says so (rag/models/ray_embedding.py),
    or with an int8 copy for large builds when Config.int8_indexing does (rag/models/quantized.py)."""
    if config.ray:
        from rag.models.embedding import resolve_embedder
        from rag.models.ray_embedding import RayEmbedder

        return RayEmbedder(embedder, resolve_embedder(config.embedder)[1], config.ray, config.ray_actors, config.ray_batch)
    if config.int8_indexing:
        from rag.models.quantized import int8_embedder

        return int8_embedder(embedder, config.cache_path)
    return embedder
