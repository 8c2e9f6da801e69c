"""``tasks.streaming.live_markdown``: partial text as versions of one artifact key, read back from
the session's Prefect server; and a real stream (the emulator on a loopback socket, its answer
trickled) seen in at least two partial versions before the task returns."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from prefect import flow, get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.objects import Artifact
from prefect.client.schemas.sorting import ArtifactSort

from anyint import InternalServerError, RateLimitError
from emulator.app import EmulatorApp
from emulator.server import ThreadedEmulatorServer
from flows import start_run
from tasks.chat import anthropic_stream
from tasks.streaming import (
    PUBLISH_EVERY_SECONDS,
    live_markdown,
    mark_mid_stream,
    retry_unless_mid_stream,
)
from tests.conftest import CANARY_KEY

#: Longest any bounded wait of these tests may take (generous: the machine is shared).
WAIT_SECONDS = 20.0


def fresh_key() -> str:
    """An artifact key no other test uses (the Prefect server is shared by the session)."""
    return f"test-live-{uuid.uuid4().hex[:12]}"


async def versions(key: str) -> list[Artifact]:
    """Every version of artifact ``key``, oldest first."""
    async with get_client() as client:
        newest_first = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )
    return newest_first[::-1]


def body(markdown: Any) -> str:
    """The streamed text of one version: between the heading and the footer line."""
    text = str(markdown).split("\n\n", 1)[1]
    return text.rsplit("\n\n*(", 1)[0].removesuffix("\n")


def partial(artifact: Artifact) -> bool:
    """Whether a version was published while the stream was still open."""
    return "*(streaming:" in str(artifact.data)


async def until_partials(key: str, count: int, still_open: asyncio.Future[Any] | None) -> None:
    """Wait (bounded) until ``key`` has ``count`` partial versions; fail if ``still_open``
    finished first, since then they were not seen while the stream was open."""
    deadline = time.monotonic() + WAIT_SECONDS
    while sum(map(partial, await versions(key))) < count:
        assert still_open is None or not still_open.done(), "the stream closed first"
        assert time.monotonic() < deadline, f"no {count} partial versions of {key} in time"
        await asyncio.sleep(0.05)


async def test_key_must_be_a_valid_artifact_key() -> None:
    with pytest.raises(ValueError, match=r"key: .*lowercase letters, digits and dashes"):
        async with live_markdown("Not_Valid", "t"):
            pass


async def test_outside_a_run_nothing_is_published() -> None:
    key = fresh_key()
    async with live_markdown(key, "Loose") as live:
        live.append("some ")
        live.append("text")
    assert live.text == "some text"
    with pytest.raises(KeyError):
        async with live_markdown(key, "Loose") as live:
            live.append("x")
            raise KeyError("boom")
    assert await versions(key) == []


async def test_partial_versions_are_throttled_and_the_last_is_final() -> None:
    key = fresh_key()

    @flow
    async def stream_words() -> tuple[str, float]:
        async with live_markdown(key, "Words") as live:
            started = time.monotonic()
            live.append("word0 ")
            pump = asyncio.ensure_future(until_partials(key, 2, None))
            n = 0
            while not pump.done():  # text keeps arriving until two partials were published
                n += 1
                live.append(f"word{n} ")
                await asyncio.sleep(0.01)
            await pump
            elapsed = time.monotonic() - started
        return live.text, elapsed

    text, elapsed = await stream_words()
    seen = await versions(key)
    partials, final = seen[:-1], seen[-1]
    assert all(map(partial, partials)) and not partial(final)
    assert body(final.data) == text
    # Publishes start at least PUBLISH_EVERY_SECONDS apart, all while the block was open.
    assert 2 <= len(partials) <= math.floor(elapsed / PUBLISH_EVERY_SECONDS) + 1
    shown = [body(p.data) for p in partials]
    assert all(text.startswith(s) for s in shown) and shown == sorted(shown, key=len)


async def test_an_error_keeps_the_partial_text_marked_incomplete() -> None:
    key = fresh_key()
    error = KeyError("lost the line")

    @flow
    async def broken() -> None:
        async with live_markdown(key, "Broken") as live:
            live.append("Half an ")
            live.append("answer")
            raise error

    with pytest.raises(KeyError) as raised:
        await broken()
    assert raised.value is error  # unchanged, not wrapped
    final = (await versions(key))[-1]
    assert body(final.data) == "Half an answer"
    assert "*(incomplete: KeyError: 'lost the line')*" in str(final.data)


def test_a_stream_cut_part_way_is_never_retried() -> None:
    # Prefect hands the retry condition Failed(data=exception).
    retried = InternalServerError("overloaded", status_code=529)
    assert retry_unless_mid_stream(None, None, SimpleNamespace(data=retried))
    mark_mid_stream(retried, 42)
    assert not retry_unless_mid_stream(None, None, SimpleNamespace(data=retried))
    assert "42 characters" in retried.__notes__[0] and str(retried) == "overloaded"
    refused = RateLimitError("slow down", status_code=429)
    assert retry_unless_mid_stream(None, None, SimpleNamespace(data=refused))


@pytest.fixture
def socket_gateway(
    emulator: EmulatorApp, prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ThreadedEmulatorServer]:
    """Flows talk to ``emulator`` over a loopback socket (in process, bodies are buffered, so
    nothing would stream), and store into a fresh memory store."""
    with ThreadedEmulatorServer(emulator) as server:
        monkeypatch.setenv("ANYINT_BASE_URL", server.base_url)
        monkeypatch.setenv("ANYINT_API_KEY", CANARY_KEY)
        monkeypatch.setenv("ANYINT_STORE", f"memory://test-{uuid.uuid4().hex[:12]}")
        yield server


async def trickle(control: httpx.AsyncClient, path: str, seconds: float) -> None:
    """Send the next answer on ``path`` 64 bytes every ``seconds`` (the ``trickle`` fault)."""
    fault = {"match": f"POST {path}", "fault": "trickle", "seconds": seconds}
    (await control.post("/_emulator/faults", json=fault)).raise_for_status()


async def test_partial_text_is_visible_before_the_task_returns(
    socket_gateway: ThreadedEmulatorServer, control: httpx.AsyncClient
) -> None:
    key = fresh_key()
    # ~1.5 kB of events at 64 bytes per 0.1 s: the text arrives over about 1.5 s.
    await trickle(control, "/anthropic/v1/messages", 0.1)
    question = "Tell me about lighthouses on rocky coasts at night, please, in a few words."

    @flow
    async def ask() -> str:
        run = await start_run({})
        messages = [{"role": "user", "content": question}]
        reply = await anthropic_stream(run, "claude-sonnet-4-6", messages, artifact_key=key)
        return reply.text

    running = asyncio.ensure_future(ask())
    try:
        await until_partials(key, 2, running)
    finally:
        text = await running
    seen = await versions(key)
    assert body(seen[-1].data) == text and not partial(seen[-1])
    assert all(text.startswith(body(p.data)) for p in seen[:-1])
