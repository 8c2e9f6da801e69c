"""Backoff and ``Retry-After`` parsing: pure functions, plus the policy the client retries with."""

from __future__ import annotations

import asyncio
import email.utils
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["RetryPolicy", "backoff_delay", "parse_retry_after"]


def backoff_delay(
    retries_done: int,
    *,
    initial: float,
    maximum: float,
    jitter: float = 0.25,
    rand: Callable[[], float] = random.random,
) -> float:
    """Capped exponential backoff with downward jitter (the anthropic-sdk shape).

    Args:
        retries_done: How many retries were already made (0 before the first retry).
        initial: Delay before the first retry, in seconds.
        maximum: Cap on any delay, in seconds.
        jitter: Fraction of the delay that may be taken off at random (0 disables jitter).
        rand: Source of uniform numbers in [0, 1), injectable for tests.

    Returns:
        Seconds to wait.
    """
    base = min(initial * (2.0**retries_done), maximum)
    return max(0.0, base * (1.0 - jitter * rand()))


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Read how long the server asked us to wait.

    ``retry-after-ms`` wins over ``retry-after``; the latter may be seconds or an HTTP date.
    The contract does not promise either header, so absence is normal.

    Args:
        headers: Response headers (case-insensitive mapping, such as ``httpx.Headers``).
        now: Current time for HTTP-date values; defaults to the wall clock.

    Returns:
        Seconds (>= 0), or None when no usable header is present.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries one HTTP call.

    Only errors raised before a request was sent, 408, 429 (and Suno's 405/430/455) and 5xx are
    retried, and a create only after a 4xx or 503 (any other 5xx leaves it in doubt and is never
    resent); see :meth:`AnyIntClient.request`. The schedule follows anthropic-sdk: two retries,
    0.5 s doubling to 8 s with jitter, ``Retry-After`` honoured up to ``max_retry_after``.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retrying).
        initial_delay: Seconds before the first retry.
        max_delay: Cap on computed delays.
        max_retry_after: A server-requested wait longer than this is not honoured: the error is
            raised instead so a caller (or Prefect) can decide.
        sleep: Awaitable sleep, injectable so tests can record delays instead of waiting.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def delay(self, retries_done: int, headers: Mapping[str, str] | None = None) -> float | None:
        """Seconds to wait before the next retry, or None when the server asks for too long.

        Args:
            retries_done: Retries already made.
            headers: Headers of the failed response, if any.

        Returns:
            The delay, or None if ``Retry-After`` exceeds ``max_retry_after``.
        """
        if headers is not None:
            asked = parse_retry_after(headers)
            if asked is not None:
                return asked if asked <= self.max_retry_after else None
        return backoff_delay(retries_done, initial=self.initial_delay, maximum=self.max_delay)
