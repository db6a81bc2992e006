"""The training library: each unpacked package (training/library.sh) -> a folder of documents rag
reads (corpora/train/docs/PACKAGE/), then an index of it (corpora/train/index/PACKAGE/).

HTML and PDF manuals are copied as they are; man pages, info manuals and POD are rendered to text
by their own tools (man, info, pod2text). Each package gives a sample of its files, chosen by a
hash of their path, up to a budget of bytes, so that a huge package (LilyPond, Ruby) does not
crowd out the others and an index stays quick to build.

    .venv/bin/python training/library.py            # every package not yet rendered and indexed
"""

import argparse
import hashlib
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "corpora/train/raw"
DOCS = ROOT / "corpora/train/docs"
INDEXES = ROOT / "corpora/train/index"
PACKAGES = ROOT / "training/packages.txt"
# Packages whose documents are evaluated (fit or held-out sets) or are the default corpus: never
# training data (tests/test_training.py checks the package list and the data against it).
EVALUATED = frozenset({
    "sqlite3-doc", "zsh-doc", "zsh-common", "nut-doc", "asymptote-doc", "asymptote",
    "python3.11-doc", "python3-doc", "debian-handbook", "r-doc-html", "r-doc-pdf", "r-doc-info",
    "r-base-html", "rust-doc", "rust-src",
})
BUDGET_BYTES = 600_000  # raw bytes of HTML/PDF a package gives at most
BUDGET_TEXT = 300_000  # characters of rendered text (man, info, POD) a package gives at most
MAX_FILES = 25
# An info manual's node headers and menus: navigation, not text.
INFO_FURNITURE = re.compile(r"^(File: \S+,\s+Node:|\* Menu:|\* [^:]+::)")
SKIPPED_PARTS = {"examples", "_sources", "_static", "search", "genindex", "images", "js", "css"}

log = logging.getLogger("training.library")


def packages() -> list[str]:
    lines = (line.split("#")[0].strip() for line in PACKAGES.read_text().splitlines())
    return [line for line in lines if line]


def ranked(paths: list[Path]) -> list[Path]:
    """The files in a fixed order that does not follow their names (a sample across the package)."""
    return sorted(paths, key=lambda p: hashlib.sha256(str(p).encode()).hexdigest())


def kind(path: Path) -> str | None:
    """How a file of a package is read: html, pdf, man, info, pod, or None (left out)."""
    parts = set(path.parts)
    name = path.name
    if parts & SKIPPED_PARTS:
        return None
    if "man" in parts and name.endswith(".gz") and path.parent.name.startswith("man"):
        # English pages only: translations live in man/LANG/manN/.
        return "man" if path.parent.parent.name == "man" else None
    if "info" in parts and re.search(r"\.info(\.gz)?$", name):
        return "info"  # the main file: info reads the parts it names
    if name.endswith(".pod"):
        return "pod"
    if name.endswith((".html", ".htm", ".html.en")):
        return "html"
    if name.endswith(".pdf"):
        return "pdf"
    return None


def render(path: Path, how: str) -> str:
    """A man page, info manual or POD file as plain text, by its own tool."""
    if how == "man":
        command = ["man", "-l", "-E", "UTF-8", str(path)]
    elif how == "info":
        command = ["info", "--subnodes", "-o", "-", "-f", str(path)]
    else:
        command = ["pod2text", "--width", "1000", str(path)]
    # Wide enough that a paragraph is one line: no wrapped lines or hyphenated words to undo.
    env = {**os.environ, "MANWIDTH": "1000", "MAN_KEEP_FORMATTING": "0"}
    done = subprocess.run(command, capture_output=True, env=env, timeout=60)
    # col -b removes the overstrikes man uses for bold and underline.
    plain = subprocess.run(["col", "-bx"], input=done.stdout, capture_output=True, timeout=60).stdout
    # Indentation only marks structure here; rag's text reader joins lines better without it.
    lines = (line.strip() for line in plain.decode("utf-8", "replace").splitlines())
    return "\n".join(line for line in lines if not INFO_FURNITURE.match(line))


def target_name(path: Path, root: Path, how: str) -> str:
    rel = path.relative_to(root).as_posix().replace("/", "__")
    if how in ("man", "info", "pod"):
        return rel.removesuffix(".gz") + ".txt"
    return rel.removesuffix(".en")


def gather(package: str) -> Path:
    """Renders a package's sample into DOCS/package (once)."""
    target = DOCS / package
    if target.exists():
        return target
    root = RAW / package
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    chosen = [(p, kind(p.relative_to(root))) for p in ranked(files)]
    chosen = [(p, how) for p, how in chosen if how]
    staging = target.with_suffix(".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    raw_bytes = text_chars = count = 0
    for path, how in chosen:
        if count >= MAX_FILES or raw_bytes >= BUDGET_BYTES or text_chars >= BUDGET_TEXT:
            break
        out = staging / target_name(path, root, how)
        if how in ("html", "pdf"):
            if path.stat().st_size > BUDGET_BYTES:
                continue
            shutil.copyfile(path, out)
            raw_bytes += path.stat().st_size
        else:
            text = render(path, how)
            if len(text) < 500:
                continue
            out.write_text(text[:BUDGET_TEXT])
            text_chars += len(text)
        count += 1
    staging.rename(target)
    log.info("%s: %d files, %d bytes copied, %d characters rendered", package, count, raw_bytes, text_chars)
    return target


def build_index(package: str):
    """Indexes a package's documents with rag, as a user would (once)."""
    from rag import RAG, Config

    index = INDEXES / package
    if (index / "manifest.json").exists():
        return
    RAG.build(DOCS / package, index, Config(extractive_only=True))
    log.info("%s: indexed", package)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="packages (default: all of training/packages.txt)")
    parser.add_argument("--no-index", action="store_true", help="render only")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for package in args.names or packages():
        if package in EVALUATED:
            raise SystemExit(f"{package} holds evaluated documents: it cannot be training data")
        if not (RAW / package).exists():
            raise SystemExit(f"{package} is not unpacked: run bash training/library.sh")
        gather(package)
        if not args.no_index:
            build_index(package)


if __name__ == "__main__":
    main()
