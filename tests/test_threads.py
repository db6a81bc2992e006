from rag import threads
from rag.threads import busy_cores, free_cores, idle_share


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
