"""Odd answers get honest errors: a 2xx body that is not JSON, or JSON cut short, is reported as
what it is (naming the call), and one such answer to a status query is polled through.

The emulator's ``not_json`` fault (a 2xx, declared ``application/json``, with a proxy's HTML page)
serves the gateway side in process; truncation, which a socket reports as a dropped connection
when a length was declared, is served from a raw loopback socket (a close-delimited body cut
short) and from a transport that declares more bytes than it sends.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from anyint import (
    AmbiguousSubmitError,
    AnyIntClient,
    APIResponseValidationError,
    PollSchedule,
    RetryPolicy,
    TaskTimeoutError,
)
from emulator.app import EmulatorApp
from emulator.server import IN_PROCESS_BASE_URL, EmulatorTransport

from .conftest import TEST_KEY, Recorder

MakeClient = Callable[..., AnyIntClient]
TASKS = "/dashscope/v1/tasks/*"
VIDEO = "/dashscope/v1/services/aigc/video-generation/video-synthesis"
VIDEO_BODY: dict[str, Any] = {
    "model": "wan2.6-t2v",
    "input": {"prompt": "a red kite over the sea"},
    "parameters": {"size": "320*180", "duration": 1},
}
#: Polls every 10 ms, for at most 3 s: bounded, and no test waits on the clock otherwise.
QUICK = PollSchedule(initial=0.01, factor=1, max_interval=0.01, deadline=3.0)


async def _no_sleep(delay: float) -> None:
    return None


@pytest.fixture
async def gateway(emulator: EmulatorApp) -> AsyncIterator[tuple[AnyIntClient, httpx.AsyncClient]]:
    """The real client on the in-process emulator, and the emulator's control plane."""
    transport = EmulatorTransport(emulator)
    client = AnyIntClient(
        api_key=TEST_KEY,
        base_url=IN_PROCESS_BASE_URL,
        transport=transport,
        retry=RetryPolicy(sleep=_no_sleep),
    )
    async with httpx.AsyncClient(transport=transport, base_url=IN_PROCESS_BASE_URL) as control:
        await control.post("/_emulator/timing", json={"family": "dashscope", "after_seconds": 0.05})
        yield client, control
    await client.aclose()


async def _inject(control: httpx.AsyncClient, match: str, **fault: Any) -> None:
    response = await control.post("/_emulator/faults", json={"match": match, **fault})
    assert response.status_code == 200, response.text


async def _calls(control: httpx.AsyncClient, pattern: str) -> list[dict[str, Any]]:
    log: list[dict[str, Any]] = (await control.get("/_emulator/calls")).json()["calls"]
    return [c for c in log if re.fullmatch(pattern, f"{c['method']} {c['path']}")]


# -- what the error says --------------------------------------------------------------------------


async def test_not_json_names_the_call_type_size_and_a_printable_prefix(
    gateway: tuple[AnyIntClient, httpx.AsyncClient],
) -> None:
    client, control = gateway
    task = await client.dashscope.create_video_task(VIDEO_BODY)
    await _inject(control, f"GET {TASKS}", fault="not_json")
    with pytest.raises(APIResponseValidationError) as caught:
        await client.dashscope.get_task(task.task_id)
    message = str(caught.value)
    call = f"expected JSON from GET /dashscope/v1/tasks/{task.task_id} (HTTP 200)"
    assert call in message, message
    assert "not JSON (application/json, 50 bytes)" in message, message
    assert "'<html><body><h1>502 Bad Gateway</h1></body></html>'" in message, message
    assert "got application/json" not in message  # the old, misleading wording
    assert caught.value.retryable, "one unreadable answer is worth asking again"


async def test_prefix_is_short_and_escapes_control_characters(make_client: MakeClient) -> None:
    page = b"\x1b[2J\x00<html>" + b"x" * 500 + b"\r\n</html>"
    rec = Recorder(httpx.Response(200, headers={"content-type": "text/html"}, content=page))
    with pytest.raises(APIResponseValidationError) as caught:
        await make_client(rec).suno.get_music_task("t-1")
    message = str(caught.value)
    # The query string (which may carry ids or tokens) is not named; the path is.
    assert message.startswith(
        "expected JSON from GET /suno/query/task (HTTP 200), got a body that is not JSON"
    )
    assert f"(text/html, {len(page)} bytes): '\\x1b[2J\\x00<html>xxx" in message, message
    assert message.endswith("xxx'..."), message
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in message), repr(message)
    assert len(message) < 200, message


async def test_body_shorter_than_declared_is_reported_as_cut_short(
    make_client: MakeClient,
) -> None:
    # A transport that lets a short body through (a socket would raise): the declared length says
    # how much is missing.
    headers = {"content-type": "application/json", "content-length": "300"}
    rec = Recorder(httpx.Response(200, headers=headers, content=b'{"output": {"task_id": "t'))
    with pytest.raises(APIResponseValidationError) as caught:
        await make_client(rec).dashscope.get_task("t-1")
    message = str(caught.value)
    assert message == (
        "expected JSON from GET /dashscope/v1/tasks/t-1 (HTTP 200), got a body cut short at "
        "byte 25 of the declared length 300 (application/json)"
    ), message
    assert caught.value.retryable


@asynccontextmanager
async def _cut_short_server(body: bytes) -> AsyncIterator[str]:
    """A loopback server that answers 200 with a close-delimited ``body`` (no length), so the
    client cannot tell a cut from an end: only the JSON itself shows it is incomplete."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
        writer.write(head + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "body",
    [b'{"output": {"task_id": "t-1", "task_status": "RUNN', b'{"output": {"task_id": "t-1"'],
    ids=["mid-string", "mid-object"],
)
async def test_json_cut_short_on_a_real_socket_is_reported_as_truncated(body: bytes) -> None:
    async with _cut_short_server(body) as base_url:
        async with AnyIntClient(api_key=TEST_KEY, base_url=base_url, timeout=5.0) as client:
            with pytest.raises(APIResponseValidationError) as caught:
                await client.dashscope.get_task("t-1")
    message = str(caught.value)
    assert message == (
        "expected JSON from GET /dashscope/v1/tasks/t-1 (HTTP 200), got truncated JSON: it ends "
        f"mid-value at byte {len(body)} (application/json)"
    ), message
    assert caught.value.retryable


# -- what each kind of call does with it ----------------------------------------------------------


async def test_one_bad_poll_is_polled_through(
    gateway: tuple[AnyIntClient, httpx.AsyncClient],
) -> None:
    client, control = gateway
    task = await client.dashscope.create_video_task(VIDEO_BODY)
    await _inject(control, f"GET {TASKS}", fault="not_json")
    done = await client.dashscope.wait(task.task_id, schedule=QUICK)
    assert done.status == "SUCCEEDED"
    polls = await _calls(control, f"GET /dashscope/v1/tasks/{task.task_id}")
    assert polls[0]["fault"] == "not_json" and len(polls) >= 2, polls


async def test_bad_polls_stay_within_the_deadline_and_say_why(
    gateway: tuple[AnyIntClient, httpx.AsyncClient],
) -> None:
    client, control = gateway
    task = await client.dashscope.create_video_task(VIDEO_BODY)
    await _inject(control, f"GET {TASKS}", fault="not_json", times=1000)
    schedule = PollSchedule(initial=0.01, factor=1, max_interval=0.01, deadline=0.2)
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(TaskTimeoutError) as caught:
        await client.dashscope.wait(task.task_id, schedule=schedule)
    assert loop.time() - start < 2.0  # the existing deadline, not a new one
    cause = caught.value.__cause__
    assert isinstance(cause, APIResponseValidationError) and "not JSON" in str(cause), cause


async def test_create_answered_with_not_json_stays_in_doubt(
    gateway: tuple[AnyIntClient, httpx.AsyncClient],
) -> None:
    client, control = gateway
    await _inject(control, f"POST {VIDEO}", fault="not_json")
    with pytest.raises(AmbiguousSubmitError) as caught:
        await client.dashscope.create_video_task(VIDEO_BODY)
    assert not caught.value.retryable
    assert "not JSON (application/json" in caught.value.cause, caught.value.cause
    creates = await _calls(control, f"POST {VIDEO}")
    assert len(creates) == 1, "a create in doubt must never be sent again"


async def test_sync_post_answered_with_not_json_is_left_to_the_sync_policy(
    gateway: tuple[AnyIntClient, httpx.AsyncClient],
) -> None:
    # The client sends a POST once (it may have been carried out); the error is retryable, so
    # the Prefect task layer asks again, as for a sync answer cut short (the matrix's RESENT).
    client, control = gateway
    path = "/anthropic/v1/messages"
    await _inject(control, f"POST {path}", fault="not_json")
    with pytest.raises(APIResponseValidationError) as caught:
        await client.anthropic.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.retryable
    assert str(caught.value).startswith(f"expected JSON from POST {path} (HTTP 200), got a body")
    assert len(await _calls(control, f"POST {path}")) == 1
