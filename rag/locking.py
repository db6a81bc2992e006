"""One writer per index: a lock file inside the index folder, held while an update runs.

Two `rag index` runs on one index, or an upload in the web chat while `rag index` runs from a
shell, would each write a data folder and remove the other's as stale. The second writer is
refused at once with a message naming the first (a user re-runs it in a moment; waiting
silently behind an hour-long build would look like a hang). The lock is `flock`ed, so the
kernel releases it when its holder exits, killed or not: no stale lock is ever left behind.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import IndexLockedError

LOCK_FILE = "index.lock"


@contextmanager
def index_lock(index_dir: str | Path) -> Iterator[None]:
    """Holds the index's write lock for the duration of the block.

    Args:
        index_dir: the index folder (created if missing, to hold the lock file).

    Raises:
        IndexLockedError: another process is updating this index now.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_FILE
    # flock belongs to the open file, so a second RAG object of this process is refused too.
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise IndexLockedError(
                f"another `rag index` (pid {holder}) is updating the index in {index_dir}; "
                "wait for it to finish, then run this again"
            ) from None
        try:
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
