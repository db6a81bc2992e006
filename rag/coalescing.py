"""Questions that several threads ask at the same time, answered in one batch.

A RAG shared by a web server or a thread pool gets one question at a time from each thread.
Answered one by one, every draft reads all of the model's weights for each of its tokens; decoded
side by side (as ask_many does), one read of the weights serves every draft of the batch. The
Coalescer gathers the questions that arrive within a short window, or while a batch is running,
into one call.
"""

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# How long the first question of a batch waits for others: short next to an answer (about a
# second), long enough for threads woken together to queue.
WINDOW_S = 0.01


@dataclass(eq=False)
class Request:
    """One caller's item, and what it gets back: set before `done` is set, unless `leads`."""

    key: Hashable
    item: Any
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    result: Any = None
    error: BaseException | None = None


class Coalescer:
    """Runs `answer(key, items)` once for items that several threads submit together.

    The first thread that finds no batch running leads: it waits up to `window` seconds (or until
    `size` items with its key are queued), answers the queued items that share its key, and hands
    each thread its own result. Items queued meanwhile wait; when the batch ends, the oldest of
    them leads the next one. Items with different keys never share a batch.

    Args:
        answer: (key, items) -> one result per item, in order.
        size: the most items in one batch.
        window: seconds the leader waits for more items.
    """

    def __init__(self, answer: Callable[[Hashable, list], list], size: int, window: float = WINDOW_S):
        if size < 1:
            raise ValueError(f"a batch holds at least one item, not {size}")
        self._answer = answer
        self.size = size
        self.window = window
        self._queue: list[Request] = []
        self._busy = False  # a leader is collecting or answering a batch
        self._changed = threading.Condition()

    def submit(self, key: Hashable, item) -> Any:
        """Returns the result for item, answered in a batch with items of other threads.

        Raises:
            Whatever answering this item raised (an error of another item does not reach here).
        """
        request = Request(key, item)
        with self._changed:
            self._queue.append(request)
            request.leads = not self._busy
            self._busy = True
            self._changed.notify_all()
        if not request.leads:
            request.done.wait()
        if request.leads:
            self._lead(request)
        if request.error is not None:
            raise request.error
        return request.result

    def _lead(self, leader: Request):
        batch = self._take(leader)
        try:
            self._run(batch)
        except BaseException as exc:  # KeyboardInterrupt in the leader: no caller waits forever
            for request in batch:
                request.error = exc
        finally:
            with self._changed:
                if self._queue:
                    following = self._queue[0]
                    following.leads = True
                    following.done.set()
                else:
                    self._busy = False
            for request in batch:
                request.leads = False
                request.done.set()

    def _take(self, leader: Request) -> list[Request]:
        """The leader and the items queued with its key (the leader is the oldest queued item)."""
        with self._changed:
            same = lambda: [r for r in self._queue if r.key == leader.key]
            self._changed.wait_for(lambda: len(same()) >= self.size, self.window)
            batch = same()[: self.size]
            self._queue = [r for r in self._queue if r not in batch]
            log.debug("answering %d together (%d more queued)", len(batch), len(self._queue))
        return batch

    def _run(self, batch: list[Request]):
        try:
            results = self._answer(batch[0].key, [r.item for r in batch])
            pairs = list(zip(batch, results, strict=True))
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            # One bad item fails its whole batch: answer each alone, so the error reaches only its caller.
            log.warning("a batch of %d failed (%s: %s); answering them one at a time", len(batch), type(exc).__name__, exc)
            for request in batch:
                self._run([request])
            return
        for request, result in pairs:
            request.result = result
