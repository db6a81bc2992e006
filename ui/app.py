"""The web chat: the Gradio page and its wiring, on rag's public API. `rag serve` launches it.

One RAG object (models and index loaded once) serves every visitor; each browser session has
its own chat and its own list of earlier questions (gr.State) for follow-ups. The same server
speaks the OpenAI Chat Completions API at /v1 (ui/openai_api.py); its questions wait in the
same line as the chat's. `rag serve --api-only` serves the API alone (serve_api).
"""

import threading
import time
from functools import partial
from types import SimpleNamespace

from rag import RAG, MissingDependencyError, RagError
from ui import chat as actions
from ui.line import ANSWERS_AT_ONCE, Line

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
EXAMPLES = [  # about the default corpus
    "How much did Microsoft invest in OpenAI in 2019?",
    "Who said that the future of AI must be open and grounded in safety?",
    "What is Meta doing in the competitive landscape?",
]
EMPTY_CHAT = (
    "**Ask a question about your documents.**\n\n"
    "Answers stream in with numbered sources [n]: click one to see the quoted passage in its "
    "paragraph. When the documents do not hold the answer, the chat says so."
)
CSS = """
.rag-text { line-height: 1.6; }
a.rag-cite { font-weight: 600; font-size: .8em; vertical-align: super; text-decoration: none; padding: 0 1px; }
.rag-sources { margin-top: .6em; padding-top: .4em; border-top: 1px solid var(--border-color-primary); font-size: .92em; }
.rag-sources-head { font-weight: 600; opacity: .7; margin-bottom: .2em; }
details.rag-source { margin: .3em 0; }
details.rag-source > summary { cursor: pointer; }
.rag-file { font-family: var(--font-mono); font-weight: 600; }
.rag-score { opacity: .65; font-size: .9em; }
.rag-quote { opacity: .85; font-style: italic; }
.rag-context { margin: .3em 0 .3em 1em; padding: .4em .7em; border-left: 3px solid var(--color-accent);
               background: var(--background-fill-secondary); border-radius: 4px; }
.rag-context mark { background: #fde68a; color: #111; padding: 0 2px; border-radius: 2px; }
.rag-abstained .rag-text { font-weight: 600; }
.rag-note { opacity: .65; font-style: italic; }
.rag-cursor { animation: rag-blink 1s steps(2) infinite; }
@keyframes rag-blink { 50% { opacity: 0; } }
"""
# A click on [n] opens its source and scrolls to it (a plain #anchor would only scroll, closed).
HEAD = """<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.rag-cite");
  if (!link) return;
  const source = document.getElementById(link.getAttribute("href").slice(1));
  if (!source) return;
  event.preventDefault();
  source.open = true;
  source.scrollIntoView({block: "nearest", behavior: "smooth"});
});
</script>"""


def build_app(rag: RAG, examples: list[str] = EXAMPLES, line: Line | None = None):
    """The chat page for one shared RAG (a gradio.Blocks, not launched yet).

    Args:
        rag: the answerer every session shares.
        examples: questions offered for a click.
        line: where questions wait their turn, shared with the API (None: only Gradio's queue).
    """
    try:
        import gradio as gr
    except ImportError as exc:
        raise MissingDependencyError("the web chat needs gradio: pip install 'rag[ui]'") from exc

    with gr.Blocks(title="Ask your documents", analytics_enabled=False) as app:
        page = layout(gr, rag, examples)
        wire_chat(gr, rag, page, line)
        wire_documents(gr, rag, page, app)
    return app


def layout(gr, rag: RAG, examples: list[str]) -> SimpleNamespace:
    """Places the components; returns them by name."""
    config = rag.config
    questions = gr.State([])  # this session's earlier questions, for follow-ups
    pending = gr.State("")  # the question being answered
    running = gr.State(False)  # whether this session's answer is still coming
    gr.Markdown("## Ask your documents\nCited answers from the indexed documents, computed on this machine.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(label="Chat", height=580, placeholder=EMPTY_CHAT, latex_delimiters=[],
                                 feedback_options=None, buttons=[], elem_id="rag-chat")
            with gr.Row():
                box = gr.Textbox(show_label=False, placeholder="Ask a question and press Enter",
                                 autofocus=True, max_lines=4, scale=6, elem_id="rag-question")
                send = gr.Button("Ask", variant="primary", scale=0, min_width=90)
                stop = gr.Button("Stop", variant="stop", scale=0, min_width=90, visible=False)
                clear = gr.Button("Clear chat", scale=0, min_width=150)
            picked = gr.Examples(examples, inputs=box, label="Example questions")
        with gr.Column(scale=2):
            with gr.Accordion("Documents", open=True):
                documents = gr.Markdown(actions.document_list(rag), elem_id="rag-documents")
                upload = gr.File(label=f"Add documents ({' '.join(actions.UPLOAD_TYPES)})", file_count="multiple",
                                 file_types=list(actions.UPLOAD_TYPES), height=150, elem_id="rag-upload")
                status = gr.Markdown(elem_id="rag-status")
                with gr.Row():
                    doomed = gr.Dropdown(rag.documents, value=None, label="Remove a document", scale=3)
                    remove = gr.Button("Remove", variant="stop", scale=1, min_width=80)
            with gr.Accordion("Settings", open=False):
                top_k = gr.Slider(1, 20, value=config.top_k, step=1, label="Passages searched",
                                  info="Chunks retrieved for each question.")
                max_evidence = gr.Slider(1, 6, value=config.max_evidence, step=1, label="Passages used",
                                         info="Evidence sentences the answer may draw on.")
                max_new_tokens = gr.Slider(16, 128, value=config.max_new_tokens, step=8, label="Answer length",
                                           info="Most tokens the model writes.")
                extractive = gr.Checkbox(value=config.extractive_only, label="Extractive only",
                                         info="Quote the best passage instead of writing an answer.")
    return SimpleNamespace(**{k: v for k, v in locals().items() if k not in ("gr", "rag", "config", "examples")})


def wire_chat(gr, rag: RAG, page: SimpleNamespace, line: Line | None = None):
    """Question -> streamed answer, with stop and clear."""
    p = page

    def take(message, chat, running):
        if running:  # one answer at a time per session; the typed text stays in the box
            raise gr.Error("An answer is still coming.", visible=False, print_exception=False)
        return *actions.take_question(message, chat), True, gr.Button(visible=False), gr.Button(visible=True)

    def answer(question, chat, asked, k, evidence, tokens, quote_only):
        yield from actions.respond(rag, question, chat, asked, line, top_k=int(k), max_evidence=int(evidence),
                                   max_new_tokens=int(tokens), extractive_only=bool(quote_only))

    def done(chat):
        # Runs when the answer ends or is stopped: only then has the stream stopped updating.
        # A finished chat is left alone, so a Clear clicked meanwhile is not undone.
        marked = actions.mark_stopped(chat)
        return gr.skip() if marked == chat else marked, False, gr.Button(visible=True), gr.Button(visible=False)

    def answer_after(trigger):
        taken = trigger(take, [p.box, p.chatbot, p.running], [p.box, p.pending, p.chatbot, p.running, p.send, p.stop],
                        queue=False)
        answering = taken.success(
            answer, [p.pending, p.chatbot, p.questions, p.top_k, p.max_evidence, p.max_new_tokens, p.extractive],
            [p.chatbot, p.questions], concurrency_id="answer", concurrency_limit=ANSWERS_AT_ONCE)
        answering.then(done, [p.chatbot], [p.chatbot, p.running, p.send, p.stop], queue=False)
        return answering

    answering = [
        answer_after(partial(gr.on, [p.box.submit, p.send.click])),
        answer_after(p.picked.load_input_event.then),  # a click on an example asks it
    ]
    p.stop.click(None, None, None, cancels=answering, queue=False)

    def cleared():
        return [], [], "", False, gr.Button(visible=True), gr.Button(visible=False)

    for trigger in (p.clear.click, p.chatbot.clear):  # the button, and the chat's own bin
        trigger(cleared, None, [p.chatbot, p.questions, p.pending, p.running, p.send, p.stop], cancels=answering,
                queue=False)


def wire_documents(gr, rag: RAG, page: SimpleNamespace, app):
    """Upload, remove, and the list of indexed documents."""
    p = page

    def documents_now():
        return actions.document_list(rag), gr.Dropdown(choices=rag.documents, value=None)

    def on_upload(paths, progress=gr.Progress()):
        progress(0, desc="Reading files")
        message = actions.add_documents(rag, paths, lambda n, total: progress((n, total), desc="Embedding"))
        return message, *documents_now(), None

    def on_remove(source):
        return actions.remove_document(rag, source), *documents_now()

    # Index changes run one at a time (rag serialises them anyway), beside the answers.
    # Private: the API description lists a dropdown's choices (the document names), and Gradio
    # puts that description even into the login page a visitor without the login gets.
    hidden = {"api_visibility": "private"}
    p.upload.upload(on_upload, [p.upload], [p.status, p.documents, p.doomed, p.upload],
                    concurrency_id="index", concurrency_limit=1, **hidden)
    p.remove.click(on_remove, [p.doomed], [p.status, p.documents, p.doomed], concurrency_id="index", concurrency_limit=1,
                   **hidden)
    app.load(documents_now, None, [p.documents, p.doomed], queue=False, **hidden)  # another visitor may have changed them


def exposed(host: str, share: bool) -> bool:
    """Whether the chat can be reached from beyond this machine."""
    return share or host not in LOCAL_HOSTS


def start_notes(host: str, port: int, share: bool, auth: tuple[str, str] | None, api_key: str | None,
                api_only: bool = False) -> list[str]:
    """What `rag serve` says at start: where the API is, and what is open to whom."""
    where = "the share link" if share else host
    notes = []
    if exposed(host, share) and auth is None and not api_only:
        notes.append(f"warning: the chat is open to anyone who can reach {where}; "
                     "add --auth USER:PASSWORD to ask for a login")
    if auth is not None and not api_key:
        return notes + ["note: the API at /v1 is off: the chat asks for a login and no --api-key was given"]
    if exposed(host, share) and not api_key:
        notes.append(f"warning: the API at /v1 is open to anyone who can reach {where}; "
                     "add --api-key KEY (or set RAG_API_KEY) to ask for a key")
    return notes + [f"OpenAI-compatible API: http://{host}:{port}/v1 (model 'rag')"]


def serve(rag: RAG, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          auth: tuple[str, str] | None = None, block: bool = True, api_key: str | None = None,
          line: Line | None = None):
    """Loads the models, then serves the chat, and the OpenAI-compatible API at /v1.

    Args:
        rag: the answerer.
        host, port: where to listen; 127.0.0.1 keeps it on this machine.
        share: also open a public Gradio link.
        auth: (user, password) asked of every visitor (every page, API call and file);
            without it an exposed chat (another host than this machine, or share) is open to all.
        block: wait until the server stops; False returns the running app (tests).
        api_key: the key /v1 asks for (Bearer token). Without one, /v1 is open, unless `auth`
            is set: then every /v1 call is refused, since a login guards the page.
        line: where answers wait their turn, chat and API together (default: ANSWERS_AT_ONCE).
    """
    from ui.openai_api import api_routes

    rag.warm_up()
    line = line or Line(ANSWERS_AT_ONCE)
    routes = api_routes(rag, line, api_key, locked=auth is not None)
    app = build_app(rag, line=line).queue(default_concurrency_limit=ANSWERS_AT_ONCE)
    # The API's routes go to the FastAPI app Gradio makes (app_kwargs reach its constructor),
    # ahead of Gradio's own: one server, one port, and --share carries them too.
    app.launch(server_name=host, server_port=port, share=share, auth=auth, css=CSS, head=HEAD, ssr_mode=False,
               max_file_size=int(rag.config.max_file_mb * 1_000_000), prevent_thread_lock=not block, quiet=not block,
               app_kwargs={"routes": routes})
    return app


class ApiServer:
    """The API alone (`rag serve --api-only`), served by uvicorn in a thread of this process."""

    def __init__(self, server, thread):
        self.server = server
        self.thread = thread

    def close(self):
        self.server.should_exit = True
        self.thread.join()


def serve_api(rag: RAG, host: str = "127.0.0.1", port: int = 7860, api_key: str | None = None,
              line: Line | None = None, block: bool = True) -> ApiServer | None:
    """Loads the models, then serves only the API at /v1 (no page).

    Args:
        rag, host, port, api_key, line: as for serve.
        block: wait until the server stops; False returns the running ApiServer (tests).
    """
    from ui.openai_api import api_routes  # first: it names the extra if fastapi is missing

    import uvicorn
    from fastapi import FastAPI

    rag.warm_up()
    app = FastAPI(routes=api_routes(rag, line or Line(ANSWERS_AT_ONCE), api_key), docs_url=None, redoc_url=None,
                  openapi_url=None)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    if block:
        server.run()
        return None
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RagError(f"cannot serve the API on {host}:{port}: is the port taken?")
        time.sleep(0.02)
    return ApiServer(server, thread)
