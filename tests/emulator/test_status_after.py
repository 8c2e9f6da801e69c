"""The ``status_after`` fault: the request is processed, then the client gets an error status.

This is the ambiguous failure a client must survive without duplicating work: the task exists
(call log, ``/_emulator/tasks``, queries) although the create call answered 5xx.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from anyint.types.suno import PLACEHOLDER_CALLBACK_URL
from emulator.server import ThreadedEmulatorServer

from ._creates import AUTH, CREATES, Create, calls, fault, instant, tasks


def assert_envelope(family: str, body: dict[str, Any], status: int) -> None:
    """The family's normal error body for ``status``."""
    if family == "suno":
        assert body["code"] == status and body["data"] is None
        assert "injected fault" in body["msg"]
    elif family == "dashscope":
        assert set(body) == {"request_id", "code", "message"}
        assert "injected fault" in body["message"]
    elif family == "kling":
        assert body["code"] == 1000 + status and body["data"] is None
        assert "injected fault" in body["message"]
    else:
        assert body["error"]["code"] == "injected_fault"
        assert body["error"]["type"] == "api_error"


@pytest.mark.parametrize("status", [500, 502, 504])
@pytest.mark.parametrize("name", sorted(CREATES))
async def test_create_is_done_but_answers_the_status(
    raw: httpx.AsyncClient, name: str, status: int
) -> None:
    create = CREATES[name]
    await instant(raw, create.family)
    await fault(raw, f"POST {create.path}", "status_after", status=status)
    response = await create.post(raw)
    assert response.status_code == status
    assert_envelope(create.family, response.json(), status)
    [record] = await calls(raw)
    assert (record["status"], record["fault"]) == (status, "status_after")
    task_id = record["created_task_id"]
    assert task_id, "the task was created although the client saw an error"
    assert task_id in await tasks(raw)
    # The task is real: it can be polled like any other.
    assert await create.poll(raw, task_id)


async def test_fault_is_used_up_and_keeps_retry_after(raw: httpx.AsyncClient) -> None:
    create = CREATES["dashscope-video"]
    await fault(raw, f"POST {create.path}", "status_after", status=503, retry_after=2, times=2)
    first, second, third = [await create.post(raw) for _ in range(3)]
    assert [r.status_code for r in (first, second, third)] == [503, 503, 200]
    assert first.headers["retry-after"] == "2"
    log = await calls(raw)
    assert [c["fault"] for c in log] == ["status_after", "status_after", None]
    created = [c["created_task_id"] for c in log]
    assert all(created) and len(set(created)) == 3  # three calls, three tasks
    assert set(created) == set(await tasks(raw))
    assert create.task_id(third.json()) == created[2]


async def test_only_the_matching_route_gets_it(raw: httpx.AsyncClient) -> None:
    await fault(raw, "POST /suno/generate-lyrics", "status_after", status=502)
    song = await CREATES["suno-generate"].post(raw)
    lyrics = await CREATES["suno-lyrics"].post(raw)
    assert (song.status_code, lyrics.status_code) == (200, 502)


async def test_retried_follow_up_finds_the_task_it_already_made(raw: httpx.AsyncClient) -> None:
    """A WAV export answered 500 was made anyway: the retry is a 409 naming that task."""
    await instant(raw, "suno")
    song = CREATES["suno-generate"]
    parent = song.task_id((await song.post(raw)).json())
    audio_id = (await song.poll(raw, parent))["data"]["response"]["sunoData"][0]["id"]
    await fault(raw, "POST /suno/wav-generate", "status_after", status=500)
    body = {"taskId": parent, "audioId": audio_id, "callBackUrl": PLACEHOLDER_CALLBACK_URL}
    lost = await raw.post("/suno/wav-generate", json=body, headers=AUTH)
    assert lost.status_code == 500
    made = (await calls(raw))[-1]["created_task_id"]
    retry = await raw.post("/suno/wav-generate", json=body, headers=AUTH)
    assert retry.status_code == 409 and retry.json()["data"] == {"taskId": made}
    wav = Create("/suno/wav-generate", body, "suno", "/suno/query/wav?taskId={id}")
    record = (await wav.poll(raw, made))["data"]
    assert record["successFlag"] == "SUCCESS" and record["response"]["audio_wav_url"]


async def test_a_rejected_request_creates_nothing(raw: httpx.AsyncClient) -> None:
    """The fault replaces the answer, not the rules: a bad body still makes no task."""
    await fault(raw, "POST /openai/v1/videos", "status_after", status=502)
    response = await raw.post("/openai/v1/videos", json={"model": "kling-3.0"}, headers=AUTH)
    assert response.status_code == 502
    [record] = await calls(raw)
    assert record["created_task_id"] is None and await tasks(raw) == {}


def test_over_a_real_socket(server: ThreadedEmulatorServer) -> None:
    create = CREATES["videos"]
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=10) as http:
        queued = http.post(
            "/_emulator/faults",
            json={"match": f"POST {create.path}", "fault": "status_after", "status": 504},
        )
        assert queued.status_code == 200
        response = http.post(create.path, json=create.body)
        assert response.status_code == 504
        assert_envelope("videos", response.json(), 504)
        [record] = http.get("/_emulator/calls").json()["calls"]
        listed = http.get("/_emulator/tasks").json()["tasks"]
    assert record["created_task_id"] in {t["id"] for t in listed}
