"""Fault matrix: every route family under every fault the emulator can inject.

Each row runs one logical step inside a small Prefect flow (``_matrix.task_step`` /
``sync_step``) and checks that it recovers from a transient fault, or fails fast with a clear
message that keeps the gateway task id; that the call log shows no second create; and that the
store holds no temporary file and only assets matching their records.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from blocks import AnyIntCredentials, AssetStore
from callbacks import read_inbox
from emulator.app import EmulatorApp
from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport, ThreadedEmulatorServer
from tasks import Gateway, use_gateway
from tests.conftest import CANARY_KEY, created_task_ids

from ._matrix import (
    FAIL_FAST_SECONDS,
    READ_TIMEOUT,
    SLOW_SECONDS,
    Fault,
    Step,
    cases,
    fill,
    make_parent,
    sync_step,
    task_step,
)
from ._support import (
    FastRetryGateway,
    assert_store_consistent,
    calls,
    inject,
    processed,
    wire_receiver,
)


@asynccontextmanager
async def _gateway(
    emulator: EmulatorApp, store: AssetStore, threaded: bool
) -> AsyncIterator[tuple[Gateway, httpx.AsyncClient]]:
    """A quick-retry gateway and a control-plane client, in process or over a real socket."""
    if not threaded:
        transport = EmulatorTransport(emulator)
        creds = AnyIntCredentials(api_key=CANARY_KEY, base_url=IN_PROCESS_BASE_URL)
        async with httpx.AsyncClient(transport=transport, base_url=IN_PROCESS_BASE_URL) as c:
            yield FastRetryGateway(credentials=creds, store=store, transport=transport), c
        return
    with ThreadedEmulatorServer(emulator) as server:
        creds = AnyIntCredentials(
            api_key=CANARY_KEY, base_url=server.base_url, timeout_seconds=READ_TIMEOUT
        )
        async with httpx.AsyncClient(base_url=server.base_url) as c:
            yield FastRetryGateway(credentials=creds, store=store), c


async def _parent(gateway: Gateway) -> dict[str, str]:
    # With the normal read timeout: rendering a first song can take longer than the short one of
    # the threaded rows. Same base URL, so the song's asset URLs stay reachable.
    creds = gateway.credentials.model_copy(update={"timeout_seconds": 300.0})
    return await make_parent(Gateway(creds, gateway.store, gateway.transport))


async def _settle(control: httpx.AsyncClient, deadline: float = 5.0) -> None:
    """Wait until the delayed request has been carried out on the server (the client gave up on
    it, the server did not), so the call log shows what it did."""
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        log = await calls(control)
        if all(c["status"] for c in log if c["fault"] == "delay"):
            return
        await asyncio.sleep(SLOW_SECONDS / 8)
    raise AssertionError("the delayed request never completed on the server")


async def _arm(control: httpx.AsyncClient, step: Step, fault: Fault) -> None:
    if fault.target == "expiry":
        ttl = fault.spec["asset_ttl"] if step.is_task else 1e-6
        r = await control.post("/_emulator/settings", json={"asset_ttl": ttl})
        assert r.status_code == 200, r.text
        return
    await inject(control, fault.match(step), **fault.spec)


async def _run(step: Step, fault: Fault, body: dict[str, Any], quick: bool) -> dict[str, Any]:
    if step.is_task:
        assert step.route is not None
        pause = fault.spec["asset_ttl"] * 1.5 if fault.target == "expiry" else 0.0
        return await task_step(step.route, body, pause=pause, quick=quick)
    return await sync_step(step.name, quick=quick)


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


@pytest.mark.parametrize(("step", "fault"), [_param(s, f) for s, f in cases()])
async def test_fault(
    step: Step,
    fault: Fault,
    emulator: EmulatorApp,
    store: AssetStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expect = fault.expect(step)
    if fault.target == "callback":
        wire_receiver(emulator, store, monkeypatch.setenv)
    async with _gateway(emulator, store, fault.threaded) as (gateway, control):
        if step.family:
            await control.post(
                "/_emulator/timing", json={"family": step.family, "after_seconds": 0.02}
            )
        parent = await _parent(gateway) if step.parent else {}
        body = fill(step.body, parent)
        before = await created_task_ids(control)
        await _arm(control, step, fault)
        error: BaseException | None = None
        result: dict[str, Any] = {}
        start = time.monotonic()
        with use_gateway(gateway):
            try:
                result = await _run(step, fault, body, quick=expect.error is None)
            except Exception as exc:
                error = exc
        elapsed = time.monotonic() - start
        if fault.threaded:
            await _settle(control)
        await emulator.backend.callbacks.drain()
        log = await calls(control)
        new_ids = (await created_task_ids(control))[len(before) :]

        if expect.error is None:
            assert error is None, f"{step.name} did not recover from {fault.id}: {error!r}"
        else:
            _check_error(error, step, fault, new_ids)
            assert elapsed < FAIL_FAST_SECONDS, f"took {elapsed:.1f}s to fail"
        if step.is_task:
            assert len(new_ids) == len(set(new_ids)) == expect.creates, new_ids
        else:
            assert processed(log, step.call) == expect.processed, log
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
