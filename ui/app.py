"""The Gradio chat, built only on rag's public API. `rag serve` (and `make run`) launch it."""

from rag import RAG, Answer


def format_answer(answer: Answer) -> str:
    """The final answer in Markdown, with its cited passages under it."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        for c in answer.citations:
            quote = " ".join(c.quote.split())
            lines.append(f"**[{c.n}]** `{c.source}` — “{quote}”")
    return "\n".join(lines)


def respond(rag: RAG, message: str, history: list[dict]):
    """Streams the answer to one chat message, then shows the verified answer with sources."""
    if not message.strip():
        yield "Ask a question about the documents."
        return
    earlier = [m["content"] for m in history if m.get("role") == "user" and isinstance(m.get("content"), str)]
    stream = rag.stream(message, history=earlier)
    text = ""
    for piece in stream:
        text += piece
        yield text
    yield format_answer(stream.answer)


def build_app(rag: RAG):
    import gradio as gr

    return gr.ChatInterface(
        lambda message, history: respond(rag, message, history),
        title="Ask your documents",
        description=f"Answers come from the {len(rag.documents)} documents in the index, with numbered sources.",
        examples=["How much did Microsoft invest in OpenAI in 2019?", "What is Meta doing in the competitive landscape?"],
        concurrency_limit=2,
    )


def serve(rag: RAG, host: str = "127.0.0.1", port: int = 7860, share: bool = False):
    rag.warm_up()
    build_app(rag).queue().launch(server_name=host, server_port=port, share=share)
