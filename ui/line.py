"""The line every question waits in, from the chat and from the API alike: at most `size`
answers run at once and the others wait, first come first served.

Answering is CPU-bound (about 1-2 s on two cores), so a third answer beside two runs no faster;
one line for both doors keeps API callers from crowding out chat visitors, and the reverse.
"""

import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Two answers at a time, the chat's and the API's together: a third waits in line (in the chat
# with its position shown), and nobody's page freezes.
ANSWERS_AT_ONCE = 2


class Line:
    """Places for answers: `size` run at once (None: no limit), the rest wait in order.

        with line.place() as place:
            place.wait()        # blocks until it is this question's turn
            ...                 # answer; leaving the block frees the place
    """

    def __init__(self, size: int | None):
        if size is not None and size < 1:
            raise ValueError("a line needs at least one place to answer in")
        self.size = size
        self._changed = threading.Condition()
        self._waiting: list[Place] = []
        self._running = 0

    @property
    def waiting(self) -> int:
        """Questions waiting for their turn now."""
        with self._changed:
            return len(self._waiting)

    @property
    def running(self) -> int:
        """Answers running now."""
        with self._changed:
            return self._running

    @contextmanager
    def place(self) -> Iterator["Place"]:
        """Joins the end of the line; leaving (answered, stopped or failed) frees the place."""
        place = Place(self)
        with self._changed:
            self._waiting.append(place)
        try:
            yield place
        finally:
            with self._changed:
                if place.started:
                    self._running -= 1
                else:
                    self._waiting.remove(place)
                self._changed.notify_all()

    def _start(self, place: "Place") -> bool:
        # Called with the lock held. Places start in the order they joined: a place starts
        # only when every place before it has, so nobody overtakes a waiting question.
        if place.started:
            return True
        free = math.inf if self.size is None else self.size - self._running
        if self._waiting.index(place) >= free:
            return False
        self._waiting.remove(place)
        self._running += 1
        place.started = True
        return True


class Place:
    """One question's place in a Line."""

    def __init__(self, line: Line):
        self.line = line
        self.started = False

    def wait(self, timeout: float | None = None) -> bool:
        """Waits until it is this question's turn (at most `timeout` seconds; 0 only looks).

        Returns:
            True once the answer may run; False if the time ran out first.
        """
        with self.line._changed:
            return self.line._changed.wait_for(lambda: self.line._start(self), timeout)

    @property
    def ahead(self) -> int:
        """Questions that wait before this one (0 once it runs)."""
        with self.line._changed:
            return 0 if self.started else self.line._waiting.index(self)
