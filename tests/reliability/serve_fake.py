"""The web chat on the fake models in its own process, for the load test (its memory is the server's alone).

    python -m tests.reliability.serve_fake CORPUS INDEX PORT
"""

import sys
import time
from pathlib import Path

from rag import RAG, Config
from tests.conftest import copy_sentence
from tests.fakes import FakeEmbedder, ScriptedGenerator
from ui.app import serve


def main():
    corpus, index, port = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    config = Config(embedder="fake-embedder", chunk_chars=200, chunk_overlap=50)
    rag = RAG.build(corpus, index, config, embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))
    serve(rag, host="127.0.0.1", port=port, block=False)
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
