import subprocess
import sys

HEAVY = ("torch", "transformers", "sentence_transformers", "faiss", "gradio", "bm25s")


def loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return [m for m in HEAVY if m in out.split()]


def test_import_rag_loads_no_heavy_library():
    assert loaded_after("import rag\nfrom rag import RAG, Config, Answer") == []


def test_cli_help_loads_no_heavy_library():
    assert loaded_after("from rag.cli import cli\ncli(['--help'], standalone_mode=False)") == []


def test_rag_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "rag.cli", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("index", "ask", "eval"):
        assert command in out
