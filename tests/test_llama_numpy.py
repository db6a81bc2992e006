"""The numpy Llama against transformers, on the real default generator (slow)."""

import json
import subprocess
import sys

import pytest
import torch

from rag import Config
from rag.generation import TransformersGenerator, TransformersModel
from rag.gguf import resolve_generator
from rag.llama_numpy import ChatTokenizer, NumpyLlama, supported

pytestmark = pytest.mark.slow

PROMPTS = [
    [{"role": "user", "content": "Context:\n[1] Microsoft invested $1 billion in OpenAI in 2019.\n\n"
                                 "Question: How much did Microsoft invest in OpenAI in 2019?\n"
                                 "Answer with a short sentence from the context."}],
    [{"role": "user", "content": "Context:\n[1] Bees communicate with the waggle dance.\n\nQuestion: How do bees talk?\n"
                                 "Answer with a short sentence from the context."}],
]


def tokens(generator: TransformersGenerator, vocabularies: list, steps: int = 24) -> list[list[int]]:
    return [t for _, t in zip(range(steps), generator.token_steps(PROMPTS, vocabularies))]


@pytest.fixture(scope="module")
def generators():
    config = Config()
    location = resolve_generator(config.generator, config.cache_path)[1]
    assert supported(location)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    reference, plain = TransformersGenerator(config), TransformersGenerator(config)
    reference._tokenizer = AutoTokenizer.from_pretrained(location)
    reference._model = TransformersModel(AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32).eval())
    plain._tokenizer, plain._model = ChatTokenizer(location), NumpyLlama(location)
    return reference, plain


def test_prompts_and_allowed_tokens_are_the_same(generators):
    reference, plain = generators
    for messages in PROMPTS:
        assert reference.encode(messages) == plain.encode(messages)
    text = PROMPTS[0][0]["content"]
    assert reference.allowed_tokens(text).tolist() == plain.allowed_tokens(text).tolist()
    assert reference.stop_ids() == plain.stop_ids()


def test_greedy_tokens_are_the_same_padded_batch_and_unrestricted(generators):
    reference, plain = generators
    # Two prompts of different lengths: left padding and the boolean attention mask are exercised.
    vocabularies = [PROMPTS[0][0]["content"], PROMPTS[1][0]["content"]]
    assert tokens(reference, vocabularies) == tokens(plain, vocabularies)
    assert tokens(reference, [None, None], 8) == tokens(plain, [None, None], 8)
    ids = [t[0] for t in tokens(plain, vocabularies)]
    assert reference.reply_text(ids) == plain.reply_text(ids)


def test_rows_that_end_leave_the_batch_and_the_others_keep_their_tokens(generators):
    _, plain = generators
    vocabularies = [PROMPTS[0][0]["content"], None]
    together = tokens(plain, vocabularies, 12)
    live, steps = {0, 1}, []
    for step, picked in zip(range(12), plain.token_steps(PROMPTS, vocabularies, live)):
        steps.append(picked)
        if step == 3:
            live.discard(1)  # the caller is done with row 1: it leaves the batch
    assert [t[0] for t in steps] == [t[0] for t in together]
    assert [t[1] for t in steps[:4]] == [t[1] for t in together[:4]] and {t[1] for t in steps[4:]} == {-1}


def test_prompt_lookup_gives_the_greedy_tokens(generators):
    # One prompt at a time is decoded with guesses copied from the prompt (several tokens per
    # model call) and the keys and values of the previous prompt's common start reused (the
    # system turn; all but the last token when a prompt comes twice); the tokens must be those
    # of one token per call, restricted or not.
    _, plain = generators
    for messages in PROMPTS + PROMPTS[:1]:
        for vocabulary in (messages[0]["content"], None):
            one_by_one = [t for _, (t,) in zip(range(24), plain.token_steps([messages], [vocabulary]))]
            looked_up = [t for _, (t,) in zip(range(24), plain.lookup_steps(messages, vocabulary))]
            assert looked_up == one_by_one


def test_answering_imports_no_torch():
    config = Config()
    resolve_generator(config.generator, config.cache_path)  # the one-off GGUF conversion needs transformers
    probe = (
        "import sys, json\nfrom rag import Config\nfrom rag.generation import TransformersGenerator\n"
        "g = TransformersGenerator(Config())\ng.warm_up()\n"
        "print(json.dumps([m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
