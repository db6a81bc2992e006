"""`rag` in a fresh process, with the test stand-ins for the models (python -m tests.milvus_child ARGS).

A new process is what finds a Milvus collection as the server keeps it on disk (released,
for Milvus Lite always); the stand-ins keep such a run to a second or two.
"""

import sys

import rag.models.factory
from rag.cli import main
from tests.fakes import FakeEmbedder, ScriptedGenerator, source_sentence


def copy_sentence(messages):
    return source_sentence(messages, 1)


if __name__ == "__main__":
    rag.models.factory.SentenceTransformerEmbedder = lambda name: FakeEmbedder()
    rag.models.factory.LlamaCppGenerator = lambda config: ScriptedGenerator(copy_sentence)
    sys.argv[0] = "rag"
    main()
