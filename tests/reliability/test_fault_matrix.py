"""Fault matrix: every route family under every fault the emulator can inject.

Each row runs one logical step inside a small Prefect flow (``_steps.task_step`` /
``sync_step``) and checks that it recovers from a transient fault, or fails fast with a clear
message that keeps the gateway task id; that the call log shows no second create; and that the
store holds no temporary file and only assets matching their records.

A row that leaves a create in doubt (a 5xx other than 503, an answer lost after the gateway did
the work, a connection dropped after sending, a read timeout) then checks the way out: running
the same intent again refuses again without sending; ``adopt`` of the task the call log shows
finishes the step with no create; ``forget`` makes the next run create exactly once more. Doubt
after ``status_after`` is resumed through a shared ``idempotency_key``, every other doubt by
resuming the same flow run.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prefect.client.schemas.objects import State

from blocks import AssetStore
from callbacks import read_inbox
from emulator.app import EmulatorApp
from emulator.server import ThreadedEmulatorServer
from tasks import GatewayConfig, SubmitInDoubtError
from tasks.resolve import adopt, forget
from tests.conftest import EmulatedGateway, in_process_client

from ._matrix import READ_TIMEOUT, SLOW_SECONDS, Expect, Fault, Step, cases
from ._steps import FAIL_FAST_SECONDS, fill, make_parent, sync_step, task_step
from ._support import (
    FORGET_HINT,
    assert_store_consistent,
    calls,
    created_ids,
    failure_of,
    fast_retries,
    flow_run_id,
    gateway_config,
    inject,
    matching,
    only_doubt,
    processed,
    resume,
    until,
    wire_receiver,
)


@asynccontextmanager
async def _wired(
    gateway: EmulatedGateway,
    emulator: EmulatorApp,
    threaded: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[tuple[GatewayConfig, httpx.AsyncClient]]:
    """The gateway the flows use and a control-plane client: in process, or over a real socket
    (then ``ANYINT_BASE_URL`` points the flows at it, as a user would)."""
    if not threaded:
        async with in_process_client(emulator) as c:
            yield gateway.config, c
        return
    with ThreadedEmulatorServer(emulator) as server:
        monkeypatch.setenv("ANYINT_BASE_URL", server.base_url)
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            yield gateway_config(server.base_url, gateway.store), c


async def _settle(control: httpx.AsyncClient) -> None:
    """Wait until the delayed request has been carried out on the server (the client gave up on
    it, the server did not), so the call log shows what it did."""

    async def done() -> bool:
        return all(c["status"] for c in await calls(control) if c["fault"] == "delay")

    await until(done, within=5.0, every=SLOW_SECONDS / 8, what="the delayed request")


async def _arm(control: httpx.AsyncClient, step: Step, fault: Fault) -> None:
    if fault.target == "expiry":
        ttl = fault.spec["asset_ttl"] if step.is_task else 1e-6
        r = await control.post("/_emulator/settings", json={"asset_ttl": ttl})
        assert r.status_code == 200, r.text
        return
    await inject(control, fault.match(step), **fault.spec)


def _key_intent(fault: Fault) -> str | None:
    """Doubt after ``status_after`` is resolved through an ``idempotency_key`` (a new flow run
    of the same intent); every other doubt through a resume of the same flow run."""
    return f"rel-{uuid.uuid4().hex[:16]}" if fault.spec.get("fault") == "status_after" else None


async def _run(
    step: Step, fault: Fault, body: dict[str, Any], quick: bool, key: str | None
) -> State[Any]:
    if step.is_task:
        assert step.route is not None
        pause = fault.spec["asset_ttl"] * 1.5 if fault.target == "expiry" else 0.0
        return await task_step(  # type: ignore[no-any-return]
            step.route, body, pause=pause, quick=quick, idempotency_key=key, return_state=True
        )
    return await sync_step(step.name, quick=quick, return_state=True)  # type: ignore[no-any-return]


def _check_error(exc: BaseException | None, step: Step, fault: Fault, new_ids: list[str]) -> None:
    expect = fault.expect(step)
    assert expect.error is not None
    assert isinstance(exc, expect.error), f"expected {expect.error.__name__}, got {exc!r}"
    message = str(exc)
    assert re.search(expect.match, message), message
    if expect.keeps_task_id:
        (task_id,) = new_ids
        assert task_id in message, f"task id {task_id} missing from: {message}"


async def _check_callbacks(
    fault: Fault, control: httpx.AsyncClient, store: AssetStore, task_id: str
) -> None:
    deliveries = [
        d
        for d in (await control.get("/_emulator/callbacks")).json()["deliveries"]
        if d["task_id"] == task_id
    ]
    inbox = read_inbox(store, task_id)
    assert all(d["status"] == 200 for d in deliveries), deliveries
    kind = fault.spec["fault"]
    if kind == "callback_drop":
        assert deliveries == [] and inbox == {}
        return
    assert "complete" in inbox, f"no terminal callback stored: {sorted(inbox)}"
    # One record per phase however often it was delivered.
    assert len(store.list(f"inbox/{task_id}")) == len(inbox)
    copies = 2 if kind == "callback_duplicate" else 1
    assert len(deliveries) == copies * len(inbox), (deliveries, sorted(inbox))


def _param(step: Step, fault: Fault) -> Any:
    return pytest.param(step, fault, id=f"{step.name}-{fault.id}")


Rerun = Callable[[], Awaitable[State[Any]]]


async def _resolve(
    step: Step,
    expect: Expect,
    error: BaseException | None,
    rerun: Rerun,
    config: GatewayConfig,
    control: httpx.AsyncClient,
    before: int,
) -> None:
    """The step is in doubt: it stays in doubt (never sent again) until resolved; adopting the
    task the gateway made finishes it with no create; forgetting it makes exactly one more."""
    store = AssetStore(base_url=config.store_url)
    entry = only_doubt(store, error)  # type: ignore[arg-type]
    assert entry.route == step.route and re.search(FORGET_HINT, str(error)), str(error)
    sent = len(matching(await calls(control), step.call))

    # Not resolved: the same intent runs again and refuses again, sending nothing.
    again = await failure_of(await rerun())
    assert isinstance(again, SubmitInDoubtError) and again.digest == entry.digest, repr(again)
    log = await calls(control)
    assert len(matching(log, step.call)) == sent, "a create in doubt was sent again"
    made = created_ids(log)[before:]
    assert len(made) == expect.creates, made

    if expect.creates:
        # The task the gateway made, read from its call log, is adopted: no create at all.
        (task_id,) = made
        await adopt(config, entry.digest, task_id)
        state = await rerun()
        assert state.is_completed(), state.message
        result = await state.aresult()
        assert result["submitted"].task_id == task_id and result["submitted"].reused
        log = await calls(control)
        assert len(matching(log, step.call)) == sent and created_ids(log)[before:] == made, log
        stored = {e["key"] for e in assert_store_consistent(store)}
        assert result["records"] and {r.key for r in result["records"]} <= stored

    # Forgotten: the next run of the same intent submits afresh, exactly once.
    forget(store, entry.digest)
    state = await rerun()
    log = await calls(control)
    assert len(matching(log, step.call)) == sent + 1, "forget must lead to exactly one create"
    fresh = created_ids(log)[before:][len(made) :]
    if step.repeat_refused is not None and made:
        # The gateway keeps one task of this kind per parent: it refuses the re-send, naming
        # the task it has (the one to adopt), and makes none.
        refused = await failure_of(state)
        kind, pattern = step.repeat_refused
        assert isinstance(refused, kind), repr(refused)
        assert re.search(pattern.format(task_id=made[0]), str(refused)), str(refused)
        assert fresh == [], fresh
        return
    assert state.is_completed(), state.message
    result = await state.aresult()
    assert fresh == [result["submitted"].task_id] and not result["submitted"].reused, fresh
    stored = {e["key"] for e in assert_store_consistent(store)}
    assert result["records"] and {r.key for r in result["records"]} <= stored


@pytest.mark.parametrize(("step", "fault"), [_param(s, f) for s, f in cases()])
async def test_fault(
    step: Step,
    fault: Fault,
    gateway: EmulatedGateway,
    emulator: EmulatorApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expect = fault.expect(step)
    store = gateway.store
    if fault.target == "callback":
        wire_receiver(emulator, store, monkeypatch.setenv)
    async with _wired(gateway, emulator, fault.threaded, monkeypatch) as (config, control):
        if step.family:
            await control.post(
                "/_emulator/timing", json={"family": step.family, "after_seconds": 0.02}
            )
        # The parent song with the normal read timeout: rendering it can take longer than the
        # short one of the threaded rows.
        parent = await make_parent(config) if step.parent else {}
        fast_retries(monkeypatch, read_timeout=READ_TIMEOUT if fault.threaded else None)
        body = fill(step.body, parent)
        log = await calls(control)
        before, sent_before = len(created_ids(log)), len(matching(log, step.call))
        await _arm(control, step, fault)
        key = _key_intent(fault)
        quick = expect.error is None
        start = time.monotonic()
        state = await _run(step, fault, body, quick, key)
        elapsed = time.monotonic() - start
        error = None if state.is_completed() else await failure_of(state)
        result: dict[str, Any] = await state.aresult() if error is None else {}
        if fault.threaded:
            await _settle(control)
        await emulator.backend.callbacks.drain()
        log = await calls(control)
        new_ids = created_ids(log)[before:]

        if expect.error is None:
            assert error is None, f"{step.name} did not recover from {fault.id}: {error!r}"
        else:
            _check_error(error, step, fault, new_ids)
            assert elapsed < FAIL_FAST_SECONDS, f"took {elapsed:.1f}s to fail"
        if step.is_task:
            assert len(new_ids) == len(set(new_ids)) == expect.creates, new_ids
        else:
            assert processed(log, step.call) == expect.processed, log
        if expect.sends is not None:
            sent = len(matching(log, step.call)) - sent_before
            assert sent == expect.sends, f"the create was sent {sent} times: {log}"
        entries = assert_store_consistent(store)
        records = result.get("records", [])
        if expect.error is None:
            assert {r.key for r in records} <= {e["key"] for e in entries}
            assert records or "answer" in result
        else:
            assert store.list("assets") == []
        if fault.id == "429-retry-after":
            assert elapsed >= fault.spec["retry_after"], "Retry-After was not honoured"
        if fault.target == "expiry" and step.is_task:
            issued = {o.url for o in result["finished"].outputs}
            assert any(r.source_url not in issued for r in records), "no URL was refreshed"
        if fault.target == "callback":
            (task_id,) = new_ids
            await _check_callbacks(fault, control, store, task_id)
        if expect.resolve:
            assert step.route is not None
            if key is None:
                run_id = flow_run_id(state)

                def rerun() -> Awaitable[State[Any]]:
                    return resume(task_step, run_id)
            else:

                def rerun() -> Awaitable[State[Any]]:
                    return task_step(  # type: ignore[no-any-return]
                        step.route, body, quick=quick, idempotency_key=key, return_state=True
                    )

            await _resolve(step, expect, error, rerun, config, control, before)
