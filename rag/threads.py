"""How many threads a forward pass should use: the cores that are not already busy.

torch and OpenBLAS spread every matrix product over all cores by default. On a 2-core machine
shared with other jobs (load average 4), the threads spent most of their time waiting for a busy
core: the first answer of a fresh process took 51 s on 2 threads against 4.5 s on 1 (evidence
23 s against 0.9 s, generation 27 s against 3.7 s; benchmarks/RESULTS.md). The thread count does
not change the generated tokens (same tokens on 1 and 2 threads).
"""

import os


def free_cores() -> int:
    """Cores not taken by the 1-minute load average, at least one, at most all of them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        busy = round(os.getloadavg()[0])
    except OSError:
        busy = 0
    return max(1, min(cores, cores - busy))


def blas_limit(threads: int):
    """A context manager that runs numpy's BLAS (OpenBLAS) on `threads` threads."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads, user_api="blas")
