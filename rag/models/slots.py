"""The line in front of the generator's slots: at most `size` replies are written at once, and
callers beyond that wait first come, first served (a reply that waits is never overtaken).

llama-server queues requests beyond its slots too, but a Python thread blocked inside it cannot be
counted, and a caller that gives up while waiting there still holds its place; here both are seen.
"""

import itertools
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class Slots:
    """Places for replies being written.

    Args:
        size: replies written at once.
    """

    def __init__(self, size: int):
        if size < 1:
            raise ValueError("the generator needs at least one slot")
        self.size = size
        self.busy = 0
        self._line: deque[int] = deque()
        self._tickets = itertools.count()
        self._changed = threading.Condition()

    @property
    def waiting(self) -> int:
        """Replies waiting for a slot now."""
        with self._changed:
            return len(self._line)

    @contextmanager
    def held(self) -> Iterator[None]:
        """Waits for a slot in arrival order and holds it for the block."""
        with self._changed:
            ticket = next(self._tickets)
            self._line.append(ticket)
            try:
                self._changed.wait_for(lambda: self._line[0] == ticket and self.busy < self.size)
            finally:
                self._line.remove(ticket)
                self._changed.notify_all()
            self.busy += 1
        try:
            yield
        finally:
            with self._changed:
                self.busy -= 1
                self._changed.notify_all()
