"""Chat messages -> text on llama.cpp through xllamacpp (the Generator protocol is in rag/models/base.py).

xllamacpp runs llama-server inside this process: GGUF models load as they are (quantised),
replies stream, and several replies decode side by side in parallel slots (continuous batching).
rag/models/files.py says where a model's file comes from.

One server holds every slot, and one copy of the model: its thread count is the cores other
processes leave free when it starts (CoreWatch; llama.cpp fixes it at load), and a call never
starts another (servers of other thread counts, chosen per call as before, each held their slots'
memory, and replies in two servers were not decoded in one batch).

A reply decoded beside others should get the tokens it gets alone; llama.cpp's CPU sums do not
fully allow it. Its flash attention sums in tiles that follow the batch (8 replies side by side:
6 had other log-probabilities than alone with it, none without), so it is off; every slot keeps
its own cache (not one unified cache, whose masked cells every token would read); prompts are
not cached (see GREEDY). What remains: a prompt read while other slots decode is cut into other
pieces than alone, and 2-3 of 16 drafts written all at once differed from those written four at
a time; verification keeps the answers the same far more often (benchmarks/README.md).
"""

import json
import logging
import math
import queue
import re
import secrets
import threading
import urllib.request
from pathlib import Path
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from rag.config import Config
from rag.errors import GenerationError, MissingDependencyError, PromptTooLongError
from rag.models.conversion import runtime_gguf
from rag.models.files import resolve_gguf
from rag.models.slots import Slots
from rag.models.threads import CoreWatch

log = logging.getLogger(__name__)

STOP_TEXT = "\n\n"  # an answer is one paragraph; a blank line means the model moved on
# Replies decoded side by side (llama-server's parallel slots, one batch a step); more callers
# wait in line (rag/models/slots.py). With the default model's Q8_0 copy (rag/models/conversion.py)
# 38 drafts were written at 151-175 a minute by 16 slots against 143-159 by 8 and 96-114 by the
# Q4_1 file in 4, whose products have no tiled kernels to gain from a wider batch (issue 33,
# benchmarks/README.md). Each slot holds context_tokens of keys and values from the start:
# 16 slots of 2,048 tokens made the engine 926 MB against 339 MB for 4, of 1,024 tokens 566 MB
# (Config.context_tokens).
SLOTS = 16
# Added to the logits of the tokens a restricted reply may use: with greedy decoding that makes
# the best allowed token win, as a mask would (logits spread over far less than this).
ALLOWED_BOOST = 100.0
# Every request: greedy, and the prompt read whole (a cached prompt start gave other greedy
# tokens than a fresh read for 10 of 26 prompts: benchmarks/README.md).
GREEDY = {"temperature": 0.0, "cache_prompt": False}
# Special tokens that end a turn in common chat templates, allowed besides the model's eos.
TURN_ENDS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<|endoftext|>", "<end_of_turn>")

# Words any answer may use besides those of its sources: grammar, not claims.
FUNCTION_WORDS = (
    "the a an of to in on for and or with by as is are was were be been being has have had it its "
    "this that these those which who whom whose what when where how from at into their they them "
    "than then so such also can could would should will may might do does did about over after "
    "before between both each more most other some only very same while because through during "
    "%s" % " ".join(".,;:!?'\"()-–—[]$%&/0123456789")
).split()


class LlamaCppGenerator:
    """A GGUF chat model on llama.cpp, greedy decoding.

    Args:
        config: names the model (generator), the model cache and the tokens one reply's
            prompt and text may hold (context_tokens).
        slots: replies decoded side by side.
    """

    def __init__(self, config: Config, slots: int = SLOTS):
        self.config = config
        self.name = config.generator
        self.slots = slots
        self._engine: Engine | None = None
        self._loading = threading.Lock()  # the first calls of several threads start one server

    def warm_up(self):
        self.engine()

    def engine(self) -> "Engine":
        """The one server, started on first need with as many threads as other processes leave
        cores free then (this process's own work, loading the embedder say, left out)."""
        with self._loading:
            if self._engine is None:
                name, path = model_file(self.config)
                self.name = name
                threads = CoreWatch().free()
                self._engine = Engine(str(path), threads, self.slots, self.config.context_tokens)
                log.info("loaded generator %s from %s (llama.cpp, %d threads, %d slots)", name, path, threads, self.slots)
            return self._engine

    def stream(self, messages: list[dict], max_new_tokens: int, vocabulary: str | None = None) -> Iterator[str]:
        """Greedy decoding, yielding text as it is decoded; closing the iterator stops it.

        Args:
            messages: chat messages ({"role", "content"}).
            max_new_tokens: upper bound on new tokens.
            vocabulary: if given, the reply may only use the tokens that spell words of this
                text (and function words): the model can rephrase and select, but not bring in
                words of its own, except ones spelt from pieces of allowed words, which
                verification rejects (they are in no source).
        """
        engine = self.engine()
        request = {"messages": messages, "max_tokens": max_new_tokens}
        if vocabulary:
            request["logit_bias"] = engine.allowed_bias(vocabulary)
        shown = False
        for piece in engine.reply(request):
            if not shown:
                piece = piece.lstrip()
                shown = bool(piece)
            if piece:
                yield piece

    def generate_batch(self, prompts: list[list[dict]], max_new_tokens: int, vocabularies: list[str | None],
                       give_up: Callable[[int, str], bool] | None = None) -> list[str]:
        """Greedy replies to several prompts, decoded side by side in the server's slots.

        Args:
            prompts: chat messages per reply.
            max_new_tokens: upper bound on new tokens per reply.
            vocabularies: per prompt, as for stream.
            give_up: asked with (row, text so far) as a reply grows; True ends that reply.

        Returns:
            The replies, in prompt order; "" for a prompt that does not fit a slot's context.
        """

        def one(row: int) -> str:
            text = ""
            try:
                for piece in self.stream(prompts[row], max_new_tokens, vocabularies[row]):
                    text += piece
                    if give_up is not None and give_up(row, text):
                        break
            except PromptTooLongError as exc:  # the other replies go on; this one is empty
                log.warning("no reply to prompt %d: %s", row, exc)
            return text

        if not prompts:
            return []
        with ThreadPoolExecutor(max_workers=min(len(prompts), self.slots)) as pool:
            return list(pool.map(one, range(len(prompts))))

    def choose(self, messages: list[dict], choices: list[str]) -> list[float]:
        """The probabilities of the reply's first token being each choice, among the choices.

        One prompt read, one token: the choices' tokens get ALLOWED_BOOST (so they fill the
        top of the distribution whatever else the model prefers) and their log-probabilities
        come back with the token.
        """
        engine = self.engine()
        ids = [engine.tokenize(choice) for choice in choices]
        if any(len(i) != 1 for i in ids):
            raise ValueError(f"each choice must be one token for this model: {choices}")
        reply = engine.complete({
            "messages": messages, "max_tokens": 1, "logprobs": True, "top_logprobs": len(choices) + 5,
            "logit_bias": {str(i[0]): ALLOWED_BOOST for i in ids}})
        top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        logprob = {entry["id"]: entry["logprob"] for entry in top}
        weights = [math.exp(logprob.get(i[0], -math.inf)) for i in ids]
        total = sum(weights)
        return [w / total for w in weights] if total else [1 / len(choices)] * len(choices)


def model_file(config: Config) -> tuple[str, Path]:
    """(display name, the GGUF file llama.cpp loads) for a Config's generator: the file it names,
    or that file's Q8_0 copy (rag/models/conversion.py)."""
    name, path = resolve_gguf(config.generator, config.cache_path)
    return name, runtime_gguf(path, config.cache_path)


class Engine:
    """One llama-server in this process, with a fixed thread count.

    Args:
        path: the GGUF file.
        threads: threads for reading prompts and writing replies.
        slots: replies decoded side by side.
        context_tokens: tokens one reply's prompt and text may hold.
    """

    def __init__(self, path: str, threads: int, slots: int, context_tokens: int):
        try:
            import xllamacpp
        except ImportError as exc:
            raise MissingDependencyError("generation runs on llama.cpp: pip install xllamacpp") from exc
        params = xllamacpp.CommonParams()
        params.model.path = path
        params.n_parallel = slots
        params.n_ctx = slots * context_tokens  # each slot gets its share
        params.kv_unified = False
        params.flash_attn_type = xllamacpp.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_DISABLED
        for cpu in (params.cpuparams, params.cpuparams_batch):
            cpu.n_threads = threads
            cpu.poll = 0  # no spinning between steps: a waiting thread leaves the core to others
        params.warmup = False
        params.ui = False
        # llama-server also listens on a port of 127.0.0.1, which rag uses only to tokenise: a
        # key of this process's own keeps other local users off the model.
        self._key = secrets.token_hex(16)
        params.api_keys = [self._key]
        params.cache_ram_mib = 0  # prompts are not cached (see reply), so no copies in memory either
        params.verbosity = -1
        try:
            self.server = xllamacpp.Server(params)
        except Exception as exc:  # xllamacpp raises plain RuntimeErrors for unreadable files
            raise GenerationError(f"llama.cpp cannot load {path}: {exc}") from exc
        self.threads = threads
        self.slots = Slots(slots)
        self._address = self.server.listening_address.rstrip("/")
        self._turn_ends: list[int] | None = None

    def reply(self, request: dict) -> Iterator[str]:
        """Streams the text of one greedy chat completion; closing the iterator stops it."""
        request = {**request, **GREEDY, "stream": True, "stop": [STOP_TEXT]}
        chunks: queue.Queue = queue.Queue()
        stop = threading.Event()
        done = object()

        def on_chunk(chunk) -> bool:
            chunks.put(chunk)
            return stop.is_set()  # True asks llama-server to stop this reply

        def run():
            try:
                self.server.handle_chat_completions(request, on_chunk)
            except Exception as exc:  # handed to the caller's thread
                chunks.put(exc)
            finally:
                chunks.put(done)

        with self.slots.held():
            worker = threading.Thread(target=run, name="llama-reply", daemon=True)
            worker.start()
            try:
                while (chunk := chunks.get()) is not done:
                    if isinstance(chunk, Exception) or "error" in chunk:
                        raise failure(chunk)
                    for choice in chunk.get("choices", ()):
                        if text := (choice.get("delta") or {}).get("content"):
                            yield text
            finally:
                stop.set()
                # llama-server stops the reply at its next token; the call must have returned before
                # the server may be freed (at exit, say).
                worker.join()

    def complete(self, request: dict) -> dict:
        """One greedy chat completion, whole (not streamed)."""
        request = {**request, **GREEDY}
        try:
            with self.slots.held():
                reply = self.server.handle_chat_completions(request)
        except Exception as exc:  # xllamacpp raises plain errors for malformed requests
            raise GenerationError(f"the generator failed: {type(exc).__name__}: {exc}") from exc
        if "error" in reply:
            raise failure(reply)
        return reply

    def allowed_bias(self, text: str) -> dict[str, float]:
        """logit_bias that lets a reply use only the tokens that spell text's words (and common
        function words), in the forms a word takes at the start of a sentence or inside one,
        plus the tokens that end a turn."""
        variants = set()
        for word in re.findall(r"\w+|[^\w\s]", text) + FUNCTION_WORDS:
            for form in {word, word.lower(), word.capitalize()}:
                variants.update((form, " " + form))
        variants.update(line.strip() for line in text.splitlines() if line.strip())
        ids = set(self.tokenize("\n".join(sorted(variants)))) | set(self.turn_ends())
        return {str(i): ALLOWED_BOOST for i in sorted(ids)}

    def turn_ends(self) -> list[int]:
        if self._turn_ends is None:
            eos = self.get("/props").get("eos_token")
            ends = [ids[0] for name in {eos, *TURN_ENDS} if name
                    for ids in [self.tokenize(name, special=True)] if len(ids) == 1]
            self._turn_ends = sorted(set(ends))
        return self._turn_ends

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        reply = self.post("/tokenize", {"content": text, "add_special": False, "parse_special": special})
        return [t if isinstance(t, int) else t["id"] for t in reply["tokens"]]

    def get(self, path: str) -> dict:
        return self.call(urllib.request.Request(self._address + path))

    def post(self, path: str, body: dict) -> dict:
        return self.call(urllib.request.Request(self._address + path, data=json.dumps(body).encode(),
                                                headers={"Content-Type": "application/json"}))

    def call(self, request: urllib.request.Request) -> dict:
        request.add_header("Authorization", f"Bearer {self._key}")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())


def failure(chunk) -> GenerationError:
    """The error for a failed reply; a prompt over a slot's context is a PromptTooLongError."""
    error = chunk.get("error") if isinstance(chunk, dict) else None
    if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
        return PromptTooLongError(f"the prompt does not fit the generator's context: {error_text(chunk)} "
                                  "(Config.context_tokens)")
    return GenerationError(f"the generator failed: {error_text(chunk)}")


def error_text(chunk) -> str:
    if isinstance(chunk, Exception):
        return f"{type(chunk).__name__}: {chunk}"
    error = chunk.get("error")
    return error.get("message", str(error)) if isinstance(error, dict) else str(error)
