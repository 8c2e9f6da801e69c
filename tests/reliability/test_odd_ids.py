"""Unusual task ids complete and re-run cleanly: the ``task_odd_id`` fault end to end.

The gateway answers a create with an id holding a space, ``+`` and ``=`` and over 200
characters. The fault matrix (row ``task-odd-id``) shows that every task route completes with it;
here, per id transport (a URL path on Kling and the OpenAI-style videos, with the download of
``/content``; a query string on AI Music), with the callback receiver wired in: the callback is
stored under the id's safe key and read back by the wait, the assets land under it, every record
keeps the id itself, and a resume of the same flow run finishes from the store alone, after the
gateway has forgotten everything, with no call at all (no second create above all). A create left
in doubt is resolved by adopting the odd id, as a user would from the call log.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from blocks import AssetStore
from blocks.ids import MAX_SEGMENT, id_segment
from callbacks import read_inbox
from emulator.app import EmulatorApp
from emulator.backend import odd_task_id
from tasks import SubmitInDoubtError
from tasks.resolve import adopt
from tasks.routes import route as route_spec
from tests.conftest import EmulatedGateway, in_process_client

from ._matrix import STEPS, Step
from ._steps import task_step
from ._support import (
    assert_store_consistent,
    calls,
    created_ids,
    failure_of,
    fast_retries,
    flow_run_id,
    inject,
    raw_keys,
    resume,
    wire_receiver,
)

_BY_NAME = {s.name: s for s in STEPS}
#: One route per way an id travels: URL path (+ callbacks), URL path of a gateway download,
#: query string (+ callbacks).
ROUTES = [_BY_NAME["kling-text2video"], _BY_NAME["kling-videos"], _BY_NAME["suno-generate"]]


def _check_keys(store: AssetStore, task_id: str) -> None:
    """Every key of the store is made of short safe segments; none holds the raw id."""
    for key in raw_keys(store):
        assert task_id not in key and " " not in key, key
        assert all(0 < len(part) <= MAX_SEGMENT for part in key.split("/")), key


async def _odd_run(
    step: Step, emulator: EmulatorApp, control: httpx.AsyncClient
) -> tuple[str, Any]:
    """One flow run of ``step`` whose task gets an odd id; its task id and final state."""
    assert step.route is not None and step.family is not None
    await control.post("/_emulator/timing", json={"family": step.family, "after_seconds": 0.02})
    await inject(control, step.call, fault="task_odd_id")
    state = await task_step(step.route, dict(step.body), return_state=True)
    await emulator.backend.callbacks.drain()
    (task_id,) = created_ids(await calls(control))
    return task_id, state


@pytest.mark.parametrize("step", ROUTES, ids=[s.name for s in ROUTES])
async def test_an_odd_id_completes_and_resumes_from_the_store(
    step: Step, gateway: EmulatedGateway, emulator: EmulatorApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert step.route is not None
    store = gateway.store
    if step.callbacks:
        wire_receiver(emulator, store, monkeypatch.setenv)
    fast_retries(monkeypatch)
    async with in_process_client(emulator) as control:
        task_id, state = await _odd_run(step, emulator, control)
        assert " " in task_id and "+" in task_id and "=" in task_id and len(task_id) > 200
        assert state.is_completed(), state.message
        result = await state.aresult()
        assert result["submitted"].task_id == result["finished"].task_id == task_id
        records = result["records"]
        folder = f"assets/{route_spec(step.route).family}"
        assert records and all(r.task_id == task_id for r in records)
        assert all(r.key.startswith(f"{folder}/{id_segment(task_id)}/") for r in records), records
        if step.callbacks:
            # The receiver took the odd id's callback, stored where a wait looks for that id.
            assert "complete" in read_inbox(store, task_id)
            delivered = (await control.get("/_emulator/callbacks")).json()["deliveries"]
            assert delivered and all(d["status"] == 200 for d in delivered), delivered
        entries = assert_store_consistent(store)
        assert {e["task_id"] for e in entries} == {task_id}  # the id itself, never its key
        _check_keys(store, task_id)

        # The gateway forgets every task: the resume must need none of it.
        await control.post("/_emulator/reset", json={})
        again = await resume(task_step, flow_run_id(state))
        assert again.is_completed(), again.message
        resumed = await again.aresult()
        assert await calls(control) == []  # no create, no query, no download
        assert resumed["submitted"].reused and resumed["submitted"].task_id == task_id
        assert [(r.key, r.sha256) for r in resumed["records"]] == [
            (r.key, r.sha256) for r in records
        ]
        assert_store_consistent(store)


async def test_a_doubt_is_resolved_by_adopting_the_odd_id(
    gateway: EmulatedGateway, emulator: EmulatorApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = _BY_NAME["dashscope-video"]
    assert step.route is not None
    fast_retries(monkeypatch)
    async with in_process_client(emulator) as control:
        await inject(control, step.call, fault="drop_after")  # the answer with the id is lost
        _, state = await _odd_run(step, emulator, control)
        doubt = await failure_of(state)
        assert isinstance(doubt, SubmitInDoubtError), repr(doubt)
        (task_id,) = created_ids(await calls(control))
        assert task_id == odd_task_id(task_id.split(" ", 1)[0])
        await adopt(gateway.config, doubt.digest, task_id)  # as read from the call log
        again = await resume(task_step, flow_run_id(state))
        assert again.is_completed(), again.message
        result = await again.aresult()
        assert result["submitted"].task_id == task_id and result["submitted"].reused
        assert len(created_ids(await calls(control))) == 1  # adopted: never created again
        _check_keys(gateway.store, task_id)
