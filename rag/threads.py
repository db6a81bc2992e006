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

import functools
import os
import time

SAMPLE = 0.05


def free_cores() -> int:
    """Cores not busy now, at least one, at most all of them (measured once per process)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
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


def blas_limit(threads: int):
    """A context manager that runs numpy's BLAS (OpenBLAS) on `threads` threads."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")
