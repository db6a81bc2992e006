"""Our readers (rag/readers/, one library per format) against markitdown (one converter to
Markdown) on the same files: seconds, and the headings, list items and table rows each keeps.

    .venv/bin/python benchmarks/readers.py FILE...                 # rag's readers
    /tmp/mdvenv/bin/python benchmarks/readers.py --markitdown FILE...  # markitdown, its own venv
                                                                   # (pip install 'markitdown[docx,pptx,xlsx]')
Prints one line a file: name, seconds (best of 3), headings, list items, table rows, characters.
"""

import re
import sys
import time
from pathlib import Path


def ours(path: Path) -> tuple[int, int, int, int]:
    from rag.documents import read_document

    doc = read_document(path, path.parent)
    kinds = [kind for _, _, kind in doc.blocks]
    rows = sum(1 for s, e, k in doc.blocks if k == "item" and not doc.text[s:e].startswith(("• ", "1", "2", "3", "4", "5", "6", "7", "8", "9")))
    return kinds.count("heading"), kinds.count("item") - rows, rows, len(doc.text)


def markitdown(path: Path) -> tuple[int, int, int, int]:
    from markitdown import MarkItDown

    text = MarkItDown().convert(str(path)).text_content
    lines = text.splitlines()
    headings = sum(1 for line in lines if re.match(r"#{1,6} ", line))
    items = sum(1 for line in lines if re.match(r"\s*(?:[-*+]|\d+\.) ", line))
    rows = sum(1 for line in lines if line.startswith("|") and not re.match(r"\|[\s:|-]+\|$", line))
    return headings, items, rows, len(text)


def main(args: list[str]):
    tool = markitdown if args[0] == "--markitdown" else ours
    for name in args[1:] if tool is markitdown else args:
        path = Path(name)
        times = []
        for _ in range(3):
            started = time.perf_counter()
            found = tool(path)
            times.append(time.perf_counter() - started)
        print(f"{tool.__name__:10} {path.name:28} {min(times):7.3f} s  headings {found[0]:5}  items {found[1]:5}  "
              f"rows {found[2]:5}  chars {found[3]:8}")


if __name__ == "__main__":
    main(sys.argv[1:])
