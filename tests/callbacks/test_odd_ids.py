"""The receiver takes callbacks for any task id, and a wait finds them by that id.

Ids are the gateway's data: a space, ``+``, ``=``, ``/``, ``..``, unicode or 4 KiB of them is
stored under the id's safe key (:func:`blocks.ids.id_segment`), never refused once the task is
done. Only what no gateway could mean is refused, before anything is stored: no string, more
than 4 KiB, or a lone surrogate.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx
import pytest
from prefect import flow

from blocks import AssetStore
from blocks.ids import id_segment
from callbacks import inbox_key, read_inbox, terminal_record
from emulator.app import EmulatorApp
from flows import start_run
from tasks import fetch, submit, wait
from tests.conftest import EmulatedGateway, in_process_client
from tests.reliability._support import calls, created_ids, inject, wire_receiver

from .test_receiver import SUNO_BARE, URL

ODD = [
    "task id+with=signs " + "x" * 220,
    "../../etc/passwd",
    "a/b",
    "..",
    "日本語 タスク",
    "t\nWARNING forged line",
    "é" * 2048,  # 4096 bytes: the longest accepted
]


def _bodies(task_id: str) -> list[tuple[str, dict[str, Any]]]:
    """A terminal callback for ``task_id`` in each family's shape."""
    return [
        ("suno", {**SUNO_BARE, "task_id": task_id}),
        ("kling", {"task_id": task_id, "task_status": "succeed"}),
        ("dashscope", {"output": {"task_id": task_id, "task_status": "SUCCEEDED"}}),
        ("videos", {"id": task_id, "object": "video", "status": "completed"}),
    ]


@pytest.mark.parametrize("task_id", ODD, ids=range(len(ODD)))
async def test_callbacks_for_odd_ids_are_stored_under_their_safe_key(
    client: httpx.AsyncClient, memory_store: AssetStore, task_id: str
) -> None:
    for family, body in _bodies(task_id):
        r = await client.post(f"{URL}/{family}", json=body)
        assert r.status_code == 200, (family, r.text)
        assert r.json()["task_id"] == task_id and r.json()["duplicate"] == (family != "suno")
    # One record (the first delivery wins), inside the inbox, found by the id itself.
    assert memory_store.list() == [inbox_key(task_id, "complete")]
    assert memory_store.list()[0].startswith(f"inbox/{id_segment(task_id)}/")
    record = terminal_record(memory_store, task_id)
    assert record is not None and record["task_id"] == task_id and record["family"] == "suno"
    assert read_inbox(memory_store, task_id) == {"complete": record}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (json.dumps({"task_id": "x" * 4097, "task_status": "succeed"}), "at most 4096 bytes"),
        ('{"task_id": "a\\ud800b", "task_status": "succeed"}', "lone surrogate"),
        ('{"task_id": "", "task_status": "succeed"}', "non-empty"),
        ('{"task_id": {"a": 1}, "task_status": "succeed"}', "non-empty string"),
    ],
)
async def test_only_ids_no_gateway_could_mean_are_refused(
    client: httpx.AsyncClient, memory_store: AssetStore, content: str, reason: str
) -> None:
    r = await client.post(
        f"{URL}/kling", content=content, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and reason in r.json()["detail"], r.text
    assert memory_store.list() == []


async def test_odd_ids_cannot_forge_log_lines(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="callbacks")
    r = await client.post(
        f"{URL}/kling", json={"task_id": "t\nERROR forged" + "y" * 500, "task_status": "succeed"}
    )
    assert r.status_code == 200
    (line,) = [m for m in caplog.messages if m.startswith("callback kling task")]
    assert "\n" not in line and "ERROR forged" in line and len(line) < 200, line


# -- a wait woken by the callback of an odd id -------------------------------------------------

#: The wait's poll interval: far longer than the test may take, so only the callback (through
#: the inbox) can end the wait in time.
SLOW_POLL = 60.0
KLING = "POST /transtreams/kling/v1/videos/text2video"


@flow(name="odd-id-slow-poll")
async def _slow_poll(body: dict[str, Any]) -> dict[str, Any]:
    run = await start_run({"body": body, "poll_interval": SLOW_POLL, "deadline_seconds": 120})
    submitted = await submit(run, "kling.text2video", body)
    finished = await wait(run, submitted)
    return {"finished": finished, "records": await fetch(run, finished, request=body)}


@pytest.mark.prefect
async def test_a_wait_is_woken_by_the_callback_of_an_odd_id(
    gateway: EmulatedGateway, emulator: EmulatorApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    wire_receiver(emulator, gateway.store, monkeypatch.setenv)
    body = {"model_name": "kling-v3", "prompt": "a fox in snow", "duration": 1}
    async with in_process_client(emulator) as control:
        await control.post("/_emulator/timing", json={"family": "kling", "after_seconds": 0.3})
        await inject(control, KLING, fault="task_odd_id")
        start = time.monotonic()
        result = await _slow_poll(body)
        elapsed = time.monotonic() - start
        log = await calls(control)
    (task_id,) = created_ids(log)
    assert " " in task_id and len(task_id) > 200
    assert result["finished"].task_id == task_id and result["records"]
    assert elapsed < SLOW_POLL / 3, f"the wait took {elapsed:.1f} s: the callback did not wake it"
    queries = [c for c in log if c["method"] == "GET" and c["path"].startswith("/transtreams")]
    assert len(queries) == 2, queries  # the first poll, then the one the callback woke
    assert "complete" in read_inbox(gateway.store, task_id)
