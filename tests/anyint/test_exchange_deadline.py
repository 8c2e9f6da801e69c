"""Every gateway exchange has a total deadline, however steadily the answer trickles in.

The emulator's ``trickle`` fault sends the answer in 64-byte pieces on a real loopback socket,
each piece well inside the client's read timeout, so only the total deadline can stop it. A
trickled read is a read timeout: a GET is retried (and recovers, the fault being one-off), a
create is left in doubt and never re-sent, and a stream that outlives the deadline is cut.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from anyint import (
    AmbiguousSubmitError,
    AnyIntClient,
    APIConnectionError,
    APITimeoutError,
    RetryPolicy,
)
from emulator.server import ThreadedEmulatorServer

from .conftest import TEST_KEY, inject_fault

#: A piece every 0.1 s: any answer of a few KiB takes seconds, far past the deadline.
PIECE_SECONDS = 0.1
DEADLINE = 0.5
#: Slack above the deadline on a loaded machine (the trickle alone would take far longer).
SLACK = 3.0


@pytest.fixture
async def client(server: ThreadedEmulatorServer) -> AsyncIterator[AnyIntClient]:
    # A read timeout that never trips between pieces; quick retries.
    retry = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.02)
    async with AnyIntClient(
        TEST_KEY, server.base_url, timeout=1.0, deadline=DEADLINE, retry=retry
    ) as c:
        yield c


async def _calls(server: ThreadedEmulatorServer, method: str, path: str) -> int:
    async with httpx.AsyncClient(base_url=server.base_url) as control:
        log = (await control.get("/_emulator/calls")).json()["calls"]
    return sum(1 for c in log if c["method"] == method and c["path"].startswith(path))


async def test_a_trickled_read_is_cut_at_the_deadline_and_retried(
    client: AnyIntClient, server: ThreadedEmulatorServer
) -> None:
    await inject_fault(server, "GET /openai/v1/models", fault="trickle", seconds=PIECE_SECONDS)
    start = time.monotonic()
    models = await client.models.list()
    elapsed = time.monotonic() - start
    assert models.data, "the retry (no fault) answers in full"
    assert DEADLINE <= elapsed < DEADLINE + SLACK, elapsed
    assert await _calls(server, "GET", "/openai/v1/models") == 2


async def test_a_read_trickled_every_time_fails_with_a_timeout(
    client: AnyIntClient, server: ThreadedEmulatorServer
) -> None:
    await inject_fault(
        server, "GET /openai/v1/models", fault="trickle", seconds=PIECE_SECONDS, times=3
    )
    start = time.monotonic()
    with pytest.raises(APITimeoutError, match="total deadline"):
        await client.models.list()
    # Three attempts, each cut at the deadline.
    assert time.monotonic() - start < 3 * DEADLINE + SLACK


async def test_a_trickled_create_is_doubt_and_sent_once(
    client: AnyIntClient, server: ThreadedEmulatorServer
) -> None:
    # A create's answer is small (two pieces): slower pieces, so it too outlasts the deadline.
    await inject_fault(server, "POST /suno/generate", fault="trickle", seconds=DEADLINE)
    with pytest.raises(AmbiguousSubmitError, match="ReadTimeout"):
        await client.suno.generate(
            custom_mode=False,
            instrumental=False,
            model="V5",
            prompt="a slow song",
            call_back_url="https://hooks.invalid/cb",
        )
    assert await _calls(server, "POST", "/suno/generate") == 1


async def test_a_stream_that_outlives_the_deadline_is_cut(
    client: AnyIntClient, server: ThreadedEmulatorServer
) -> None:
    path = "/gemini/v1beta/models/gemini-3.1-flash-image-preview:streamGenerateContent"
    await inject_fault(server, f"POST {path}", fault="trickle", seconds=PIECE_SECONDS)
    start = time.monotonic()
    with pytest.raises(APIConnectionError, match="stream still open"):
        async for _ in client.gemini.stream_generate_content(
            "gemini-3.1-flash-image-preview",
            contents=[{"role": "user", "parts": [{"text": "a kite"}]}],
        ):
            pass
    assert time.monotonic() - start < DEADLINE + SLACK
