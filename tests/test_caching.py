"""The figure cache: values per key until they expire; concurrent callers compute once."""

from __future__ import annotations

import threading
import time

from salesops.caching import FigureCache


def test_concurrent_callers_of_one_key_compute_it_once() -> None:
    cache = FigureCache()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.2)
        return 42

    results: list[int] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8
    assert len(calls) == 1
    assert cache.misses == 1


def test_entries_expire_and_the_oldest_are_evicted() -> None:
    cache = FigureCache(max_entries=2, ttl=0.05)
    assert cache.get_or_compute("a", lambda: 1) == 1
    assert cache.get_or_compute("a", lambda: 2) == 1
    time.sleep(0.06)
    assert cache.get_or_compute("a", lambda: 3) == 3
    cache.get_or_compute("b", lambda: 4)
    cache.get_or_compute("c", lambda: 5)
    assert cache.get_or_compute("a", lambda: 6) == 6
