"""Time to the first streamed text of an answer in the web chat, measured in a real browser.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/first_token.py [--index index] [--questions eval/dev_qa.jsonl] [--runs 10]

Starts the chat (ui.app.serve, the default models, warmed up) on a free local port, opens it in
headless Chromium, asks one warm-up question, then asks each question in a cleared chat. Inside
the page, a capturing keydown listener notes when Enter is pressed and a MutationObserver notes
when the answer first shows non-empty text; the difference is the time to first token as a person
sees it (retrieval, evidence, prompt and the first generated token, plus the trip through Gradio's
queue and websocket). The time to the final, verified answer is printed beside it.
"""

import argparse
import socket
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import RAG, Config  # noqa: E402
from rag.evaluation import load_questions  # noqa: E402
from ui.app import serve  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CLOCKS = """() => {
  const box = document.querySelector("#rag-question textarea");
  const chat = document.querySelector("#rag-chat");
  window.ragSent = null; window.ragFirst = null; window.ragDone = null;
  box.addEventListener("keydown", (e) => { if (e.key === "Enter") window.ragSent = performance.now(); }, true);
  new MutationObserver(() => {
    const now = performance.now();
    const live = chat.querySelector(".rag-streaming .rag-text");
    if (window.ragFirst === null && live && live.innerText.replace("▍", "").trim()) window.ragFirst = now;
    if (window.ragDone === null && chat.querySelector(".rag-answered, .rag-abstained")) window.ragDone = now;
  }).observe(chat, {subtree: true, childList: true, characterData: true});
}"""
RESET = "() => { window.ragSent = null; window.ragFirst = null; window.ragDone = null; }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(page, question: str) -> tuple[float, float]:
    """(ms to first text, ms to final answer) for one question in a cleared chat."""
    page.get_by_role("button", name="Clear chat").click()
    page.wait_for_function("!document.querySelector('#rag-chat .rag-answer')")
    page.evaluate(RESET)
    box = page.locator("#rag-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function("window.ragDone !== null && window.ragFirst !== null", timeout=60_000)
    sent, first, done = page.evaluate("[window.ragSent, window.ragFirst, window.ragDone]")
    return first - sent, done - sent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=str(ROOT / "index"))
    parser.add_argument("--questions", default=str(ROOT / "eval" / "dev_qa.jsonl"))
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    questions = [item["question"] for item in load_questions(args.questions)][: args.runs]
    port = free_port()
    app = serve(RAG.open(args.index, Config(answer_memo=0)), port=port, block=False)
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#rag-question textarea")
            page.evaluate(CLOCKS)
            timed(page, "How much did Microsoft invest in OpenAI in 2019?")  # warm-up
            firsts = []
            for question in questions:
                first, done = timed(page, question)
                firsts.append(first)
                print(f"first text {first:6.0f} ms   final {done:6.0f} ms   {question}")
            browser.close()
    finally:
        app.close()
    print(f"time to first text over {len(firsts)} questions: median {statistics.median(firsts):.0f} ms, "
          f"max {max(firsts):.0f} ms, under 1 s: {sum(f < 1000 for f in firsts)}/{len(firsts)}")


if __name__ == "__main__":
    main()
