"""How many threads a forward pass should use: the cores that are not already busy.

torch and OpenBLAS spread every matrix product over all cores by default. On a 2-core machine
shared with other jobs (load average 4), the threads spent most of their time waiting for a busy
core: the first answer of a fresh process took 51 s on 2 threads against 4.5 s on 1 (evidence
23 s against 0.9 s, generation 27 s against 3.7 s; benchmarks/RESULTS.md). The thread count does
not change the generated tokens (same tokens on 1 and 2 threads).

The busy cores are measured, not guessed from the 1-minute load average: that average still
counts work that has just ended (a benchmark, an index build, this process's own start-up), and
on an idle 2-core machine at load average 1 one thread answered 30-60% slower than two. The
share of CPU time left idle over SAMPLE seconds (/proc/stat, all processes) says how many cores
are free now; where /proc/stat cannot be read, the load average decides as before.
"""

import contextlib
import functools
import os
import threading
import time
from collections.abc import Iterator

SAMPLE = 0.05
# CoreWatch: readings further apart than this are too old to say what runs now.
STALE_S = 1.0


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def free_cores() -> int:
    """Cores not busy now, at least one, at most all of them (measured once per process)."""
    cores = usable_cores()
    return max(1, min(cores, cores - busy_cores(cores)))


@functools.lru_cache(maxsize=1)
def busy_cores(cores: int) -> int:
    idle = idle_share(SAMPLE)
    if idle is not None:
        return round(cores * (1.0 - idle))
    try:
        return round(os.getloadavg()[0])
    except OSError:
        return 0


def idle_share(seconds: float, read=None) -> float | None:
    """The share of all CPU time spent idle over the next `seconds`, or None if unknown.

    Args:
        seconds: how long to watch.
        read: returns the (idle, total) CPU ticks so far (default: /proc/stat).
    """
    read = read or cpu_ticks
    try:
        idle0, total0 = read()
        time.sleep(seconds)
        idle1, total1 = read()
    except (OSError, ValueError, IndexError):
        return None
    if total1 <= total0:
        return None
    return min(1.0, max(0.0, (idle1 - idle0) / (total1 - total0)))


def cpu_ticks() -> tuple[int, int]:
    """(idle, total) ticks of all CPUs since boot, from the first line of /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is counted in user already)
    return fields[3] + fields[4], sum(fields[:8])


def own_ticks() -> int:
    """CPU ticks this process (every thread of it) has used, from /proc/self/stat."""
    with open("/proc/self/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))


class CoreWatch:
    """The cores other processes leave free, measured again at every call.

    The reading covers the time since the previous call (a question's retrieval, say), or a
    fresh SAMPLE when that is older than STALE_S or unknown. This process's own CPU time is left
    out: answers running side by side in it share the cores on purpose and do not make the
    next one use fewer threads.

    Args:
        cores: the cores this process may use (default: its CPU affinity).
        read: returns (idle, total, own) ticks so far (default: /proc/stat and /proc/self/stat).
    """

    def __init__(self, cores: int | None = None, read=None):
        self.cores = cores or usable_cores()
        self._read = read or (lambda: (*cpu_ticks(), own_ticks()))
        self._last: tuple[float, tuple[int, int, int]] | None = None
        self._free = self.cores
        self._lock = threading.Lock()

    def free(self) -> int:
        """Cores not busy with other processes' work now: at least one, at most all."""
        with self._lock:
            try:
                now = (time.monotonic(), self._read())
                if self._last is None or now[0] - self._last[0] > STALE_S:
                    self._last = now
                    time.sleep(SAMPLE)
                    now = (time.monotonic(), self._read())
            except (OSError, ValueError, IndexError):
                return self._free
            (_, (idle0, total0, own0)), (_, (idle1, total1, own1)) = self._last, now
            if total1 - total0 >= 2 * self.cores:  # enough ticks to tell (10 ms each)
                others = max(0, (total1 - total0) - (idle1 - idle0) - (own1 - own0))
                busy = round(self.cores * others / (total1 - total0))
                self._free = max(1, min(self.cores, self.cores - busy))
                self._last = now
            return self._free


class BlasThreads:
    """numpy's BLAS (OpenBLAS) thread count for a stage of answering, shared by every thread of
    the process: a call alone gets `threads`; calls side by side (several askers) run on one
    thread each, since each extra BLAS thread would only wait for a core that another caller, or
    llama.cpp, holds. The count does not change the vectors (each output is summed the same way).

    threadpoolctl's own context manager inspects the loaded libraries at every use (2 ms, under
    the GIL); one controller is made here on first use and kept.

    Args:
        threads: the BLAS threads of a call made alone.
    """

    def __init__(self, threads: int):
        self.threads = threads
        self._inside = 0
        self._lock = threading.Lock()
        self._controller = None
        self._default: int | None = None

    @contextlib.contextmanager
    def limit(self) -> Iterator[None]:
        with self._lock:
            self._inside += 1
            self._set(self.threads if self._inside == 1 else 1)
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0:
                    self._set(self._default)

    def _set(self, threads: int | None):
        if self._controller is None:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController().select(user_api="blas")
            self._default = max([p.num_threads for p in self._controller.lib_controllers], default=1)
        if threads is not None:
            for library in self._controller.lib_controllers:
                library.set_num_threads(threads)

