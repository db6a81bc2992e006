"""`rag index` killed with SIGKILL at many moments of a first build, a rebuild and an update:
each time the index left behind is the previous one (or the finished new one), opens and
answers, and the next run finishes the job. Kills are deterministic: the child process counts
the moments where a crash could leave something half written and kills itself at the Nth.
"""

import shutil
import signal

import pytest

from rag import RAG, Config
from tests.fakes import FakeEmbedder, ScriptedGenerator
from tests.reliability.helpers import (
    CORPUS_V1,
    CORPUS_V2,
    event_labels,
    fake_toml,
    file_set,
    make_corpus,
    open_fake,
    run_index,
    spread,
    survivor_problem,
)

pytestmark = pytest.mark.slow  # about 40 child processes
FAKE_CONFIG = Config(embedder="fake-embedder", chunk_chars=200, chunk_overlap=50)  # as in helpers.FAKE_TOML

# (previous index?, corpus indexed, arguments, kills)
SCENARIOS = {
    "first build": (False, CORPUS_V2, [], 6),
    "rebuild": (True, CORPUS_V1, ["--rebuild"], 10),
    "update": (True, CORPUS_V2, [], 10),
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """The corpus before and after an update, and a copy of an index of the first."""
    root = tmp_path_factory.mktemp("crash")
    config = fake_toml(root)
    v1, v2 = make_corpus(root / "v1", CORPUS_V1), make_corpus(root / "v2", CORPUS_V2)
    done = run_index(config, v1, root / "index")
    assert done.returncode == 0, done.stderr
    shutil.copytree(root / "index", root / "pristine")
    return root, config, {"v1": v1, "v2": v2}


def scenario_corpus(setup, docs):
    root, _, corpora = setup
    return corpora["v1"] if docs is CORPUS_V1 else corpora["v2"]


def fresh_index(root, has_previous):
    """The index folder as it was before the run: the same path every time, as for a user
    (the index records where its corpus is, relative to itself)."""
    index = root / "index"
    shutil.rmtree(index, ignore_errors=True)
    if has_previous:
        shutil.copytree(root / "pristine", index)
    return index


def leftovers(index):
    data = [p.name for p in index.iterdir() if p.name.startswith("data-")]
    tmp = [p.name for p in index.iterdir() if p.name.endswith(".tmp")]
    return tmp + data if tmp or len(data) != 1 else []


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_a_killed_index_run_leaves_a_whole_index_and_the_next_run_finishes(setup, tmp_path, name):
    root, config, _ = setup
    has_previous, docs, args, kills = SCENARIOS[name]
    corpus = scenario_corpus(setup, docs)
    before = file_set(open_fake(root / "pristine")) if has_previous else None

    # A clean run first, to count its moments and know what the finished index holds.
    index = fresh_index(root, has_previous)
    clean = run_index(config, corpus, index, *args, events=tmp_path / "events.json")
    assert clean.returncode == 0, clean.stderr
    after = file_set(open_fake(index))
    labels = event_labels(tmp_path / "events.json")
    points = spread(labels, kills)
    assert len(points) >= kills

    problems = []
    for n in points:
        index = fresh_index(root, has_previous)
        killed = run_index(config, corpus, index, *args, kill_at=n)
        assert killed.returncode == -signal.SIGKILL, f"event {n} ({labels[n - 1]}) was not reached: {killed.stderr}"
        problem = survivor_problem(index, [before, after])
        if problem:
            problems.append(f"killed at event {n} ({labels[n - 1]}): {problem}")
            continue
        try:  # the next run finishes the job
            again = RAG.build(corpus, index, FAKE_CONFIG, embedder=FakeEmbedder(), generator=ScriptedGenerator(""))
        except Exception as exc:  # noqa: BLE001 - any failure is a finding
            problems.append(f"killed at event {n} ({labels[n - 1]}): the next run failed: {exc!r}")
            continue
        if file_set(again) != after or file_set(open_fake(index)) != after:
            problems.append(f"killed at event {n} ({labels[n - 1]}): the next run did not finish the job")
    assert not problems, "\n".join(problems)


def test_the_next_run_clears_what_a_killed_run_left(setup):
    """A rebuild killed while writing its data folder, or while removing the old one, leaves
    a folder behind; the next `rag index` (nothing changed) should remove it, not keep it forever."""
    root, config, _ = setup
    corpus = scenario_corpus(setup, CORPUS_V1)
    index = fresh_index(root, True)
    assert run_index(config, corpus, index, "--rebuild", events=root / "events.json").returncode == 0
    labels = event_labels(root / "events.json")
    points = [labels.index("open units.jsonl") + 1, labels.index("shutil.rmtree") + 1]
    found = []
    for n in points:
        index = fresh_index(root, True)
        assert run_index(config, corpus, index, "--rebuild", kill_at=n).returncode == -signal.SIGKILL
        assert run_index(config, corpus, index).returncode == 0
        found += leftovers(index)
    assert not found, found


def test_the_kill_sweep_catches_a_manifest_written_in_place(setup, tmp_path):
    """The same sweep over an update whose manifest is written in place, not renamed into
    place: some kill must leave an index that no longer opens (so the test above can fail)."""
    root, config, _ = setup
    corpus = scenario_corpus(setup, CORPUS_V2)
    before = file_set(open_fake(root / "pristine"))
    index = fresh_index(root, True)
    assert run_index(config, corpus, index, events=tmp_path / "events.json", unsafe=True).returncode == 0
    after = file_set(open_fake(index))
    labels = event_labels(tmp_path / "events.json")
    points = [n for n, label in enumerate(labels, 1) if label == "manifest half written"]
    assert points
    found = []
    for n in points:
        index = fresh_index(root, True)
        assert run_index(config, corpus, index, kill_at=n, unsafe=True).returncode == -signal.SIGKILL
        found.append(survivor_problem(index, [before, after]))
    assert any(found)
