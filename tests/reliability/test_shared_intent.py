"""What is "the same work": a flow run is one intent; runs sharing an ``idempotency_key`` share it.

Two runs with one key started together send exactly one create (the journal's claim is an
exclusive create: the loser waits for the winner's task id); a new flow run with the same
parameters and no key is new work; a key reused with other parameters is refused before any
gateway call.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
from typing import Any

import httpx
import pytest
from prefect import get_client
from prefect.flow_engine import run_flow_async

from tasks import journal
from tests.conftest import EmulatedGateway

from ._matrix import STEPS
from ._steps import task_step
from ._support import (
    assert_store_consistent,
    calls,
    created_ids,
    failure_of,
    inject,
    matching,
)

VIDEO = next(s for s in STEPS if s.name == "dashscope-video")
#: The gateway sits this long on the create: the loser waits for the winner's task id.
HOLD = 2.0
#: A safety net only, never what the test waits for: a run that ends without reaching the
#: barrier releases it at once (see the test), so under any load the barrier waits for the other
#: run itself, however long that run takes to start.
BARRIER_SAFETY_SECONDS = 600.0


def _both_find_it_unclaimed(monkeypatch: pytest.MonkeyPatch) -> threading.Barrier:
    """Force the worst interleaving of two submits: each reads the journal (nothing claimed
    yet) before either claims, so only the claim's exclusive create can keep one of them from
    sending. Later reads (the loser waiting for the winner's task id) pass straight through."""
    barrier = threading.Barrier(2, timeout=BARRIER_SAFETY_SECONDS)
    first_reads = itertools.count()
    latest = journal.latest

    def racing(store: Any, digest: str) -> Any:
        found = latest(store, digest)
        if next(first_reads) < 2:
            barrier.wait()
        return found

    monkeypatch.setattr(journal, "latest", racing)
    return barrier


async def test_runs_sharing_a_key_started_together_create_once(
    gateway: EmulatedGateway, control: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert VIDEO.route is not None
    (
        await control.post("/_emulator/timing", json={"family": "dashscope", "after_seconds": 0.02})
    ).raise_for_status()
    await inject(control, VIDEO.call, fault="delay", seconds=HOLD)
    barrier = _both_find_it_unclaimed(monkeypatch)
    key = f"shared-{uuid.uuid4().hex[:12]}"
    params = {"route": VIDEO.route, "body": VIDEO.body, "idempotency_key": key}
    # The runs are created first, one after the other, then executed at once (as workers do):
    # creating them at once makes the harness's SQLite server back one of them off for seconds.
    async with get_client() as client:
        runs = [await client.create_flow_run(task_step, parameters=params) for _ in range(2)]

    async def execute(flow_run: Any) -> Any:
        state = await run_flow_async(
            task_step, flow_run=flow_run, parameters=params, return_type="state"
        )
        # Only the two first reads wait at the barrier, so a run that has ended while a party
        # still waits never read: nobody can come to release the waiting run. Break the barrier
        # so that it fails now (the race did not happen) instead of waiting out the safety net.
        if barrier.n_waiting:
            barrier.abort()
        return state

    states = await asyncio.gather(*(execute(run) for run in runs))
    assert all(s.is_completed() for s in states), [s.message for s in states]
    results: list[dict[str, Any]] = [await s.aresult() for s in states]
    log = await calls(control)
    (_create,) = matching(log, VIDEO.call)  # one create for both runs
    (task_id,) = created_ids(log)
    assert {r["submitted"].task_id for r in results} == {task_id}
    assert sorted(r["submitted"].reused for r in results) == [False, True]
    assert not barrier.broken  # the race was real: both read "unclaimed" before claiming
    assert len(gateway.store.list("submits")) == 1
    assert_store_consistent(gateway.store)


async def test_a_new_flow_run_is_new_work(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    assert VIDEO.route is not None
    states = [await task_step(VIDEO.route, VIDEO.body, return_state=True) for _ in range(2)]
    assert all(s.is_completed() for s in states)
    results = [await s.aresult() for s in states]
    made = created_ids(await calls(control))
    assert len(made) == 2 and sorted(made) == sorted(r["submitted"].task_id for r in results)
    assert not any(r["submitted"].reused for r in results)
    assert_store_consistent(gateway.store)


async def test_a_key_reused_with_other_parameters_is_refused(
    gateway: EmulatedGateway, control: httpx.AsyncClient
) -> None:
    assert VIDEO.route is not None
    key = f"one-intent-{uuid.uuid4().hex[:12]}"
    first = await task_step(VIDEO.route, VIDEO.body, idempotency_key=key, return_state=True)
    assert first.is_completed(), first.message
    other = {**VIDEO.body, "input": {"prompt": "a different video"}}
    before = len(await calls(control))
    state = await task_step(VIDEO.route, other, idempotency_key=key, return_state=True)
    error = await failure_of(state)
    assert isinstance(error, ValueError) and "'idempotency_key'" in str(error), repr(error)
    assert len(await calls(control)) == before  # refused before any gateway call
    assert len(created_ids(await calls(control))) == 1
