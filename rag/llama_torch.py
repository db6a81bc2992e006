"""A Llama-architecture chat model (SmolLM2) in plain torch, for a fast `rag ask` start.

Importing transformers' model classes costs about twice `import torch` itself (it pulls in
torch._dynamo, torch.distributed and sympy), far more than a cold `rag ask` can afford. For the
default generator, a Llama in a safetensors folder with a tokenizer.json and a chat template,
this module runs the same weights with the same float32 operations as transformers' Llama with
SDPA attention (RMSNorm, rotary positions, grouped-query attention, SiLU MLP, a key/value cache),
so greedy decoding picks the same tokens (tests/test_llama_torch.py compares them). Other models
load through transformers (rag/generation.py).

TorchLlama and ChatTokenizer offer the small part of the transformers model and tokenizer
interfaces that rag/generation.py uses, so the decoding code is shared.
"""

import json
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F


def supported(folder: str | Path) -> bool:
    """Whether `folder` holds a model TorchLlama runs as transformers would: a LlamaForCausalLM
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
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
        and (folder / "chat_template.jinja").is_file()
    )


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

    def apply_chat_template(self, messages: list[dict], add_generation_prompt: bool = True, **_) -> dict:
        text = self._template.render(messages=messages, add_generation_prompt=add_generation_prompt, **self.special)
        return {"input_ids": torch.tensor([self._tokenizer.encode(text, add_special_tokens=False).ids])}

    def __call__(self, texts: str | list[str], add_special_tokens: bool = False) -> dict:
        if isinstance(texts, str):
            return {"input_ids": self._tokenizer.encode(texts, add_special_tokens=add_special_tokens).ids}
        encoded = self._tokenizer.encode_batch(list(texts), add_special_tokens=add_special_tokens)
        return {"input_ids": [e.ids for e in encoded]}

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self._tokenizer.decode(ids, skip_special_tokens=skip_special_tokens)


class TorchLlama:
    """The model: `base_model(...)` gives last_hidden_state and the cache, `get_output_embeddings()`
    the output layer, as transformers' LlamaForCausalLM does.

    Args:
        folder: the model folder (see `supported`).
    """

    def __init__(self, folder: str | Path):
        from safetensors.torch import load_file

        folder = Path(folder)
        c = json.loads((folder / "config.json").read_text())
        self.heads, self.kv_heads = c["num_attention_heads"], c["num_key_value_heads"]
        self.head_dim = c.get("head_dim") or c["hidden_size"] // self.heads
        self.layers, self.eps = c["num_hidden_layers"], c["rms_norm_eps"]
        theta = c["rope_parameters"]["rope_theta"] if "rope_parameters" in c else c["rope_theta"]
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.int64).float() / self.head_dim))
        w = {k.removeprefix("model."): v.float() for k, v in load_file(str(folder / "model.safetensors")).items()}
        head = w.pop("lm_head.weight", None)
        self.w = w
        eos = c.get("eos_token_id")
        self.generation_config = SimpleNamespace(eos_token_id=eos)
        self.config = SimpleNamespace(final_logit_softcapping=None)
        self._head = SimpleNamespace(weight=w["embed_tokens.weight"] if head is None or c.get("tie_word_embeddings") else head,
                                     bias=None)
        self.base_model = self.forward

    def get_output_embeddings(self):
        return self._head

    def __call__(self, input_ids, attention_mask, position_ids, past_key_values=None, use_cache=True, logits_to_keep=1):
        out = self.forward(input_ids, attention_mask, position_ids, past_key_values)
        out.logits = F.linear(out.last_hidden_state[:, -logits_to_keep:], self._head.weight)
        return out

    def forward(self, input_ids, attention_mask, position_ids, past_key_values=None, use_cache=True):
        """Hidden states after the final norm for every position, and the extended cache (a
        list of (keys, values) per layer)."""
        x = F.embedding(input_ids, self.w["embed_tokens.weight"])
        cos, sin = self.rotary(position_ids)
        past = past_key_values or [None] * self.layers
        mask = self.mask(attention_mask, input_ids.shape[1])
        cache = []
        for n in range(self.layers):
            p = f"layers.{n}."
            h, kv = self.attention(self.norm(x, p + "input_layernorm.weight"), cos, sin, mask, past[n], p)
            x = x + h
            cache.append(kv)
            h = self.norm(x, p + "post_attention_layernorm.weight")
            x = x + F.linear(F.silu(F.linear(h, self.w[p + "mlp.gate_proj.weight"])) * F.linear(h, self.w[p + "mlp.up_proj.weight"]),
                             self.w[p + "mlp.down_proj.weight"])
        return SimpleNamespace(last_hidden_state=self.norm(x, "norm.weight"), past_key_values=cache)

    def rotary(self, position_ids):
        freqs = (self.inv_freq[None, :, None].expand(position_ids.shape[0], -1, 1) @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos()[:, None], emb.sin()[:, None]

    @staticmethod
    def mask(attention_mask, q_length: int):
        """None where SDPA's own causal flag does (no padding, as transformers decides), else a
        boolean (batch, 1, query, key) mask: causal and not padding."""
        kv_length = attention_mask.shape[1]
        if bool(attention_mask.all()) and (q_length == 1 or q_length == kv_length):
            return None
        q_positions = torch.arange(kv_length - q_length, kv_length)[:, None]
        causal = torch.arange(kv_length)[None, :] <= q_positions
        return (causal[None] & attention_mask.bool()[:, None, :])[:, None]

    def attention(self, x, cos, sin, mask, past, p: str):
        batch, length, _ = x.shape
        q = F.linear(x, self.w[p + "self_attn.q_proj.weight"]).view(batch, length, -1, self.head_dim).transpose(1, 2)
        k = F.linear(x, self.w[p + "self_attn.k_proj.weight"]).view(batch, length, -1, self.head_dim).transpose(1, 2)
        v = F.linear(x, self.w[p + "self_attn.v_proj.weight"]).view(batch, length, -1, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if past is not None:
            k, v = torch.cat([past[0], k], dim=-2), torch.cat([past[1], v], dim=-2)
        out = self.sdpa(q, k, v, mask)
        return F.linear(out.reshape(batch, length, -1), self.w[p + "self_attn.o_proj.weight"]), (k, v)

    def sdpa(self, q, k, v, mask):
        """Grouped-query attention, dispatched as transformers' sdpa_attention_forward does on a CPU."""
        groups = self.heads // self.kv_heads
        q_length, kwargs = q.shape[2], {}
        if groups > 1:
            if mask is None:
                kwargs["enable_gqa"] = True
            elif q_length == 1:
                q = q.reshape(q.shape[0], self.kv_heads, groups, q.shape[-1])
            else:
                k, v = repeat_kv(k, groups), repeat_kv(v, groups)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.head_dim ** -0.5,
                                             is_causal=q_length > 1 and mask is None, **kwargs)
        return out.reshape(out.shape[0], -1, q_length, v.shape[-1]).transpose(1, 2).contiguous()

    def norm(self, x, name: str):
        return self.w[name] * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def raise_template_error(message: str):
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def repeat_kv(x, groups: int):
    batch, heads, length, dim = x.shape
    return x[:, :, None].expand(batch, heads, groups, length, dim).reshape(batch, heads * groups, length, dim)
