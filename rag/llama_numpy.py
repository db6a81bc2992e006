"""A Llama-architecture chat model (SmolLM2) in numpy, so that answering imports no torch.

`import torch` alone takes about 2 s here and holds about 250 MB; importing transformers' model
classes costs twice that again. For the default generator, a Llama in a safetensors folder with
a tokenizer.json and a chat template, this module runs the same float32 operations as
transformers' Llama (RMSNorm, rotary positions, grouped-query attention, SiLU MLP, a key/value
cache), so greedy decoding picks the same tokens (tests/test_llama_numpy.py compares them). On
one row, numpy's matrix-vector products also cost less per call than torch's (23 against 38 ms
for the 30 layers here). Other models load through transformers (rag/generation.py).
"""

import json
from pathlib import Path

import numpy as np

from rag.threads import blas_limit, free_cores


def supported(folder: str | Path) -> bool:
    """Whether `folder` holds a model NumpyLlama runs as transformers would: a LlamaForCausalLM
    with default rotary positions and no biases, one safetensors file, a tokenizer.json and a
    chat template."""
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    rope = config.get("rope_parameters") or {"rope_type": "default"}
    return (
        config.get("architectures") == ["LlamaForCausalLM"]
        and config.get("hidden_act") == "silu"
        and not config.get("attention_bias") and not config.get("mlp_bias")
        and rope.get("rope_type", "default") == "default" and "rope_theta" in rope
        and config.get("pretraining_tp", 1) == 1
        and (folder / "tokenizer.json").is_file()
        and (folder / "chat_template.jinja").is_file()
        and safetensors_dtypes(folder / "model.safetensors") <= set(DTYPES)
    )


# safetensors dtypes numpy reads as they are (bfloat16 is not among them: transformers runs those).
DTYPES = {"F32": np.float32, "F16": np.float16}


def safetensors_dtypes(path: Path) -> set[str]:
    """The dtypes of the tensors in a safetensors file (an empty set if it cannot be read)."""
    try:
        return {t["dtype"] for name, t in read_header(path)[0].items() if name != "__metadata__"} or {"none"}
    except (OSError, ValueError, KeyError, TypeError):
        return {"unreadable"}


def read_header(path: Path) -> tuple[dict, int]:
    """A safetensors file's header (name -> dtype, shape, data_offsets) and where its data starts."""
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        return json.loads(f.read(size)), 8 + size


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """float32 arrays of a safetensors file. float32 tensors are read-only views of the mapped
    file: nothing is copied, and pages load as the first forward pass reads them."""
    header, start = read_header(path)
    mapped = np.memmap(path, dtype=np.uint8, mode="r")
    weights = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        array = mapped[start + begin:start + end].view(DTYPES[t["dtype"]]).reshape(t["shape"])
        weights[name] = array if array.dtype == np.float32 else array.astype(np.float32)
    return weights


class ChatTokenizer:
    """tokenizer.json plus the folder's chat template, rendered as transformers renders it."""

    def __init__(self, folder: str | Path):
        from jinja2.ext import loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment
        from tokenizers import Tokenizer

        folder = Path(folder)
        settings = json.loads((folder / "tokenizer_config.json").read_text())
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.chat_template = (folder / "chat_template.jinja").read_text()
        environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        environment.globals["raise_exception"] = raise_template_error
        self._template = environment.from_string(self.chat_template)
        self.special = {k: v for k, v in settings.items() if k.endswith("_token") and isinstance(v, str)}
        self.eos_token_id = self._tokenizer.token_to_id(settings["eos_token"])
        pad = settings.get("pad_token")
        self.pad_token_id = self._tokenizer.token_to_id(pad) if isinstance(pad, str) else None

    def chat_ids(self, messages: list[dict]) -> list[int]:
        """The token ids of the rendered chat, ending with the assistant turn's start."""
        text = self._template.render(messages=messages, add_generation_prompt=True, **self.special)
        return self._tokenizer.encode(text, add_special_tokens=False).ids

    def __call__(self, texts: str | list[str], add_special_tokens: bool = False) -> dict:
        if isinstance(texts, str):
            return {"input_ids": self._tokenizer.encode(texts, add_special_tokens=add_special_tokens).ids}
        encoded = self._tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encoded]}

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)


class NumpyLlama:
    """The model, with the interface rag/generation.py decodes with (see TransformersModel there).

    `forward(input_ids, attention, positions, past)` takes int64 arrays (batch, new tokens),
    (batch, cached + new tokens) and (batch, new tokens) and the cache of an earlier call (a
    KeysValues, which may be cut back to fewer positions), and gives the hidden states after the
    final norm (batch, new tokens, hidden) and the cache, extended in place. `head` is the output
    layer (vocabulary, hidden); the model has no bias or soft-capping on it.

    Args:
        folder: the model folder (see `supported`).
    """

    can_crop = True  # its cache can be cut back (prompt lookup) and its rows selected (KeysValues)

    def __init__(self, folder: str | Path):
        folder = Path(folder)
        c = json.loads((folder / "config.json").read_text())
        self.heads, self.kv_heads = c["num_attention_heads"], c["num_key_value_heads"]
        self.head_dim = c.get("head_dim") or c["hidden_size"] // self.heads
        self.layers, self.eps = c["num_hidden_layers"], np.float32(c["rms_norm_eps"])
        theta = c["rope_parameters"]["rope_theta"] if "rope_parameters" in c else c["rope_theta"]
        exponents = np.arange(0, self.head_dim, 2, dtype=np.int64).astype(np.float32) / np.float32(self.head_dim)
        self.inv_freq = (1.0 / (np.float32(theta) ** exponents)).astype(np.float32)
        w = {k.removeprefix("model."): v for k, v in load_weights(folder / "model.safetensors").items()}
        head = w.pop("lm_head.weight", None)
        self.w = w
        self.head = w["embed_tokens.weight"] if head is None or c.get("tie_word_embeddings") else head
        self.vocab_size = self.head.shape[0]
        eos = c.get("eos_token_id")
        self.eos_ids = {i for i in (eos if isinstance(eos, list) else [eos]) if isinstance(i, int)}
        self.threads = free_cores()  # decided once, so that every call computes the same way

    def forward(self, input_ids: np.ndarray, attention: np.ndarray, positions: np.ndarray,
                past: "KeysValues | None" = None) -> tuple[np.ndarray, "KeysValues"]:
        batch, length = input_ids.shape
        if past is None and batch > 1 and length > 1:
            return self.prefill(input_ids, attention, positions)
        with blas_limit(self.threads):
            x = self.w["embed_tokens.weight"][input_ids]
            cos, sin = self.rotary(positions)
            cache = past if past is not None else KeysValues(self.layers)
            blocked = self.mask(attention, length)
            for n in range(self.layers):
                p = f"layers.{n}."
                h = self.attention(self.norm(x, p + "input_layernorm.weight"), cos, sin, blocked, cache, n)
                x = x + h
                h = self.norm(x, p + "post_attention_layernorm.weight")
                gate = linear(h, self.w[p + "mlp.gate_proj.weight"])
                x = x + linear(silu(gate) * linear(h, self.w[p + "mlp.up_proj.weight"]), self.w[p + "mlp.down_proj.weight"])
            cache.length += length
            return self.norm(x, "norm.weight"), cache

    def prefill(self, input_ids: np.ndarray, attention: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, "KeysValues"]:
        """forward for several left-padded prompts and no cache. They are read one at a time,
        each into its row of one cache: the activations of one prompt in memory at a time. No
        products are spent on padding (its keys and values are zeros, and masked), and the start
        all prompts share (the system turn, "Context:") is read once."""
        batch, length = input_ids.shape
        cache = KeysValues.empty(self.layers, (batch, self.kv_heads, length, self.head_dim))
        hidden = np.zeros((batch, length, self.w["norm.weight"].shape[0]), dtype=np.float32)
        starts = [length - int(attention[r].sum()) for r in range(batch)]
        prompts = [input_ids[r, starts[r]:].tolist() for r in range(batch)]
        # At least one token of each prompt is read on its own row, for its next-token state.
        shared = min([common_length(prompts[0], p) for p in prompts] + [len(p) - 1 for p in prompts])
        common = None
        if shared:
            s = starts[0]
            common = self.forward(input_ids[:1, s:s + shared], np.ones((1, shared), np.int64), positions[:1, s:s + shared])[1]
        for r in range(batch):
            row = cache.row(r, starts[r])
            if common is not None:
                row.paste(common, shared)
            begin = starts[r] + shared
            hidden[r:r + 1, begin:] = self.forward(input_ids[r:r + 1, begin:], attention[r:r + 1], positions[r:r + 1, begin:], row)[0]
        cache.length = length
        return hidden, cache

    def rotary(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of every position's angles, (batch, 1, new tokens, head_dim)."""
        freqs = positions[:, :, None].astype(np.float32) * self.inv_freq[None, None, :]
        emb = np.concatenate((freqs, freqs), axis=-1)
        return np.cos(emb)[:, None], np.sin(emb)[:, None]

    @staticmethod
    def mask(attention: np.ndarray, q_length: int) -> np.ndarray | None:
        """None when every query may see every earlier key (no padding), else a boolean
        (batch, 1, 1, query, key) array, True where a key is hidden: later, or padding."""
        kv_length = attention.shape[1]
        if attention.all() and q_length == 1:
            return None
        q_positions = np.arange(kv_length - q_length, kv_length)[:, None]
        visible = (np.arange(kv_length)[None, :] <= q_positions)[None] & attention.astype(bool)[:, None, :]
        return ~visible[:, None, None]

    def attention(self, x, cos, sin, blocked, cache: "KeysValues", n: int):
        batch, length, _ = x.shape
        p = f"layers.{n}."

        def heads(name: str) -> np.ndarray:
            return linear(x, self.w[p + f"self_attn.{name}.weight"]).reshape(batch, length, -1, self.head_dim).transpose(0, 2, 1, 3)

        q, k, v = heads("q_proj"), heads("k_proj"), heads("v_proj")
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = cache.extend(n, k, v)
        # Grouped-query attention: query head h reads key/value head h // groups.
        q = q.reshape(batch, self.kv_heads, self.heads // self.kv_heads, length, self.head_dim)
        out = self.attend(q, k, v, blocked).reshape(batch, self.heads, length, self.head_dim).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        return linear(out, self.w[p + "self_attn.o_proj.weight"])

    def attend(self, q, k, v, blocked):
        """Softmax attention of queries (batch, kv heads, groups, new, head_dim) over keys and
        values (batch, kv heads, all, head_dim); `blocked` as `mask` gives it."""
        if q.shape[3] > QUERY_BLOCK:
            # A long prompt's queries in blocks: its scores are (queries x keys) per head.
            return np.concatenate([self.attend(q[:, :, :, i:i + QUERY_BLOCK], k, v, None if blocked is None else blocked[..., i:i + QUERY_BLOCK, :])
                                   for i in range(0, q.shape[3], QUERY_BLOCK)], axis=3)
        scores = (q @ k[:, :, None].transpose(0, 1, 2, 4, 3)) * np.float32(self.head_dim ** -0.5)
        if blocked is not None:
            scores = np.where(blocked, -np.inf, scores)
        top = scores.max(-1, keepdims=True)
        # A padding position sees no key at all: its weights are zeros, not NaN.
        weights = np.exp(scores - np.where(np.isfinite(top), top, 0), dtype=np.float32)
        weights /= np.maximum(weights.sum(-1, keepdims=True), np.float32(1e-30))
        return weights @ v[:, :, None]

    def norm(self, x: np.ndarray, name: str) -> np.ndarray:
        return self.w[name] * (x * (1.0 / np.sqrt(np.square(x).mean(-1, keepdims=True) + self.eps)))


class KeysValues:
    """NumpyLlama's key/value cache: per layer, buffers (batch, kv heads, capacity, head_dim)
    whose first `length` positions hold the keys and values of the tokens read so far.

    New positions are written in place (appending by concatenation copied the whole cache at
    every token: hundreds of MB for a batch of long prompts). A forward pass extends it; `cut`
    goes back to fewer positions, to be overwritten (prompt lookup's rejected guesses).
    """

    def __init__(self, layers: int):
        self.keys: list[np.ndarray | None] = [None] * layers
        self.values: list[np.ndarray | None] = [None] * layers
        self.length = 0

    def extend(self, n: int, k: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Writes layer n's keys and values of new positions after the first `length`; returns
        views of all of them (the forward pass adds the new positions to `length` at its end)."""
        end = self.length + k.shape[2]
        if self.keys[n] is None or self.keys[n].shape[2] < end:
            kept = self.keys[n] is not None
            self.keys[n] = grown(k.shape, end, self.keys[n][:, :, :self.length] if kept else None)
            self.values[n] = grown(v.shape, end, self.values[n][:, :, :self.length] if kept else None)
        self.keys[n][:, :, self.length:end] = k
        self.values[n][:, :, self.length:end] = v
        return self.keys[n][:, :, :end], self.values[n][:, :, :end]

    def cut(self, length: int) -> "KeysValues":
        """Keeps the first `length` positions (in place; later ones will be overwritten)."""
        self.length = min(length, self.length)
        return self

    def select(self, rows: list[int]) -> "KeysValues":
        """A cache of its own holding these rows."""
        other = KeysValues(len(self.keys))
        other.keys = [k[rows] for k in self.keys]
        other.values = [v[rows] for v in self.values]
        other.length = self.length
        return other

    def paste(self, other: "KeysValues", length: int):
        """Writes the first `length` positions of `other` after this cache's `length`."""
        for mine, theirs in zip(self.keys + self.values, other.keys + other.values):
            mine[:, :, self.length:self.length + length] = theirs[:, :, :length]
        self.length += length

    def copy(self, length: int) -> "KeysValues":
        """A cache of its own holding copies of the first `length` positions."""
        other = KeysValues(len(self.keys))
        other.keys = [grown(k.shape, length, k[:, :, :length]) for k in self.keys]
        other.values = [grown(v.shape, length, v[:, :, :length]) for v in self.values]
        other.length = min(length, self.length)
        return other

    @staticmethod
    def empty(layers: int, shape: tuple[int, int, int, int]) -> "KeysValues":
        """A cache with room for shape's positions (batch, kv heads, positions, head_dim)."""
        cache = KeysValues(layers)
        cache.keys = [grown(shape, shape[2]) for _ in range(layers)]
        cache.values = [grown(shape, shape[2]) for _ in range(layers)]
        return cache

    def row(self, r: int, start: int = 0) -> "KeysValues":
        """Row r of this cache, with zeros in its first `start` positions (padding): a forward
        pass writes the next positions into this cache's buffers."""
        view = KeysValues(len(self.keys))
        view.keys = [k[r:r + 1] for k in self.keys]
        view.values = [v[r:r + 1] for v in self.values]
        for buffer in view.keys + view.values:
            buffer[:, :, :start] = 0.0
        view.length = start
        return view


# Queries whose attention scores are computed at once: 9 heads x 256 queries x 2,000 keys of a
# long prompt take 18 MB, all 2,000 queries 144 MB (and three times that in temporaries).
QUERY_BLOCK = 256
# Positions a cache buffer holds beyond what it was grown for: room for a reply (48 tokens by
# default, and a guess of prompt lookup); a longer one grows the buffer again.
CACHE_ROOM = 64


def grown(shape: tuple[int, ...], end: int, kept: np.ndarray | None = None) -> np.ndarray:
    """A buffer (batch, kv heads, `end` positions and some room, head_dim) of `shape`'s batch,
    heads and head_dim, whose first positions hold `kept` (keys or values already read)."""
    buffer = np.empty((shape[0], shape[1], end + CACHE_ROOM, shape[3]), dtype=np.float32)
    if kept is not None:
        buffer[:, :, :kept.shape[2]] = kept
    return buffer


def common_length(a: list[int], b: list[int]) -> int:
    """How many tokens a and b share at their start."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def linear(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """x @ weight.T over every leading axis in one matrix product.

    Computed as (weight @ x.T).T: with the weight as the left operand OpenBLAS splits the work
    better over two threads when x has few rows. A model call reading 6 tokens (a prompt lookup
    guess) took 57-60 ms against 75-81, one reading a 60-token prompt 168-177 ms against 185-206;
    on one thread, and for single tokens, the two ran alike (benchmarks/README.md)."""
    rows = x.reshape(-1, x.shape[-1])
    return (weight @ rows.T).T.reshape(*x.shape[:-1], weight.shape[0])


def silu(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x < -88: silu is then -0
        return x / (1.0 + np.exp(-x))


def rotate_half(x: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    return np.concatenate((-x[..., half:], x[..., :half]), axis=-1)


def raise_template_error(message: str):
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)
