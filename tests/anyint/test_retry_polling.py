"""Pure schedules (backoff, Retry-After, poll intervals) and the generic wait loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from anyint import BadRequestError as Bad
from anyint import (
    PollSchedule,
    RateLimitError,
    TaskFailedError,
    TaskTimeoutError,
    wait_for_task,
)
from anyint._retry import backoff_delay, parse_retry_after


@pytest.mark.parametrize(
    ("done", "rand", "expected"),
    [
        (0, 0.0, 0.5),
        (1, 0.0, 1.0),
        (2, 0.0, 2.0),
        (4, 0.0, 8.0),
        (9, 0.0, 8.0),
        (0, 1.0, 0.375),
        (3, 0.5, 4.0 * 0.875),
    ],
)
def test_backoff_table(done: int, rand: float, expected: float) -> None:
    got = backoff_delay(done, initial=0.5, maximum=8.0, rand=lambda: rand)
    assert got == pytest.approx(expected)


NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after-ms": "1200", "retry-after": "9"}, 1.2),
        ({"retry-after-ms": "junk", "retry-after": "9"}, 9.0),
        ({"retry-after": "Fri, 27 Nov 2026 12:00:30 GMT"}, 30.0),
        ({"retry-after": "Fri, 27 Nov 2026 11:00:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("schedule", "intervals"),
    [
        (PollSchedule(initial=1, factor=2, max_interval=5), [1, 1, 2, 4, 5]),
        (PollSchedule(initial=0.5, factor=1, max_interval=0.5), [0.5] * 5),
        (PollSchedule(initial=2, factor=1.5, max_interval=15), [2, 2, 2, 3, 4.5]),
    ],
)
def test_poll_intervals(schedule: PollSchedule, intervals: list[float]) -> None:
    assert [schedule.interval(n) for n in range(5)] == pytest.approx(intervals)


def test_poll_times_end_at_deadline() -> None:
    times = list(PollSchedule(initial=1, factor=2, max_interval=4, deadline=10).poll_times())
    assert times == [0, 1, 2, 4, 8, 10]


@pytest.mark.parametrize(
    "kwargs", [{"initial": -1}, {"factor": 0.5}, {"deadline": 0}, {"initial": 5, "max_interval": 1}]
)
def test_bad_schedule_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="PollSchedule"):
        PollSchedule(**kwargs)


@dataclass
class Snap:
    task_id: str
    status: str
    is_terminal: bool = False
    is_success: bool = False
    error_code: str | None = None
    error_message: str | None = None


FAST = PollSchedule(initial=0, factor=1, max_interval=0, deadline=5)


def scripted(*items: Snap | Exception):
    queue = list(items)
    calls: list[int] = []

    async def poll() -> Snap:
        calls.append(1)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return poll, calls


async def test_wait_reports_each_change_once_and_returns_success() -> None:
    poll, calls = scripted(
        Snap("t", "PENDING"),
        Snap("t", "PENDING"),
        Snap("t", "RUNNING"),
        Snap("t", "SUCCEEDED", True, True),
    )
    seen: list[str] = []
    result = await wait_for_task(
        poll, task_id="t", schedule=FAST, on_change=lambda s: seen.append(s.status)
    )
    assert result.status == "SUCCEEDED"
    assert seen == ["PENDING", "RUNNING", "SUCCEEDED"] and len(calls) == 4


async def test_wait_raises_failure_with_task_id_and_message() -> None:
    poll, _ = scripted(Snap("t9", "FAILED", True, False, "E1", "content policy"))
    with pytest.raises(TaskFailedError) as info:
        await wait_for_task(poll, task_id="t9", schedule=FAST)
    err = info.value
    assert (err.task_id, err.status, err.error_code) == ("t9", "FAILED", "E1")
    assert "content policy" in str(err) and "t9" in str(err)


async def test_wait_polls_through_retryable_errors() -> None:
    poll, calls = scripted(
        RateLimitError("slow", status_code=429), Snap("t", "RUNNING"), Snap("t", "OK", True, True)
    )
    assert (await wait_for_task(poll, task_id="t", schedule=FAST)).status == "OK"
    assert len(calls) == 3


async def test_wait_stops_on_permanent_error_and_names_task() -> None:
    poll, _ = scripted(Bad("gone", status_code=400))
    with pytest.raises(Bad) as info:
        await wait_for_task(poll, task_id="t7", schedule=FAST)
    assert any("t7" in note for note in info.value.__notes__)


async def test_wait_deadline_on_virtual_clock() -> None:
    now = [0.0]

    async def poll() -> Snap:
        now[0] += 4.0  # every poll "takes" 4 s of the virtual clock
        return Snap("t", "RUNNING")

    with pytest.raises(TaskTimeoutError) as info:
        await wait_for_task(poll, task_id="t", schedule=FAST, clock=lambda: now[0])
    assert info.value.task_id == "t" and info.value.status == "RUNNING"
    # Not retryable: waiting again (into a fresh deadline) is the caller's decision.
    assert not info.value.retryable and info.value.waited == 8.0


async def test_wake_event_cuts_the_sleep_short() -> None:
    slow = PollSchedule(initial=3600, factor=1, max_interval=3600, deadline=7200)
    wake = asyncio.Event()
    snaps = [Snap("t", "RUNNING"), Snap("t", "SUCCEEDED", True, True)]
    calls: list[int] = []

    async def poll() -> Snap:
        calls.append(1)
        # A callback lands right after the first poll: the loop must not sleep for an hour.
        asyncio.get_running_loop().call_soon(wake.set)
        return snaps[len(calls) - 1]

    result = await asyncio.wait_for(
        wait_for_task(poll, task_id="t", schedule=slow, wake=wake), timeout=5
    )
    assert result.status == "SUCCEEDED" and len(calls) == 2
