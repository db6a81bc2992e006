from rag.models import threads
from rag.models.threads import busy_cores, free_cores, idle_share


def ticks(*samples):
    samples = iter(samples)
    return lambda: next(samples)


def test_idle_share_is_measured_between_two_readings():
    assert idle_share(0, ticks((100, 400), (150, 500))) == 0.5
    assert idle_share(0, ticks((100, 400), (200, 500))) == 1.0
    assert idle_share(0, ticks((100, 400), (100, 400))) is None  # no time passed: unknown


def test_an_unreadable_proc_stat_is_unknown():
    def fail():
        raise OSError("no /proc")

    assert idle_share(0, fail) is None


def test_free_cores_are_those_left_idle_now(monkeypatch):
    monkeypatch.setattr(threads, "idle_share", lambda seconds: 0.5)
    busy_cores.cache_clear()
    try:
        assert busy_cores(2) == 1 and busy_cores(4) == 2
        monkeypatch.setattr(threads, "idle_share", lambda seconds: None)
        monkeypatch.setattr(threads.os, "getloadavg", lambda: (3.2, 0, 0))
        busy_cores.cache_clear()
        assert busy_cores(8) == 3, "the load average decides when /proc/stat cannot be read"
        assert 1 <= free_cores()
    finally:
        busy_cores.cache_clear()


def test_core_watch_leaves_out_this_process_and_reads_between_calls(monkeypatch):
    monkeypatch.setattr(threads.time, "sleep", lambda s: None)
    # (idle, total, own) ticks: 2 cores, 100 ticks a reading.
    readings = iter([(0, 0, 0), (50, 100, 0),     # first call: half the time busy elsewhere -> 1 free
                     (50, 200, 100),              # second: all busy, but with this process -> 2 free
                     (50, 300, 150),              # third: half of it ours, half others' -> 1 free
                     (50, 301, 150)])             # too few ticks to tell: the last figure stands
    watch = threads.CoreWatch(cores=2, read=lambda: next(readings))
    assert [watch.free(), watch.free(), watch.free(), watch.free()] == [1, 2, 1, 1]


def test_core_watch_keeps_its_last_figure_when_proc_cannot_be_read():
    def fail():
        raise OSError("no /proc")

    assert threads.CoreWatch(cores=4, read=fail).free() == 4
