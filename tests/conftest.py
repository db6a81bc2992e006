import shutil
from pathlib import Path

import pytest

from rag import RAG, Config
from tests.fakes import FakeEmbedder, ScriptedGenerator, source_sentence

REPO = Path(__file__).resolve().parent.parent

DOCS = {
    "solar.txt": (
        "Solar Power Basics\n"
        "Solar panels turn sunlight into electricity using photovoltaic cells. "
        "A typical home system produces about 6 kilowatts at peak. "
        "The first practical silicon solar cell was built at Bell Labs in 1954.\n"
        "Panels last a long time. Most manufacturers guarantee them for 25 years.\n"
    ),
    "bees.md": (
        "# Honey bees\n\n"
        "A honey bee colony has one queen, thousands of workers and a few hundred drones. "
        "Worker bees collect nectar and pollen from flowers.\n\n"
        "Bees communicate with each other:\n"
        "- the waggle dance points to food far away\n"
        "- the round dance signals food close to the hive\n"
    ),
    "notes/trains.html": (
        "<html><head><title>Night trains</title><style>p {color: red}</style></head><body>"
        "<h1>Night trains in Europe</h1>"
        "<p>The Nightjet network is run by the Austrian railway company ÖBB.</p>"
        "<p>A sleeper cabin on the Vienna to Paris route costs from 120 euros.</p>"
        "<script>var x = 1;</script></body></html>"
    ),
}


def write_corpus(folder: Path, docs: dict[str, str] = DOCS) -> Path:
    for name, text in docs.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def corpus(tmp_path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def fake_config() -> Config:
    return Config(embedder="fake-embedder", chunk_chars=200, chunk_overlap=50)


def copy_sentence(messages):
    """A generator that answers with source [1] copied word for word (always supported)."""
    return source_sentence(messages, 1)


@pytest.fixture
def fake_rag(corpus, tmp_path, fake_config) -> RAG:
    return RAG.build(corpus, tmp_path / "index", fake_config,
                     embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))


@pytest.fixture(scope="session")
def real_rag(tmp_path_factory) -> RAG:
    """The default models over a copy of the default corpus (slow: loads real models)."""
    folder = tmp_path_factory.mktemp("real")
    shutil.copytree(REPO / "corpus", folder / "corpus")
    rag = RAG.build(folder / "corpus", folder / "index")
    rag.warm_up()
    return rag
