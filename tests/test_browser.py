"""The web chat in a real browser (headless Chromium) with the real default models (slow).

`make test` installs Chromium (Debian packages chromium, chromium-driver) when it is missing.
"""

import re
import shutil
from pathlib import Path

import pytest

from tests.ports import free_port

from rag import RAG
from ui.app import serve

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = REPO / "docs" / "screenshot.png"
SOURCE_FILE = re.compile(r"\b00\d_[0-9a-f]{16}\.txt\b")
ANSWER_WAIT_MS = 60_000
# Keeps every text the streaming answer shows, so a test can tell it streamed in.
WATCH_STREAM = """() => {
  window.ragStreamed = [];
  const chat = document.querySelector("#rag-chat");
  new MutationObserver(() => {
    const live = chat.querySelectorAll(".rag-streaming .rag-text");
    if (!live.length) return;
    const text = live[live.length - 1].innerText.replace("▍", "").trim();
    if (text && window.ragStreamed[window.ragStreamed.length - 1] !== text) window.ragStreamed.push(text);
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}"""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chat_url(real_rag, tmp_path_factory):
    """The app on a free port, on its own copy of the default corpus and index (uploads here
    leave other tests' corpus alone), sharing the real models already loaded."""
    folder = tmp_path_factory.mktemp("browser")
    shutil.copytree(real_rag.corpus_dir, folder / "corpus")
    shutil.copytree(real_rag.index_dir, folder / "index")
    rag = RAG.open(folder / "index", embedder=real_rag.embedder, generator=real_rag.generator)
    port = free_port()
    app = serve(rag, port=port, block=False)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_chat(browser, url):
    """A new visitor: a fresh browser context on the chat page."""
    page = browser.new_page(viewport={"width": 1360, "height": 960})
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    page.evaluate(WATCH_STREAM)
    return page


def ask(page, question: str):
    """Types a question, presses Enter and waits for the final answer; returns its element."""
    done = "#rag-chat .rag-answer:not(.rag-streaming)"
    before = page.locator(done).count()
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('{done}').length > {before}", timeout=ANSWER_WAIT_MS)
    return page.locator(done).last


def test_a_question_streams_in_and_shows_its_cited_source(browser, chat_url):
    page = open_chat(browser, chat_url)
    assert "Ask a question about your documents" in page.locator("#rag-chat").inner_text()
    # A question whose answer the model writes (and verification keeps), for the screenshot.
    answer = ask(page, "Azure is more than hosting; what is it doing for the future of AI?")
    assert page.evaluate("window.ragStreamed"), "no text was shown before the final answer"
    text = answer.locator(".rag-text").inner_text()
    assert "co-engineering" in text and "[1]" in text
    sources = answer.locator(".rag-sources").inner_text()
    assert SOURCE_FILE.search(sources), sources
    answer.locator("a.rag-cite").first.click()
    source = answer.locator("details.rag-source").first
    page.wait_for_function("(d) => d.open", arg=source.element_handle())
    assert "co-engineering" in source.locator("mark").inner_text()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), animations="disabled")
    page.close()


def test_an_uploaded_file_is_answered_and_a_bad_one_named(browser, chat_url, tmp_path):
    (tmp_path / "kiwi.txt").write_text(
        "Kiwi birds\nThe kiwi is a flightless bird that lives only in New Zealand. "
        "A kiwi lays the largest egg relative to its body size of any bird.\n", encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    page = open_chat(browser, chat_url)
    page.locator("#rag-upload input[type=file]").set_input_files([str(tmp_path / "kiwi.txt"), str(tmp_path / "broken.pdf")])
    page.wait_for_function("document.querySelector('#rag-status').innerText.includes('kiwi.txt')", timeout=ANSWER_WAIT_MS)
    status = page.locator("#rag-status").inner_text()
    assert "Added kiwi.txt" in status and "Could not read broken.pdf" in status
    assert "kiwi.txt" in page.locator("#rag-documents").inner_text()
    answer = ask(page, "Where does the kiwi bird live?")
    assert "New Zealand" in answer.locator(".rag-text").inner_text()
    assert "kiwi.txt" in answer.locator(".rag-sources").inner_text()
    page.close()


def test_visitors_do_not_see_each_others_chats(browser, chat_url):
    first, second = open_chat(browser, chat_url), open_chat(browser, chat_url)
    ask(first, "Who said that the future of AI must be open and grounded in safety?")
    assert second.locator("#rag-chat .rag-answer").count() == 0
    ask(second, "What is Meta doing in the competitive landscape?")
    assert first.locator("#rag-chat .rag-answer").count() == 1
    assert "Meta" not in first.locator("#rag-chat").inner_text()
    first.close()
    second.close()


def test_the_stop_button_stops_a_running_answer(browser, chat_url):
    page = open_chat(browser, chat_url)
    box = page.locator("#rag-question textarea")
    # A question no other test asks: one answered before would come back whole from the memo.
    box.fill("What did Microsoft gain from its early investment in OpenAI?")
    box.press("Enter")
    page.wait_for_function("window.ragStreamed.length > 0", timeout=ANSWER_WAIT_MS)
    page.get_by_role("button", name="Stop").click()
    page.wait_for_selector("#rag-chat .rag-stopped", timeout=ANSWER_WAIT_MS)
    assert page.locator("#rag-chat .rag-stopped").inner_text().endswith("stopped.")
    assert page.get_by_role("button", name="Ask").is_visible()
    page.get_by_role("button", name="Clear chat").click()
    page.wait_for_function("!document.querySelector('#rag-chat .rag-answer')")
    page.close()


def test_markup_in_a_document_or_a_question_shows_as_text(browser, chat_url, tmp_path):
    (tmp_path / "marmot.txt").write_text(
        "Alpine marmots\nThe alpine marmot whistles <img src=x onerror=\"window.ragPwned=1\"> to warn its "
        "colony when an eagle flies over.\n", encoding="utf-8")
    page = open_chat(browser, chat_url)
    page.locator("#rag-upload input[type=file]").set_input_files([str(tmp_path / "marmot.txt")])
    page.wait_for_function("document.querySelector('#rag-status').innerText.includes('marmot.txt')", timeout=ANSWER_WAIT_MS)
    answer = ask(page, "Why does the alpine marmot whistle? <img src=x onerror=window.ragPwned=2>")
    answer.locator("details.rag-source").first.evaluate("(d) => d.open = true")
    chat = page.locator("#rag-chat")
    assert "<img src=x onerror=window.ragPwned=2>" in chat.inner_text()
    assert "eagle" in answer.inner_text() and "<img" in answer.inner_text()
    assert chat.locator("img[src='x']").count() == 0
    assert page.evaluate("window.ragPwned") is None
    page.close()
