"""Retries and request spacing shared by the HTTP clients."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.sources.retrying import RateLimiter, retry_after_seconds


class Sleeps(list):
    """A stand-in for time.sleep that records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_rate_limiter_spaces_requests_by_its_interval():
    now = iter([100.0, 100.1, 105.0, 105.0])
    sleeps = Sleeps()
    limiter = RateLimiter(1.0, clock=lambda: next(now), sleep=sleeps)
    limiter.wait()  # first request: no wait
    limiter.wait()  # 0.1 s later: waits the remaining 0.9 s
    limiter.wait()  # long after: no wait
    limiter.wait()  # right after the third: a full interval
    assert sleeps == [pytest.approx(0.9), pytest.approx(1.0)]


def test_retry_after_parsing():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    later = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_seconds(later, now) == pytest.approx(30.0)
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_a_call_waiting_its_turn_leaves_the_limiter_to_the_next_caller():
    """While one call waits for its start time, the next caller gets the one after at once
    (a lock held while sleeping would make it wait, then wake callers in any order)."""
    sleeps: dict[str, float] = {}
    release = threading.Event()

    def sleep(seconds: float) -> None:
        sleeps[threading.current_thread().name] = seconds
        if threading.current_thread().name == "first":
            release.wait(10)  # still waiting for its turn

    limiter = RateLimiter(1.0, clock=lambda: 100.0, sleep=sleep)
    limiter.wait()  # at 100.0, no wait; the next start is 101.0
    first = threading.Thread(target=limiter.wait, name="first")
    first.start()
    deadline = time.monotonic() + 5
    while "first" not in sleeps and time.monotonic() < deadline:
        time.sleep(0.001)
    second = threading.Thread(target=limiter.wait, name="second")
    second.start()
    second.join(2)
    release.set()
    first.join(2)
    assert sleeps == {"first": 1.0, "second": 2.0}
