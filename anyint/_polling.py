"""Waiting for gateway tasks: a pure poll schedule and one wait loop for every family."""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypedDict, TypeVar

from ._exceptions import APIError, TaskFailedError, TaskTimeoutError

__all__ = ["PollSchedule", "TaskSnapshot", "WaitOptions", "wait_for_task"]

log = logging.getLogger("anyint.polling")


class TaskSnapshot(Protocol):
    """What every family's task-query model exposes, so one loop can wait on any of them."""

    @property
    def task_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def is_terminal(self) -> bool: ...
    @property
    def is_success(self) -> bool: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def error_message(self) -> str | None: ...


S = TypeVar("S", bound=TaskSnapshot)


@dataclass(frozen=True)
class PollSchedule:
    """Poll intervals that grow with the time already waited, capped, with an overall deadline.

    The rule: each wait is ``(factor - 1)`` times the time waited so far, never shorter than
    ``initial`` and never longer than ``max_interval``. So a task that ends ``T`` seconds after
    the first poll is noticed within ``max(initial, (factor - 1) * T)`` of ending (and within
    ``max_interval`` once the cap is reached), with about ``log(T / t0) / log(factor)`` polls
    instead of ``T / interval``. The defaults keep that lag within 10 % of the task's duration
    (0.5 s floor) for every duration, with the fewest polls any schedule can make under that
    rule: the 10 min cap only binds after 100 min of waiting (10 % of 6000 s), so below that the
    schedule is the lower bound itself (a shorter cap, such as the 30 s this had before, costs
    polls: 104 instead of 73 for a 30 min task). See ``benchmarks/wait_efficiency.py`` and
    ``benchmarks/RESULTS.md`` for how that compares with the SDKs' fixed and stepped schedules.

    In closed form: the first ``m = floor(1 / (factor - 1))`` waits are ``initial`` (the floor
    binds), after which poll times grow geometrically by ``factor``. ``factor == 1`` gives a
    fixed interval. The n-th interval depends on ``n`` only (a pure function); the wait loop
    gives up ``deadline`` seconds after it started, on a monotonic clock.

    Attributes:
        initial: Shortest interval in seconds (the floor), used while little time has passed.
        factor: ``1 +`` the largest detection lag, as a fraction of the time waited (>= 1).
        max_interval: Cap on any interval (default 10 min: the longest a wait goes without a
            poll; callbacks, when configured, end a wait sooner).
        deadline: Overall time budget in seconds.
    """

    initial: float = 0.5
    factor: float = 1.1
    max_interval: float = 600.0
    deadline: float = 1800.0

    def __post_init__(self) -> None:
        if self.initial < 0 or self.max_interval < self.initial:
            raise ValueError("PollSchedule needs 0 <= initial <= max_interval")
        if self.factor < 1:
            raise ValueError("PollSchedule.factor must be >= 1")
        if self.deadline <= 0:
            raise ValueError("PollSchedule.deadline must be > 0 seconds")

    def _elapsed(self, n: int) -> float:
        """Offset of the ``n``-th poll (0-based) as if there were no cap.

        Until the cap binds this is the real offset; once it binds, ``interval`` returns the cap
        for every later ``n`` either way, so the difference never shows.
        """
        growth = self.factor - 1
        if growth <= 0 or self.initial <= 0:
            return n * self.initial
        # Floor phase: while (factor - 1) * t <= initial; the epsilon absorbs 1 / 0.1 = 9.99...
        floor_polls = math.floor(1 / growth + 1e-9)
        if n <= floor_polls + 1:
            return n * self.initial
        try:
            return (floor_polls + 1) * self.initial * self.factor ** (n - floor_polls - 1)
        except OverflowError:
            return math.inf

    def interval(self, n: int) -> float:
        """Seconds to wait after the ``n``-th poll (0-based)."""
        wanted = max(self.initial, (self.factor - 1) * self._elapsed(n))
        return float(min(self.max_interval, wanted))

    def poll_times(self) -> Iterator[float]:
        """Offsets (seconds from the start) at which polls happen, ending at the deadline."""
        t, n = 0.0, 0
        while t < self.deadline:
            yield t
            t = min(self.deadline, t + self.interval(n))
            n += 1
        yield self.deadline


class WaitOptions(TypedDict, Generic[S], total=False):
    """The keywords every family's ``wait`` passes on to :func:`wait_for_task`.

    Attributes:
        schedule: Intervals and deadline; defaults to :class:`PollSchedule`.
        on_change: Called with each snapshot whose status differs from the previous one.
        wake: When set (e.g. by a callback receiver), the loop polls at once instead of sleeping.
    """

    schedule: PollSchedule | None
    on_change: Callable[[S], Awaitable[None] | None] | None
    wake: asyncio.Event | None


async def _maybe_await(result: Awaitable[None] | None) -> None:
    if inspect.isawaitable(result):
        await result


async def _poll_once(
    poll: Callable[[], Awaitable[S]], task_id: str, last_status: str | None
) -> S | APIError:
    """One poll; the error when it failed in a way worth polling through.

    Worth polling through is any retryable API error: a 5xx or 429 once the client's own retries
    are spent, a dropped connection, and one answer that is not JSON or is cut short (a proxy's
    error page, a body lost half way; see :func:`anyint._answers.decode_json`). Each is a fault of
    one answer, and the next poll, on the same schedule and deadline, may well be fine.
    """
    try:
        return await poll()
    except APIError as exc:
        if not exc.retryable:
            exc.add_note(f"while waiting for task {task_id} (last status {last_status})")
            raise
        log.warning("poll of task %s failed (%s); polling on", task_id, exc)
        return exc


def _finished(snapshot: S, task_id: str) -> bool:
    """Whether ``snapshot`` ends the wait with success; a failed terminal state is raised."""
    if not snapshot.is_terminal:
        return False
    if snapshot.is_success:
        return True
    raise TaskFailedError(
        task_id=task_id,
        status=snapshot.status,
        error_code=snapshot.error_code,
        error_message=snapshot.error_message,
    )


async def _pause(delay: float, wake: asyncio.Event | None) -> None:
    """Sleep ``delay`` seconds, or less if ``wake`` is set meanwhile (then clear it)."""
    if wake is None:
        await asyncio.sleep(delay)
        return
    try:
        await asyncio.wait_for(wake.wait(), timeout=delay)
    except TimeoutError:
        return
    wake.clear()


async def wait_for_task(
    poll: Callable[[], Awaitable[S]],
    *,
    task_id: str,
    schedule: PollSchedule | None = None,
    on_change: Callable[[S], Awaitable[None] | None] | None = None,
    wake: asyncio.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> S:
    """Poll a task until it reaches a terminal state.

    Args:
        poll: Fetches the current snapshot of the task (one gateway GET).
        task_id: The gateway task id, put on every error.
        schedule: Intervals and deadline; defaults to :class:`PollSchedule`.
        on_change: Called with each snapshot whose status differs from the previous one.
        wake: When set (e.g. by a callback receiver), the loop polls at once instead of sleeping.
        clock: Monotonic clock, injectable for tests.

    Returns:
        The terminal, successful snapshot.

    Raises:
        TaskFailedError: A failed terminal state (FAILED, UNKNOWN, GENERATE_AUDIO_FAILED, ...).
        TaskTimeoutError: The deadline passed first; the task may still finish.
        APIError: A non-retryable error while polling (retryable ones, such as one answer
            that is not JSON, are polled through until the deadline).
    """
    schedule = schedule or PollSchedule()
    start = clock()
    last_status: str | None = None
    last_error: APIError | None = None
    n = 0
    while True:
        snapshot = await _poll_once(poll, task_id, last_status)
        if isinstance(snapshot, APIError):
            last_error = snapshot
        else:
            last_error = None
            if snapshot.status != last_status:
                last_status = snapshot.status
                log.info("task %s is %s", task_id, snapshot.status)
                if on_change is not None:
                    await _maybe_await(on_change(snapshot))
            if _finished(snapshot, task_id):
                return snapshot
        elapsed = clock() - start
        if elapsed >= schedule.deadline:
            timeout = TaskTimeoutError(task_id=task_id, status=last_status, waited=elapsed)
            if last_error is not None:
                # Polls that kept failing are why the status is stale: say how they failed.
                timeout.add_note(f"the last poll failed: {last_error}")
            raise timeout from last_error
        await _pause(min(schedule.interval(n), schedule.deadline - elapsed), wake)
        n += 1
