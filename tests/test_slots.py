"""The line in front of the generator's slots: no more replies at once than slots, and the
waiting ones start in the order they came."""

import threading
import time

import pytest

from rag.models.slots import Slots


def test_no_more_than_size_at_once_and_waiters_start_in_arrival_order():
    slots = Slots(2)
    started, most, running = [], [0], [0]
    lock = threading.Lock()
    release = threading.Event()

    def reply(n):
        with slots.held():
            with lock:
                started.append(n)
                running[0] += 1
                most[0] = max(most[0], running[0])
            release.wait()
            time.sleep(0.01)
            with lock:
                running[0] -= 1

    workers = []
    for n in range(6):
        workers.append(threading.Thread(target=reply, args=(n,)))
        workers[-1].start()
        time.sleep(0.02)  # arrive one after the other
    assert slots.busy == 2 and slots.waiting == 4 and started == [0, 1]
    release.set()
    for worker in workers:
        worker.join()
    assert started == list(range(6)) and most[0] == 2
    assert slots.busy == 0 and slots.waiting == 0


def test_a_failed_reply_frees_its_slot():
    slots = Slots(1)
    with pytest.raises(RuntimeError):
        with slots.held():
            raise RuntimeError("the generator failed")
    with slots.held():
        assert slots.busy == 1
    with pytest.raises(ValueError):
        Slots(0)
