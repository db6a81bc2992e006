"""rag: answer questions from a folder of documents, with citations, offline.

    from rag import RAG
    rag = RAG.build("corpus/", "index/")      # or RAG.open("index/")
    answer = rag.ask("How much did Microsoft invest in OpenAI in 2019?")
    answer.text, answer.citations, answer.abstained
"""

__version__ = "0.1.0"

from rag.answer import Answer, Citation
from rag.api import RAG, AnswerStream
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
from rag.indexing import IndexReport

__all__ = [
    "RAG", "SUPPORTED_SUFFIXES", "Answer", "AnswerStream", "Citation", "Config", "IndexReport", "RagError", "ConfigError",
    "DocumentError", "EmptyCorpusError", "IndexFormatError", "IndexLockedError", "IndexMismatchError", "IndexNotFoundError",
    "MissingDependencyError", "ModelNotFoundError",
]
