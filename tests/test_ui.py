"""The chat's behaviour without a browser: the functions behind the page, on the fake models."""

import re
from pathlib import Path

import click
import pytest

from rag import RAG, Answer, Citation
from rag.cli import parse_auth
from tests.fakes import FakeEmbedder, ScriptedGenerator
from ui import chat as actions
from ui.app import build_app, exposed
from ui.render import answer_html, context_bounds, in_context


def ask(rag: RAG, question: str, chat=None, questions=None, **overrides):
    """Types a question and runs the answer to its end; returns every (chat, questions) shown."""
    _, question, chat = actions.take_question(question, chat or [])
    return list(actions.respond(rag, question, chat, questions or [], **overrides))


def final(shown) -> str:
    return shown[-1][0][-1]["content"]


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_answer_streams_in_then_shows_linked_citations_and_sources(fake_rag):
    shown = ask(fake_rag, "When was the first practical silicon solar cell built?")
    streamed = [chat[-1]["content"] for chat, _ in shown[:-1]]
    assert all("rag-streaming" in m for m in streamed)
    growing = [visible_text(m) for m in streamed]
    assert len(set(growing)) > 3 and growing[-1].startswith(growing[2].rstrip("▍"))  # piece by piece
    message = final(shown)
    assert "rag-streaming" not in message
    assert "1954" in visible_text(message)
    # [1] links to its source, which names the file, its score, and the quote marked in context.
    assert '<a class="rag-cite" href="#rag-1-1"' in message
    source = re.search(r'<details class="rag-source" id="rag-1-1">.*?</details>', message).group(0)
    assert "solar.txt" in source and re.search(r"score 0\.\d\d", source)
    assert "<mark>The first practical silicon solar cell was built at Bell Labs in 1954.</mark>" in source
    assert "Most manufacturers" not in source  # the next paragraph is not part of the context


def test_a_rejected_draft_is_replaced_by_the_verified_answer(corpus, tmp_path, fake_config):
    liar = ScriptedGenerator("The first practical silicon solar cell was built by aliens in 1802.")
    rag = RAG.build(corpus, tmp_path / "index", fake_config, embedder=FakeEmbedder(), generator=liar)
    shown = ask(rag, "When was the first practical silicon solar cell built?")
    assert any("aliens" in chat[-1]["content"] for chat, _ in shown[:-1])  # it was streamed...
    message = visible_text(final(shown))
    assert "aliens" not in message  # ...and then replaced by the quoted evidence
    assert "Bell Labs in 1954" in message and "solar.txt" in message


def test_an_abstention_says_so_and_shows_the_closest_passages(fake_rag):
    message = final(ask(fake_rag, "What is the capital of Peru?"))
    assert "The documents do not say" in visible_text(message)
    assert "Closest passages found" in message
    assert 'class="rag-cite"' not in message
    assert 1 <= message.count('class="rag-source"') <= 3


def test_follow_ups_use_the_conversation_and_show_the_latest_sources(fake_rag):
    assert "The documents do not say" in final(ask(fake_rag, "And what do they do?"))
    chat, questions = ask(fake_rag, "Who runs the Nightjet network?")[-1]
    chat, questions = ask(fake_rag, "What do worker bees collect?", chat, questions)[-1]
    shown = ask(fake_rag, "And what do they do?", chat, questions)
    chat, questions = shown[-1]
    assert questions == ["Who runs the Nightjet network?", "What do worker bees collect?", "And what do they do?"]
    message = chat[-1]["content"]
    assert "nectar and pollen" in visible_text(message)  # alone, this question is abstained (above)
    assert 'id="rag-3-1"' in message and "bees.md" in message and "trains.html" not in message
    assert len(chat) == 6


def test_answering_leaves_the_sessions_lists_alone(fake_rag):
    chat = [{"role": "user", "content": "Who runs the Nightjet network?"}]
    questions = ["earlier question?"]
    list(actions.respond(fake_rag, "Who runs the Nightjet network?", chat, questions))
    assert chat == [{"role": "user", "content": "Who runs the Nightjet network?"}]
    assert questions == ["earlier question?"]


def test_a_blank_question_changes_nothing(fake_rag):
    chat = [{"role": "user", "content": "hello"}]
    assert actions.take_question("   ", chat) == ("", "", chat)
    assert list(actions.respond(fake_rag, "", chat, [])) == []


def test_extractive_only_quotes_without_the_model(fake_rag):
    message = final(ask(fake_rag, "Who runs the Nightjet network?", extractive_only=True))
    assert fake_rag.generator.prompts == []
    assert "run by the Austrian railway company ÖBB" in visible_text(message)


def test_a_stopped_answer_keeps_its_text_and_says_it_stopped(fake_rag):
    shown = ask(fake_rag, "When was the first practical silicon solar cell built?")
    partial = shown[3][0]
    stopped = actions.mark_stopped(partial)
    assert visible_text(stopped[-1]["content"]).endswith("stopped.") and "rag-streaming" not in stopped[-1]["content"]
    assert "▍" not in stopped[-1]["content"]
    assert visible_text(partial[-1]["content"]).rstrip("▍") in visible_text(stopped[-1]["content"])
    done = shown[-1][0]
    assert actions.mark_stopped(done) == done  # a finished answer is left as it is


def test_document_text_is_escaped(corpus, tmp_path, fake_config):
    (corpus / "web.txt").write_text("Markup tips\nWrite <script>alert(1)</script> & friends in code blocks.\n", encoding="utf-8")
    text = (corpus / "web.txt").read_text(encoding="utf-8")
    start = text.index("Write")
    citation = Citation(1, "web.txt", start, len(text) - 1, text[start:-1], 0.8)
    answer = Answer("q", "Write <b>this</b> [1].", (citation,), False, "generated", (citation,))
    html = answer_html(answer, 1, lambda source: text)
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in html


def test_context_is_the_paragraph_around_the_quote():
    text = "Title\n\nFirst sentence here. The quote is this one. Last words.\n\nNext paragraph."
    start = text.index("The quote")
    end = text.index(" Last")
    lo, hi = context_bounds(text, start, end)
    assert text[lo:hi] == "First sentence here. The quote is this one. Last words."
    lines = "One line is one paragraph here.\nThe quote sits on this line.\nAnother line."
    start = lines.index("The quote")
    lo, hi = context_bounds(lines, start, start + len("The quote sits on this line."))
    assert lines[lo:hi] == "The quote sits on this line."


def test_a_long_paragraph_is_cut_between_words_with_ellipses():
    text = " ".join(f"word{i}" for i in range(400))
    start = text.index("word200")
    citation = Citation(1, "long.txt", start, start + len("word200"), "word200", 0.5)
    lo, hi = context_bounds(text, citation.start, citation.end, limit=50)
    assert 0 < lo < start and citation.end < hi < len(text)
    assert text[lo - 1] == " " and text[hi] == " "
    html = in_context(citation, text)
    assert html.startswith("… word") and html.endswith(" …") and "<mark>word200</mark>" in html


def test_uploads_are_indexed_at_once_and_bad_files_are_named(fake_rag, tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "kiwi.txt").write_text("The kiwi is a flightless bird that lives only in New Zealand.\n", encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a real pdf")
    (folder / "sheet.docx").write_bytes(b"PK not a zip")
    (folder / "photo.png").write_bytes(b"\x89PNG not read")
    steps = []
    message = actions.add_documents(fake_rag, [str(p) for p in sorted(folder.iterdir())], lambda d, t: steps.append((d, t)))
    assert "Added kiwi.txt" in message
    assert re.search(r"Could not read broken\.pdf: .+", message)
    assert re.search(r"Could not read sheet\.docx: .*not a valid zip", message)
    assert "Not added photo.png" in message
    assert steps and steps[-1][0] == steps[-1][1]
    assert not (fake_rag.corpus_dir / "photo.png").exists()
    assert "kiwi.txt" in actions.document_list(fake_rag)
    message = final(ask(fake_rag, "Where does the kiwi bird live?"))
    assert "New Zealand" in visible_text(message) and "kiwi.txt" in message
    assert "already indexed" in actions.add_documents(fake_rag, [str(folder / "kiwi.txt")])
    assert actions.add_documents(fake_rag, []) == "Choose files to upload."


def test_a_removed_document_is_no_longer_listed_or_cited(fake_rag):
    assert actions.remove_document(fake_rag, "notes/trains.html") == "Removed notes/trains.html."
    assert "trains.html" not in actions.document_list(fake_rag)
    assert not (fake_rag.corpus_dir / "notes" / "trains.html").exists()
    assert "trains.html" not in final(ask(fake_rag, "Who runs the Nightjet network?"))
    assert "Could not remove" in actions.remove_document(fake_rag, "nope.txt")


def test_the_last_document_is_not_removed(fake_rag):
    actions.remove_document(fake_rag, "bees.md")
    actions.remove_document(fake_rag, "notes/trains.html")
    assert "at least one document" in actions.remove_document(fake_rag, "solar.txt")
    assert fake_rag.documents == ["solar.txt"]


def test_the_page_builds_with_the_documents_listed(fake_rag):
    config = build_app(fake_rag).get_config_file()
    values = [c.get("props", {}).get("value") for c in config["components"]]
    assert any(isinstance(v, str) and "3 documents indexed" in v and "notes/trains.html" in v for v in values)


def test_a_login_is_asked_only_when_the_chat_is_exposed():
    assert not exposed("127.0.0.1", False) and not exposed("localhost", False)
    assert exposed("0.0.0.0", False) and exposed("127.0.0.1", True)
    assert parse_auth("alice:s3cr:et") == ("alice", "s3cr:et")
    assert parse_auth(None) is None
    with pytest.raises(click.BadParameter):
        parse_auth("alice")


def test_the_upload_types_are_the_ones_rag_reads():
    from rag.documents import SUPPORTED_SUFFIXES

    assert set(actions.UPLOAD_TYPES) == set(SUPPORTED_SUFFIXES)
    assert Path("x.PDF").suffix.lower() in actions.UPLOAD_TYPES
