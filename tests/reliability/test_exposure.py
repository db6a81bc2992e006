"""Who can reach what: the warning for an exposed chat without a login, the login guarding every
page, API call and file, Gradio's file routes serving no corpus file or file outside, uploads
landing sanitised inside the corpus, and HTML from documents or questions shown as text."""


import httpx
import pytest
from click.testing import CliRunner

from rag import RAG, Answer, Citation, Config
from rag.cli import cli
from rag.documents import upload_name
from tests.conftest import copy_sentence, write_corpus
from tests.fakes import FakeEmbedder, ScriptedGenerator
from tests.ports import free_port
from ui import chat as actions
from ui.app import serve
from ui.render import answer_html

LOGIN = ("alice", "correct horse battery")
SECRET = "The launch code for project Kestrel is 7-7-3-1."
XSS = '<img src=x onerror="alert(1)">'


@pytest.fixture(scope="module")
def rag(tmp_path_factory):
    root = tmp_path_factory.mktemp("exposure")
    corpus = write_corpus(root / "corpus", {"secret.txt": SECRET + "\n", "bees.md": "Worker bees collect nectar.\n"})
    config = Config(embedder="fake-embedder", chunk_chars=200, chunk_overlap=50, max_file_mb=0.01)
    return RAG.build(corpus, root / "index", config, embedder=FakeEmbedder(), generator=ScriptedGenerator(copy_sentence))


@pytest.fixture(scope="module")
def url(rag):
    port = free_port()
    app = serve(rag, port=port, auth=LOGIN, block=False)
    yield f"http://127.0.0.1:{port}"
    app.close()


def logged_in(url) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    response = client.post("/login", data={"username": LOGIN[0], "password": LOGIN[1]})
    assert response.status_code == 200, response.text
    return client


@pytest.mark.parametrize("args, warned", [
    (["--host", "0.0.0.0"], True),
    (["--share"], True),
    (["--host", "0.0.0.0", "--auth", "alice:pw"], False),
    ([], False),
])
def test_an_exposed_chat_without_a_login_prints_a_warning_at_start(monkeypatch, args, warned):
    launched = {}
    monkeypatch.setattr("rag.cli.open_rag", lambda index_dir, config: "rag")
    monkeypatch.setattr("ui.app.serve", lambda rag, **kwargs: launched.update(kwargs))
    monkeypatch.delenv("RAG_AUTH", raising=False)
    result = CliRunner().invoke(cli, ["serve", *args])
    assert result.exit_code == 0, result.output
    assert ("warning: the chat is open to anyone" in result.stderr) == warned
    assert "add --auth USER:PASSWORD" in result.stderr if warned else "warning" not in result.stderr
    assert "/v1" in result.stderr, "where the OpenAI-compatible API is (or that it is off) is said too"
    assert launched["auth"] == (("alice", "pw") if "--auth" in args else None)


def test_with_a_login_a_visitor_without_it_gets_no_page_api_call_or_file(url, rag):
    corpus_file = rag.corpus_dir / "secret.txt"
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/")
    assert "Kestrel" not in page.text and "documents indexed" not in page.text and "secret.txt" not in page.text
    for path in ("/config", "/gradio_api/info", "/gradio_api/openapi.json", f"/gradio_api/file={corpus_file}",
                 "/gradio_api/queue/data?session_hash=x", "/gradio_api/upload_progress?upload_id=x"):
        response = client.get(path)
        assert response.status_code in (401, 403), (path, response.status_code)
        assert "Kestrel" not in response.text
    for path, body in (("/gradio_api/queue/join", {"fn_index": 1, "data": ["q"], "session_hash": "x"}),
                       ("/gradio_api/run/predict", {"fn_index": 1, "data": ["q"], "session_hash": "x"}),
                       ("/gradio_api/call/answer", {"data": ["q"]})):
        response = client.post(path, json=body)
        assert response.status_code in (401, 403), (path, response.status_code)
    response = client.post("/gradio_api/upload", files={"files": ("x.txt", b"hello")})
    assert response.status_code in (401, 403)
    assert client.post("/login", data={"username": LOGIN[0], "password": "wrong"}).status_code >= 400
    # With the login, the page is there.
    config = logged_in(url).get("/config")
    assert config.status_code == 200 and "2 documents indexed" in config.text


@pytest.mark.parametrize("target", ["corpus", "index", "outside", "traversal"])
def test_gradio_file_routes_serve_no_corpus_or_index_file_and_nothing_outside(url, rag, target):
    client = logged_in(url)
    path = {
        "corpus": str(rag.corpus_dir / "secret.txt"),
        "index": str(rag.index_dir.resolve() / "manifest.json"),
        "outside": "/etc/passwd",
        "traversal": "../../../../../../etc/passwd",
    }[target]
    for route in (f"/gradio_api/file={path}", f"/file={path}", f"/gradio_api/file/{path}", f"/static/{path}",
                  f"/assets/{path}", f"/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e{path}"):
        response = client.get(route)
        assert response.status_code != 200 or ("Kestrel" not in response.text and "root:" not in response.text
                                               and '"files"' not in response.text), route


def test_an_upload_named_like_a_path_lands_sanitised_inside_the_corpus(url, rag, tmp_path):
    client = logged_in(url)
    body = b"Kiwis are flightless birds of New Zealand.\n"
    response = client.post("/gradio_api/upload", files=[("files", ("../../../kiwi.txt", body))])
    assert response.status_code == 200, response.text
    [uploaded] = response.json()
    assert not (tmp_path.parents[3] / "kiwi.txt").exists()
    assert actions.add_documents(rag, [uploaded]).startswith("Added kiwi.txt")
    assert (rag.corpus_dir / "kiwi.txt").read_bytes() == body
    # Too large for max_file_mb (here 10 kB): refused by Gradio at the door, and by rag.
    response = client.post("/gradio_api/upload", files=[("files", ("big.txt", b"word " * 5000))])
    assert response.status_code == 413
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 5000)
    assert "Could not read big.txt: it is 0.025 MB, over the 0.01 MB limit" in actions.add_documents(rag, [str(big)])
    assert not (rag.corpus_dir / "big.txt").exists()


@pytest.mark.parametrize("name, safe", [
    ("../../x.txt", "x.txt"),
    ("/etc/cron.d/evil.txt", "evil.txt"),
    ("..\\..\\windows.txt", "windows.txt"),
    (".hidden.md", "hidden.md"),
    ("line\nbreak\x00.txt", "line_break_.txt"),
    ("..", "upload"),
    ("é" * 200 + ".pdf", "é" * 75 + ".pdf"),
])
def test_upload_names_are_made_safe(name, safe):
    assert upload_name(name) == safe


def test_uploads_are_sanitised_and_limited_in_number(corpus, tmp_path, fake_config):
    rag = RAG.build(corpus, tmp_path / "index", fake_config, embedder=FakeEmbedder(), generator=ScriptedGenerator(""))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / ".dotted.txt").write_text("Otters hold hands while they sleep.\n")
    assert actions.add_documents(rag, [str(folder / ".dotted.txt")]) == "Added dotted.txt: ready for questions."
    assert "dotted.txt" in rag.documents
    many = [str(folder / ".dotted.txt")] * (actions.MAX_UPLOADS + 1)
    assert actions.add_documents(rag, many).startswith(f"Nothing added: {actions.MAX_UPLOADS + 1} files chosen")


def test_html_in_a_question_or_a_document_is_shown_as_text(tmp_path):
    _, question, chat = actions.take_question(f"What does {XSS} do?", [])
    assert question == f"What does {XSS} do?"  # answered as typed...
    assert "<img" not in chat[-1]["content"] and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in chat[-1]["content"]
    text = f"Title\n\nA document with {XSS} and <script>alert(2)</script> in it.\n"
    start = text.index("A document")
    citation = Citation(1, f"{XSS}.txt", start, len(text) - 1, text[start:-1], 0.9)
    for answer in (Answer(question, f"It shows {XSS} [1].", (citation,), False, "generated", (citation,)),
                   Answer(question, f"No {XSS}.", (), True, "abstained", (citation,))):
        html = answer_html(answer, 1, lambda source: text)
        assert "<img" not in html and "<script" not in html and "onerror=\"" not in html
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
