"""Prefect global concurrency limits bound the gateway tasks in flight and space the creates.

Real pieces: the session's Prefect server (its limits and leases), the music-video flow and the
in-process emulator, whose task log says when each task was created and first seen terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.client.schemas.filters import (
    TaskRunFilter,
    TaskRunFilterName,
    TaskRunFilterState,
    TaskRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.exceptions import ObjectNotFound

from flows._common import start_run
from flows._params import checked_flow
from flows.music_video import music_video
from tasks import RunConfig, limits, submit
from tasks.limits import CREATE_LIMIT, DEFAULTS
from tests.conftest import EmulatedGateway, call_log, created_task_ids

#: Simple mode, no follow-ups: one Suno task per pipeline.
ONE_TASK: dict[str, Any] = {
    "lyrics": False,
    "stems": None,
    "wav": False,
    "cover_art": False,
    "music_video": False,
    "poll_interval": 0.02,
}


async def _set(name: str, limit: int, decay: float | None = None) -> None:
    async with get_client() as client:
        await limits._ensure(client, name)
        update = GlobalConcurrencyLimitUpdate(limit=limit)
        if decay is not None:
            update = GlobalConcurrencyLimitUpdate(limit=limit, slot_decay_per_second=decay)
        await client.update_global_concurrency_limit(name, update)


async def active_slots(name: str) -> int:
    """Slots of ``name`` held now (the server's count)."""
    async with get_client() as client:
        return (await client.read_global_concurrency_limit_by_name(name)).active_slots


@pytest.fixture
async def suno_at_two(gateway: EmulatedGateway) -> AsyncIterator[None]:
    """``anyint-suno`` at 2 for this test, its default afterwards."""
    await _set("anyint-suno", 2)
    yield
    await _set("anyint-suno", DEFAULTS["anyint-suno"].limit)


def most_in_flight(tasks: list[dict[str, Any]]) -> int:
    """The most tasks whose [created, first seen terminal] spans overlap at one instant."""
    events = sorted(
        [(t["created"], 1) for t in tasks] + [(t["terminal_seen"], -1) for t in tasks],
        key=lambda e: (e[0], e[1]),  # an end at the same instant as a start counts first
    )
    most = now = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


async def _blocked_submits() -> int:
    """Submit steps running now (the ones waiting for a slot, once the others created)."""
    async with get_client() as client:
        runs = await client.read_task_runs(
            task_run_filter=TaskRunFilter(
                name=TaskRunFilterName(like_="submit suno.generate"),
                state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.RUNNING])),
            )
        )
    return len(runs)


async def test_six_pipelines_never_exceed_two_suno_tasks(
    suno_at_two: None, control: httpx.AsyncClient
) -> None:
    # Tasks that never end on their own: the test sees two created and four submits held.
    await control.post("/_emulator/timing", json={"family": "suno", "after_seconds": 3600})
    runs = [
        asyncio.create_task(music_video(prompt=f"song number {i}", **ONE_TASK)) for i in range(6)
    ]
    deadline = time.monotonic() + 60
    while True:
        created, blocked = len(await created_task_ids(control)), await _blocked_submits()
        if created > 2 or (created == 2 and blocked >= 4):
            break
        assert time.monotonic() < deadline, f"{created} created, {blocked} submits running"
        await asyncio.sleep(0.1)
    assert len(await created_task_ids(control)) == 2  # four submits hold no slot: not sent
    # Now every task ends at its next query (its stages are due), and the rest follow.
    await control.post("/_emulator/timing", json={"family": "suno", "after_seconds": 0.01})
    results = await asyncio.wait_for(asyncio.gather(*runs), timeout=90)
    assert all(set(r.task_ids) == {"song"} for r in results)
    tasks = (await control.get("/_emulator/tasks")).json()["tasks"]
    assert len(tasks) == 6 and all(t["terminal_seen"] is not None for t in tasks)
    assert most_in_flight(tasks) == 2
    assert await active_slots("anyint-suno") == 0  # every slot came back


class _Crash(BaseException):
    """What kills a run without an ordinary exception: Prefect reports it Crashed."""


@checked_flow("limits-crash", "takes a slot as a submit does, then dies")
async def _crashing(fail: bool = False) -> None:
    run = await start_run({})
    store = (await run.gateway.connect()).store
    await limits.acquire_for_create(run, store, "suno", digest="d" * 64, route="suno.generate")
    assert await active_slots("anyint-suno") == 1
    if fail:
        raise ValueError("an ordinary failure")
    raise _Crash("the process dies")


async def test_a_crashed_or_failed_run_releases_its_lease(gateway: EmulatedGateway) -> None:
    assert await active_slots("anyint-suno") == 0
    with pytest.raises(_Crash):
        await _crashing()
    assert await active_slots("anyint-suno") == 0  # released by the on_crashed hook
    state = await _crashing(fail=True, return_state=True)
    assert state.is_failed()
    assert await active_slots("anyint-suno") == 0  # released by the on_failure hook
    assert not gateway.store.list("runs") or not [
        k for k in gateway.store.list("runs") if "/leases/" in k
    ]


BODY: dict[str, Any] = {
    "model": "wan2.6-t2v",
    "input": {"prompt": "a red kite"},
    "parameters": {"size": "320*180", "duration": 2},
}


@checked_flow("limits-creates", "three creates at once; their slots freed when it completes")
async def _three_creates() -> list[str]:
    run = await start_run({"deadline_seconds": 60})
    bodies = [{**BODY, "input": {"prompt": f"kite {i}"}} for i in range(3)]
    submitted = await asyncio.gather(*(submit(run, "dashscope.video-synthesis", b) for b in bodies))
    return [s.task_id for s in submitted]


@pytest.fixture
async def one_create_every_three_seconds(gateway: EmulatedGateway) -> AsyncIterator[None]:
    await _set(CREATE_LIMIT, 1, 1 / 3)
    yield
    await _set(
        CREATE_LIMIT, DEFAULTS[CREATE_LIMIT].limit, DEFAULTS[CREATE_LIMIT].slot_decay_per_second
    )


async def test_the_rate_limit_spaces_creates(
    one_create_every_three_seconds: None, control: httpx.AsyncClient
) -> None:
    assert len(await asyncio.wait_for(_three_creates(), timeout=60)) == 3
    times = sorted(c["time"] for c in await call_log(control) if c["created_task_id"])
    assert len(times) == 3
    # A token every 3 s, a burst of one: the tokens are 6 s apart from first to last. The
    # creates arrive as fast as each travels after its token (one may be held up more than
    # another on a loaded machine), so the bound leaves 1.5 s of that; with the limit opened to
    # 50/s they arrived 2.2 s apart here (the first task run of the flow is the slowest).
    assert times[-1] - times[0] >= 4.5, [t - times[0] for t in times]
    assert await active_slots("anyint-dashscope") == 0  # the on_completion hook freed them


@checked_flow("limits-first-use", "one sync-call slot of kling")
async def _one_kling_call() -> int:
    run = await start_run({})
    store = (await run.gateway.connect()).store
    async with limits.slot(run, store, "kling"):
        return await active_slots("anyint-kling")


async def test_a_missing_limit_is_created_on_first_use(
    gateway: EmulatedGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with get_client() as client:
        with contextlib.suppress(ObjectNotFound):
            await client.delete_global_concurrency_limit_by_name("anyint-kling")
    monkeypatch.setenv("ANYINT_LIMITS", "anyint-kling=7")
    try:
        assert await _one_kling_call() == 1  # never skipped: the slot was taken
        async with get_client() as client:
            created = await client.read_global_concurrency_limit_by_name("anyint-kling")
        assert (created.limit, created.active_slots) == (7, 0)
    finally:
        await _set("anyint-kling", DEFAULTS["anyint-kling"].limit)


def test_a_lease_lives_no_longer_than_the_run_may_wait(gateway: EmulatedGateway) -> None:
    now = time.time()

    def run(remaining: float) -> RunConfig:
        return RunConfig(
            gateway=gateway.config, intent="run:x", started_at=now, deadline_at=now + remaining
        )

    # A waiting step's lease: renewed while it waits, so a dead process frees it within this.
    assert limits.lease_seconds(run(30)) == 60  # the server's minimum
    assert limits.lease_seconds(run(200)) == pytest.approx(200, abs=1)
    assert limits.lease_seconds(run(7200)) == limits.LEASE_SECONDS
    # A suspended run's: nothing renews it, so it lasts what the run's deadline has left.
    assert limits.suspend_seconds(run(7200)) == pytest.approx(7200, abs=1)
    assert limits.suspend_seconds(run(9e6)) == limits.MAX_LEASE
