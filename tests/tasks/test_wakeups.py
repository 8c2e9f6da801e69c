"""Prefect ``wait`` task runs woken by their callbacks through the shared inbox watcher.

Six Suno songs wait at once in one flow run, with gateway polls a minute apart: only a callback
reaching each wait can end them within the minute. The emulator delivers the callbacks to the
receiver app in this process, which writes the inbox the waits' store watcher reads.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
import uuid
from typing import Any

import httpx
import pytest
from prefect import flow

from anyint.types.suno_requests import PLACEHOLDER_CALLBACK_URL, GenerateParams
from blocks.inbox_watch import THREAD_NAME, active_watchers
from callbacks import create_callback_app
from emulator.app import EmulatorApp
from flows import start_run
from tasks import submit, wait

from ..conftest import EmulatedGateway

SONGS = 6
POLL_EVERY = 60.0


def _body(n: int) -> dict[str, Any]:
    params = GenerateParams(
        custom_mode=False,
        instrumental=True,
        model="V5",
        prompt=f"wake-up tune {n} {uuid.uuid4().hex[:6]}",
        call_back_url=PLACEHOLDER_CALLBACK_URL,
    )
    return {k: v for k, v in params.to_body().items() if k != "callBackUrl"}


@flow(name="test-many-waits")
async def _many_waits(bodies: list[dict[str, Any]]) -> list[tuple[str, float]]:
    run = await start_run({"deadline_seconds": 3 * POLL_EVERY, "poll_interval": POLL_EVERY})
    run = run.model_copy(update={"max_interval": POLL_EVERY})  # no backoff, polls far apart

    async def one(body: dict[str, Any]) -> tuple[str, float]:
        submitted = await submit(run, "suno.generate", body)
        started = time.monotonic()
        finished = await wait(run, submitted)
        return finished.task_id, time.monotonic() - started

    return await asyncio.gather(*(one(b) for b in bodies))


@pytest.mark.prefect
async def test_concurrent_waits_each_wake_on_their_callback(
    gateway: EmulatedGateway,
    emulator: EmulatorApp,
    control: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = secrets.token_urlsafe(24)
    receiver = create_callback_app(gateway.store, token=token, emit_events=False)
    emulator.backend.callbacks.transport = httpx.ASGITransport(app=receiver)
    monkeypatch.setenv("ANYINT_CALLBACK_URL", "http://callbacks.test.local")
    monkeypatch.setenv("ANYINT_CALLBACK_TOKEN", token)
    await control.post("/_emulator/timing", json={"family": "suno", "after_seconds": 0.2})

    results = await _many_waits([_body(n) for n in range(SONGS)])
    await emulator.backend.callbacks.drain()

    assert len({task_id for task_id, _ in results}) == SONGS
    slow = [(t, round(s, 1)) for t, s in results if s >= POLL_EVERY / 2]
    assert slow == []  # each ended well before its next poll: woken by its own callback
    polls = [emulator.backend.tasks[t].polls for t, _ in results]
    assert max(polls) <= 3, polls  # the first poll, the woken one (and one racing the callback)
    end = time.monotonic() + 10
    while active_watchers() or any(t.name == THREAD_NAME for t in threading.enumerate()):
        assert time.monotonic() < end, "the inbox watcher outlived the waits"
        await asyncio.sleep(0.01)
