"""Answers remembered per question: the same question on the same index gets the same answer,
whoever else is asking, and a repeated question costs no model time.

llama.cpp's sums are not fully batch-invariant: a draft written beside other replies can differ
from the one the same prompt gets alone (benchmarks/README.md, issue 33), and with it the
answer. The memo makes the first answer to a question its answer for as long as the index is
loaded and unchanged: later askers get that Answer, and askers who come while it is being
written wait for it instead of writing a draft of their own.

An Answerer (one per loaded store) holds one, so an index update starts afresh. Keys are the
question as checked, the conversation's earlier questions and the call's Options. At most
`size` answers are kept, the least recently asked dropped first; size 0 remembers nothing.
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable

from rag.answering.answer import Answer


class AnswerMemo:
    """Remembered answers, and the questions being answered now.

    Args:
        size: answers kept at most (Config.answer_memo).
    """

    def __init__(self, size: int):
        self.size = size
        self._answers: OrderedDict[Hashable, Answer] = OrderedDict()
        self._writing: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def recall(self, key: Hashable) -> Answer | None:
        """The remembered answer, waited for if another caller is writing it now.

        None means the caller is now the one writing it: it must call keep() with its answer,
        or drop() if it gets none (an error, a stream closed early), so that waiters go on.
        """
        if not self.size:
            return None
        while True:
            with self._lock:
                if (answer := self._remembered(key)) is not None:
                    return answer
                writing = self._writing.get(key)
                if writing is None:
                    self._writing[key] = threading.Event()
                    return None
            writing.wait()  # then remembered, or dropped and claimed anew by the loop

    def get(self, key: Hashable) -> Answer | None:
        """The remembered answer, if there is one now (no waiting, no claim)."""
        with self._lock:
            return self._remembered(key)

    def _remembered(self, key: Hashable) -> Answer | None:
        """The remembered answer, marked as the most recently asked (the lock held)."""
        if key in self._answers:
            self._answers.move_to_end(key)
            return self._answers[key]
        return None

    def keep(self, key: Hashable, answer: Answer) -> Answer:
        """Remembers answer unless one is remembered already; returns the remembered one."""
        if not self.size:
            return answer
        with self._lock:
            answer = self._answers.setdefault(key, answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
            if writing := self._writing.pop(key, None):
                writing.set()
        return answer

    def drop(self, key: Hashable):
        """Gives up writing key's answer: a waiter writes it instead."""
        with self._lock:
            if writing := self._writing.pop(key, None):
                writing.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._answers)
