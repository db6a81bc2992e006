"""A model name that is neither a folder nor cached fails at once, without waiting on the network."""

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_an_unknown_model_name_fails_at_once_with_a_clear_message(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("Kiwis live in New Zealand.\n", encoding="utf-8")
    (tmp_path / "rag.toml").write_text('embedder = "nobody/no-such-model"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}  # as a user's shell has it
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "rag.cli", "--config", str(tmp_path / "rag.toml"), "index",
         "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode != 0
    assert "nobody/no-such-model" in result.stderr and "HF_HUB_OFFLINE=0" in result.stderr, result.stderr[-1500:]
    assert time.monotonic() - started < 60


def test_rag_ask_names_an_unknown_generator_with_a_clear_message(tmp_path):
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("Kiwis live in New Zealand. They cannot fly.\n", encoding="utf-8")
    run = [sys.executable, "-m", "rag.cli", "--config", str(tmp_path / "rag.toml")]
    (tmp_path / "rag.toml").write_text("", encoding="utf-8")
    subprocess.run(run + ["index", "--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")],
                   cwd=REPO, capture_output=True, text=True, timeout=300, check=True)
    (tmp_path / "rag.toml").write_text('generator = "nobody/no-such-generator"\n', encoding="utf-8")
    result = subprocess.run(run + ["ask", "--index", str(tmp_path / "index"), "Where do kiwis live?"],
                            cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode != 0
    assert "nobody/no-such-generator" in result.stderr, result.stderr[-1500:]
    assert "Traceback" not in result.stderr and "Exception in thread" not in result.stderr, result.stderr[-1500:]
