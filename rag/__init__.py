"""rag: answer questions from a folder of documents, with citations, offline.

    from rag import RAG
    rag = RAG.build("corpus/", "index/")      # or RAG.open("index/")
    answer = rag.ask("How much did Microsoft invest in OpenAI in 2019?")
    answer.text, answer.citations, answer.abstained
"""

from typing import TYPE_CHECKING

from rag.config import Config
from rag.documents import SUPPORTED_SUFFIXES
from rag.errors import (
    ConfigError,
    DocumentError,
    EmptyCorpusError,
    IndexFormatError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    MissingDependencyError,
    ModelNotFoundError,
    RagError,
)
from rag.version import __version__  # noqa: F401 (rag.__version__)

if TYPE_CHECKING:
    from rag.answering.answer import Answer, Citation
    from rag.api import RAG, AnswerStream
    from rag.indexing import IndexReport

# Imported on first use (PEP 562): they bring in numpy, a fifth of a second that `import rag`
# and `rag --help` do not need.
LAZY = {"Answer": "rag.answering.answer", "Citation": "rag.answering.answer", "RAG": "rag.api", "AnswerStream": "rag.api",
        "IndexReport": "rag.indexing"}

__all__ = [
    "RAG", "SUPPORTED_SUFFIXES", "Answer", "AnswerStream", "Citation", "Config", "IndexReport", "RagError", "ConfigError",
    "DocumentError", "EmptyCorpusError", "IndexFormatError", "IndexLockedError", "IndexMismatchError", "IndexNotFoundError",
    "MissingDependencyError", "ModelNotFoundError",
]


def __getattr__(name: str):
    if name not in LAZY:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(LAZY))
