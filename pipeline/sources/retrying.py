"""Retries and request spacing shared by the HTTP clients (E-utilities, ClinicalTrials.gov).

One attempt either returns, raises `Retryable` (network error, timeout, 429/5xx, or an
`Invalid` body), or raises anything else (which passes straight through). `with_retries` waits
the policy's next delay after each retryable failure, honouring a server's Retry-After up to
`max_retry_after`. After the last attempt an invalid body raises the client's own invalid-answer
error and any other failure `GaveUp`, which the client turns into its SourceUnavailableError.
The numbers themselves stay in each client's policy (`EntrezPolicy`, `CtgovPolicy`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol, TypeVar

import requests

from pipeline.errors import PipelineError

T = TypeVar("T")


class RetryPolicy(Protocol):
    """The fields of a client policy that retries read."""

    retry_delays: tuple[float, ...]  # one retry per delay
    max_retry_after: float  # a longer Retry-After is capped to this

    @property
    def attempts(self) -> int: ...


class Retryable(Exception):
    """One failed attempt worth retrying; never a urllib error, so Bio.Entrez passes it through."""

    def __init__(
        self, reason: str, *, status: int | None = None, retry_after: float | None = None,
        body: bytes = b"", headers: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        self.body = body
        self.headers = headers or {}


class Invalid(Retryable):
    """The body arrived whole but is not what the endpoint returns."""


class InvalidAnswerError(PipelineError):
    """An answer that stayed invalid after every retry; `body` is what the server last sent."""

    def __init__(self, message: str, body: bytes = b"") -> None:
        super().__init__(message)
        self.body = body


class GaveUp(Exception):
    """Every attempt failed, the last one not with an invalid body; `last` is that failure."""

    def __init__(self, last: Retryable, attempts: int) -> None:
        super().__init__(last.reason)
        self.last = last
        self.attempts = attempts

    @property
    def tries(self) -> str:
        return f"{self.attempts} attempts"

    @property
    def how(self) -> str:
        """'kept failing' when the server answered with an error, else 'could not be reached'."""
        return "kept failing" if self.last.status else "could not be reached"


class RateLimiter:
    """Spaces calls at least `interval` seconds apart (monotonic clock), in the order they ask.

    Each call takes the next start time under the lock and waits for it outside, so threads
    start in the order they called (a lock held while sleeping wakes its waiters in any order).
    """

    def __init__(
        self,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A Retry-After header in seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def receive(
    send: Callable[[], requests.Response], timeout: float, redact: Callable[[str], str] = str
) -> tuple[requests.Response, bytes]:
    """Send one request and read its whole body; a timeout or network error is Retryable.

    `redact` cleans the error text, which quotes the URL (and any key in it).
    """
    try:
        response = send()
        body = response.content  # the whole body, so a broken read fails here
    except requests.Timeout:
        raise Retryable(f"no answer within {timeout:g} s") from None
    except requests.RequestException as error:
        raise Retryable(redact(f"{type(error).__name__}: {error}")) from None
    return response, body


def raise_for_retryable_status(response: requests.Response, body: bytes) -> None:
    """Raise Retryable for HTTP 429 and 5xx, with the server's Retry-After in seconds."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise Retryable(
            f"HTTP {status} {response.reason}",
            status=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            body=body,
            headers=dict(response.headers),
        )


def validated(body: bytes, validate: Callable[[bytes], T]) -> tuple[bytes, T]:
    """The body and what `validate` made of it; an Invalid failure carries the body."""
    try:
        return body, validate(body)
    except Invalid as invalid:
        invalid.body = body
        raise


def next_delay(policy: RetryPolicy, attempt: int, failure: Retryable) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): the policy's delay, or the
    server's Retry-After (capped to max_retry_after) when that is longer."""
    delay = policy.retry_delays[attempt - 1]
    if failure.retry_after is not None:
        delay = max(delay, min(failure.retry_after, policy.max_retry_after))
    return delay


def with_retries(
    attempt: Callable[[int], T],
    *,
    what: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    log: logging.Logger,
    invalid: Callable[[str, bytes], Exception],
) -> T:
    """`attempt(n)` for n = 1, 2, ... until it returns; Retryable failures wait `next_delay`
    (logged as a warning about `what`). After the last attempt an invalid body raises
    `invalid(message, body)`, any other failure GaveUp."""
    for number in range(1, policy.attempts + 1):
        try:
            return attempt(number)
        except Retryable as failure:
            if number == policy.attempts:
                if isinstance(failure, Invalid):
                    tries = f"{policy.attempts} attempts"
                    raise invalid(f"{what}: {failure.reason} ({tries})", failure.body) from None
                raise GaveUp(failure, policy.attempts) from None
            delay = next_delay(policy, number, failure)
            log.warning(
                "%s failed (%s); retry %d of %d in %.1f s",
                what, failure.reason, number, policy.attempts - 1, delay,
            )  # fmt: skip
            sleep(delay)
    raise AssertionError("a policy allows at least one attempt")  # attempts = delays + 1
