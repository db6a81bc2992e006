import subprocess
import sys

HEAVY = ("torch", "transformers", "sentence_transformers", "faiss", "gradio", "bm25s")


def loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return [m for m in heavy if m in out.split()]


def test_import_rag_loads_no_heavy_library():
    assert loaded_after("import rag\nfrom rag import RAG, Config, Answer") == []


def test_cli_help_loads_no_heavy_library():
    assert loaded_after("from rag.cli import cli\ncli(['--help'], standalone_mode=False)") == []


def test_import_rag_and_help_load_not_even_numpy():
    assert loaded_after("import rag", heavy=("numpy",)) == []
    assert loaded_after("from rag.cli import cli\ncli(['--help'], standalone_mode=False)", heavy=("numpy",)) == []


def test_the_public_names_import_on_first_use():
    probe = "import rag\nprint(rag.RAG.__module__, rag.Answer.__module__, rag.IndexReport.__module__, 'RAG' in dir(rag))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["rag.api", "rag.answering.answer", "rag.indexing", "True"]
    missing = subprocess.run([sys.executable, "-c", "import rag\nrag.Nothing"], check=False, capture_output=True, text=True)
    assert "has no attribute 'Nothing'" in missing.stderr


def test_rag_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "rag.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("index", "ask", "eval"):
        assert command in out
