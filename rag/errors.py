"""The errors rag raises. Each message says what to do next."""


class RagError(Exception):
    """Base class for every error rag raises on purpose."""


class ConfigError(RagError, ValueError):
    """A setting in Config is out of range or inconsistent."""


class DocumentError(RagError):
    """A file could not be read into text."""

    def __init__(self, path, reason: str):
        super().__init__(f"cannot read {path}: {reason}")
        self.path = path
        self.reason = reason


class EmptyCorpusError(RagError):
    """The corpus folder holds no readable document."""


class IndexNotFoundError(RagError):
    """There is no index at the given path."""


class IndexMismatchError(RagError):
    """The index on disk was built with other settings than the ones asked for."""


class IndexFormatError(IndexMismatchError):
    """The index was written by a version of rag that splits or stores text differently."""


class ModelNotFoundError(RagError):
    """A model named in the config cannot be found locally."""


class GenerationError(RagError):
    """The generator could not load its model or write a reply."""


class PromptTooLongError(GenerationError):
    """A prompt does not fit the room the generator keeps for one reply (Config.context_tokens)."""


class MissingDependencyError(RagError, ImportError):
    """An optional package needed for this feature is not installed."""


class IndexLockedError(RagError):
    """Another process (or thread) is updating the same index."""


class StoreError(RagError):
    """The vector store (a Milvus server or Milvus Lite file) cannot be reached or loaded, or
    holds something else than expected."""
